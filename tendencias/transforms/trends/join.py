"""The stream's join: each key's period counts with the stream's volumes of that period.

Every key of a period is scored against the same volumes (the period's posts, the window's,
the trailing day's). They are joined on the period end by a grouping, not a side input: a
side input may be read before its window is complete (Prism does so), which would score keys
against partial volumes. (Bounded input needs no join: batch.py reads the volumes of the whole
input as a side input, complete by then.)

`ShardForJoin`, then one `JoinStreamFn` for all horizons: per horizon and
shard, the stream's volumes per period and per hourly slot are kept in state as their panes
arrive; a period's keys (one list per shard and pane) wait until the watermark passes the
period end, when every on-time pane of it is in, then take their window's and trailing day's
volumes from state. A late pane of keys goes out at once with the volumes known by then.
The join's state is touched once per period, shard and pane, not per key.
"""

from __future__ import annotations

import pickle
import zlib
from typing import Any

import apache_beam as beam
from apache_beam.coders import BytesCoder
from apache_beam.transforms import userstate, window
from apache_beam.transforms.window import TimestampedValue

from tendencias.models.trends.baseline import BaselineParams
from tendencias.models.trends.config import Horizon
from tendencias.models.trends.volumes import PeriodVolumes, merge_volumes
from tendencias.transforms.trends.ordering import load, store, to_timestamp

SHARDS = 8  # groups per period end and horizon, so one period's keys are not one hot key
KEY = "key"  # a period's keys, beside the volumes
PERIODS, SLOTS = "periods", "slots"  # the stream join's volumes: per period, per hourly slot
_BY_SHARD = beam.typehints.Tuple[beam.typehints.Tuple[str, int], Any]


def shard_of(pair: tuple[str, str]) -> int:
    return zlib.crc32(f"{pair[0]}\x1f{pair[1]}".encode()) % SHARDS


class _ToShardFn(beam.DoFn):
    """A period's keys of one shard, or a volume part for every shard -> ((horizon, shard),
    (tag, period end, value))."""

    def __init__(self, horizon: str, tag: str):
        self._horizon, self._tag = horizon, tag

    def process(self, element, win=beam.DoFn.WindowParam):
        end = int(win.end.micros // 1000)
        if self._tag == KEY:
            shard, keys = element
            yield (self._horizon, shard), (KEY, end, list(keys.items()))
        else:
            for shard in range(SHARDS):
                yield (self._horizon, shard), (self._tag, end, element[1])


class ShardForJoin(beam.PTransform):
    """Unbounded: (a period's key counts per shard, volumes per period, volumes per hourly slot)
    of one horizon -> its parts for JoinStreamFn, in the global window."""

    def __init__(self, horizon: Horizon):
        super().__init__()
        self._name = horizon.name

    def expand(self, inputs):
        keys, period_volume, hourly = inputs
        parts = [
            pcoll
            | f"ToShard{tag.title()}" >> beam.ParDo(_ToShardFn(self._name, tag)).with_output_types(_BY_SHARD)
            for tag, pcoll in ((KEY, keys), (PERIODS, period_volume), (SLOTS, hourly))
        ]
        return parts | "ByShard" >> beam.Flatten() | "Global" >> beam.WindowInto(window.GlobalWindows())


_DUE_SPEC = userstate.TimerSpec("join_due", userstate.TimeDomain.WATERMARK)
_DUE = beam.DoFn.TimerParam(_DUE_SPEC)
_DUE_AT = beam.DoFn.StateParam(userstate.ReadModifyWriteStateSpec("join_due_at", BytesCoder()))
_PENDING = beam.DoFn.StateParam(userstate.BagStateSpec("join_pending", BytesCoder()))
_VOLUMES = beam.DoFn.StateParam(userstate.ReadModifyWriteStateSpec("join_volumes", BytesCoder()))


class JoinStreamFn(beam.DoFn):
    """Unbounded: ((horizon, shard), tagged part) -> (shard, (horizon, period end, [((kind, key),
    PeriodCounts)])), a period's keys of the shard together, for every horizon in one DoFn
    (DirectRunner mixes up the timers of same-named stateful DoFns).

    One timer, at the latest period waiting: keys come only once their period's panes have
    fired, so what waits is due at once or nearly, and one firing emits it all in period order
    (separate firings may reach the scorer out of order on DirectRunner)."""

    def __init__(self, horizons: list[tuple[Horizon, BaselineParams]], lateness_s: float):
        self._horizons = {h.name: (h, baseline) for h, baseline in horizons}
        self._lateness = int(lateness_s * 1000)

    def process(self, element, pending=_PENDING, due_at=_DUE_AT, due=_DUE, volumes=_VOLUMES):
        _, (tag, end, value) = element
        if tag != KEY:
            known = load(volumes) or {PERIODS: {}, SLOTS: {}}
            known[tag] = merge_volumes([known[tag], value])
            store(volumes, known)
            return
        pending.add(pickle.dumps((end, value), pickle.HIGHEST_PROTOCOL))
        latest = load(due_at)
        if latest is None or end > latest:
            # At the end itself, not its last ms: upstream panes of the period hold the watermark
            # at its last instant until they are out, so the watermark past the end means all are in.
            due.set(to_timestamp(end))
            store(due_at, end)

    @userstate.on_timer(_DUE_SPEC)
    def on_due(self, key=beam.DoFn.KeyParam, pending=_PENDING, due_at=_DUE_AT, volumes=_VOLUMES):
        waiting = sorted((pickle.loads(data) for data in pending.read()), key=lambda item: item[0])
        pending.clear()
        due_at.clear()
        if not waiting:
            return
        known = load(volumes) or {PERIODS: {}, SLOTS: {}}
        h, baseline = self._horizons[key[0]]
        for end, keys in waiting:
            window_parts = {e: v for e, v in known[PERIODS].items() if end - h.size_ms < e <= end}
            trailing = {e: v for e, v in known[SLOTS].items() if end - h.volume_ms < e <= end}
            volumes_at = PeriodVolumes(h, baseline, end, window_parts, trailing)
            counts = [(pair, volumes_at.counts(stats)) for pair, stats in keys]
            yield TimestampedValue((key[1], (h.name, end, counts)), to_timestamp(end - 1))
        # Late keys come at most `lateness` after their period: older volumes are done with.
        oldest = waiting[-1][0] - self._lateness
        known[PERIODS] = {e: v for e, v in known[PERIODS].items() if e > oldest - h.size_ms}
        known[SLOTS] = {e: v for e, v in known[SLOTS].items() if e > oldest - h.volume_ms}
        store(volumes, known)
