"""End-to-end latency of `tendencias run` on Prism: from a post's produce time to the trend
record that counts it, on the real broker.

The job runs as users start it (a subprocess of the CLI), with its default flags (allowed
lateness, warm-up, both horizons) but for short windows, so the number
measures the pipeline rather than the window length: a post can only be counted once its
period has ended, so the report splits latency into the wait for the period to end and the
pipeline's own delay after that.

    .venv/bin/python benchmarks/bench_latency.py [--rate 20] [--seconds 60] [--slide 2s]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tendencias.durations import parse_duration  # noqa: E402
from tendencias.pipelines.runner import prism_binary  # noqa: E402


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class TrendListener(threading.Thread):
    """Records when each (brand key, window_end) first arrives on the scores topic."""

    def __init__(self, bootstrap: str, topic: str):
        super().__init__(daemon=True)
        self.consumer = KafkaConsumer(
            topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
        )
        self.first_seen: dict[tuple[str, str], tuple[float, dict]] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for batch in self.consumer.poll(timeout_ms=200).values():
                now = time.time()
                for record in batch:
                    trend = json.loads(record.value)
                    if trend["kind"] == "brand":
                        self.first_seen.setdefault((trend["key"], trend["window_end"]), (now, trend))
        self.consumer.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bootstrap", default=os.environ.get("TENDENCIAS_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    )
    parser.add_argument("--rate", type=float, default=20.0, help="posts per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to produce")
    parser.add_argument("--slide", default="2s", help="trend_slide of the job (window = 2 slides)")
    args = parser.parse_args()
    prism = prism_binary()
    if prism is None:
        print("build Prism first: scripts/prism.sh", file=sys.stderr)
        return 2
    slide = parse_duration(args.slide)
    run = uuid.uuid4().hex[:8]
    topics = {name: f"latency-{run}.{name}" for name in ("posts", "scores", "alerts", "dead")}
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap)
    admin.create_topics([NewTopic(t, 1, 1) for t in topics.values()])
    command = [
        sys.executable,
        "-m",
        "tendencias.cli",
        "run",
        f"--kafka_bootstrap={args.bootstrap}",
        f"--posts_topic={topics['posts']}",
        "--sales_topic=",
        f"--scores_topic={topics['scores']}",
        f"--alerts_topic={topics['alerts']}",
        f"--dead_letter_topic={topics['dead']}",
        f"--group_id=latency-{run}",
        "--start_offset=earliest",
        f"--trend_window={2 * slide:g}s",
        f"--trend_slide={slide:g}s",
        f"--long_window={6 * slide:g}s",  # both horizons, lateness and warm-up at their defaults
        f"--long_slide={3 * slide:g}s",
        "--sentiment_backend=local",
        f"--prism_location={prism}",
    ]
    log = tempfile.NamedTemporaryFile("w", suffix=".log", delete=False)
    job = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    listener = TrendListener(args.bootstrap, topics["scores"])
    listener.start()
    producer = KafkaProducer(bootstrap_servers=args.bootstrap, acks="all", linger_ms=0)
    try:
        started = time.time()
        while not any(key == "warmup" for key, _ in listener.first_seen):  # the job is up
            producer.send(topics["posts"], json.dumps(post("warmup", time.time())).encode()).get(10)
            time.sleep(1)
            if job.poll() is not None or time.time() - started > 180:
                print(f"the job did not start; see {log.name}", file=sys.stderr)
                return 1
        print(
            f"job up after {time.time() - started:.1f} s; producing {args.rate:g} posts/s for {args.seconds:g} s",
            file=sys.stderr,
        )
        sent: list[tuple[str, float]] = []
        begin = time.time()
        while time.time() - begin < args.seconds:
            now = time.time()
            mark = f"mark {int(now)}"
            producer.send(topics["posts"], json.dumps(post(mark, now)).encode())
            sent.append((mark, now))
            time.sleep(max(0.0, begin + len(sent) / args.rate - time.time()))
        producer.flush()
        time.sleep(4 * slide + 10)
    finally:
        listener.stop.set()
        job.terminate()
        job.wait(timeout=60)
        producer.close()
    report(sent, listener.first_seen, slide)
    return 0


def post(brand: str, at: float) -> dict:
    return {
        "id": uuid.uuid4().hex,
        "text": f"probando {brand}",
        "created_at": iso(at),
        "source": "review",
        "author": uuid.uuid4().hex[:8],
        "brand": brand,
    }


def report(sent: list[tuple[str, float]], seen: dict, slide: float) -> None:
    total, waits, delays, missing = [], [], [], 0
    for mark, produced in sent:
        # the first record for this brand whose window ends after the post's event time
        candidates = [
            (arrived, parse_iso(end))
            for (key, end), (arrived, _) in seen.items()
            if key == mark and parse_iso(end) > produced
        ]
        if not candidates:
            missing += 1
            continue
        arrived, end = min(candidates)
        total.append(arrived - produced)
        waits.append(max(0.0, end - produced))
        delays.append(arrived - end)
    print(
        f"\nEnd-to-end latency, Prism streaming, slide {slide:g}s (window {2 * slide:g}s), "
        f"{len(sent)} posts, {missing} not seen in a trend record:"
    )
    for name, values in (
        ("produce -> trend record", total),
        ("  waiting for the period to end", waits),
        ("  pipeline after the period end", delays),
    ):
        if values:
            print(
                f"  {name:<34} median {statistics.median(values):6.2f} s   p95 {percentile(values, 0.95):6.2f} s"
            )


if __name__ == "__main__":
    sys.exit(main())
