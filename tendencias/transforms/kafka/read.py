"""Kafka in and out, natively in Python (kafka-python), no Java expansion service.

`ReadFromKafka` is a splittable DoFn: at pipeline start one element per partition is discovered
and its first offset resolved (the group's committed offset, earliest, latest or a time), then each
partition is read as one offset range that is checkpointed (never split) between polls. The element
timestamp is the event time: a JSON field of the record, else the Kafka record timestamp.

Delivery is at least once; two commit policies:
- `commit="finalize"`: offsets are committed in the bundle finalization callback, which the runner
  calls after it has durably taken the bundle's output. Right where checkpoints hold the job's
  state with the offsets (Flink, Dataflow).
- `commit="durable"`: the reader only notes what it emitted (durable.py), and a stage after the
  sinks commits once the records are written everywhere and their windows emitted (or archived).
  Right where nothing survives a restart (Prism, DirectRunner).
After a crash, the records emitted since the last commit are read again: duplicates, never gaps.
They are counted, not hidden: each commit stores in its metadata the highest offset emitted so
far, and a restarted read counts every record at or below that mark, or re-emitted within the
same run, in the `kafka/redelivered` counter. Records carry (topic, partition, offset) so sinks
can deduplicate. A drain (drain.py) ends every partition's range where it is.

`WriteToKafka` sends dicts (JSON, UTF-8) or bytes with a keyed, batched producer (acks=all,
idempotent), flushes at the end of every bundle and raises delivery errors, failing the bundle so
the runner retries it: at least once again, never silently dropped.

Secrets (SASL password, key password) come only from the environment, read on the worker by
`kafka_security_config_from_env()`, so they never travel in the pipeline graph, options or logs.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils.timestamp import Duration
from kafka.errors import RetriableError

from tendencias.records import RawRecord, parse_time_ms
from tendencias.transforms.kafka.config import (
    ClientPool,
    checked_extra_config,
    kafka_security_config_from_env,
    new_consumer,
    patiently,
)
from tendencias.transforms.kafka.drain import drain_requested
from tendencias.transforms.kafka.durable import DURABLE
from tendencias.transforms.kafka.offsets import (
    UNBOUNDED_STOP,
    CommitLedger,
    EventTimeWatermarkProvider,
    PartitionRead,
    PartitionRestrictionProvider,
    mark_metadata,
    parse_start,
    resolve_start_offsets,
)
from tendencias.transforms.kafka.write import KafkaDeliveryError, WriteToKafka

__all__ = ["KafkaDeliveryError", "ReadFromKafka", "WriteToKafka", "kafka_security_config_from_env"]
LOG = logging.getLogger(__name__)
_LEDGER = CommitLedger()
_POOL = ClientPool()
_RESTRICTION = beam.DoFn.RestrictionParam(PartitionRestrictionProvider())
_WATERMARK = beam.DoFn.WatermarkEstimatorParam(EventTimeWatermarkProvider())


class ReadSettings(NamedTuple):
    """What both reading DoFns need; built and checked by ReadFromKafka."""

    bootstrap_servers: str
    group_id: str | None
    consumer_config: dict
    event_time_field: str | None
    idle_advance_seconds: float | None
    poll_timeout_ms: int
    max_poll_records: int
    max_bundle_seconds: float
    idle_poll_seconds: float
    ledger: str | None = None  # commit="durable": the DURABLE ledger the readers note batches in
    hold_ms: int = 0  # commit="durable": how long after a batch's watermark it may be committed
    acknowledged: bool = False  # commit="durable": once sinks acknowledge each record instead

    def consumer(self):
        return new_consumer(self.bootstrap_servers, self.group_id, self.consumer_config)


class DiscoverPartitionsFn(beam.DoFn):
    """At pipeline start: every partition of the topics, with its first (and, bounded, last) offset."""

    def __init__(self, settings: ReadSettings, topics: list[str], start, bounded: bool, no_commit_start: str):
        self._settings, self._topics, self._start = settings, topics, start
        self._bounded, self._no_commit_start = bounded, no_commit_start

    def process(self, _impulse):
        from kafka import TopicPartition

        consumer = self._settings.consumer()
        try:
            partitions = []
            for topic in self._topics:
                found = consumer.partitions_for_topic(topic)
                if not found:
                    where = self._settings.bootstrap_servers
                    raise ValueError(f"topic {topic!r} does not exist (or is not readable) on {where}")
                partitions += [TopicPartition(topic, p) for p in sorted(found)]
            starts = resolve_start_offsets(consumer, partitions, self._start, self._no_commit_start)
            stops = consumer.end_offsets(partitions) if self._bounded else {}
        finally:
            consumer.close(autocommit=False)
        run_id = uuid.uuid4().hex
        for tp in partitions:
            start, mark = starts[tp]
            LOG.info(
                "reading %s[%d] from offset %d to %s", tp.topic, tp.partition, start, stops.get(tp, "live")
            )
            yield PartitionRead(tp.topic, tp.partition, start, stops.get(tp), mark, run_id)


class _PartitionProgress:
    """What one process() call got to: the consumer's position and the last offset emitted."""

    position: int | None = None
    last_emitted: int | None = None
    ended = False  # the offset range is done: bounded end reached, or drained


