"""Commits that wait for the sinks, for runners that keep no state across a restart.

On Prism and DirectRunner nothing of a job survives it: not its windows, not its timers, not
its buffers. Committing offsets when a bundle is finalised (what Flink and Dataflow may do,
since their checkpoints hold the state too) would lose every record whose window was still
open or whose archive file was not written yet. So on those runners:

- `ReadFromKafka(commit="durable")` notes, for each batch it emits, its offsets and the
  partition's watermark after it, in the process-wide `DURABLE` ledger, and never commits by
  itself.
- With an archive (`acknowledged`), the archive writer acknowledges each post's and sale's
  origin once its file is renamed into place, and the dead-letter writer each dead letter's
  once the broker has it; a partition is committed up to its first record not yet
  acknowledged. The windows still open at a restart are rebuilt from the archive
  (transforms/warm_start.py).
- Without an archive, `CommitWhenDurable` after every sink, a stateful DoFn whose event-time
  timer fires at the readers' watermark, commits a batch once the watermark after the sinks
  passes its stamp plus `hold` (the longest window and the allowed lateness: a restart reads
  those windows' records again from Kafka, so a committed record's windows were emitted). A
  runner moves a stage's watermark past an element only once it is processed, late ones
  included (Prism holds a stage's input watermark at its oldest pending element or timer).
  The stamp is the highest watermark of the topic's partitions when the batch came out:
  Prism may move a reader's output watermark to the other partitions' while one partition's
  bundle still runs, and that bundle's records then come out late.
- Each commit carries, in its metadata, the time up to which every trend window was written
  (`durable_ms`), marked by a `CommitWhenDurable` after the trend sinks (topics, trend
  archive, their dead letters); a restart does not send again the records of those windows.

When the readers stop (a drain, or the end of a bounded read) the watermark runs to the end of
time; `t` is then capped at the real frontier the readers had reached, so `durable_ms` never
claims windows that only closed because the job stopped. Everything here runs in the job's
process, which is where Prism (LOOPBACK) and DirectRunner run the SDK harness.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections import deque
from typing import Any

import apache_beam as beam
from apache_beam.coders import VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms import userstate
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Timestamp

LOG = logging.getLogger(__name__)
END_MS = GlobalWindow().max_timestamp().micros // 1000
FINAL_COMMIT_ATTEMPTS = 5
NOTHING_WRITTEN = MIN_TIMESTAMP.micros // 1000  # durable_ms before any trend window is written
REFRESH_MS = 60_000  # a commit is made again when its durable_ms has moved this much
_SECOND = 1000


class _Partition:
    """One partition's emitted, not yet durable batches: [first offset, last offset, w, offsets
    not yet acknowledged (acknowledged commits) or None]."""

    def __init__(
        self, settings: Any, topic: str, partition: int, hold_ms: int, earlier_mark: int, acks: bool
    ):
        self.settings, self.topic, self.partition, self.hold_ms = settings, topic, partition, hold_ms
        self.acks = acks
        self.early: set[int] = set()  # acknowledged before their batch was noted (a fused sink)
        self.noted = -1  # the highest offset noted in this run
        self.batches: deque[list[int]] = deque()
        self.frontier = MIN_TIMESTAMP.micros // 1000
        self.read_any = False
        self.finished = False
        self.target: int | None = None  # the next offset a commit may name
        self.committed: int | None = None  # the next offset the group resumes from, as committed
        self.committed_written: int | None = None  # the durable_ms it was committed with
        self.emitted_through = earlier_mark  # for the redelivery count of the next run


class DurableOffsets:
    """Process-wide: batches emitted per (ledger, topic, partition), and the commits they allow."""

    def __init__(self, commit_timeout_ms: int = 5000):
        self._lock = threading.Lock()
        self._partitions: dict[tuple, _Partition] = {}
        self._committers: dict[str, Any] = {}
        self._written: dict[str, int] = {}
        self._timeout_ms = commit_timeout_ms

    def register(
        self,
        ledger: str,
        topic: str,
        partition: int,
        settings: Any,
        hold_ms: int,
        earlier_mark: int = -1,
        acks: bool = False,
    ) -> None:
        """`acks`: the partition's offsets are committed as sinks acknowledge its records
        (`ack`), not by the watermark after the sinks."""
        with self._lock:
            key = (ledger, topic, partition)
            if key not in self._partitions:
                self._partitions[key] = _Partition(settings, topic, partition, hold_ms, earlier_mark, acks)

    def note_batch(self, ledger: str, topic: str, partition: int, offsets: list[int], w_ms: int) -> None:
        """`offsets` (increasing) were emitted and the partition's watermark is now `w_ms`.

        The batch is stamped with the highest watermark of the topic's partitions, not its own:
        Prism may move a reader's output watermark to the other partitions' while this one's
        bundle is still running, so its records may be late when they come out. Stamps are
        rounded up to a second, so a live stream keeps about one entry a second."""
        first, last = offsets[0], offsets[-1]
        with self._lock:
            part = self._partitions[(ledger, topic, partition)]
            part.frontier = max(part.frontier, w_ms)
            stamp = max(p.frontier for p in self._of(ledger) if p.topic == topic)
            rounded = -(-stamp // _SECOND) * _SECOND
            batches = part.batches
            while batches and batches[-1][0] >= first:  # a retried bundle reads these again
                batches.pop()
            if batches and batches[-1][1] >= first:
                batches[-1][1] = first - 1
                if batches[-1][3] is not None:
                    batches[-1][3] = {o for o in batches[-1][3] if o < first}
            pending = None
            if part.acks:
                pending = set(offsets) - part.early
                part.early -= set(offsets)
            if batches and batches[-1][2] == rounded and batches[-1][1] + 1 == first:
                batches[-1][1] = last
                if pending is not None:
                    batches[-1][3] |= pending
            else:
                batches.append([first, last, rounded, pending])
            part.read_any = True
            part.noted = last
            part.emitted_through = max(part.emitted_through, last)
            if part.acks:
                _take_acknowledged(part)

    def ack(self, ledger: str, origins) -> int:
        """(topic, partition, offset) of records a sink has written for good; returns how many
        partitions may commit further now."""
        moved = 0
        with self._lock:
            touched = {}
            for topic, partition, offset in origins:
                part = self._partitions.get((ledger, topic, partition))
                if part is None or not part.acks:
                    continue
                if offset > part.noted:
                    part.early.add(offset)
                    continue
                firsts = [b[0] for b in part.batches]
                at = bisect.bisect_right(firsts, offset) - 1
                if at >= 0 and offset <= part.batches[at][1]:
                    part.batches[at][3].discard(offset)
                touched[id(part)] = part
            for part in touched.values():
                _take_acknowledged(part)
                moved += part.target is not None and part.target != part.committed
        return moved

    def note_frontier(self, ledger: str, topic: str, partition: int, w_ms: int) -> None:
        with self._lock:
            part = self._partitions[(ledger, topic, partition)]
            part.frontier = max(part.frontier, w_ms)

    def finish(self, ledger: str, topic: str, partition: int) -> None:
        """The partition's read ended (drained, or the end of a bounded range)."""
        with self._lock:
            self._partitions[(ledger, topic, partition)].finished = True

    def _of(self, ledger: str) -> list[_Partition]:
        return [part for (name, _, _), part in self._partitions.items() if name == ledger]

    def frontier(self, ledger: str) -> int | None:
        """The watermark of the readers still reading: the least of their partitions' (END once
        every one has finished; None before any partition is known)."""
        with self._lock:
            parts = self._of(ledger)
            live = [p.frontier for p in parts if not p.finished]
            return min(live) if live else (END_MS if parts else None)

    def reached(self, ledger: str) -> int | None:
        """Where the readers really were: the least watermark of the partitions that read
        something or still read (a drained job's is not the end of time)."""
        with self._lock:
            parts = [p for p in self._of(ledger) if p.read_any or not p.finished]
            return min(p.frontier for p in parts) if parts else None

    def finished(self, ledger: str) -> bool:
        with self._lock:
            parts = self._of(ledger)
            return bool(parts) and all(p.finished for p in parts)

    def note_written(self, ledger: str, t_ms: int) -> None:
        """Every trend record of a window ending at or before `t_ms` is written (capped where the
        readers really were): what commits carry as `durable_ms`."""
        reached = self.reached(ledger)
        capped = t_ms if reached is None else min(t_ms, reached)
        with self._lock:
            self._written[ledger] = max(self._written.get(ledger, NOTHING_WRITTEN), capped)

    def written(self, ledger: str) -> int:
        with self._lock:
            return self._written.get(ledger, NOTHING_WRITTEN)

    def durable(self, ledger: str, t_ms: int) -> dict[tuple[str, int], tuple[int, int]]:
        """Every record emitted before the readers' watermark reached `t_ms` is in the sinks the
        commits wait for: takes the batches this allows off the books; {(topic, partition):
        (next offset, durable_ms)} of every partition whose commit is behind what is allowed."""
        reached = self.reached(ledger)
        capped = t_ms if reached is None else min(t_ms, reached)
        written = self.written(ledger)
        behind = {}
        with self._lock:
            for part in self._of(ledger):
                if not part.acks:
                    limit = t_ms if part.hold_ms == 0 else capped
                    while part.batches and part.batches[0][2] + part.hold_ms < limit:
                        part.target = part.batches.popleft()[1] + 1
                moved = part.target != part.committed
                # the offset stands still (a quiet partition): durable_ms still moves on, now and then
                stale = part.committed_written is not None and written - part.committed_written >= REFRESH_MS
                if part.target is not None and (moved or stale):
                    behind[(part.topic, part.partition)] = (part.target, written)
        return behind

    def commit_acknowledged(self, ledger: str) -> int:
        """Commits what acknowledgements allow (partitions with acknowledged commits)."""
        return self._send(ledger, self.durable(ledger, NOTHING_WRITTEN))

    def commit(self, ledger: str, t_ms: int) -> int:
        """Commits what `durable(ledger, t_ms)` allows to each partition's group; returns how many
        partitions moved. A failed commit is tried again at the next call."""
        return self._send(ledger, self.durable(ledger, t_ms))

    def refresh(self, ledger: str) -> int:
        """Commits the offsets already committed again, with the latest durable_ms (the trend
        sinks may finish after the last commit of a drain)."""
        written = self.written(ledger)
        with self._lock:
            behind = {
                (p.topic, p.partition): (p.committed, written)
                for p in self._of(ledger)
                if p.committed is not None and p.committed_written != written
            }
        return self._send(ledger, behind)

    def _send(self, ledger: str, behind: dict[tuple[str, int], tuple[int, int]]) -> int:
        from kafka import OffsetAndMetadata, TopicPartition

        from tendencias.transforms.kafka.offsets import mark_metadata

        if not behind:
            return 0
        with self._lock:
            parts = {(p.topic, p.partition): p for p in self._of(ledger)}
        by_group: dict[str, dict] = {}
        for (topic, partition), (offset, durable_ms) in behind.items():
            part = parts[(topic, partition)]
            metadata = mark_metadata(part.emitted_through, durable_ms)
            group = by_group.setdefault(part.settings.group_id, {})
            group[TopicPartition(topic, partition)] = OffsetAndMetadata(offset, metadata, -1)
        moved = 0
        for group, offsets in by_group.items():
            settings = parts[(next(iter(offsets)).topic, next(iter(offsets)).partition)].settings
            try:
                committer = self._committers.get(group) or settings.consumer()
                self._committers[group] = committer
                committer.commit(offsets, timeout_ms=self._timeout_ms)
            except Exception as err:  # retried at the next firing; a restart before it re-reads
                failed = self._committers.pop(group, None)
                if failed is not None:
                    _close_quietly(failed)
                LOG.warning("could not commit %d partitions of group %s: %s", len(offsets), group, err)
                continue
            with self._lock:
                for tp, meta in offsets.items():
                    part = parts[(tp.topic, tp.partition)]
                    part.committed, part.committed_written = meta.offset, behind[(tp.topic, tp.partition)][1]
            moved += len(offsets)
        return moved

    def pending(self, ledger: str) -> bool:
        """Whether a commit that is allowed has not been made yet (it failed)."""
        with self._lock:
            return any(p.target is not None and p.target != p.committed for p in self._of(ledger))

    def forget(self, ledger: str) -> None:
        with self._lock:
            for key in [k for k in self._partitions if k[0] == ledger]:
                del self._partitions[key]
            self._written.pop(ledger, None)


