"""Producing to and consuming from the test broker, for the integration tests."""

from __future__ import annotations

import json
import time

from kafka import KafkaConsumer, KafkaProducer


def produce(bootstrap: str, topic: str, values: list[bytes], keys: list[bytes | None] | None = None) -> list:
    """Sends and returns each record's (partition, offset)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    keys = keys or [None] * len(values)
    futures = [producer.send(topic, value=v, key=k) for v, k in zip(values, keys, strict=True)]
    producer.flush()
    producer.close()
    return [(meta.partition, meta.offset) for meta in (f.get(timeout=10) for f in futures)]


def produce_posts(bootstrap: str, topic: str, posts: list[dict]) -> list:
    values = [json.dumps(p, ensure_ascii=False).encode() for p in posts]
    return produce(bootstrap, topic, values, [p["id"].encode() for p in posts])


def read_all(bootstrap: str, topic: str, expected: int, timeout: float = 20) -> list:
    """The topic's records from the beginning, until `expected` arrived or `timeout` passed."""
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    records = []
    deadline = time.monotonic() + timeout
    while len(records) < expected and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            records += batch
    consumer.close()
    return records
