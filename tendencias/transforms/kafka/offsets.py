"""Offset and event-time bookkeeping behind `kafka_io.ReadFromKafka`, kept free of network I/O.

- `parse_start` / `resolve_start_offsets`: where each partition's read begins (the group's committed
  offset, earliest, latest, or the first record at or after a time) and, in bounded mode, where it ends.
- `PartitionRestrictionProvider` / `KafkaOffsetTracker`: one offset range per partition, unbounded
  unless the read is bounded, and never split dynamically (only checkpointed).
- `EventTimeWatermarkEstimator`: follows the event times of the records it emits and keeps moving
  when the partition is idle.
- `CommitLedger`: commits that never go backwards and the count of records emitted twice.
"""

from __future__ import annotations

import threading
import time
from typing import Any, NamedTuple

from apache_beam.io.iobase import RestrictionTracker, WatermarkEstimator
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.transforms.core import RestrictionProvider, WatermarkEstimatorProvider
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Timestamp

from tendencias.records import RecordError, parse_time_ms

START_POLICIES = ("committed", "earliest", "latest")
UNBOUNDED_STOP = 2**63 - 1
_MARK_PREFIX = "emitted_through="
_DURABLE_PREFIX = "durable_ms="


class PartitionRead(NamedTuple):
    """One partition to read: the element of the splittable DoFn, resolved at pipeline start."""

    topic: str
    partition: int
    start_offset: int
    stop_offset: int | None  # None: read forever
    redelivered_through: int = -1  # offsets up to this one were emitted by an earlier run
    run_id: str = ""


def parse_start(start: str | int) -> str | int:
    """A start policy name, or a time (RFC 3339 or epoch ms/s) as epoch milliseconds."""
    if isinstance(start, str) and start.strip().lower() in START_POLICIES:
        return start.strip().lower()
    try:
        return parse_time_ms(start, "start")
    except RecordError as err:
        raise ValueError(
            f"start must be one of {', '.join(START_POLICIES)}, an RFC 3339 time or epoch milliseconds; "
            f"got {start!r} ({err})"
        ) from None


def mark_metadata(emitted_through: int, durable_ms: int | None = None) -> str:
    """Commit metadata: the highest offset emitted so far (so a restart can count re-reads) and,
    with durable commits, the time up to which every window was written (durable.py)."""
    text = f"{_MARK_PREFIX}{emitted_through}"
    return text if durable_ms is None else f"{text};{_DURABLE_PREFIX}{durable_ms}"


def _field(metadata: str | None, prefix: str) -> int | None:
    for part in (metadata or "").split(";"):
        if part.startswith(prefix):
            try:
                return int(part[len(prefix) :])
            except ValueError:
                return None
    return None


def read_mark(metadata: str | None) -> int:
    found = _field(metadata, _MARK_PREFIX)
    return -1 if found is None else found


def read_durable(metadata: str | None) -> int | None:
    """The `durable_ms` of a commit's metadata, None when it has none."""
    return _field(metadata, _DURABLE_PREFIX)


def resolve_start_offsets(
    consumer: Any, partitions: list, start: str | int, fallback: str = "earliest"
) -> dict[Any, tuple[int, int]]:
    """(first offset to read, redelivered_through) for each partition.

    `consumer` needs kafka-python's beginning_offsets, end_offsets, committed and offsets_for_times.
    A committed offset outside the retained log (deleted by retention) is clamped into it; a
    partition without a commit starts at `fallback` (earliest or latest); a time with no record at
    or after it starts at the end.
    """
    if fallback not in ("earliest", "latest"):
        raise ValueError(f"fallback must be earliest or latest, got {fallback!r}")
    policy = parse_start(start)
    begin = consumer.beginning_offsets(partitions)
    end = consumer.end_offsets(partitions)
    if policy == "earliest":
        return {tp: (begin[tp], -1) for tp in partitions}
    if policy == "latest":
        return {tp: (end[tp], -1) for tp in partitions}
    if isinstance(policy, int):
        found = consumer.offsets_for_times({tp: policy for tp in partitions})
        return {tp: (found[tp].offset if found.get(tp) else end[tp], -1) for tp in partitions}
    resolved = {}
    for tp in partitions:
        committed = consumer.committed(tp, metadata=True)
        if committed is None or committed.offset is None or committed.offset < 0:
            resolved[tp] = ((begin if fallback == "earliest" else end)[tp], -1)
        else:
            resolved[tp] = (min(max(committed.offset, begin[tp]), end[tp]), read_mark(committed.metadata))
    return resolved


