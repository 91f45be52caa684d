"""ScoreTrends: enriched posts (and sales) in, Trend records out, alerts apart.

Per horizon (15 min sliding every 5, and 1 day sliding every hour, by default):

    posts ─ KeyPosts ─ per period: CombinePerKey ─ AttachVolume ─ ScoreKeyFn (state) ─ trends
      └─ per period: volume ┬──────────────────────────┘ side input: per period end, the
                            ├ sliding window: volume ──┘ period's, the window's and the
                            └ trailing day: volume ────┘ trailing day's post counts

Each post touches one period window per key; the scorer keeps each key's recent periods and
sums them into its sliding window itself (a Beam SlidingWindows would count each post
size/period times and score every window of every key). Late posts within
`allowed_lateness` fire late panes (the per-period counts are discarding, the volumes
accumulating, so nothing is counted twice) and the scorer revises the key's latest window.
Posts later than that are dropped by the windowing, as Beam does.

Trend records are timestamped at their window's last instant (end - 1 ms). `.alerts` holds the
records whose severity is "alert" (one per episode). With sales, product trends get
`sales_lift` (see trend_sales.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.metrics import Metrics
from apache_beam.transforms import trigger, window

from tendencias.models.trend_config import Horizon, TrendScoringConfig
from tendencias.models.trend_keys import trend_keys
from tendencias.models.trend_stats import WindowStats, post_mark
from tendencias.transforms.trend_state import PeriodCounts, ScoreKeyFn, keyed_counts_type

__all__ = ["ScoreTrends", "TrendOutputs", "TrendScoringConfig", "is_alert"]


class TrendOutputs(NamedTuple):
    trends: pvalue.PCollection
    alerts: pvalue.PCollection


def is_alert(trend: dict) -> bool:
    return trend.get("severity") == "alert"


class KeyPostsFn(beam.DoFn):
    """Post -> ((kind, key), PostMark) for each key it counts towards."""

    def __init__(self, kinds: tuple[str, ...]):
        self._kinds = kinds
        self._posts = Metrics.counter("trends", "posts_keyed")
        self._keys = Metrics.counter("trends", "post_keys")
        self._keyless = Metrics.counter("trends", "posts_without_keys")

    def process(self, post: dict):
        keys = trend_keys(post, self._kinds)
        self._posts.inc()
        if not keys:
            self._keyless.inc()
            return
        self._keys.inc(len(keys))
        mark = post_mark(post)
        for pair in keys:
            yield pair, mark


class CountKeyFn(beam.CombineFn):
    """PostMarks -> WindowStats."""

    def __init__(self, examples: int):
        self._examples = examples

    def create_accumulator(self) -> WindowStats:
        return WindowStats(self._examples)

    def add_input(self, acc: WindowStats, item) -> WindowStats:
        return acc.add(item)

    def merge_accumulators(self, accumulators) -> WindowStats:
        accumulators = iter(accumulators)
        out = next(accumulators)
        for acc in accumulators:
            out.merge(acc)
        return out

    def extract_output(self, acc: WindowStats) -> WindowStats:
        return acc


class VolumeFn(beam.CombineFn):
    """Posts (or partial volumes, with `merge_only`) -> (posts, earliest event time ms)."""

    def __init__(self, merge_only: bool = False):
        self._merge_only = merge_only

    def create_accumulator(self) -> tuple[int, int]:
        return 0, 2**62

    def add_input(self, acc, item):
        if self._merge_only:
            return acc[0] + item[0], min(acc[1], item[1])
        return acc[0] + 1, min(acc[1], int(item["event_time_ms"]))

    def merge_accumulators(self, accumulators):
        total, first = 0, 2**62
        for n, t in accumulators:
            total, first = total + n, min(first, t)
        return total, first

    def extract_output(self, acc):
        return acc


class AttachVolumeFn(beam.DoFn):
    """Adds the period's end and the stream's volumes: the side input holds, for each period
    end, ("period" | "window" | "trailing", end, posts, first post time), maybe in several
    panes (late firings accumulate, so the fullest pane is the latest)."""

    def __init__(self, horizon: Horizon):
        self._horizon = horizon

    def process(self, element, volumes, win=beam.DoFn.WindowParam):
        pair, stats = element
        end = int(win.end.micros // 1000)
        found = {"period": (stats.posts, end), "window": (stats.posts, end), "trailing": (stats.posts, end)}
        for what, at, n, first in volumes:
            if at == end and n >= found[what][0]:
                found[what] = (n, first)
        trailing, first = found["trailing"]
        span = max(self._horizon.period_ms, min(self._horizon.volume_ms, end - first))
        mean = trailing * self._horizon.period_ms / span
        yield (
            pair,
            PeriodCounts(
                end, stats, float(found["period"][0]), float(found["window"][0]), float(mean), int(first)
            ),
        )


class TagVolumeFn(beam.DoFn):
    """(posts, first) of a window -> (what, window end, posts, first), for the side input."""

    def __init__(self, what: str):
        self._what = what

    def process(self, volume, win=beam.DoFn.WindowParam):
        yield self._what, int(win.end.micros // 1000), volume[0], volume[1]


def _windowing(fn: window.WindowFn, lateness_s: float, accumulate: bool, bounded: bool) -> beam.WindowInto:
    if bounded:  # no late data in a bounded run: the default trigger is much cheaper to run
        return beam.WindowInto(fn)
    mode = trigger.AccumulationMode.ACCUMULATING if accumulate else trigger.AccumulationMode.DISCARDING
    return beam.WindowInto(
        fn,
        trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
        accumulation_mode=mode,
        allowed_lateness=lateness_s,
    )


class ScoreHorizon(beam.PTransform):
    """Keyed post marks (and the posts, for volumes) -> Trend records of one horizon."""

    def __init__(self, horizon: Horizon, config: TrendScoringConfig, bounded: bool):
        super().__init__()
        self._horizon, self._config, self._bounded = horizon, config, bounded

    def expand(self, inputs):
        posts, marks = inputs
        h, lateness, bounded = self._horizon, self._config.allowed_lateness, self._bounded
        size, period, trailing = h.size_ms / 1000, h.period_ms / 1000, h.volume_ms / 1000

        def windowing(fn, accumulate):
            return _windowing(fn, lateness, accumulate, bounded)

        slot_volume = (
            posts
            | "PerPeriod" >> windowing(window.FixedWindows(period), accumulate=False)
            | "CountPeriod" >> beam.CombineGlobally(VolumeFn()).without_defaults()
        )
        tagged = [slot_volume | "TagPeriod" >> beam.ParDo(TagVolumeFn("period"))]
        for name, length in (("window", size), ("trailing", trailing)):
            tagged.append(
                slot_volume
                | f"Slide{name.title()}" >> windowing(window.SlidingWindows(length, period), accumulate=True)
                | f"Count{name.title()}" >> beam.CombineGlobally(VolumeFn(merge_only=True)).without_defaults()
                | f"Tag{name.title()}" >> beam.ParDo(TagVolumeFn(name))
                | f"{name.title()}ByEnd" >> windowing(window.FixedWindows(period), accumulate=True)
            )
        # Every volume of a period end sits in the period window ending there: one side input
        # that the keyed counts (in the same period windows) look up without any remapping.
        volumes = tagged | "Volumes" >> beam.Flatten()
        config = self._config
        scorer = ScoreKeyFn(
            h.name,
            h.size_ms,
            config.baseline(h),
            config.severity(),
            config.always_emit_kinds,
            config.examples,
        )
        return (
            marks
            | "KeysPerPeriod" >> windowing(window.FixedWindows(period), accumulate=False)
            | "CountKeys" >> beam.CombinePerKey(CountKeyFn(config.examples))
            | "AttachVolume"
            >> beam.ParDo(AttachVolumeFn(h), pvalue.AsList(volumes)).with_output_types(keyed_counts_type())
            | "Rewindow" >> beam.WindowInto(window.GlobalWindows())
            | "ScoreKeys" >> beam.ParDo(scorer)
        )


class ScoreTrends(beam.PTransform):
    """Posts (or (posts, sales or None)) -> TrendOutputs(trends, alerts)."""

    def __init__(self, config: TrendScoringConfig | None = None, **overrides: Any):
        super().__init__()
        if config is not None and overrides:
            raise ValueError("pass either a TrendScoringConfig or keyword overrides, not both")
        self._config = config if config is not None else TrendScoringConfig(**overrides)

    def expand(self, inputs) -> TrendOutputs:
        posts, sales = inputs if isinstance(inputs, tuple) else (inputs, None)
        bounded = bool(posts.is_bounded) and (sales is None or bool(sales.is_bounded))
        marks = posts | "KeyPosts" >> beam.ParDo(KeyPostsFn(self._config.kinds))
        per_horizon = [
            (posts, marks) | f"Score{horizon.name}" >> ScoreHorizon(horizon, self._config, bounded)
            for horizon in self._config.horizons()
        ]
        trends = per_horizon | "AllHorizons" >> beam.Flatten()
        if sales is not None:
            from tendencias.transforms.trend_sales import LinkSales

            trends = (trends, posts, sales) | "LinkSales" >> LinkSales(self._config, bounded)
        alerts = trends | "Alerts" >> beam.Filter(is_alert)
        return TrendOutputs(trends, alerts)
