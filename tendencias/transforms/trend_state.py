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
import pickle
from typing import Any

import apache_beam as beam
from apache_beam.coders import BytesCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms import userstate
from apache_beam.transforms.window import TimestampedValue

from tendencias.models.trend_baseline import KeyHistory
from tendencias.models.trend_groups import AlertGrouper
from tendencias.models.trend_key_scorer import KeyScorer, Recent
from tendencias.records import parse_time_ms
from tendencias.transforms.event_order import Ordering, hold, release, to_timestamp

HISTORY_SPEC = userstate.ReadModifyWriteStateSpec("history", BytesCoder())  # KeyHistory.encode()
RECENT_SPEC = userstate.ReadModifyWriteStateSpec("recent", BytesCoder())  # pickled [Recent] in the window
HISTORY = beam.DoFn.StateParam(HISTORY_SPEC)
RECENT = beam.DoFn.StateParam(RECENT_SPEC)
_ORDER = Ordering()
PENDING, FIRST_AT, LAST_AT, FIRST, LAST = (
    _ORDER.pending,
    _ORDER.first_at,
    _ORDER.last_at,
    _ORDER.first,
    _ORDER.last,
)


class ScoreKeyFn(beam.DoFn):
    """((kind, key), PeriodCounts) -> Trend dicts, one key's periods in event-time order."""

    def __init__(self, scorer: KeyScorer):
        self._scorer = scorer
        horizon = scorer.horizon
        self._scored = Metrics.counter("trends", f"periods_scored_{horizon}")
        self._emitted = Metrics.counter("trends", f"trends_emitted_{horizon}")
        self._alerts = Metrics.counter("trends", f"alerts_{horizon}")
        self._revised = Metrics.counter("trends", f"late_periods_revised_{horizon}")

    def process(
        self,
        element,
        pending=PENDING,
        history=HISTORY,
        recent=RECENT,
        first_at=FIRST_AT,
        last_at=LAST_AT,
        first=FIRST,
        last=LAST,
    ):
        (kind, key), counts = element
        stored = history.read()
        if stored:
            state = KeyHistory.decode(stored)
            if counts.end <= state.last_end:  # a late pane of a period already counted
                kept = _loads(recent.read())
                self._revised.inc()
                yield from self._emit(self._scorer.revise(kind, key, state, kept, counts))
                history.write(state.encode())
                recent.write(pickle.dumps(kept, pickle.HIGHEST_PROTOCOL))
                return
        hold(counts.end - 1, counts, pending, first_at, last_at, first, last)

    @userstate.on_timer(_ORDER.first_spec)
    def on_first(
        self,
        key=beam.DoFn.KeyParam,
        fired=beam.DoFn.TimestampParam,
        pending=PENDING,
        history=HISTORY,
        recent=RECENT,
        first_at=FIRST_AT,
        last_at=LAST_AT,
        first=FIRST,
        last=LAST,
    ):
        yield from self._drain(key, fired, pending, history, recent, first_at, last_at, first, last)

    @userstate.on_timer(_ORDER.last_spec)
    def on_last(
        self,
        key=beam.DoFn.KeyParam,
        fired=beam.DoFn.TimestampParam,
        pending=PENDING,
        history=HISTORY,
        recent=RECENT,
        first_at=FIRST_AT,
        last_at=LAST_AT,
        first=FIRST,
        last=LAST,
    ):
        yield from self._drain(key, fired, pending, history, recent, first_at, last_at, first, last)

    def _drain(self, key, fired, pending, history, recent, first_at, last_at, first, last):
        due = release(fired, pending, first_at, last_at, first, last)
        if not due:
            return
        kind, name = key
        state = KeyHistory.decode(history.read())
        kept: list[Recent] = _loads(recent.read())
        for _, counts in due:
            if counts.end <= state.last_end:  # a second pane of a period (rare): a revision
                self._revised.inc()
                yield from self._emit(self._scorer.revise(kind, name, state, kept, counts))
            else:
                self._scored.inc()
                yield from self._emit(self._scorer.score(kind, name, state, kept, counts))
        history.write(state.encode())
        recent.write(pickle.dumps(kept, pickle.HIGHEST_PROTOCOL))

    def _emit(self, record: dict | None):
        if record is None:
            return
        self._emitted.inc()
        if record["severity"] == "alert":
            self._alerts.inc()
        yield TimestampedValue(record, to_timestamp(parse_time_ms(record["window_end"], "window_end") - 1))


def _loads(data: bytes | None) -> list:
    return pickle.loads(data) if data else []


def keyed_counts_type() -> Any:
    """((kind, key), PeriodCounts): the key part typed, so the stateful key coder is deterministic."""
    return beam.typehints.Tuple[beam.typehints.Tuple[str, str], Any]


GROUPER_SPEC = userstate.ReadModifyWriteStateSpec("grouper", BytesCoder())  # pickled AlertGrouper
GROUPER = beam.DoFn.StateParam(GROUPER_SPEC)
_GROUP_ORDER = Ordering()


class GroupAlertsFn(beam.DoFn):
    """(any key, episode record) -> the records, alerts on the same posts grouped, window by
    window in event-time order (models/trend_groups.py). A single key: only episode records
    (new and ongoing) come here, a handful per window."""

    def __init__(self, grouper: AlertGrouper):
        self._grouper = grouper
        self._related = Metrics.counter("trends", "alerts_grouped_as_related")

    def process(
        self,
        element,
        pending=_GROUP_ORDER.pending,
        first_at=_GROUP_ORDER.first_at,
        last_at=_GROUP_ORDER.last_at,
        first=_GROUP_ORDER.first,
        last=_GROUP_ORDER.last,
    ):
        _, record = element
        hold(
            parse_time_ms(record["window_end"], "window_end") - 1,
            record,
            pending,
            first_at,
            last_at,
            first,
            last,
        )

    @userstate.on_timer(_GROUP_ORDER.first_spec)
    def on_first(
        self,
        key=beam.DoFn.KeyParam,
        fired=beam.DoFn.TimestampParam,
        pending=_GROUP_ORDER.pending,
        grouper=GROUPER,
        first_at=_GROUP_ORDER.first_at,
        last_at=_GROUP_ORDER.last_at,
        first=_GROUP_ORDER.first,
        last=_GROUP_ORDER.last,
    ):
        yield from self._drain(key, fired, pending, grouper, first_at, last_at, first, last)

    @userstate.on_timer(_GROUP_ORDER.last_spec)
    def on_last(
        self,
        key=beam.DoFn.KeyParam,
        fired=beam.DoFn.TimestampParam,
        pending=_GROUP_ORDER.pending,
        grouper=GROUPER,
        first_at=_GROUP_ORDER.first_at,
        last_at=_GROUP_ORDER.last_at,
        first=_GROUP_ORDER.first,
        last=_GROUP_ORDER.last,
    ):
        yield from self._drain(key, fired, pending, grouper, first_at, last_at, first, last)

    def _drain(self, _, fired, pending, grouper_state, first_at, last_at, first, last):
        due = release(fired, pending, first_at, last_at, first, last)
        if not due:
            return
        stored = grouper_state.read()
        grouper = pickle.loads(stored) if stored else copy.deepcopy(self._grouper)
        by_end: dict[int, list[dict]] = {}
        for at, record in due:
            by_end.setdefault(at + 1, []).append(record)
        for end in sorted(by_end):
            for record in grouper.window(end, by_end[end]):
                if record.get("status") == "related":
                    self._related.inc()
                yield TimestampedValue(record, to_timestamp(end - 1))
        grouper_state.write(pickle.dumps(grouper, pickle.HIGHEST_PROTOCOL))