class KafkaOffsetTracker(OffsetRestrictionTracker):
    """Offsets of one partition; checkpoints (fraction 0) are allowed, dynamic splits are refused.

    Splitting a partition's offsets would make two readers of one partition, each with its own
    watermark and commits; Prism asks for half-splits unless they are refused.
    """

    def try_split(self, fraction_of_remainder):
        if fraction_of_remainder != 0:
            return None
        return super().try_split(0)

    def is_bounded(self):
        return self._range.stop != UNBOUNDED_STOP


class PartitionRestrictionProvider(RestrictionProvider):
    def initial_restriction(self, element: PartitionRead) -> OffsetRange:
        stop = UNBOUNDED_STOP if element.stop_offset is None else element.stop_offset
        return OffsetRange(element.start_offset, max(element.start_offset, stop))

    def create_tracker(self, restriction: OffsetRange) -> RestrictionTracker:
        return KafkaOffsetTracker(restriction)

    def split(self, element, restriction):
        yield restriction

    def restriction_size(self, element, restriction: OffsetRange) -> int:
        return 1 if restriction.stop == UNBOUNDED_STOP else restriction.size()


class EventTimeWatermarkEstimator(WatermarkEstimator):
    """Watermark = the latest event time emitted; when idle, an extrapolated event-time clock.

    When a partition has nothing to read, the watermark moves to what the event time would be if it
    had kept pace with the wall clock since the latest record, `idle_advance` seconds behind and
    never past now - `idle_advance`. So a live stream closes its windows while quiet, and a slow
    historical replay (event times far behind the wall clock) does not make its next records late.
    State: (watermark micros, latest event micros or None, wall seconds when it was seen or None).
    """

    def __init__(self, state: tuple | None = None):
        watermark, self._latest, self._latest_wall = state or (MIN_TIMESTAMP.micros, None, None)
        self._watermark = watermark

    def observe_timestamp(self, timestamp: Timestamp) -> None:
        micros = timestamp.micros
        if self._latest is None or micros > self._latest:
            self._latest, self._latest_wall = micros, time.time()
        if micros > self._watermark:
            self._watermark = micros

    def advance_idle(self, idle_advance_seconds: float, now: float | None = None) -> None:
        now = time.time() if now is None else now
        target = now - idle_advance_seconds
        if self._latest is not None:
            target = min(target, self._latest / 1e6 + (now - self._latest_wall) - idle_advance_seconds)
        self._watermark = max(self._watermark, int(target * 1e6))

    def current_watermark(self) -> Timestamp:
        return Timestamp(micros=self._watermark)

    def get_estimator_state(self) -> tuple:
        return (self._watermark, self._latest, self._latest_wall)


class EventTimeWatermarkProvider(WatermarkEstimatorProvider):
    def initial_estimator_state(self, element, restriction):
        return None

    def create_watermark_estimator(self, estimator_state):
        return EventTimeWatermarkEstimator(estimator_state)


class CommitLedger:
    """Process-wide: the highest offset emitted and committed per (run, topic, partition).

    Finalization callbacks of consecutive bundles may run out of order, and a commit must never move
    the group's offset backwards; a record emitted at or below the highest offset already emitted in
    this run (a retried bundle) or by an earlier run (the commit metadata mark) is a redelivery.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._emitted: dict[tuple, int] = {}
        self._committed: dict[tuple, int] = {}

    def note_emitted(self, key: tuple, offsets: list[int], earlier_mark: int = -1) -> int:
        """Records a batch of emitted offsets (increasing); returns how many were emitted before."""
        if not offsets:
            return 0
        with self._lock:
            seen = max(self._emitted.get(key, -1), earlier_mark)
            self._emitted[key] = max(seen, offsets[-1])
        return sum(1 for offset in offsets if offset <= seen)

    def emitted_through(self, key: tuple) -> int:
        with self._lock:
            return self._emitted.get(key, -1)

    def claim_commit(self, key: tuple, next_offset: int) -> bool:
        """True if `next_offset` moves the commit forward (and records it); False if stale."""
        with self._lock:
            if next_offset <= self._committed.get(key, -1):
                return False
            self._committed[key] = next_offset
            return True
