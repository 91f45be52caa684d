"""How fast the live job catches up on a backlog: `tendencias run` (default flags, local sentiment)
on Prism, started on hours of history already in Kafka.

    .venv/bin/python benchmarks/bench_backlog.py [--history-hours 7] [--rate 0.5] [--timeout 900]

History from the project's sample generator (`--rate` posts/s at the daily peak; the same
`--history-hours` of its day from noon in Lima in every run, moved to end now) goes into a fresh
topic first; then the job starts from the earliest offset. Every few seconds the newest
`window_end` on the scores topic and the CPU of
the job's process tree (Python workers and Prism) are sampled. Printed: event hours of history
worked through (from its start to the newest window_end) per wall minute and per CPU minute of
the job, start-up included, and the load average. The run stops once records reach within
`--caught-up-min` minutes of the end of the history, or at `--timeout`.
Nothing is asserted; the machine is shared, so read the CPU columns beside the load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_live import (  # noqa: E402
    add_job_arguments,
    fresh_topics,
    iso,
    job_command,
    parse_iso,
    required_prism,
)
from benchmarks.process_tree import descendants, stop, usage  # noqa: E402
from tendencias.tools.sample_data import generate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_job_arguments(parser)
    parser.add_argument("--timeout", type=float, default=900.0, help="wall seconds before giving up")
    parser.add_argument("--caught-up-min", type=float, default=20.0)
    args = parser.parse_args()
    prism = required_prism()
    if prism is None:
        return 2
    run, topics = fresh_topics(args.bootstrap, "backlog")

    # The same posts every run (the generator's day from noon in Lima), moved to end now: the
    # hours a run covers do not depend on the time of day it starts.
    day = datetime(2026, 11, 1, 17, tzinfo=UTC)
    posts, _, _ = generate(
        days=int(args.history_hours // 24) + 1, posts_per_hour=args.rate * 3600, start=day, seed=3, bursts=[]
    )
    now, end = time.time(), day.timestamp() + args.history_hours * 3600
    for post in posts:
        post["created_at"] = iso(parse_iso(post["created_at"]) - end + now)
    history = [p for p in posts if parse_iso(p["created_at"]) < now]
    producer = KafkaProducer(bootstrap_servers=args.bootstrap, acks="all", linger_ms=5)
    for post in history:
        producer.send(topics["posts"], json.dumps(post).encode(), key=post["id"].encode())
    producer.flush()
    producer.close()
    first_at, last_at = parse_iso(history[0]["created_at"]), parse_iso(history[-1]["created_at"])
    print(f"history: {len(history)} posts over {(last_at - first_at) / 3600:.2f} h", file=sys.stderr)

    command = job_command(args.bootstrap, topics, f"backlog-{run}", prism)
    (ROOT / ".scratch").mkdir(exist_ok=True)
    log = open(ROOT / ".scratch" / f"bench_backlog-{run}.log", "w")
    scores = KafkaConsumer(
        topics["scores"],
        bootstrap_servers=args.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    started = time.time()
    job = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=os.environ.copy())
    cpu: dict[int, float] = {}
    samples: list[tuple[float, float, float]] = []  # (wall s, CPU s, newest window_end)
    newest, records, loads = 0.0, 0, []
    try:
        while job.poll() is None and time.time() - started < args.timeout:
            for batch in scores.poll(timeout_ms=2000).values():
                for r in batch:
                    records += 1
                    newest = max(newest, parse_iso(json.loads(r.value)["window_end"]))
            cpu.update({pid: s for pid, (_, s) in usage(descendants(job.pid))[1].items()})
            samples.append((time.time() - started, sum(cpu.values()), newest))
            loads.append(os.getloadavg()[0])
            if newest >= last_at - args.caught_up_min * 60:
                break
    finally:
        stop(job, grace=60)
        scores.close()
    log.close()
    report(args, history, first_at, last_at, samples, records, loads, job.returncode)
    counters = job_counters(Path(log.name))
    print(f"  posts through the trend stage when stopped: {counters.get('trends.posts_keyed', 0)} of "
          f"{len(history)} (a record's window_end can run ahead of posts an ordered stage still holds)")  # fmt: skip
    return 0


def job_counters(log: Path) -> dict[str, int]:
    """The job's counters as it printed them on its way out."""
    found, decoder = {}, json.JSONDecoder()
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith('{"metrics"'):
            # raw_decode: a log line from another thread can end up on the same line
            found = decoder.raw_decode(line)[0]["metrics"]
    return found


def report(args, history, first_at, last_at, samples, records, loads, returncode) -> None:
    print(f"\nBacklog of {len(history)} posts over {(last_at - first_at) / 3600:.2f} h "
          f"(rate {args.rate:g}/s at peak), tendencias run with default flags on Prism")  # fmt: skip
    with_records = [s for s in samples if s[2] > 0]
    if not with_records:
        print(f"  no trend record in {samples[-1][0]:.0f} s (job exit code {returncode})")
        return
    w0, c0, e0 = with_records[0]
    w1, c1, e1 = samples[-1]
    hours = (e1 - first_at) / 3600
    print(f"  first record after {w0:.0f} s wall, {c0:.0f} s CPU (window_end {(e0 - first_at) / 3600:.2f} h "
          f"into the history); {records} records")  # fmt: skip
    print(f"  worked through {hours:.2f} event hours (newest window_end {(last_at - e1) / 60:.0f} min before "
          f"the history's end) in {w1:.0f} s wall, {c1:.0f} s CPU (start-up included): "
          f"{hours / (w1 / 60):.3f} event h per wall minute, {hours / (c1 / 60):.3f} per CPU minute")  # fmt: skip
    print(f"  load average (1 min) min {min(loads):.1f}, median {sorted(loads)[len(loads) // 2]:.1f}, "
          f"max {max(loads):.1f}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
