"""JoinVolumes: each key's period counts with the stream's volumes of that period.

Every key of a period is scored against the same volumes (the period's posts, the window's,
the trailing day's). They are joined on the period end by a grouping, not a side input: a
side input may be read before its window is complete (Prism does so), which would score keys
against partial volumes. The join is sharded (`SHARDS` groups per period end, the volumes
copied into each) so one period's keys are not one hot key.

Bounded input: one GroupByKey in the global window. Unbounded: a stateful DoFn per
(period end, shard) that adds up the volume panes in its state, holds the keys until the
watermark passes the period end (all on-time panes are in by then) and emits them; a late pane
of a key goes out at once with the volumes known so far, which include the late posts' own
volume panes once they arrive (see PeriodVolumes.counts). The state is dropped once the
period is past its allowed lateness.
"""

from __future__ import annotations

import pickle
import zlib
from typing import Any

import apache_beam as beam
from apache_beam.coders import BytesCoder, PickleCoder
from apache_beam.transforms import userstate, window

from tendencias.models.trends.baseline import BaselineParams
from tendencias.models.trends.config import Horizon
from tendencias.models.trends.volumes import PeriodVolumes, merge_volumes
from tendencias.transforms.trends.key_state import keyed_counts_type
from tendencias.transforms.trends.ordering import to_timestamp

SHARDS = 8
_BY_PERIOD = beam.typehints.Tuple[beam.typehints.Tuple[int, int], Any]  # a deterministic key coder
WINDOW, TRAILING, KEY = "window", "trailing", "key"


def shard_of(pair: tuple[str, str]) -> int:
    return zlib.crc32(f"{pair[0]}\x1f{pair[1]}".encode()) % SHARDS


class TagByPeriodFn(beam.DoFn):
    """A combine's output in its period window -> ((period end, shard), (tag, ...)): key
    counts to their shard, volumes to every shard."""

    def __init__(self, tag: str):
        self._tag = tag

    def process(self, element, win=beam.DoFn.WindowParam):
        end = int(win.end.micros // 1000)
        key, value = element
        if self._tag == KEY:
            yield (end, shard_of(key)), (KEY, key, value)
        else:
            for shard in range(SHARDS):
                yield (end, shard), (self._tag, None, value)


def _split(items) -> tuple[dict, dict, list]:
    parts = {WINDOW: [], TRAILING: []}
    keys = []
    for tag, pair, value in items:
        if tag == KEY:
            keys.append((pair, value))
        else:
            parts[tag].append(value)
    return merge_volumes(parts[WINDOW]), merge_volumes(parts[TRAILING]), keys


class JoinBatchFn(beam.DoFn):
    """Bounded: ((end, shard), all its tagged parts) -> ((kind, key), (horizon, PeriodCounts))."""

    def __init__(self, horizon: Horizon, baseline: BaselineParams):
        self._horizon, self._baseline = horizon, baseline

    def process(self, element):
        (end, _), items = element
        window_parts, trailing, keys = _split(items)
        if not keys:
            return
        volumes = PeriodVolumes(self._horizon, self._baseline, end, window_parts, trailing)
        for pair, stats in keys:
            yield pair, (self._horizon.name, volumes.counts(stats))


_ON_TIME_SPEC = userstate.TimerSpec("join_on_time", userstate.TimeDomain.WATERMARK)
_EXPIRE_SPEC = userstate.TimerSpec("join_expire", userstate.TimeDomain.WATERMARK)
_ON_TIME = beam.DoFn.TimerParam(_ON_TIME_SPEC)
_EXPIRE = beam.DoFn.TimerParam(_EXPIRE_SPEC)
_VOLUMES = beam.DoFn.StateParam(userstate.ReadModifyWriteStateSpec("join_volumes", BytesCoder()))
_KEYS = beam.DoFn.StateParam(userstate.BagStateSpec("join_keys", PickleCoder()))
_DONE = beam.DoFn.StateParam(userstate.ReadModifyWriteStateSpec("join_done", PickleCoder()))


class JoinStreamFn(beam.DoFn):
    """Unbounded: the same join, in (end, shard) state; see the module's docstring."""

    def __init__(self, horizon: Horizon, baseline: BaselineParams, lateness_ms: int):
        self._horizon, self._baseline, self._lateness = horizon, baseline, lateness_ms

    def process(
        self,
        element,
        volumes=_VOLUMES,
        keys=_KEYS,
        done=_DONE,
        on_time=_ON_TIME,
        expire=_EXPIRE,
    ):
        (end, _), (tag, pair, value) = element
        if tag != KEY:
            known = _load(volumes)
            known[tag] = merge_volumes([known[tag], value])
            volumes.write(pickle.dumps(known, pickle.HIGHEST_PROTOCOL))
        elif done.read():  # a late pane of a key: out at once, against the volumes known now
            yield pair, (self._horizon.name, self._volumes(end, _load(volumes)).counts(value))
            return
        else:
            keys.add((pair, value))
        # The watermark passing the period end means every on-time pane of it is here.
        on_time.set(to_timestamp(end))
        expire.set(to_timestamp(end + self._lateness + self._horizon.period_ms))

    @userstate.on_timer(_ON_TIME_SPEC)
    def on_time(
        self,
        key=beam.DoFn.KeyParam,
        volumes=_VOLUMES,
        keys=_KEYS,
        done=_DONE,
    ):
        end, _ = key
        waiting = list(keys.read())
        keys.clear()
        done.write(True)
        if waiting:
            period = self._volumes(end, _load(volumes))
            for pair, stats in waiting:
                yield pair, (self._horizon.name, period.counts(stats))

    @userstate.on_timer(_EXPIRE_SPEC)
    def on_expire(
        self,
        volumes=_VOLUMES,
        keys=_KEYS,
        done=_DONE,
    ):
        for state in (volumes, keys, done):
            state.clear()

    def _volumes(self, end: int, known: dict) -> PeriodVolumes:
        return PeriodVolumes(self._horizon, self._baseline, end, known[WINDOW], known[TRAILING])


def _load(volumes) -> dict:
    data = volumes.read()
    return pickle.loads(data) if data else {WINDOW: {}, TRAILING: {}}


class JoinVolumes(beam.PTransform):
    """(key counts, window volumes, trailing volumes), each in its period windows ->
    ((kind, key), (horizon, PeriodCounts)) in the global window."""

    def __init__(self, horizon: Horizon, baseline: BaselineParams, lateness_s: float, bounded: bool):
        super().__init__()
        self._horizon, self._baseline, self._bounded = horizon, baseline, bounded
        self._lateness_ms = int(lateness_s * 1000)

    def expand(self, inputs):
        counts, window_volumes, trailing = inputs
        tagged = [
            pcoll | f"Tag{tag.title()}" >> beam.ParDo(TagByPeriodFn(tag)).with_output_types(_BY_PERIOD)
            for tag, pcoll in ((KEY, counts), (WINDOW, window_volumes), (TRAILING, trailing))
        ]
        joined = tagged | "ByPeriod" >> beam.Flatten() | "Global" >> beam.WindowInto(window.GlobalWindows())
        if self._bounded:
            return (
                joined
                | "GroupPeriod" >> beam.GroupByKey()
                | "Join"
                >> beam.ParDo(JoinBatchFn(self._horizon, self._baseline)).with_output_types(
                    keyed_counts_type()
                )
            )
        join = JoinStreamFn(self._horizon, self._baseline, self._lateness_ms)
        return joined | "Join" >> beam.ParDo(join).with_output_types(keyed_counts_type())
