"""ScoreTrends: enriched posts (and sales) in, Trend records out, alerts apart.

Unbounded input (the stream), per horizon (15 min sliding every 3, and 1 day sliding every
hour, by default), counts:

    posts ─ CountBundles: per bundle, period and shard, its keys' counts ─ per period: MergeCounts ─┐
                └ per bundle and period, its posts ─ per period: volume ────────────────────────────┤ JoinStreamFn
                                                            └ per hour ──────────────────────────────┘ (join.py)
(bundle_counts.py); the join gives a period's keys of a shard the window's and trailing day's counts;
then, all horizons together:  ScoreStreamShardFn (key states per shard, key_state.py) ─ GroupAlertsFn
─ [LinkSales] ─ trends

Bounded input (backfills, `--bounded`): ScoreBatch (batch.py) counts per bundle and scores each
shard's keys in memory, then GroupAlertsBatchFn; the same records, far fewer Beam elements.

Each post touches one period window per key; the scorer keeps each key's recent periods and
sums them into its sliding window itself (a Beam SlidingWindows would count each post
size/period times and score every window of every key). One stateful DoFn scores every horizon
of a key, so a slower horizon's alert on a story a faster one already found is marked related
(models/trends/key_scorer.py); GroupAlertsFn then makes keys bursting on the same posts one
alert (models/trends/groups.py). Late posts within `allowed_lateness` fire late panes (every
window discards, so a pane holds only new posts and nothing is counted twice) and the scorer
revises the key's latest window: the same record again, `revision` one higher. Posts later than that are dropped by the
windowing, as Beam does.

Trend records are timestamped at their window's last instant (end - 1 ms). `.alerts` holds the
records whose severity is "alert" (one per story: an episode that no other alert explains). With sales, product trends get
`sales_lift` (see sales.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.transforms import window

from tendencias.models.trends.config import Horizon, TrendScoringConfig
from tendencias.models.trends.groups import Scored, is_episode
from tendencias.records import is_alert
from tendencias.transforms.trends.batch import ScoreBatch
from tendencias.transforms.trends.bundle_counts import (
    CountBundleFn,
    MergeShardCountsFn,
    counts_tag,
    volumes_tag,
)
from tendencias.transforms.trends.join import JoinStreamFn, ShardForJoin
from tendencias.transforms.trends.key_state import (
    GroupAlertsBatchFn,
    GroupAlertsFn,
    ScoreStreamShardFn,
    shard_periods_type,
)
from tendencias.transforms.trends.periods import CombinePerPeriod, VolumesPerSlotFn

__all__ = ["ScoreTrends", "TrendOutputs", "TrendScoringConfig", "is_alert"]


def _record(scored: Scored) -> dict:
    return scored.record


class TrendOutputs(NamedTuple):
    trends: pvalue.PCollection
    alerts: pvalue.PCollection


class CountHorizon(beam.PTransform):
    """Unbounded: one horizon's bundle counts and volumes (CountBundleFn) -> the parts for the
    one JoinStreamFn of all horizons (ShardForJoin)."""

    def __init__(self, horizon: Horizon, config: TrendScoringConfig):
        super().__init__()
        self._horizon, self._config = horizon, config

    def expand(self, inputs):
        counts, volumes = inputs
        h, lateness = self._horizon, self._config.allowed_lateness

        def per_period(period_ms: int, fn: beam.CombineFn) -> CombinePerPeriod:
            return CombinePerPeriod(period_ms, fn, lateness, bounded=False)

        period_volume = volumes | "CountPeriod" >> per_period(h.period_ms, VolumesPerSlotFn(h.period_ms))
        # The trailing day is counted per hour: the join adds up each window's slots itself.
        hourly = period_volume | "CountSlot" >> per_period(h.slot_ms, VolumesPerSlotFn(h.slot_ms))
        shard_counts = counts | "MergeCounts" >> per_period(h.period_ms, MergeShardCountsFn())
        return (shard_counts, period_volume, hourly) | "ShardForJoin" >> ShardForJoin(h)


class ScoreTrends(beam.PTransform):
    """Posts (or (posts, sales or None)) -> TrendOutputs(trends, alerts)."""

    def __init__(self, config: TrendScoringConfig | None = None, **overrides: Any):
        super().__init__()
        if config is not None and overrides:
            raise ValueError("pass either a TrendScoringConfig or keyword overrides, not both")
        self._config = config if config is not None else TrendScoringConfig(**overrides)

    def _extract_input_pvalues(self, pvalueish):
        if isinstance(pvalueish, tuple) and len(pvalueish) == 2 and pvalueish[1] is None:
            pvalueish = pvalueish[0]  # (posts, None): no sales
        return super()._extract_input_pvalues(pvalueish)

    def expand(self, inputs) -> TrendOutputs:
        posts, sales = inputs if isinstance(inputs, tuple) else (inputs, None)
        bounded = bool(posts.is_bounded) and (sales is None or bool(sales.is_bounded))
        if bounded:  # batches, no per-key state and timers for a batch runner to pay for
            trends = posts | "ScoreBatch" >> ScoreBatch(self._config)
        else:
            config = self._config
            wanted = [(h, config.horizon_kinds(h)) for h in config.horizons()]
            counted = posts | "CountBundles" >> beam.ParDo(
                CountBundleFn(wanted, config.kinds, config.examples)
            ).with_outputs(*[tag(h) for h, _ in wanted for tag in (counts_tag, volumes_tag)])
            per_horizon = [
                (counted[counts_tag(h)], counted[volumes_tag(h)])
                | f"Count{h.name}" >> CountHorizon(h, config)
                for h, _ in wanted
            ]
            horizons = [(h, self._config.baseline(h)) for h in self._config.horizons()]
            join = JoinStreamFn(horizons, self._config.allowed_lateness)
            keyed = (
                per_horizon
                | "AllHorizons" >> beam.Flatten()
                | "JoinVolumes" >> beam.ParDo(join).with_output_types(shard_periods_type())
            )
            forget_ms = int(self._config.forget_after * 1000)
            scorers = self._config.horizon_scorers()
            trends = keyed | "ScoreShards" >> beam.ParDo(ScoreStreamShardFn(scorers, forget_ms))
        episodes = trends | "Episodes" >> beam.Partition(lambda t, _: int(is_episode(t)), 2)
        records = episodes[0] | "Records" >> beam.Map(_record)
        grouped = (
            episodes[1]
            | "OneKey"
            >> beam.Map(lambda t: ("episodes", t)).with_output_types(beam.typehints.Tuple[str, Any])
            | "GroupGlobal" >> beam.WindowInto(window.GlobalWindows())
        )
        if bounded:
            grouped = (
                grouped
                | "AllEpisodes" >> beam.GroupByKey()
                | "GroupAlerts" >> beam.ParDo(GroupAlertsBatchFn(self._config.grouper()))
            )
        else:
            grouped = grouped | "GroupAlerts" >> beam.ParDo(GroupAlertsFn(self._config.grouper()))
        trends = [records, grouped] | "Grouped" >> beam.Flatten()
        if sales is not None:
            from tendencias.transforms.trends.sales import LinkSales

            trends = (trends, posts, sales) | "LinkSales" >> LinkSales(self._config, bounded)
        alerts = trends | "Alerts" >> beam.Filter(is_alert)
        return TrendOutputs(trends, alerts)
