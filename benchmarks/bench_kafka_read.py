"""Messages per second: a plain kafka-python consumer against ReadFromKafka on DirectRunner and Prism.

Produces M synthetic posts into a fresh topic, then reads all M, side by side in one run:
  1. a plain kafka-python consumer loop (the reference), and the same loop with parse_post;
  2. ReadFromKafka bounded on DirectRunner, + ParsePosts + count;
  3. ReadFromKafka bounded on PrismRunner, + ParsePosts + count;
  4. ReadFromKafka unbounded (true streaming) on PrismRunner, + ParsePosts: time from submission
     until a downstream step has seen all M (then the job is cancelled).
Beam times are wall clock including pipeline start; the start-up column is the same pipeline over
an empty topic, for context. Prints numbers only; it never asserts timing.

    .venv/bin/python benchmarks/bench_kafka_read.py --messages 100000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import apache_beam as beam  # noqa: E402
import kafka  # noqa: E402
from apache_beam.options.pipeline_options import PipelineOptions  # noqa: E402
from apache_beam.runners.runner import PipelineState  # noqa: E402
from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402

from tendencias.records import parse_post  # noqa: E402
from tendencias.transforms.kafka.config import add_bootstrap_flag  # noqa: E402
from tendencias.transforms.kafka.read import ReadFromKafka  # noqa: E402
from tendencias.transforms.parse import ParsePosts  # noqa: E402

WORDS = (
    "chicha morada sin azúcar rica helada botella precio sube lonchera playa verano energía natural "
    "maracuyá mango limón jengibre light zero cero calorías sabor nuevo prefiero antes ahora bodega "
    "too sweet love the new flavor cheaper than before can't find it anymore my kids like it"
).split()
TAGS = ("#SinAzucar", "#Verano", "#Lima", "#Refrescante", "#Natural", "#Energia")
REGIONS = ("Lima", "Cusco", "Arequipa", "Piura", "Trujillo", "Iquitos")
SOURCES = ("twitter", "instagram", "tiktok", "facebook", "review", "survey")


def synthetic_post(rng: random.Random, i: int, base_ms: int) -> bytes:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 24)))
    if rng.random() < 0.4:
        text += " " + rng.choice(TAGS)
    post = {
        "id": f"bench-{i}",
        "text": text,
        "created_at": base_ms + i * 10,
        "source": rng.choice(SOURCES),
        "lang": "es",
        "author": f"user{rng.randrange(50_000)}",
        "region": rng.choice(REGIONS),
        "brand": rng.choice(("Sierra Cola", "Río Verde", "Chicha Real")),
    }
    return json.dumps(post, ensure_ascii=False).encode("utf-8")


def make_topic(bootstrap: str, partitions: int) -> str:
    name = f"bench-read-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(name, partitions, 1)])
    admin.close()
    return name


def produce(bootstrap: str, topic: str, count: int) -> float:
    rng, base_ms = random.Random(42), int(time.time() * 1000) - count * 10
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=512 * 1024)
    started = time.perf_counter()
    for i in range(count):
        producer.send(topic, synthetic_post(rng, i, base_ms), key=f"bench-{i}".encode())
    producer.flush()
    producer.close()
    return time.perf_counter() - started


def plain_consumer(bootstrap: str, topic: str, expected: int, parse: bool) -> float:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=2000)
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    started, seen = time.perf_counter(), 0
    while seen < expected:
        for records in consumer.poll(timeout_ms=500).values():
            seen += len(records)
            if parse:
                for record in records:
                    parse_post(record.value)
    elapsed = time.perf_counter() - started
    consumer.close()
    return elapsed


def options(runner: str, prism: str, streaming: bool = False) -> PipelineOptions:
    extra = (
        {"prism_location": prism, "experiments": ["disable_prism_server_singleton"]}
        if runner == "PrismRunner"
        else {}
    )
    return PipelineOptions([], runner=runner, streaming=streaming, **extra)


def bounded_beam(bootstrap: str, topic: str, runner: str, prism: str, expected: int) -> float:
    out = Path(tempfile.mkdtemp(prefix="bench-count-")) / "count"
    started = time.perf_counter()
    with beam.Pipeline(options=options(runner, prism)) as p:
        records = p | ReadFromKafka(
            bootstrap,
            [topic],
            group_id=f"bench-{uuid.uuid4().hex[:6]}",
            start="earliest",
            bounded=True,
            event_time_field="created_at",
        )
        (records | ParsePosts()).posts | beam.combiners.Count.Globally() | beam.io.WriteToText(str(out))
    elapsed = time.perf_counter() - started
    counted = sum(int(f.read_text() or 0) for f in out.parent.glob("count*"))
    if counted != expected:
        print(f"  !! {runner} counted {counted} posts, expected {expected}", file=sys.stderr)
    return elapsed


class CountToFileFn(beam.DoFn):
    """Appends how many elements each bundle saw, so the launcher can watch a streaming job."""

    def __init__(self, path: str):
        self._path = path

    def start_bundle(self):
        self._seen = 0

    def process(self, element):
        self._seen += 1

    def finish_bundle(self):
        if self._seen:
            with open(self._path, "a") as out:
                out.write(f"{self._seen}\n")


def streaming_prism(
    bootstrap: str, topic: str, prism: str, expected: int, timeout: float = 600
) -> float | None:
    progress = Path(tempfile.mkdtemp(prefix="bench-stream-")) / "seen"
    progress.touch()
    p = beam.Pipeline(options=options("PrismRunner", prism, streaming=True))
    records = p | ReadFromKafka(
        bootstrap,
        [topic],
        group_id=f"bench-{uuid.uuid4().hex[:6]}",
        start="earliest",
        event_time_field="created_at",
    )
    (records | ParsePosts()).posts | beam.ParDo(CountToFileFn(str(progress)))
    started = time.perf_counter()
    result = p.run()
    try:
        while time.perf_counter() - started < timeout:
            seen = sum(int(n) for n in progress.read_text().split())
            if seen >= expected:
                return time.perf_counter() - started
            if PipelineState.is_terminal(result.state):
                print(f"  !! streaming job ended early: {result.state}", file=sys.stderr)
                return None
            time.sleep(0.05)
        return None
    finally:
        result.cancel()


def prism_binary(given: str | None) -> str:
    if given or os.environ.get("TENDENCIAS_PRISM"):
        return given or os.environ["TENDENCIAS_PRISM"]
    return subprocess.run(
        [str(ROOT / "scripts/prism.sh")], capture_output=True, text=True, check=True
    ).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000, help="messages to produce and read (M)")
    parser.add_argument("--partitions", type=int, default=3, help="partitions of the benchmark topic")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of all readers; the median is reported")
    add_bootstrap_flag(parser)
    parser.add_argument(
        "--prism-location", type=str, default=None, help="Prism binary (default: scripts/prism.sh)"
    )
    args = parser.parse_args(argv)
    import logging

    logging.getLogger().setLevel(logging.ERROR)
    logging.getLogger("PrismRunner").setLevel(logging.CRITICAL)  # "pipeline canceled" when a job is stopped
    bootstrap, m = args.bootstrap_servers, args.messages
    prism = prism_binary(args.prism_location)
    print(
        f"machine: {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}, {platform.platform()}"
    )
    print(
        f"versions: python {platform.python_version()}, apache-beam {beam.__version__}, "
        f"kafka-python {kafka.__version__}, prism {Path(prism).parent.name}"
    )
    topic, empty = make_topic(bootstrap, args.partitions), make_topic(bootstrap, args.partitions)
    produced = produce(bootstrap, topic, m)
    print(
        f"produced {m:,} posts (~{len(synthetic_post(random.Random(1), 1, 0))} bytes each) into {topic} "
        f"({args.partitions} partitions) in {produced:.1f} s"
    )

    readers = {
        "kafka-python consumer loop (reference)": lambda: plain_consumer(bootstrap, topic, m, parse=False),
        "kafka-python consumer loop + parse_post": lambda: plain_consumer(bootstrap, topic, m, parse=True),
        "ReadFromKafka bounded, DirectRunner (+ParsePosts, count)": lambda: bounded_beam(
            bootstrap, topic, "DirectRunner", prism, m
        ),
        "ReadFromKafka bounded, PrismRunner (+ParsePosts, count)": lambda: bounded_beam(
            bootstrap, topic, "PrismRunner", prism, m
        ),
        "ReadFromKafka streaming, PrismRunner (+ParsePosts)": lambda: streaming_prism(
            bootstrap, topic, prism, m
        ),
    }
    startups = {
        label: bounded_beam(bootstrap, empty, runner, prism, 0)
        for label, runner in (
            ("ReadFromKafka bounded, DirectRunner (+ParsePosts, count)", "DirectRunner"),
            ("ReadFromKafka bounded, PrismRunner (+ParsePosts, count)", "PrismRunner"),
        )
    }
    times: dict[str, list[float]] = {label: [] for label in readers}
    for round_ in range(args.repeat):  # rounds interleave the readers, so load changes hit them alike
        for label, read in readers.items():
            seconds = read()
            if seconds is not None:
                times[label].append(seconds)
        print(f"round {round_ + 1}/{args.repeat}: " + ", ".join(f"{t[-1]:.1f}s" for t in times.values() if t))

    reference = m / statistics.median(times["kafka-python consumer loop (reference)"])
    print(f"\nmedian of {args.repeat} round(s), {m:,} messages")
    print(f"{'reader':<58}{'seconds':>9}{'msgs/s':>10}{'vs plain':>10}{'start-up s':>12}")
    for label, runs in times.items():
        if not runs:
            print(f"{label:<58}{'did not finish':>19}")
            continue
        seconds = statistics.median(runs)
        startup = f"{startups[label]:.2f}" if label in startups else ""
        print(f"{label:<58}{seconds:>9.2f}{m / seconds:>10,.0f}{m / seconds / reference:>10.2f}{startup:>12}")
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.delete_topics([topic, empty])
    admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