class ReadPartitionFn(beam.DoFn):
    """Reads one partition's offset range: polls until the bundle's time budget, then checkpoints."""

    def __init__(self, settings: ReadSettings):
        self._settings = settings
        self._records = Metrics.counter("kafka", "records_read")
        self._bytes = Metrics.counter("kafka", "bytes_read")
        self._redelivered = Metrics.counter("kafka", "redelivered")
        self._time_fallback = Metrics.counter("kafka", "event_time_from_record_timestamp")
        self._commits = Metrics.counter("kafka", "commits")
        self._commit_failures = Metrics.counter("kafka", "commit_failures")
        self._broker_errors = Metrics.counter("kafka", "broker_unavailable")
        self._warned_at = 0.0

    def teardown(self):
        _POOL.close_idle()

    def _consumer_at(self, key: tuple, tp, offset: int):
        """The partition's consumer, positioned at `offset` (borrowed from the pool or new)."""
        consumer, position = _POOL.take(key) or (None, None)
        if consumer is None:
            consumer = patiently(self._settings.consumer, f"reading {tp.topic}[{tp.partition}]")
            consumer.assign([tp])
        if position != offset:
            consumer.seek(tp, offset)
        return consumer

    def _event_time_ms(self, record) -> int:
        field = self._settings.event_time_field
        if field:
            try:
                return parse_time_ms(json.loads(record.value)[field], field)
            except Exception:  # a bad record still flows on, to be dead-lettered by the parser
                self._time_fallback.inc()
        return record.timestamp if record.timestamp and record.timestamp > 0 else int(time.time() * 1000)

    def _emit(self, part: PartitionRead, batch: list, tracker, stop: int, emitted: list[int]):
        """Claims the batch (up to the range's end) in one claim, then yields its records.

        Returns True when the batch reached past the end of a bounded range. One claim of the last
        offset covers the offsets before it; a checkpoint taken meanwhile keeps them in this bundle.
        """
        inside = batch if batch[-1].offset < stop else [r for r in batch if r.offset < stop]
        if inside and not tracker.try_claim(inside[-1].offset):
            return True
        for record in inside:
            value = record.value if record.value is not None else b""
            raw = RawRecord(value, part.topic, part.partition, record.offset, record.timestamp, record.key)
            yield beam.window.TimestampedValue(raw, self._event_time_ms(record) / 1000)
        emitted += [record.offset for record in inside]
        self._bytes.inc(sum(len(record.value or b"") for record in inside))
        if len(inside) < len(batch):
            tracker.try_claim(batch[len(inside)].offset)  # past the end: marks the range done
            return True
        return False

    def process(
        self,
        part: PartitionRead,
        finalizer=beam.DoFn.BundleFinalizerParam,  # placeholders must precede the SDF params (Beam)
        tracker=_RESTRICTION,
        watermark=_WATERMARK,
    ):
        from kafka import TopicPartition

        key, tp = (part.run_id, part.topic, part.partition), TopicPartition(part.topic, part.partition)
        ledger = self._settings.ledger
        if ledger:
            DURABLE.register(
                ledger,
                part.topic,
                part.partition,
                self._settings,
                self._settings.hold_ms,
                part.redelivered_through,
                acks=self._settings.acknowledged,
            )
        consumer = self._consumer_at(key, tp, tracker.current_restriction().start)
        read = _PartitionProgress()
        try:
            yield from self._read(part, tp, consumer, tracker, watermark, read)
        finally:
            _POOL.give(key, consumer, read.position)  # position None: seek again next time
        if ledger and read.ended:
            DURABLE.finish(ledger, part.topic, part.partition)
        # Registered even when there is nothing to commit: Prism finalizes every bundle of a stage
        # that asks for finalization, and the SDK rejects finalizing a bundle that registered nothing.
        last = None if ledger else read.last_emitted
        finalizer.register(lambda: self._commit(key, tp, last))

    def _read(self, part: PartitionRead, tp, consumer, tracker, watermark, read: _PartitionProgress):
        """Polls until the range ends (bounded, or drained), the partition is idle, or the time
        budget is spent."""
        settings, key = self._settings, (part.run_id, part.topic, part.partition)
        # Not tracker.is_bounded(): Beam's RestrictionTrackerView drops its answer (None), which
        # made a bounded read idle at its end like a live one, its watermark running with the clock.
        stop = tracker.current_restriction().stop
        bounded = stop != UNBOUNDED_STOP
        deadline = time.monotonic() + settings.max_bundle_seconds
        while True:
            if drain_requested():
                tracker.try_claim(stop)  # past the end: the range is done, nothing is deferred
                read.ended = True
                return
            read.position = None  # unknown until the whole batch is out (an error mid-batch: seek again)
            try:
                polled = consumer.poll(
                    timeout_ms=settings.poll_timeout_ms, max_records=settings.max_poll_records
                )
            except RetriableError as err:  # the broker is away: try again soon, the watermark waits
                self._broker_away(tp, err)
                tracker.defer_remainder(Duration.of(settings.idle_poll_seconds))
                return
            batch, emitted = polled.get(tp, []), []
            past_end = (yield from self._emit(part, batch, tracker, stop, emitted)) if batch else False
            if emitted:
                read.last_emitted = emitted[-1]
                self._records.inc(len(emitted))
                self._redelivered.inc(_LEDGER.note_emitted(key, emitted, part.redelivered_through))
                if settings.ledger:
                    w_ms = watermark.current_watermark().micros // 1000
                    DURABLE.note_batch(settings.ledger, part.topic, part.partition, emitted, w_ms)
            try:
                position = read.position = consumer.position(tp)
            except RetriableError as err:  # what was claimed is out; the rest resumes from there
                read.position = None
                self._broker_away(tp, err)
                tracker.defer_remainder(Duration.of(settings.idle_poll_seconds))
                return
            highwater = consumer.highwater(tp)
            if highwater is not None:
                Metrics.gauge("kafka", f"lag_{part.topic}_{part.partition}").set(max(0, highwater - position))
            if past_end:
                read.ended = True
                return
            if bounded and position >= stop:
                tracker.try_claim(stop)  # the rest of the range holds no records: marks it done
                read.ended = True
                return
            if not batch and not bounded:
                caught_up = highwater is not None and position >= highwater
                if settings.idle_advance_seconds is not None and caught_up:
                    watermark.advance_idle(settings.idle_advance_seconds)
                    if settings.ledger:
                        w_ms = watermark.current_watermark().micros // 1000
                        DURABLE.note_frontier(settings.ledger, part.topic, part.partition, w_ms)
                tracker.defer_remainder(Duration.of(settings.idle_poll_seconds))
                return
            if time.monotonic() >= deadline:
                tracker.defer_remainder()
                return

    def _broker_away(self, tp, err: Exception) -> None:
        """A read the broker did not answer: counted, logged at most once a minute."""
        self._broker_errors.inc()
        now = time.monotonic()
        if now - self._warned_at > 60:
            self._warned_at = now
            LOG.warning(
                "no answer from the broker for %s[%d] (%s); reading again shortly",
                tp.topic,
                tp.partition,
                err,
            )

    def _commit(self, key: tuple, tp, last_emitted: int | None) -> None:
        from kafka import OffsetAndMetadata

        if last_emitted is None or not self._settings.group_id:
            return
        next_offset = last_emitted + 1
        if not _LEDGER.claim_commit(key, next_offset):
            return  # a later bundle of this partition already committed further
        metadata = mark_metadata(_LEDGER.emitted_through(key))
        committer_key = (key[0], "commit")
        committer = (_POOL.take(committer_key) or (None,))[0]
        try:
            committer = committer or self._settings.consumer()
            committer.commit({tp: OffsetAndMetadata(next_offset, metadata, -1)})
            self._commits.inc()
        except Exception as err:  # the next commit covers these offsets; a restart re-reads them
            self._commit_failures.inc()
            LOG.warning("could not commit %s[%d] at %d: %s", tp.topic, tp.partition, next_offset, err)
        finally:
            if committer is not None:
                _POOL.give(committer_key, committer)


