"""`TrendScoringConfig`: every knob of the trend stage, with defaults and validation.

Durations are seconds (a number) or text such as "15m", "6h", "7d". A bad value raises
ValueError naming the field and what a good value looks like. Defaults were tuned on the
synthetic benchmark (benchmarks/bench_trends_synthetic.py), not on any real event.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import NamedTuple

from tendencias.durations import format_duration, parse_duration
from tendencias.models.stories.grouping import StoryGrouper
from tendencias.models.trends.baseline import BaselineParams
from tendencias.models.trends.key_scorer import HorizonScorers, KeyScorer
from tendencias.models.trends.keys import FIELD_KINDS, KINDS
from tendencias.models.trends.scoring import SeverityParams
from tendencias.models.trends.windows import DAY_MS, HOUR_MS, check_timezone

_DURATIONS = (
    "trend_window",
    "trend_slide",
    "long_window",
    "long_slide",
    "half_life",
    "warmup",
    "allowed_lateness",
    "forget_after",
)


class Horizon(NamedTuple):
    """One sliding-window family: name ("15m"), size and period in ms."""

    name: str
    size_ms: int
    period_ms: int

    @property
    def slot_ms(self) -> int:
        """The slots the trailing volume is kept in: hours (or periods, when longer)."""
        return max(HOUR_MS, self.period_ms)

    @property
    def volume_ms(self) -> int:
        """The trailing span whose mean volume fills the windows a key missed."""
        return max(DAY_MS, self.size_ms)


@dataclass
class TrendScoringConfig:
    trend_window: float | str = "15m"  # short horizon: window length ...
    trend_slide: float | str = "3m"  # ... and how often a new window starts (an alert waits for it)
    long_window: float | str = "1d"  # slow trends; 0 turns the long horizon off
    long_slide: float | str = "1h"
    kinds: tuple[str, ...] = KINDS
    timezone: str = "America/Lima"  # local hours and weekdays of the baseline and explanations
    half_life: float | str = "7d"  # how fast a key's history fades
    forget_after: float | str = "28d"  # a key silent this long is forgotten (state cleared; streaming)
    prior_count: float = 0.5  # a key never seen: this many pseudo-mentions ...
    prior_posts: float = 2000.0  # ... over this many pseudo-posts
    seasonal_prior: float = 5.0  # pseudo-mentions pulling hour/weekday factors towards 1
    alert_score: float = 5.0  # -log10 of the chance of a count this high under the baseline
    watch_score: float = 3.0
    continue_score: float = 2.0  # an episode goes on while the score stays at least this
    min_lift: float = 3.0  # (count + 1) / (baseline + 1) needed to alert
    min_count: int = 4  # posts (at most per_author_cap per author) needed to alert
    min_authors: int = 3
    min_texts: int = 3  # distinct texts: retweets and copies of one text count once
    per_author_cap: int = 2
    per_text_cap: int = 2  # retweets and copies of one text beyond this do not count
    episode_learning_cap: float = 3.0  # during an episode a period teaches the baseline at most x usual + 1
    end_after: int = 3  # windows under continue_score that end an episode
    # No alerts before the stream has this much history (plus the horizon's window). 2h caught
    # bursts sooner after a cold start but alerted on a quiet night's ordinary volume (the hourly
    # baseline was not learnt yet); a stream shorter than this before a burst needs --warmup.
    warmup: float | str = "6h"
    dispersion: float = 20.0  # negative binomial size (0: Poisson)
    examples: int = 3  # example posts per trend
    group_threshold: float = 0.5  # an alert mostly on the posts of an active alert joins it; 0: never
    story_meaning: float = 0.4  # ... or one whose example posts mean the same as an active story's (cosine)
    allowed_lateness: float | str = "10m"  # late posts within this revise their windows
    always_emit_kinds: tuple[str, ...] = FIELD_KINDS  # these get a record every window they occur
    # Story clusters live minutes to hours and their centroids drift: a day-long window of one
    # is no steady key with a usual volume, so only the short horizon scores them.
    short_only_kinds: tuple[str, ...] = ("cluster",)
    sales_max_lag_days: int = 7
    sales_min_days: int = 28
    sales_alpha: float = 0.01
    sales_history_days: int = 120

    def __post_init__(self):
        for name in _DURATIONS:
            value = getattr(self, name)
            if name in ("long_window", "long_slide", "allowed_lateness") and value in (0, "0", 0.0):
                setattr(self, name, 0.0)
                continue
            try:
                setattr(self, name, parse_duration(value))
            except ValueError as err:
                raise ValueError(f"{name}: {err}") from None
        self.kinds = tuple(self.kinds)
        self.always_emit_kinds = tuple(self.always_emit_kinds)
        self.short_only_kinds = tuple(self.short_only_kinds)
        self._validate()

    def _validate(self) -> None:
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ValueError(message)

        need(self.trend_window % self.trend_slide == 0, "trend_window must be a multiple of trend_slide")
        for name in ("trend_slide", "long_slide"):
            slide = getattr(self, name)
            if slide:
                need(
                    slide >= 1 and (3600 % slide == 0 or slide % 3600 == 0),
                    f"{name} must divide an hour (1m, 5m, 15m, ...) or be whole hours",
                )
        if self.long_window:
            need(
                self.long_slide > 0 and self.long_window % self.long_slide == 0,
                "long_window must be a multiple of long_slide (or 0 to turn the long horizon off)",
            )
        unknown = sorted({*self.kinds, *self.always_emit_kinds, *self.short_only_kinds} - set(KINDS))
        need(not unknown, f"unknown trend kinds {unknown}: choose from {', '.join(KINDS)}")
        need(bool(self.kinds), "kinds must name at least one trend kind")
        check_timezone(self.timezone)
        need(
            self.forget_after >= max(self.half_life, self.long_window or 0, self.trend_window),
            "forget_after must be at least half_life and the window lengths",
        )
        need(self.prior_count > 0 and self.prior_posts > 0, "prior_count and prior_posts must be positive")
        need(self.seasonal_prior > 0, "seasonal_prior must be positive")
        need(
            0 < self.continue_score <= self.watch_score <= self.alert_score,
            "scores must satisfy 0 < continue_score <= watch_score <= alert_score",
        )
        need(self.min_lift >= 1, "min_lift must be at least 1")
        for name in (
            "min_count",
            "min_authors",
            "min_texts",
            "per_author_cap",
            "per_text_cap",
            "end_after",
            "examples",
        ):
            need(
                isinstance(getattr(self, name), int) and getattr(self, name) >= 1,
                f"{name} must be an integer >= 1",
            )
        need(self.dispersion >= 0, "dispersion must be >= 0 (0 means Poisson)")
        need(0 <= self.group_threshold <= 1, "group_threshold must be from 0 (no grouping) to 1")
        need(0 < self.story_meaning <= 1, "story_meaning must be above 0 and at most 1")
        need(self.episode_learning_cap >= 0, "episode_learning_cap must be >= 0 (0: learn bursts in full)")
        need(
            self.warmup <= DAY_MS / 1000,
            "warmup must be at most 1d (the volume window the scorer looks back on)",
        )
        need(0 <= self.sales_max_lag_days <= 60, "sales_max_lag_days must be from 0 to 60")
        need(self.sales_min_days >= 7, "sales_min_days must be at least 7")
        need(0 < self.sales_alpha < 1, "sales_alpha must be between 0 and 1")
        need(
            self.sales_history_days >= self.sales_min_days + self.sales_max_lag_days + 1,
            "sales_history_days must exceed sales_min_days + sales_max_lag_days",
        )

    def horizons(self) -> list[Horizon]:
        out = [
            Horizon(
                format_duration(self.trend_window),
                int(self.trend_window * 1000),
                int(self.trend_slide * 1000),
            )
        ]
        if self.long_window:
            out.append(
                Horizon(
                    format_duration(self.long_window),
                    int(self.long_window * 1000),
                    int(self.long_slide * 1000),
                )
            )
        return out

    def horizon_kinds(self, horizon: Horizon) -> tuple[str, ...]:
        """The kinds `horizon` scores: all of `kinds`, but the short-only ones on the short horizon only."""
        if horizon == self.horizons()[0]:
            return self.kinds
        return tuple(k for k in self.kinds if k not in self.short_only_kinds)

    def baseline(self, horizon: Horizon) -> BaselineParams:
        return BaselineParams(
            horizon.period_ms,
            int(self.half_life * 1000),
            self.timezone,
            self.prior_count,
            self.prior_posts,
            self.seasonal_prior,
            horizon.size_ms,
        )

    def key_scorer(self, horizon: Horizon) -> KeyScorer:
        return KeyScorer(
            horizon.name,
            horizon.size_ms,
            self.baseline(horizon),
            self.severity(horizon),
            self.always_emit_kinds,
            self.examples,
        )

    def horizon_scorers(self) -> HorizonScorers:
        return HorizonScorers([self.key_scorer(h) for h in self.horizons()])

    def grouper(self) -> StoryGrouper:
        """Groups alerts (of all horizons) into stories while any member's episode goes on."""
        expire = {h.name: h.size_ms + self.end_after * h.period_ms for h in self.horizons()}
        sizes = {h.name: h.size_ms for h in self.horizons()}
        return StoryGrouper(self.group_threshold, expire, sizes, meaning_threshold=self.story_meaning)

    def severity(self, horizon: Horizon) -> SeverityParams:
        """A horizon alerts only once `warmup` of history precedes its whole window: a day-long
        window that is 7 hours into a cold start has no usual to be compared with."""
        names = {f.name for f in fields(SeverityParams)} - {"warmup_ms"}
        warmup_ms = int(self.warmup * 1000) + horizon.size_ms
        return SeverityParams(warmup_ms=warmup_ms, **{n: getattr(self, n) for n in names})
