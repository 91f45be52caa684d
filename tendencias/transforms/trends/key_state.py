"""Per-key scoring in event-time order: the stateful heart of the trend stage.

Per-period counts reach `ScoreKeyFn` keyed by (kind, key) in the global window. They are
buffered until the watermark passes their period, then taken in time order: the key's recent
periods (kept in state) make its sliding window, the window is scored against the key's
history, and the period joins the history. So the baseline and the episodes see time move
forwards on every runner, whatever order the elements come in. A late pane (posts within the
allowed lateness, for a period already counted) revises the key's latest window as soon as the
watermark lets it out (at once: its period is behind the watermark already).

The scoring itself is `models.trend_key_scorer.KeyScorer`; this module keeps its state.
"""

from __future__ import annotations

import copy
import pickle
from typing import Any

import apache_beam as beam
from apache_beam.coders import BytesCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms import userstate
from apache_beam.transforms.window import TimestampedValue

from tendencias.models.trends.groups import AlertGrouper, Scored
from tendencias.models.trends.key_scorer import HorizonScorers, KeyState
from tendencias.models.trends.state_codec import decode_key_state, encode_key_state
from tendencias.records import is_alert, window_end_ms
from tendencias.transforms.trends.ordering import Ordering, load, store, to_timestamp

# ScoreKeyFn's one state cell: a bag of pickled entries, the key's KeyState and the periods
# waiting for the watermark. Every state read is a round trip to the runner (Prism gives no
# cache tokens, so the SDK's state cache is off there): an element is only appended (no read),
# and a firing reads the bag once, scores what is due, and writes the bag back.
_BAG = beam.DoFn.StateParam(userstate.BagStateSpec("score_bag", BytesCoder()))
# entries: the encoded KeyState, or a pickled (_PENDING, instant ms, horizon, PeriodCounts);
# earlier versions wrote the state pickled too, as (_STATE, encoded KeyState)
_STATE, _PENDING = 0, 1
_PICKLED = pickle.dumps(None, pickle.HIGHEST_PROTOCOL)[0]  # the PROTO opcode every pickle opens with
# One timer per horizon rank (the short horizon, then the long one): an element sets its
# horizon's timer at its instant blindly; periods of one horizon come in order, so a later
# period moving the timer on only lets the earlier one go out with it.
_DUE_SPECS = tuple(
    userstate.TimerSpec(f"score_due_{rank}", userstate.TimeDomain.WATERMARK) for rank in (0, 1)
)
_DUE = tuple(beam.DoFn.TimerParam(spec) for spec in _DUE_SPECS)
_FORGET_SPEC = userstate.TimerSpec("score_forget", userstate.TimeDomain.WATERMARK)
_FORGET = beam.DoFn.TimerParam(_FORGET_SPEC)
_GROUP = Ordering("group")  # its state: the AlertGrouper


def _entry(value: tuple) -> bytes:
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


def key_state_entry(keys: KeyState) -> bytes:
    """The bag entry that holds a key's KeyState between firings: its bytes from
    models/trends/state_codec.py as they are (their first byte, the format, is never a pickle's)."""
    return encode_key_state(keys)


class ScoreKeyFn(beam.DoFn):
    """((kind, key), (horizon, PeriodCounts)) -> Scored Trend records: one key's periods of every
    horizon in event-time order (shorter horizons first at equal ends), each once the watermark
    has passed its period; a late pane of a period already scored revises the key's window."""

    def __init__(self, scorers: HorizonScorers, forget_after_ms: int):
        if len(scorers.scorers) > len(_DUE_SPECS):
            raise ValueError(f"ScoreKeyFn scores at most {len(_DUE_SPECS)} horizons")
        self._scorers, self._forget_after = scorers, forget_after_ms
        self._forgotten = Metrics.counter("trends", "keys_forgotten")
        self._scored = Metrics.counter("trends", "periods_scored")
        self._emitted = Metrics.counter("trends", "trends_emitted")
        self._alerts = Metrics.counter("trends", "alerts")
        self._revised = Metrics.counter("trends", "late_periods_revised")

    def process(self, element, bag=_BAG, short=_DUE[0], long=_DUE[1], forget=_FORGET):
        _, (horizon, counts) = element
        # A key silent for `forget_after` is forgotten (its state cleared): by then its history
        # has faded to little, and a million one-off bigrams must not stay in state for ever.
        forget.set(to_timestamp(counts.end + self._forget_after))
        bag.add(_entry((_PENDING, counts.end - 1, horizon, counts)))
        (short, long)[self._scorers.rank[horizon]].set(to_timestamp(counts.end - 1))

    @userstate.on_timer(_DUE_SPECS[0])
    def on_due_short(
        self, key=beam.DoFn.KeyParam, fired=beam.DoFn.TimestampParam, bag=_BAG, short=_DUE[0], long=_DUE[1]
    ):
        yield from self._fire(key, fired, bag, (short, long))

    @userstate.on_timer(_DUE_SPECS[1])
    def on_due_long(
        self, key=beam.DoFn.KeyParam, fired=beam.DoFn.TimestampParam, bag=_BAG, short=_DUE[0], long=_DUE[1]
    ):
        yield from self._fire(key, fired, bag, (short, long))

    @userstate.on_timer(_FORGET_SPEC)
    def on_forget(self, bag=_BAG):
        self._forgotten.inc()
        bag.clear()

    def _fire(self, key, fired, bag, timers):
        limit = fired.micros // 1000
        keys, waiting = KeyState(), []
        for data in bag.read():
            if data[0] != _PICKLED:
                keys = decode_key_state(data)
                continue
            entry = pickle.loads(data)
            if entry[0] == _STATE:  # a bag written by an earlier version: codec bytes or the KeyState
                keys = entry[1] if isinstance(entry[1], KeyState) else decode_key_state(entry[1])
            else:
                waiting.append(entry[1:])
        rank = self._scorers.rank
        due = sorted((w for w in waiting if w[0] <= limit), key=lambda w: (w[0], rank[w[1]]))
        if not due:
            return
        kind, name = key
        for _, horizon, counts in due:
            if counts.end <= keys.of(horizon)[0].last_end:  # a late pane of a period scored
                self._revised.inc()
                yield from self._emit(self._scorers.revise(kind, name, keys, horizon, counts))
            else:
                self._scored.inc()
                yield from self._emit(self._scorers.score(kind, name, keys, horizon, counts))
        rest = [w for w in waiting if w[0] > limit]
        bag.clear()
        bag.add(key_state_entry(keys))
        for at, horizon, counts in rest:
            bag.add(_entry((_PENDING, at, horizon, counts)))
        for r in {rank[horizon] for _, horizon, _ in rest}:
            timers[r].set(to_timestamp(min(at for at, horizon, _ in rest if rank[horizon] == r)))

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