class ReadFromKafka(beam.PTransform):
    """Records of `topics` as `RawRecord`s timestamped with their event time (see module docstring).

    start: committed | earliest | latest | RFC 3339 time | epoch ms (committed needs group_id; a
    partition without a commit starts at `no_commit_start`). bounded: stop at the end offsets seen
    at start. idle_advance_seconds: how far behind the wall clock the watermark sits while a
    partition is idle (None: never advance while idle). max_bundle_seconds: how long one partition
    is read before a checkpoint (bounds the delay of downstream output and of commits).
    commit: "finalize" or "durable" (module docstring); durable needs `ledger`, the name the
    commits are made under (durable.py), and either `acknowledged` (a batch is committed once
    sinks acknowledge every record of it: the archive, the dead letters) or `hold_s` (how far
    behind the watermark after the sinks a batch's watermark must be before it is committed).
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topics: list[str],
        group_id: str | None = None,
        start: str = "committed",
        bounded: bool = False,
        event_time_field: str | None = None,
        idle_advance_seconds: float | None = 2.0,
        consumer_config: dict | None = None,
        no_commit_start: str = "earliest",
        poll_timeout_ms: int = 200,
        max_poll_records: int = 2000,
        max_bundle_seconds: float = 1.0,
        idle_poll_seconds: float = 0.2,
        commit: str = "finalize",
        ledger: str | None = None,
        hold_s: float = 0.0,
        acknowledged: bool = False,
    ):
        super().__init__()
        from kafka import KafkaConsumer

        self._topics = [topics] if isinstance(topics, str) else list(topics)
        if not bootstrap_servers or not self._topics:
            raise ValueError("ReadFromKafka needs bootstrap_servers and at least one topic")
        self._start = parse_start(start)
        if self._start == "committed" and not group_id:
            raise ValueError(
                "start='committed' needs a group_id (the consumer group whose offsets to resume)"
            )
        if no_commit_start not in ("earliest", "latest"):
            raise ValueError(f"no_commit_start must be earliest or latest, got {no_commit_start!r}")
        if max_poll_records < 1 or poll_timeout_ms < 0 or max_bundle_seconds <= 0:
            raise ValueError("max_poll_records must be >= 1, poll_timeout_ms >= 0, max_bundle_seconds > 0")
        if commit not in ("finalize", "durable"):
            raise ValueError(f"commit must be finalize or durable, got {commit!r}")
        if acknowledged and commit != "durable":
            raise ValueError("acknowledged commits are durable ones: commit='durable'")
        if commit == "durable" and not (ledger and group_id):
            raise ValueError("commit='durable' needs a group_id and the ledger its commits are made under")
        if hold_s < 0:
            raise ValueError(f"hold_s must be >= 0, got {hold_s}")
        config = checked_extra_config(consumer_config, KafkaConsumer.DEFAULT_CONFIG, "consumer_config")
        self._bounded, self._no_commit_start = bounded, no_commit_start
        self._settings = ReadSettings(
            bootstrap_servers,
            group_id,
            config,
            event_time_field,
            idle_advance_seconds,
            poll_timeout_ms,
            max_poll_records,
            max_bundle_seconds,
            idle_poll_seconds,
            ledger if commit == "durable" else None,
            int(hold_s * 1000),
            acknowledged,
        )

    def expand(self, pbegin):
        discover = DiscoverPartitionsFn(
            self._settings, self._topics, self._start, self._bounded, self._no_commit_start
        )
        records = (
            pbegin
            | "Impulse" >> beam.Impulse()
            | "DiscoverPartitions" >> beam.ParDo(discover)
            | "ReadPartitions" >> beam.ParDo(ReadPartitionFn(self._settings))
        )
        # Beam marks a ParDo's output bounded when its input is (the Impulse), whatever the
        # restriction; downstream stages choose batch or streaming plans from this flag.
        records.is_bounded = self._bounded
        return records

    def display_data(self):
        return {
            "bootstrap_servers": self._settings.bootstrap_servers,
            "topics": ",".join(self._topics),
            "group_id": self._settings.group_id or "",
            "start": str(self._start),
            "bounded": self._bounded,
            "commit": "durable" if self._settings.ledger else "finalize",
        }
