"""Burst score, severity and episodes: how far above its baseline a key is, and what to say.

- Score: the upper-tail surprise, -log10 P(X >= count), of a negative binomial with the
  baseline as mean (variance mean + mean^2 / dispersion), so a count of 6 when 0.1 is
  expected scores high while 130 when 100 are expected does not: popular keys fluctuate more
  than Poisson, and a Poisson alone would flag their ordinary noise. The lift
  (count + 1) / (baseline + 1) must also be large, so popularity alone never alerts.
- Support: a minimum count (after capping posts per author), distinct authors and distinct
  texts (retweets and copy-paste share one text), so one account or one viral copy cannot
  make a trend alone.
- Episodes (hysteresis): a key that qualifies opens an episode and alerts once; later windows
  of the same episode are "watch" updates with status "ongoing"; the episode ends after
  `end_after` windows in a row under the lower `continue_score` (silent windows count).
- Warm-up: no alerts until the stream has `warmup_ms` of history, so a cold start does not
  alert on everything it has never seen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from scipy import special

from tendencias.models.trends.baseline import BaselineParams, KeyHistory
from tendencias.models.trends.stats import WindowStats

MAX_SCORE = 300.0
SEVERITIES = ("info", "watch", "alert")


@dataclass(frozen=True)
class SeverityParams:
    alert_score: float = 5.0
    watch_score: float = 3.0
    continue_score: float = 2.0
    min_lift: float = 3.0
    min_count: int = 4
    min_authors: int = 3
    min_texts: int = 3
    end_after: int = 3
    warmup_ms: int = 6 * 3_600_000
    dispersion: float = 20.0  # negative binomial size; 0 means Poisson
    per_author_cap: int = 2  # posts per author per window that count
    per_text_cap: int = 2  # posts per distinct text (token set) per window that count
    episode_learning_cap: float = 3.0  # during an episode a period teaches at most this x usual + 1


def tail_surprise(count: float, expected: float, dispersion: float = 0.0) -> float:
    """-log10 P(X >= count) for X ~ NegBin(mean=expected, size=dispersion), Poisson if 0."""
    if count <= 0:
        return 0.0
    expected = max(expected, 1e-9)
    k = math.ceil(count) - 1  # P(X >= count) = P(X > k)
    if dispersion and dispersion > 0:
        tail = special.nbdtrc(k, dispersion, dispersion / (dispersion + expected))
    else:
        tail = special.pdtrc(k, expected)
    if not tail > 0:
        return MAX_SCORE
    return min(MAX_SCORE, max(0.0, -math.log10(tail)))


def lift(count: float, expected: float) -> float:
    return (count + 1.0) / (expected + 1.0)


def growth(count: float, previous: float) -> float:
    """Relative change against the previous window (one period earlier)."""
    return (count - previous) / max(previous, 1.0)


def min_watch_count(params: SeverityParams) -> int:
    """Below this many posts a window is "info" whatever its score: two posts of a rare word
    are not worth anyone's attention."""
    return max(2, params.min_count // 2)


def supported(count: float, authors: int, texts: int, params: SeverityParams) -> bool:
    return count >= params.min_count and authors >= params.min_authors and texts >= params.min_texts


def level(score: float, lift_: float, support: bool, params: SeverityParams) -> str:
    """Severity of one window on its own, before warm-up and episodes."""
    if support and lift_ >= params.min_lift and score >= params.alert_score:
        return "alert"
    if score >= params.watch_score and lift_ >= params.min_lift / 2:
        return "watch"
    return "info"


def step_episode(
    history: KeyHistory,
    end: int,
    period_ms: int,
    qualifies: bool,
    continuing: bool,
    params: SeverityParams,
    window_periods: int = 1,
) -> tuple[str | None, int]:
    """Moves the key's episode on by window `end`: (status, episode start or 0).

    Status: "new" (opens an episode: the one alert), "ongoing", "ended", or None (no episode).
    Periods without posts of the key count as quiet windows once the window (`window_periods`
    long) no longer holds its last posts. Call before `history.observe`, while
    `history.last_end` is still the previous period seen.
    """
    if history.episode_start:
        if history.last_end:
            missed = (end - history.last_end) // period_ms - 1
            history.quiet += max(0, missed - (window_periods - 1))
        if history.quiet < params.end_after:
            start = history.episode_start
            history.quiet = 0 if continuing else history.quiet + 1
            if history.quiet < params.end_after:
                return "ongoing", start
            history.episode_start, history.quiet = 0, 0
            return "ended", start
        history.episode_start, history.quiet = 0, 0
    if qualifies:
        history.open_episode(end)
        return "new", end
    return None, 0


class WindowInput(NamedTuple):
    """One key's sliding window ending at `end`, and the period that just closed in it."""

    end: int
    window: WindowStats  # posts of the key in the window (its periods merged)
    period: WindowStats  # posts of the key in the last period: what the history learns
    window_periods: tuple[tuple[int, float], ...]  # (period end, all posts) of each period in the window
    period_volume: float  # all posts in the last period
    hourly_volume: tuple[float, ...]  # the stream's posts per period at each local hour, lately
    stream_start: int  # earliest post time in the trailing day: the warm-up clock
    previous_posts: float  # the key's posts in the window one period earlier


class ScoredWindow(NamedTuple):
    end: int
    count: float  # posts after the per-author cap
    expected: float
    score: float
    lift: float
    growth: float
    authors: int
    texts: int
    sentiment: float | None
    sentiment_delta: float | None
    severity: str
    status: str | None
    episode_start: int
    warm: bool
    new_key: bool  # no mentions in the history the baseline remembers


def _assess(
    history: KeyHistory,
    stats: WindowStats,
    end: int,
    window_periods: tuple[tuple[int, float], ...],
    baseline: BaselineParams,
    severity: SeverityParams,
):
    count = float(stats.counted(severity.per_author_cap, severity.per_text_cap))
    expected = history.expected(window_periods, baseline)
    score = tail_surprise(count, expected, severity.dispersion)
    lift_ = lift(count, expected)
    authors, texts = stats.distinct_authors(), stats.distinct_texts()
    single = level(score, lift_, supported(count, authors, texts, severity), severity)
    if single == "watch" and (count < min_watch_count(severity) or authors < 2):
        single = "info"  # two posts of a rare word are not worth anyone's attention
    warm = bool(history.stream_start) and end - history.stream_start >= severity.warmup_ms
    mean = stats.sentiment_mean()
    usual = history.usual_sentiment()
    delta = mean - usual if mean is not None and usual is not None else None
    return count, expected, score, lift_, authors, texts, single, warm, mean, delta


def prepare(history: KeyHistory, w: WindowInput, baseline: BaselineParams) -> None:
    """Moves the history to the window's last period (decay, missed periods, warm-up clock)."""
    if w.stream_start and (not history.stream_start or w.stream_start < history.stream_start):
        history.stream_start = w.stream_start
    history.advance(w.end, w.hourly_volume, baseline)


def learn(history: KeyHistory, w: WindowInput, baseline: BaselineParams, severity: SeverityParams) -> None:
    """After `prepare`: adds the window's last period to the history without scoring it, for
    windows that cannot reach "watch", of keys outside an episode."""
    _observe(history, w, baseline, severity)


def could_matter(
    history: KeyHistory, w: WindowInput, posts: int, baseline: BaselineParams, severity: SeverityParams
) -> bool:
    """After `prepare`: whether a window of `posts` posts could reach "watch" (the count the
    score uses is at most the posts, so their score bounds it)."""
    if posts < min_watch_count(severity):
        return False
    expected = history.expected(w.window_periods, baseline)
    return (
        tail_surprise(posts, expected, severity.dispersion) >= severity.watch_score
        and lift(posts, expected) >= severity.min_lift / 2
    )


def _observe(
    history: KeyHistory,
    w: WindowInput,
    baseline: BaselineParams,
    severity: SeverityParams,
    in_episode: bool = False,
) -> None:
    count = float(w.period.counted(severity.per_author_cap, severity.per_text_cap))
    if in_episode and severity.episode_learning_cap > 0:
        # A burst teaches the baseline only a little, so "how far above usual" stays meaningful
        # while it lasts; once the episode ends the key learns at full speed again.
        usual = history.expected(((w.end, w.period_volume),), baseline)
        count = min(count, severity.episode_learning_cap * usual + 1.0)
    history.observe(w.end, count, w.period_volume, w.period.sentiment_sum, w.period.sentiment_n, baseline)


def score_window(
    history: KeyHistory, w: WindowInput, baseline: BaselineParams, severity: SeverityParams
) -> ScoredWindow:
    """Scores one key's window against its history, then adds the window's last period to it."""
    prepare(history, w, baseline)
    return score_prepared(history, w, baseline, severity)


def score_prepared(
    history: KeyHistory, w: WindowInput, baseline: BaselineParams, severity: SeverityParams
) -> ScoredWindow:
    """`score_window` after `prepare`."""
    count, expected, score, lift_, authors, texts, single, warm, mean, delta = _assess(
        history, w.window, w.end, w.window_periods, baseline, severity
    )
    continuing = score >= severity.continue_score and lift_ >= severity.min_lift / 2
    status, episode = step_episode(
        history,
        w.end,
        baseline.period_ms,
        single == "alert" and warm,
        continuing,
        severity,
        max(1, baseline.size_ms // baseline.period_ms),
    )
    if status == "new":
        severity_ = "alert"
    elif status == "ongoing":
        severity_ = "watch"
    else:
        severity_ = "watch" if single == "alert" else single
    new_key = history.mentions < 0.5
    _observe(history, w, baseline, severity, in_episode=status in ("new", "ongoing"))
    return ScoredWindow(
        w.end,
        count,
        expected,
        score,
        lift_,
        growth(w.window.posts, w.previous_posts),
        authors,
        texts,
        mean,
        delta,
        severity_,
        status,
        episode,
        warm,
        new_key,
    )


def revise_window(
    history: KeyHistory,
    window: WindowStats,
    end: int,
    window_periods: tuple[tuple[int, float], ...],
    baseline: BaselineParams,
    severity: SeverityParams,
) -> ScoredWindow:
    """Re-scores the key's latest window, already scored, with late posts (a late pane within
    the allowed lateness; the caller has added them to the history). It may still open an
    episode (a late alert beats none) but never alerts twice in one."""
    count, expected, score, lift_, authors, texts, single, warm, mean, delta = _assess(
        history, window, end, window_periods, baseline, severity
    )
    if single == "alert" and warm and not history.episode_start:
        history.open_episode(end)
        severity_, status = "alert", "new"
    else:
        severity_, status = ("watch" if single == "alert" else single), "revised"
    return ScoredWindow(
        end,
        count,
        expected,
        score,
        lift_,
        0.0,
        authors,
        texts,
        mean,
        delta,
        severity_,
        status,
        history.episode_start,
        warm,
        history.mentions < 0.5,
    )
