"""Per-key scoring in event-time order: the stateful heart of the trend stage.

Per-period counts reach `ScoreKeyFn` keyed by (kind, key) in the global window, in any order
(batch) or roughly in order (streaming). Each is buffered, and when the watermark passes a
period's end every buffered period up to there is taken in order: the key's recent periods
(kept in state) make its sliding window, the window is scored against the key's history, and
the period joins the history. So the baseline and the episodes see time move forwards on every
runner, whatever order the elements come in.

Two event-time timers per key: one at the earliest buffered period (periods are scored as soon
as they are complete, and the output watermark is held there) and one at the latest (in a
bounded run, where the watermark jumps to the end at once, it takes everything in one firing
instead of one firing per period). Both only ever take periods the watermark has passed.

The scoring itself is `models.trend_key_scorer.KeyScorer`; this module keeps its state.
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam
from apache_beam.coders import BytesCoder, PickleCoder, VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms import userstate
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from tendencias.models.trend_baseline import KeyHistory
from tendencias.models.trend_key_scorer import KeyScorer, PeriodCounts, Recent
from tendencias.records import parse_time_ms


def to_timestamp(ms: int) -> Timestamp:
    return Timestamp(micros=ms * 1000)


# State and timers of ScoreKeyFn (module level: DoFn parameters are declared as defaults).
PENDING_SPEC = userstate.BagStateSpec("pending", PickleCoder())  # periods waiting for the watermark
HISTORY_SPEC = userstate.ReadModifyWriteStateSpec("history", BytesCoder())  # KeyHistory.encode()
RECENT_SPEC = userstate.ReadModifyWriteStateSpec("recent", PickleCoder())  # [Recent] in the window
FIRST_AT_SPEC = userstate.ReadModifyWriteStateSpec("first_at", VarIntCoder())
LAST_AT_SPEC = userstate.ReadModifyWriteStateSpec("last_at", VarIntCoder())
FIRST_SPEC = userstate.TimerSpec("first", userstate.TimeDomain.WATERMARK)
LAST_SPEC = userstate.TimerSpec("last", userstate.TimeDomain.WATERMARK)
PENDING = beam.DoFn.StateParam(PENDING_SPEC)
HISTORY = beam.DoFn.StateParam(HISTORY_SPEC)
RECENT = beam.DoFn.StateParam(RECENT_SPEC)
FIRST_AT = beam.DoFn.StateParam(FIRST_AT_SPEC)
LAST_AT = beam.DoFn.StateParam(LAST_AT_SPEC)
FIRST = beam.DoFn.TimerParam(FIRST_SPEC)
LAST = beam.DoFn.TimerParam(LAST_SPEC)


class ScoreKeyFn(beam.DoFn):
    """((kind, key), PeriodCounts) -> Trend dicts, one key's periods in event-time order."""

    def __init__(self, scorer: KeyScorer):
        self._scorer = scorer
        horizon = scorer.horizon
        self._scored = Metrics.counter("trends", f"windows_scored_{horizon}")
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
                kept = recent.read() or []
                yield from self._revise(kind, key, state, kept, counts)
                history.write(state.encode())
                recent.write(kept)
                return
        pending.add(counts)
        at = counts.end - 1
        earliest, latest = first_at.read(), last_at.read()
        if earliest is None or at < earliest:
            first.set(to_timestamp(at))
            first_at.write(at)
        if latest is None or at > latest:
            last.set(to_timestamp(at))
            last_at.write(at)

    @userstate.on_timer(FIRST_SPEC)
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

    @userstate.on_timer(LAST_SPEC)
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
        """Scores, in order, every buffered period the watermark has passed (up to `fired`)."""
        kind, name = key
        limit = fired.micros // 1000 + 1
        buffered: list[PeriodCounts] = list(pending.read())
        due = sorted((c for c in buffered if c.end <= limit), key=lambda c: c.end)
        if not due:
            return
        rest = [c for c in buffered if c.end > limit]
        state = KeyHistory.decode(history.read())
        kept: list[Recent] = recent.read() or []
        for counts in due:
            if counts.end <= state.last_end:
                yield from self._revise(kind, name, state, kept, counts)
            else:
                yield from self._score(kind, name, state, kept, counts)
        history.write(state.encode())
        recent.write(kept)
        pending.clear()
        for counts in rest:
            pending.add(counts)
        if rest:
            earliest, latest = min(c.end for c in rest) - 1, max(c.end for c in rest) - 1
            first.set(to_timestamp(earliest))
            last.set(to_timestamp(latest))
            first_at.write(earliest)
            last_at.write(latest)
        else:
            first_at.clear()
            last_at.clear()

    def _score(self, kind: str, key: str, state: KeyHistory, kept: list[Recent], counts: PeriodCounts):
        self._scored.inc()
        yield from self._emit(self._scorer.score(kind, key, state, kept, counts))

    def _revise(self, kind: str, key: str, state: KeyHistory, kept: list[Recent], late: PeriodCounts):
        self._revised.inc()
        yield from self._emit(self._scorer.revise(kind, key, state, kept, late))

    def _emit(self, record: dict | None):
        if record is None:
            return
        self._emitted.inc()
        if record["severity"] == "alert":
            self._alerts.inc()
        yield TimestampedValue(record, to_timestamp(parse_time_ms(record["window_end"], "window_end") - 1))


def keyed_counts_type() -> Any:
    """((kind, key), PeriodCounts): the key part typed, so the stateful key coder is deterministic."""
    return beam.typehints.Tuple[beam.typehints.Tuple[str, str], Any]
