"""`tendencias demo`: the whole product on a laptop, with no external service.

1. generates three days of sample posts and sales with planted trends (`tendencias sample`);
2. analyses that history into a TF-Transform transform_fn (`tendencias analyze`);
3. replays the posts and sales into fresh topics of the local Kafka broker (`tendencias replay`);
4. runs the streaming job over them on Prism (`tendencias run --bounded --streaming`);
5. prints the alerts and the strongest trends the job wrote to Kafka.

scripts/demo.sh starts the broker and builds Prism first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tendencias.pipelines.options import DEFAULT_BOOTSTRAP

ROOT = Path(__file__).resolve().parents[2]


def _step(text: str) -> None:
    print(f"\n== {text}", file=sys.stderr, flush=True)


def _produce_jsonl(bootstrap: str, topic: str, path: Path) -> int:
    from tendencias.transforms.kafka.config import new_producer
    from tendencias.transforms.kafka.write import await_delivery

    producer = new_producer(bootstrap, {"max_block_ms": 15_000}, client_id="tendencias-demo")
    try:
        lines = [line.rstrip("\n").encode("utf-8") for line in path.open(encoding="utf-8") if line.strip()]
        return await_delivery(producer, [producer.send(topic, value) for value in lines], topic)
    finally:
        producer.close(timeout=10)


def _read_topic(bootstrap: str, topic: str) -> list[dict]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    try:
        return [json.loads(record.value) for record in consumer]
    finally:
        consumer.close()


def _show(alerts: list[dict], trends: list[dict]) -> None:
    print(f"\n{len(trends)} trend records, {len(alerts)} alerts\n")
    print("ALERTS (one per episode, in the order they fired)")
    for trend in sorted(alerts, key=lambda t: t["window_end"]):
        print(
            f"  {trend['window_end']}  {trend['kind']:<8} {trend['key'][:30]:<30} "
            f"count {trend['count']:>4}  usual {trend['baseline']:>6.1f}  score {trend['score']:>5.1f}"
        )
        if trend.get("explanation"):
            print(f"      {trend['explanation']}")
    print("\nSTRONGEST TRENDS (highest score per key)")
    best: dict[tuple[str, str], dict] = {}
    for trend in trends:
        key = (trend["kind"], trend["key"])
        if key not in best or trend["score"] > best[key]["score"]:
            best[key] = trend
    for trend in sorted(best.values(), key=lambda t: -t["score"])[:10]:
        print(
            f"  {trend['severity']:<6} {trend['kind']:<8} {trend['key'][:30]:<30} score {trend['score']:>5.1f}  "
            f"{trend.get('explanation') or ''}"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tendencias demo", description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=ROOT / ".scratch" / "demo", help="where files go")
    parser.add_argument("--days", type=int, default=3, help="days of sample history")
    parser.add_argument(
        "--kafka-bootstrap",
        type=str,
        default=os.environ.get("TENDENCIAS_KAFKA_BOOTSTRAP", DEFAULT_BOOTSTRAP),
        help="the broker to use (scripts/demo.sh starts a local one)",
    )
    parser.add_argument("--runner", type=str, default="PrismRunner", help="Beam runner for the streaming job")
    args = parser.parse_args(argv)

    from kafka.admin import KafkaAdminClient, NewTopic

    from tendencias.pipelines import analyze, streaming
    from tendencias.tools import replay
    from tendencias.tools.sample_data import write_sample

    data, features = args.workdir / "data", args.workdir / "features"
    _step(f"1/5 sample data into {data}")
    # History that ends now, as a live stream's would.
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=args.days)
    print(json.dumps(write_sample(data, days=args.days, start=start)), file=sys.stderr)

    _step("2/5 TF-Transform analysis of the last 7 days of history")
    if (
        analyze.main(
            [
                "--history",
                str(data / "posts.jsonl"),
                "--sales",
                str(data / "sales.jsonl"),
                "--window",
                "7d",
                "--output",
                str(features),
            ]
        )
        != 0
    ):
        return 1

    run_id = uuid.uuid4().hex[:8]
    topics = {name: f"demo-{run_id}.{name}" for name in ("posts", "sales", "scores", "alerts", "dead")}
    _step(f"3/5 replaying into Kafka at {args.kafka_bootstrap}, topics demo-{run_id}.*")
    try:
        admin = KafkaAdminClient(bootstrap_servers=args.kafka_bootstrap, client_id="tendencias-demo")
    except Exception as err:
        print(
            f"tendencias demo: no Kafka broker at {args.kafka_bootstrap} ({err}); "
            "start one with scripts/kafka.sh start",
            file=sys.stderr,
        )
        return 1
    admin.create_topics([NewTopic(t, num_partitions=3, replication_factor=1) for t in topics.values()])
    admin.close()
    if (
        replay.main(
            [
                str(data / "posts.jsonl"),
                "--topic",
                topics["posts"],
                "--bootstrap-servers",
                args.kafka_bootstrap,
            ]
        )
        != 0
    ):
        return 1
    print(
        f"sent {_produce_jsonl(args.kafka_bootstrap, topics['sales'], data / 'sales.jsonl')} sales",
        file=sys.stderr,
    )

    _step(f"4/5 the streaming job on {args.runner}, reading the topics to their end")
    status = streaming.main(
        [
            f"--runner={args.runner}",
            "--streaming",
            "--bounded",
            "--start_offset=earliest",
            f"--group_id=demo-{run_id}",
            f"--kafka_bootstrap={args.kafka_bootstrap}",
            f"--posts_topic={topics['posts']}",
            f"--sales_topic={topics['sales']}",
            f"--scores_topic={topics['scores']}",
            f"--alerts_topic={topics['alerts']}",
            f"--dead_letter_topic={topics['dead']}",
            f"--transform_dir={features}",
            f"--archive_dir={args.workdir / 'archive'}",
            "--sentiment_backend=local",
        ]
    )
    if status != 0:
        return status

    _step("5/5 what the job found")
    _show(
        _read_topic(args.kafka_bootstrap, topics["alerts"]),
        _read_topic(args.kafka_bootstrap, topics["scores"]),
    )
    planted = json.loads((data / "truth.json").read_text(encoding="utf-8"))
    print("\nplanted in the sample: " + "; ".join(f"{b['name']} from {b['onset']}" for b in planted))
    return 0