def _take_acknowledged(part: _Partition) -> None:
    """Moves the partition's commit past its leading batches whose every record is written."""
    while part.batches and not part.batches[0][3]:
        part.target = part.batches.popleft()[1] + 1


def _close_quietly(consumer) -> None:
    try:
        consumer.close(autocommit=False)
    except Exception:  # a consumer whose broker is gone may fail to close; it holds nothing
        pass


DURABLE = DurableOffsets()


def acknowledge(ledger: str, origins) -> None:
    """Records a sink wrote for good, by (topic, partition, offset): commit what that allows."""
    if DURABLE.ack(ledger, origins):
        DURABLE.commit_acknowledged(ledger)


class AcknowledgeDeadLetters:
    """WriteToKafka(on_delivered=...) of the records' dead letters: their source offsets are
    written for good once the broker has them."""

    def __init__(self, ledger: str):
        self._ledger = ledger

    def __call__(self, letters: list) -> None:
        acknowledge(
            self._ledger,
            [
                (d["topic"], d["partition"], d["offset"])
                for d in letters
                if isinstance(d, dict) and d.get("topic") is not None and d.get("offset") is not None
            ],
        )


_TICK_SPEC = userstate.TimerSpec("durable_tick", userstate.TimeDomain.WATERMARK)
_TICK = beam.DoFn.TimerParam(_TICK_SPEC)
_ARMED = beam.DoFn.StateParam(userstate.ReadModifyWriteStateSpec("durable_armed", VarIntCoder()))


