"""WriteToKafka: dicts (JSON, UTF-8) or bytes to a topic with a keyed, batched, idempotent producer.

acks=all, flushed at the end of every bundle; any record the broker did not acknowledge fails the
bundle with `KafkaDeliveryError`, so the runner retries it (at least once, never dropped silently).
Re-exported by `tendencias.transforms.kafka.read`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from tendencias.transforms.kafka.config import checked_extra_config, new_producer, patiently


def _encode_value(element: Any) -> bytes:
    if isinstance(element, bytes):
        return element
    if isinstance(element, dict):
        return json.dumps(element, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if isinstance(element, str):
        return element.encode("utf-8")
    raise TypeError(f"WriteToKafka takes dicts, bytes or str, got {type(element).__name__}")


def _encode_key(key: Any) -> bytes | None:
    if key is None or isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.encode("utf-8")
    raise TypeError(f"key_fn must return str, bytes or None, got {type(key).__name__}")


class KafkaDeliveryError(RuntimeError):
    """Records the broker did not acknowledge; the bundle fails so the runner retries it."""


# Above the producer's delivery timeout (120 s by default), after which every future is resolved.
_DELIVERY_WAIT_SECONDS = 180


def await_delivery(producer, futures: list, topic: str) -> int:
    """Flushes and checks every send; returns how many were acknowledged or raises KafkaDeliveryError."""
    from kafka.errors import KafkaError

    try:
        producer.flush(timeout=_DELIVERY_WAIT_SECONDS)
    except KafkaError:
        pass  # kafka-python reports a batch split after MESSAGE_TOO_LARGE as "Future not done"
    failed = []
    for future in futures:
        try:
            future.get(timeout=_DELIVERY_WAIT_SECONDS)
        except Exception as err:  # every failure is collected and raised below
            failed.append(err)
    if failed:
        raise KafkaDeliveryError(
            f"{len(failed)} of {len(futures)} records were not delivered to {topic!r}: {failed[0]!r}"
        ) from failed[0]
    return len(futures)


class WriteToKafkaFn(beam.DoFn):
    def __init__(self, bootstrap_servers, topic, key_fn, producer_config, max_pending, on_delivered=None):
        self._bootstrap, self._topic, self._key_fn = bootstrap_servers, topic, key_fn
        self._config, self._max_pending = producer_config, max_pending
        self._on_delivered = on_delivered
        self._written = Metrics.counter("kafka", "records_written")

    def setup(self):
        self._producer = None  # made at the first record: a broker restarting is waited for then

    def start_bundle(self):
        self._pending = []
        self._sent = []

    def process(self, element):
        key = _encode_key(self._key_fn(element)) if self._key_fn else None
        if self._producer is None:
            self._producer = patiently(
                lambda: new_producer(self._bootstrap, self._config), f"writing {self._topic}"
            )
        value = _encode_value(element)
        # send() waits up to max_block_ms for the topic's metadata, then raises: wait on for a
        # broker that restarts (a failed bundle fails the whole job on Prism)
        send = lambda: self._producer.send(self._topic, value=value, key=key)  # noqa: E731
        self._pending.append(patiently(send, f"writing {self._topic}"))
        if self._on_delivered is not None:
            self._sent.append(element)
        if len(self._pending) >= self._max_pending:
            self._flush()

    def finish_bundle(self):
        self._flush()

    def _flush(self):
        pending, self._pending = self._pending, []
        sent, self._sent = self._sent, []
        if pending:
            self._written.inc(await_delivery(self._producer, pending, self._topic))
        if sent:
            self._on_delivered(sent)

    def teardown(self):
        producer = getattr(self, "_producer", None)
        if producer is not None:
            producer.close(timeout=10)


class WriteToKafka(beam.PTransform):
    """Writes dicts (JSON, UTF-8) or bytes to `topic`; acks=all, flushed every bundle, errors raised.
    `on_delivered(elements)` is called with the elements the broker acknowledged."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        key_fn: Callable[[Any], str | bytes | None] | None = None,
        producer_config: dict | None = None,
        max_pending: int = 10_000,
        on_delivered: Callable[[list], None] | None = None,
    ):
        super().__init__()
        from kafka import KafkaProducer

        if not bootstrap_servers or not topic:
            raise ValueError("WriteToKafka needs bootstrap_servers and a topic")
        config = checked_extra_config(producer_config, KafkaProducer.DEFAULT_CONFIG, "producer_config")
        if config.pop("acks", "all") not in ("all", -1):
            raise ValueError("WriteToKafka always uses acks='all'; remove acks from producer_config")
        self._fn = WriteToKafkaFn(bootstrap_servers, topic, key_fn, config, max_pending, on_delivered)

    def expand(self, pcoll):
        return pcoll | "Produce" >> beam.ParDo(self._fn)
