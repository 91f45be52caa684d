"""PyFlink job against the Beam job on the same generated posts, in one run; and how long the
Flink job takes to come back from a SIGKILL through its checkpoint.

    benchmarks/bench_flink.py [--days 3] [--posts-per-hour 200]

Throughput: posts / wall time of `scripts/flink.sh backfill` (local mini-cluster) and of
`tendencias backfill` on Prism (TENDENCIAS_PRISM) or DirectRunner, each also on a 1-post file
so the fixed start-up cost can be taken off. Restore: a streaming job on the dev broker is
killed (SIGKILL, whole process group) after a checkpoint, then restarted with --restore latest;
printed is the time from the restart until a post produced after it is in a committed trend
record, beside the same time for a fresh start. Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.flink_helpers import committed_consumer, kill_job, poll_trends, start_job  # noqa: E402
from tests.integration.kafka_helpers import produce_posts  # noqa: E402

FLINK = str(ROOT / "scripts/flink.sh")


def _timed(command: list[str], env: dict) -> float:
    started = time.monotonic()
    subprocess.run(command, check=True, env=env, capture_output=True)
    return time.monotonic() - started


def throughput(days: int, rate: float, work: Path, env: dict) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tendencias.cli",
            "sample",
            "--output",
            str(work),
            "--days",
            str(days),
            "--posts-per-hour",
            str(rate),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    posts = work / "posts.jsonl"
    one = work / "one.jsonl"
    one.write_text(posts.open().readline())
    n = sum(1 for _ in posts.open())
    prism = os.environ.get("TENDENCIAS_PRISM")
    beam_runner = ["--runner=PrismRunner", f"--prism_location={prism}"] if prism else []
    name = "Prism" if prism else "DirectRunner"
    rows = []
    for label, base in (
        ("Flink (mini-cluster)", [FLINK, "backfill"]),
        (f"Beam on {name}", [sys.executable, "-m", "tendencias.cli", "backfill", *beam_runner]),
    ):
        start_up = _timed([*base, "--input", str(one), "--output", str(work / "o1")], env)
        total = _timed([*base, "--input", str(posts), "--output", str(work / "on")], env)
        rows.append((label, total, start_up, n / total, n / max(total - start_up, 1e-9)))
    print(f"{n} posts ({days} days)")
    for label, total, start_up, rate_all, rate_steady in rows:
        print(
            f"  {label:24s} {total:6.1f} s wall ({start_up:4.1f} s of it start-up): "
            f"{rate_all:6.0f} posts/s, {rate_steady:6.0f} posts/s after start-up"
        )


def _post(brand: str) -> dict:
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"
    return {
        "id": uuid.uuid4().hex,
        "text": f"probando {brand}",
        "created_at": now,
        "author": uuid.uuid4().hex[:8],
        "brand": brand,
    }


def _until_record(bootstrap: str, topics: dict, job, started: float) -> float:
    consumer = committed_consumer(bootstrap, topics["scores"])
    marker = f"Marca {uuid.uuid4().hex[:6]}"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and job.poll() is None:
        produce_posts(bootstrap, topics["posts"], [_post(marker)])  # each moves the watermark on
        if any(t["key"] == marker.lower() for t in poll_trends(consumer, 1)):
            consumer.close()
            return time.monotonic() - started
    consumer.close()
    raise RuntimeError("no trend record after the (re)start")


def restore(work: Path) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    bootstrap = os.environ.get("TENDENCIAS_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    topics = {n: f"bench-flink-{n}-{uuid.uuid4().hex[:8]}" for n in ("posts", "scores", "alerts", "dead")}
    admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=1) for t in topics.values()])
    args = [
        f"--kafka_bootstrap={bootstrap}",
        f"--posts_topic={topics['posts']}",
        f"--scores_topic={topics['scores']}",
        f"--alerts_topic={topics['alerts']}",
        f"--dead_letter_topic={topics['dead']}",
        f"--group_id=bench-{uuid.uuid4().hex[:6]}",
        "--trend_window=2s",
        "--trend_slide=2s",
        "--long_window=0",
        "--allowed_lateness=0",
        "--checkpoint_interval=1s",
        f"--checkpoint_dir={work / 'chk'}",
    ]
    log = work / "job.log"
    started = time.monotonic()
    job = start_job(FLINK, args, log)
    try:
        fresh = _until_record(bootstrap, topics, job, started)
        while not list((work / "chk").glob("*/chk-*/_metadata")):
            time.sleep(0.2)
        kill_job(job)
        started = time.monotonic()
        job = start_job(FLINK, [*args, "--restore=latest"], log)
        restored = _until_record(bootstrap, topics, job, started)
    finally:
        kill_job(job)
        admin.delete_topics(list(topics.values()))
        admin.close()
    print(f"fresh start to first committed trend record: {fresh:5.1f} s")
    print(f"SIGKILL, restore from checkpoint to first committed trend record: {restored:5.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--posts-per-hour", type=float, default=200.0)
    args = parser.parse_args()
    subprocess.run([FLINK, "setup"], check=True, capture_output=True)
    env = dict(os.environ, TENDENCIAS_PSEUDONYM_SALT="bench", PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        throughput(args.days, args.posts_per_hour, Path(tmp) / "data", env)
        restore(Path(tmp))
    print(json.dumps({"note": "one run, 2 shared cores: compare rows of the same run"}))


if __name__ == "__main__":
    main()