def _at(ms: int) -> Timestamp:
    return Timestamp(micros=ms * 1000)


class CommitWhenDurableFn(beam.DoFn):
    """(key, anything) -> nothing; at each firing of its timer, commits what the ledger allows
    and/or marks how far trend windows are written.

    The timer goes to the readers' watermark, so it fires each time the watermark after the
    sinks catches up with the readers'. Should that one not lead (it never should: the sinks'
    watermark cannot pass the readers'), the timer goes a second further, which fires only once
    the readers move on. Once every reader has finished, or the ledger is gone, one last firing
    at the end of time commits what the drain flushed."""

    def __init__(self, ledger: str, commits: bool = True, marks_written: bool = True):
        self._ledger, self._commits_offsets, self._marks = ledger, commits, marks_written
        self._commits = Metrics.counter("kafka", "commits")

    def _next(self, after_ms: int) -> int | None:
        """When the timer fires next after a firing at `after_ms`; None: never again."""
        if after_ms >= END_MS:
            return None
        frontier = DURABLE.frontier(self._ledger)
        if frontier is None or DURABLE.finished(self._ledger):
            return END_MS
        return min(END_MS, frontier if frontier > after_ms else after_ms + _SECOND)

    def process(self, element, armed=_ARMED, tick=_TICK):
        if armed.read() is None:  # the seed, at the start of time: the first firing follows the first records
            tick.set(_at(MIN_TIMESTAMP.micros // 1000 + 1))
            armed.write(1)

    @userstate.on_timer(_TICK_SPEC)
    def on_tick(self, fired=beam.DoFn.TimestampParam, tick=_TICK):
        t_ms = fired.micros // 1000
        if self._marks:
            DURABLE.note_written(self._ledger, t_ms)
        if self._commits_offsets:
            self._commits.inc(DURABLE.commit(self._ledger, t_ms))
        at = self._next(t_ms)
        if at is not None:
            tick.set(_at(at))
        elif not self._commits_offsets:  # the trend sinks' last firing: commits carry it
            DURABLE.commit_acknowledged(self._ledger)
            DURABLE.refresh(self._ledger)
        else:  # the last firing: the readers are done, everything flushed
            for _ in range(FINAL_COMMIT_ATTEMPTS):
                if not DURABLE.pending(self._ledger):
                    break
                time.sleep(1)
                self._commits.inc(DURABLE.commit(self._ledger, t_ms))
            DURABLE.forget(self._ledger)


class CommitWhenDurable(beam.PTransform):
    """What sinks output (PCollections downstream of their writes) -> commits of the readers of
    `ledger` (see module docstring). `commits`: this one commits offsets once its sinks are past
    a batch; `marks_written`: its sinks are the trend sinks, and their watermark is the
    `durable_ms` the commits carry. One instance may do both (no archive: the commits wait for
    the windows), or two split them (an archive: the commits wait for the archive only)."""

    def __init__(self, ledger: str, commits: bool = True, marks_written: bool = True):
        super().__init__()
        self._fn = CommitWhenDurableFn(ledger, commits, marks_written)

    def expand(self, written):
        written = list(written) if isinstance(written, (list, tuple)) else [written]
        seed = written[0].pipeline | "Seed" >> beam.Impulse()
        return (
            [seed, *written]
            | "AfterSinks" >> beam.Flatten()
            | "InGlobalWindow" >> beam.WindowInto(beam.window.GlobalWindows())
            | "OneKey"
            >> beam.Map(lambda _: ("durable", None)).with_output_types(beam.typehints.Tuple[str, Any])
            | "Commit" >> beam.ParDo(self._fn)
        )
