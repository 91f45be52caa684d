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

A key is scored at the end of each period in which it has posts: a window whose last period
adds nothing cannot start a burst, and the periods a key misses still count as quiet windows
of an episode.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.coders import BytesCoder, PickleCoder, VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms import userstate
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from tendencias.models.trend_baseline import BaselineParams, KeyHistory
from tendencias.models.trend_explain import trend_record
from tendencias.models.trend_scoring import SeverityParams, WindowInput, revise_window, score_window
from tendencias.models.trend_stats import WindowStats


class PeriodCounts(NamedTuple):
    """One key's period as the scorer receives it, with the stream's volumes around it."""

    end: int  # period end, epoch ms
    stats: WindowStats  # the key's posts in the period
    period_volume: float  # all posts in the period
    window_volume: float  # all posts in the sliding window ending at `end`
    mean_period_volume: float  # all posts per period over the trailing day
    stream_start: int  # earliest post time in the trailing day (the warm-up clock)


class Recent(NamedTuple):
    end: int
    stats: WindowStats
    window_volume: float


def to_timestamp(ms: int) -> Timestamp:
    return Timestamp(micros=ms * 1000)


def merged(parts: list[WindowStats], examples: int) -> WindowStats:
    out = WindowStats(examples)
    for part in parts:
        out.merge(part)
    return out


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

    def __init__(
        self,
        horizon: str,
        size_ms: int,
        baseline: BaselineParams,
        severity: SeverityParams,
        always_emit_kinds: tuple[str, ...],
        examples: int,
    ):
        self._horizon, self._size, self._baseline, self._severity = horizon, size_ms, baseline, severity
        self._always, self._examples = frozenset(always_emit_kinds), examples
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
        end, size, period = counts.end, self._size, self._baseline.period_ms
        previous = sum(r.stats.posts for r in kept if end - period - size < r.end <= end - period)
        kept[:] = [r for r in kept if r.end > end - size]
        window = merged([r.stats for r in kept] + [counts.stats], self._examples) if kept else counts.stats
        kept.append(Recent(end, counts.stats, counts.window_volume))
        scored = score_window(
            state,
            WindowInput(
                end,
                window,
                counts.stats,
                counts.window_volume,
                counts.period_volume,
                counts.mean_period_volume,
                counts.stream_start,
                previous,
            ),
            self._baseline,
            self._severity,
        )
        self._scored.inc()
        yield from self._emit(kind, key, scored, window)

    def _revise(self, kind: str, key: str, state: KeyHistory, kept: list[Recent], late: PeriodCounts):
        """Late posts (a discarding late pane) of a period already counted: add them to the
        history and to the recent periods, and re-score the key's latest window."""
        self._revised.inc()
        state.revise(late.end, float(late.stats.counted(self._severity.per_author_cap)), self._baseline)
        for i, r in enumerate(kept):
            if r.end == late.end:
                kept[i] = Recent(r.end, merged([r.stats, late.stats], self._examples), r.window_volume)
        if not kept or kept[-1].end != state.last_end:
            return
        latest = kept[-1]
        window = merged([r.stats for r in kept], self._examples)
        volume = latest.window_volume + late.stats.posts
        scored = revise_window(state, window, latest.end, volume, self._baseline, self._severity)
        yield from self._emit(kind, key, scored, window)

    def _emit(self, kind: str, key: str, scored, window: WindowStats):
        if kind not in self._always and scored.severity == "info" and not scored.status:
            return
        self._emitted.inc()
        if scored.severity == "alert":
            self._alerts.inc()
        record = trend_record(
            kind, key, scored, window, horizon=self._horizon, size_ms=self._size, tz=self._baseline.tz
        )
        yield TimestampedValue(record, to_timestamp(scored.end - 1))


def keyed_counts_type() -> Any:
    """((kind, key), PeriodCounts): the key part typed, so the stateful key coder is deterministic."""
    return beam.typehints.Tuple[beam.typehints.Tuple[str, str], Any]
