"""Per-key scoring in event-time order: the stateful heart of the trend stage.

Per-period counts reach `ScoreKeyFn` keyed by (kind, key) in the global window. They are
buffered until the watermark passes their period (event_order.py), then taken in time order:
the key's recent periods (kept in state) make its sliding window, the window is scored against
the key's history, and the period joins the history. So the baseline and the episodes see time
move forwards on every runner, whatever order the elements come in. A late pane (posts within
the allowed lateness, for a period already counted) revises the key's latest window at once.

The scoring itself is `models.trend_key_scorer.KeyScorer`; this module keeps its state.
"""

from __future__ import annotations

import copy
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms import userstate
from apache_beam.transforms.window import TimestampedValue

from tendencias.models.trends.groups import AlertGrouper, Scored
from tendencias.models.trends.key_scorer import HorizonScorers, KeyState, PeriodCounts
from tendencias.records import is_alert, window_end_ms
from tendencias.transforms.trends.ordering import Ordering, hold, load, store, to_timestamp

_SCORE = Ordering("score")  # its state: the key's KeyState
_FORGET_SPEC = userstate.TimerSpec("score_forget", userstate.TimeDomain.WATERMARK)
_FORGET = beam.DoFn.TimerParam(_FORGET_SPEC)
_GROUP = Ordering("group")  # its state: the AlertGrouper


class ScoreKeyFn(beam.DoFn):
    """((kind, key), (horizon, PeriodCounts)) -> Scored Trend records: one key's periods of every
    horizon in event-time order (shorter horizons first at equal ends)."""

    on_first, on_last = _SCORE.timers()

    def __init__(self, scorers: HorizonScorers, forget_after_ms: int):
        self._scorers, self._forget_after = scorers, forget_after_ms
        self._forgotten = Metrics.counter("trends", "keys_forgotten")
        self._scored = Metrics.counter("trends", "periods_scored")
        self._emitted = Metrics.counter("trends", "trends_emitted")
        self._alerts = Metrics.counter("trends", "alerts")
        self._revised = Metrics.counter("trends", "late_periods_revised")

    def process(
        self,
        element,
        pending=_SCORE.pending,
        first_at=_SCORE.first_at,
        last_at=_SCORE.last_at,
        first=_SCORE.first,
        last=_SCORE.last,
        state=_SCORE.state,
        forget=_FORGET,
    ):
        (kind, key), (horizon, counts) = element
        # A key silent for `forget_after` is forgotten (its state cleared): by then its history
        # has faded to little, and a million one-off bigrams must not stay in state for ever.
        forget.set(to_timestamp(counts.end + self._forget_after))
        keys: KeyState = load(state) or KeyState()
        history = keys.of(horizon)[0]
        if history.last_end and counts.end <= history.last_end:  # late pane of a period counted
            self._revised.inc()
            yield from self._emit(self._scorers.revise(kind, key, keys, horizon, counts))
            store(state, keys)
            return
        hold(counts.end - 1, (horizon, counts), pending, first_at, last_at, first, last)

    @userstate.on_timer(_FORGET_SPEC)
    def on_forget(self, state=_SCORE.state):
        self._forgotten.inc()
        state.clear()

    def drain(self, key, due: list[tuple[int, tuple[str, PeriodCounts]]], state):
        kind, name = key
        keys: KeyState = load(state) or KeyState()
        rank = self._scorers.rank
        for _, (horizon, counts) in sorted(due, key=lambda item: (item[0], rank[item[1][0]])):
            if counts.end <= keys.of(horizon)[0].last_end:  # a second pane of a period (rare)
                self._revised.inc()
                yield from self._emit(self._scorers.revise(kind, name, keys, horizon, counts))
            else:
                self._scored.inc()
                yield from self._emit(self._scorers.score(kind, name, keys, horizon, counts))
        store(state, keys)

    def _emit(self, scored: Scored | None):
        yield from emit_trend(scored, self._emitted, self._alerts)


def emit_trend(scored: Scored | None, emitted, alerts):
    """A Scored Trend (None: nothing to say), counted, timestamped at its window's last ms."""
    if scored is None:
        return
    emitted.inc()
    if is_alert(scored.record):
        alerts.inc()
    yield TimestampedValue(scored, to_timestamp(window_end_ms(scored.record) - 1))


def keyed_counts_type() -> Any:
    """((kind, key), (horizon, PeriodCounts)): the key typed, so its coder is deterministic."""
    return beam.typehints.Tuple[beam.typehints.Tuple[str, str], Any]


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


class ScoreKeyBatchFn(beam.DoFn):
    """Bounded input: ((kind, key), all its (horizon, PeriodCounts)) after a GroupByKey ->
    Scored Trend records. Same scoring as ScoreKeyFn, without state or timers, which a batch runner
    pays for per key (DirectRunner: milliseconds a key, too slow for a long tail of bigrams)."""

    def __init__(self, scorers: HorizonScorers):
        self._scorers = scorers
        self._scored = Metrics.counter("trends", "periods_scored")
        self._emitted = Metrics.counter("trends", "trends_emitted")
        self._alerts = Metrics.counter("trends", "alerts")

    def process(self, element):
        (kind, key), items = element
        keys, rank = KeyState(), self._scorers.rank
        for horizon, counts in sorted(items, key=lambda item: (item[1].end, rank[item[0]])):
            self._scored.inc()
            yield from emit_trend(
                self._scorers.score(kind, key, keys, horizon, counts), self._emitted, self._alerts
            )


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
