"""One key, one period at a time: the sliding window from the key's recent periods, its score
against the key's history, and the Trend record when there is something to say.

`HorizonScorers` (a `KeyScorer` per horizon) is what the Beam stage (transforms/trends/key_state.py)
runs per key, with the `KeyState` kept by Beam; plain code can run it too (the benchmarks'
in-memory replay), so both score exactly alike.

A key is scored at the end of each period in which it has posts: a window whose last period
adds nothing cannot start a burst, and the periods a key misses still count as quiet windows
of an episode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from tendencias.models.trends.baseline import BaselineParams, KeyHistory
from tendencias.models.trends.explain import episode_id, trend_record
from tendencias.models.trends.groups import Evidence, Scored
from tendencias.models.trends.scoring import (
    ScoredWindow,
    SeverityParams,
    WindowInput,
    could_matter,
    learn,
    prepare,
    revise_window,
    score_prepared,
)
from tendencias.models.trends.stats import WindowStats


class PeriodCounts(NamedTuple):
    """One key's period as the scorer receives it, with the stream's volumes around it."""

    end: int  # period end, epoch ms
    stats: WindowStats  # the key's posts in the period
    period_volume: float  # all posts in the period
    window_periods: tuple[tuple[int, float], ...]  # (period end, all posts) of the window ending at `end`
    hourly_volume: tuple[float, ...]  # the stream's posts per period at each local hour, lately
    stream_start: int  # earliest post time in the trailing day (the warm-up clock)


class Recent(NamedTuple):
    """A period of the key still inside its sliding window."""

    end: int
    stats: WindowStats
    window_periods: tuple[tuple[int, float], ...]  # the window's volumes; kept for the latest only
    revision: int = 0  # how many times late posts revised the window ending here


def window_input(counts: PeriodCounts, previous: float) -> WindowInput:
    """The key's window ending at `counts.end` as the scorer first sees it: its last period alone
    (the window of several periods is merged only when it could matter)."""
    return WindowInput(
        counts.end,
        counts.stats,
        counts.stats,
        counts.window_periods,
        counts.period_volume,
        counts.hourly_volume,
        counts.stream_start,
        previous,
    )


def merged(parts: list[WindowStats], examples: int) -> WindowStats:
    out = WindowStats(examples)
    for part in parts:
        out.merge(part)
    return out


class KeyScorer:
    """Scores periods of one horizon; returns Scored Trend records (or None: nothing worth a record)."""

    def __init__(
        self,
        horizon: str,
        size_ms: int,
        baseline: BaselineParams,
        severity: SeverityParams,
        always_emit_kinds: tuple[str, ...],
        examples: int,
    ):
        self.horizon, self.size_ms, self.baseline, self.severity = horizon, size_ms, baseline, severity
        self.always, self.examples = frozenset(always_emit_kinds), examples

    def score(
        self, kind: str, key: str, state: KeyHistory, kept: list[Recent], counts: PeriodCounts
    ) -> Scored | None:
        """The next period of the key, in time order (`counts.end > state.last_end`)."""
        end, size, period = counts.end, self.size_ms, self.baseline.period_ms
        previous = sum(r.stats.posts for r in kept if end - period - size < r.end <= end - period)
        kept[:] = [r for r in kept if r.end > end - size]
        if kept:  # only the latest period's window volumes are read again (a revision): compact state
            kept[-1] = kept[-1]._replace(window_periods=())
        kept.append(Recent(end, counts.stats, counts.window_periods))
        w = window_input(counts, previous)
        prepare(state, w, self.baseline)
        posts = sum(r.stats.posts for r in kept)
        if (
            kind not in self.always
            and not state.episode_start
            and not could_matter(state, w, posts, self.baseline, self.severity)
        ):  # nothing to say: learn from the period and move on
            learn(state, w, self.baseline, self.severity)
            return None
        return self.score_window(kind, key, state, w, kept)

    def score_window(
        self, kind: str, key: str, state: KeyHistory, w: WindowInput, kept: list[Recent]
    ) -> Scored | None:
        """After `prepare`, a period that could matter: its window (the `kept` periods, `w.period`
        the last of them) scored, and the record if there is something to say."""
        if len(kept) > 1:
            w = w._replace(window=merged([r.stats for r in kept], self.examples))
        periods = tuple((r.end, r.stats.posts) for r in kept)
        return self._record(
            kind, key, score_prepared(state, w, self.baseline, self.severity), w.window, periods
        )

    def revise(
        self, kind: str, key: str, state: KeyHistory, kept: list[Recent], late: PeriodCounts
    ) -> Scored | None:
        """Late posts (a discarding late pane) of a period already counted: they join the
        history and the recent periods, and the key's latest window is scored again."""
        state.revise(
            late.end,
            float(late.stats.counted(self.severity.per_author_cap, self.severity.per_text_cap)),
            self.baseline,
        )
        if not kept or kept[-1].end != state.last_end or late.end <= kept[-1].end - self.size_ms:
            return None  # the late period is outside the key's latest window: history only
        for i, r in enumerate(kept):
            if r.end == late.end:
                kept[i] = r._replace(stats=merged([r.stats, late.stats], self.examples))
                break
        else:  # the key's first posts in that period
            kept.append(Recent(late.end, late.stats, late.window_periods))
            kept.sort(key=lambda r: r.end)
        latest = kept[-1] = kept[-1]._replace(revision=kept[-1].revision + 1)
        window = merged([r.stats for r in kept], self.examples)
        periods = tuple((e, n + late.stats.posts if e == late.end else n) for e, n in latest.window_periods)
        scored = revise_window(state, window, latest.end, periods, self.baseline, self.severity)
        out = self._record(kind, key, scored, window)
        if out is not None:
            out.record["revision"] = latest.revision
        return out

    def _record(
        self, kind: str, key: str, scored: ScoredWindow, window: WindowStats, periods: tuple = ()
    ) -> Scored | None:
        if kind not in self.always and scored.severity == "info" and not scored.status:
            return None
        record = trend_record(
            kind, key, scored, window, horizon=self.horizon, size_ms=self.size_ms, tz=self.baseline.tz
        )
        if scored.status not in ("new", "ongoing"):
            return Scored(record)
        return Scored(record, Evidence(window.posts, tuple(window.sketch), periods))


