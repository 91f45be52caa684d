"""Trend scoring in event-time order: the stateful heart of the trend stage.

A period's keys of one shard reach `ScoreStreamShardFn` together, from the stream's join (join.py),
in the global window. They are buffered until the watermark passes their period, then taken in
time order (ordering.py): each key's recent periods (kept in state) make its sliding window,
the window is scored against the key's history, and the period joins the history. So the
baseline and the episodes see time move forwards on every runner, whatever order the elements
come in. A late pane (posts within the allowed lateness, for a period already counted) revises
the key's latest window as soon as the watermark lets it out (at once: its period is behind the
watermark already).

Keyed by shard, not by trend key: Beam moves a few elements a period and reads and writes
state once a firing, where a key each cost several round trips to the runner (elements, timers,
state), most of the live job's CPU through a backlog. The shard's key states live in the worker,
durable in Beam state as a snapshot and a log of the firings since (shard_state.py), which a
rebuilt copy scores again. The scoring itself is
`models/trends/key_scorer.py`; this module keeps its state.
"""

from __future__ import annotations

import copy
import os
import uuid
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import TimestampedValue

from tendencias.models.trends.groups import AlertGrouper, Scored
from tendencias.models.trends.key_scorer import HorizonScorers
from tendencias.records import is_alert, window_end_ms
from tendencias.transforms.trends.ordering import Ordering, load, store, to_timestamp
from tendencias.transforms.trends.shard_state import CHANGING, CachedShard

_GROUP = Ordering("group")  # its state: the AlertGrouper
_SHARD = Ordering("score_shard", log=True)  # its state: the generation token; its log: shard_state.py
# This process's copies of the shards: {(ScoreStreamShardFn id, shard): CachedShard}. Beam runs one
# bundle of a key at a time, so a copy is never used by two threads at once.
_SHARDS: dict[tuple[str, int], CachedShard] = {}


class ScoreStreamShardFn(beam.DoFn):
    """(shard, (horizon, period end, [((kind, key), PeriodCounts)])) -> Scored Trend records:
    every key's periods of every horizon in event-time order (shorter horizons first at equal
    ends), each once the watermark has passed its period; a late pane of a period already
    scored revises the key's window. The shard's key states live in this process, durable in
    Beam state as a log (shard_state.py), checked by a generation token read once a firing."""

    on_first, on_last = _SHARD.timers()

    def __init__(self, scorers: HorizonScorers, forget_after_ms: int):
        self._scorers, self._forget_after = scorers, forget_after_ms
        self._id = uuid.uuid4().hex  # names this step's copies in a worker process
        self._forgotten = Metrics.counter("trends", "keys_forgotten")
        self._scored = Metrics.counter("trends", "periods_scored")
        self._emitted = Metrics.counter("trends", "trends_emitted")
        self._alerts = Metrics.counter("trends", "alerts")
        self._revised = Metrics.counter("trends", "late_periods_revised")
        self._reloads = Metrics.counter("trends", "shard_states_reloaded")

    process = _SHARD.holding(lambda period: period[1] - 1)

    def drain(self, shard, due, state, log):
        shard_keys = self._shard(shard, state.read(), log)
        shard_keys.generation = CHANGING  # until this firing is written, the copy is ahead of Beam state
        for scored in self._score(shard_keys, due, counted=True):
            yield from emit_trend(scored, self._emitted, self._alerts)
        self._forgotten.inc(shard_keys.flush(log, due, max(at for at, _ in due) - self._forget_after))
        generation = os.urandom(8)
        state.write(generation)
        shard_keys.generation = generation

    def _score(self, shard_keys: CachedShard, due, counted: bool):
        """Scores a firing's periods into the shard's keys: Scored records (or None), in order.
        The same calls rebuild a copy from the log (`counted` False: no metrics twice)."""
        rank = self._scorers.rank
        for _, (horizon, _, keys) in sorted(due, key=lambda item: (item[0], rank[item[1][0]])):
            for pair, counts in keys:
                last = shard_keys.last_end(pair)
                if last is not None and counts.end >= last + self._forget_after:
                    shard_keys.forget(pair)  # silent for `forget_after`: its history has faded to little
                    if counted:
                        self._forgotten.inc()
                key_state = shard_keys.get(pair)
                late = counts.end <= key_state.of(horizon)[0].last_end  # a late pane of a period scored
                if counted:
                    (self._revised if late else self._scored).inc()
                if late:
                    yield self._scorers.revise(pair[0], pair[1], key_state, horizon, counts)
                else:
                    yield self._scorers.score(pair[0], pair[1], key_state, horizon, counts)

    def _rescore(self, shard_keys: CachedShard, due) -> None:
        for _ in self._score(shard_keys, due, counted=False):
            pass

    def _shard(self, shard: int, generation: bytes | None, log) -> CachedShard:
        """This process's copy of the shard, rebuilt from the durable log unless it is the one
        the shard's last firing left."""
        cached = _SHARDS.get((self._id, shard))
        if cached is None or generation is None or cached.generation != generation:
            cached = _SHARDS[(self._id, shard)] = CachedShard.load(log.read(), self._rescore)
            self._reloads.inc()
        return cached


def emit_trend(scored: Scored | None, emitted, alerts):
    """A Scored Trend (None: nothing to say), counted, timestamped at its window's last ms."""
    if scored is None:
        return
    emitted.inc()
    if is_alert(scored.record):
        alerts.inc()
    yield TimestampedValue(scored, to_timestamp(window_end_ms(scored.record) - 1))


def shard_periods_type() -> Any:
    """(shard, (horizon, period end, keys)): the shard typed, so its coder is deterministic."""
    return beam.typehints.Tuple[int, Any]


class GroupAlertsFn(beam.DoFn):
    """(any key, Scored episode record) -> the records, alerts on the same posts grouped across
    horizons, window by window in event-time order (models/trends/groups.py). A single key:
    only episode records (new and ongoing) come here, a handful per window."""

    on_first, on_last = _GROUP.timers()

    def __init__(self, grouper: AlertGrouper):
        self._grouper = grouper
        self._related = Metrics.counter("trends", "alerts_grouped_as_related")

    process = _GROUP.holding(lambda scored: window_end_ms(scored.record) - 1)

    def drain(self, _, due: list[tuple[int, Scored]], state):
        grouper = load(state) or copy.deepcopy(self._grouper)
        yield from group_by_window(grouper, [scored for _, scored in due], self._related)
        store(state, grouper)


class GroupAlertsBatchFn(beam.DoFn):
    """Bounded input: all Scored episode records after a GroupByKey -> the records, grouped."""

    def __init__(self, grouper: AlertGrouper):
        self._grouper = grouper
        self._related = Metrics.counter("trends", "alerts_grouped_as_related")

    def process(self, element):
        _, records = element
        yield from group_by_window(copy.deepcopy(self._grouper), records, self._related)


def group_by_window(grouper: AlertGrouper, episodes, related):
    """The Scored episode records through `grouper`, window by window in event-time order;
    yields the Trend records."""
    by_end: dict[int, list[Scored]] = {}
    for scored in episodes:
        by_end.setdefault(window_end_ms(scored.record), []).append(scored)
    for end in sorted(by_end):
        for record in grouper.window(end, by_end[end]):
            if record.get("status") == "related":
                related.inc()
            yield TimestampedValue(record, to_timestamp(end - 1))