class KeyState:
    """Everything one key keeps between periods: per horizon, its history and recent periods."""

    def __init__(self):
        self.horizons: dict[str, tuple[KeyHistory, list[Recent]]] = {}

    def of(self, horizon: str) -> tuple[KeyHistory, list[Recent]]:
        if horizon not in self.horizons:
            self.horizons[horizon] = (KeyHistory(), [])
        return self.horizons[horizon]

    def __reduce__(self):  # pickled (Flink's keyed state) as its compact bytes
        from tendencias.models.trends.state_codec import decode_key_state, encode_key_state  # imports this

        return decode_key_state, (encode_key_state(self),)

    # A KeyState pickled before the codec, {horizon: (history bytes, periods)}, is still read.
    def __setstate__(self, state):
        self.horizons = {h: (KeyHistory.decode(encoded), kept) for h, (encoded, kept) in state.items()}


class HorizonScorers:
    """The KeyScorers of all horizons, shortest first. A longer horizon's alert on a key whose
    shorter horizon opened an episode within the longer window is the same story told slower:
    it becomes a "watch" with status "related" pointing at that episode."""

    def __init__(self, scorers: list[KeyScorer]):
        self.scorers = {s.horizon: s for s in sorted(scorers, key=lambda s: s.size_ms)}
        self.rank = {name: i for i, name in enumerate(self.scorers)}

    def score(
        self, kind: str, key: str, state: KeyState, horizon: str, counts: PeriodCounts
    ) -> Scored | None:
        """The next period of the key in this horizon; call in (end, horizon rank) order."""
        scorer = self.scorers[horizon]
        history, kept = state.of(horizon)
        scored = scorer.score(kind, key, history, kept, counts)
        if scored is not None and scored.record["status"] == "new":
            self.relate_to_shorter(kind, key, horizon, counts.end, scored.record, _opened_of(state))
        return scored

    def revise(self, kind: str, key: str, state: KeyState, horizon: str, late: PeriodCounts) -> Scored | None:
        history, kept = state.of(horizon)
        scored = self.scorers[horizon].revise(kind, key, history, kept, late)
        if scored is not None and scored.record["status"] == "new":
            self.relate_to_shorter(kind, key, horizon, late.end, scored.record, _opened_of(state))
        return scored

    def relate_to_shorter(
        self, kind: str, key: str, horizon: str, end: int, record: dict, opened_min: Callable[[str], int]
    ) -> None:
        """A "new" record of `horizon` becomes "related" when a shorter horizon of the key opened
        an episode within its window (`opened_min(shorter)`: that horizon's `opened_min`, 0 if none)."""
        size = self.scorers[horizon].size_ms
        for shorter in self.scorers:
            if self.rank[shorter] >= self.rank[horizon]:
                continue
            opened = opened_min(shorter) * 60_000
            if opened and opened > end - size:
                record.update(
                    severity="watch", status="related", related_to=episode_id(shorter, kind, key, opened)
                )
                return


def _opened_of(state: KeyState) -> Callable[[str], int]:
    def opened_min(horizon: str) -> int:
        known = state.horizons.get(horizon)
        return known[0].opened_min if known else 0

    return opened_min
