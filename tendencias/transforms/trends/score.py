"""ScoreTrends: enriched posts (and sales) in, Trend records out, alerts apart.

Both plans count and score alike, with the same cores (models/trends/cells.py counts a bundle's
posts per key and period, models/trends/shard_scorer.py scores a shard's keys):

    bounded (backfills, `--bounded`):  ScoreBatch (batch.py): parts per shard, all at once ─┐
    unbounded (the stream):            ScoreStream (stream.py): parts per shard and window ─┤
                                            GroupAlerts (alerts.py) ─ [LinkSales] ─ trends ─┘

per horizon (15 min sliding every 3, and 1 day sliding every hour, by default). Each post
touches one period per key and horizon; the scorer keeps each key's recent periods and sums
them into its sliding window itself (a Beam SlidingWindows would count each post size/period
times and score every window of every key). A key's horizons are scored together, so a slower
horizon's alert on a story a faster one already found is marked related
(models/trends/key_scorer.py); the grouping then makes keys bursting on the same posts one
alert (models/trends/groups.py). In the stream, a window's records leave when the watermark
passes its end; late posts within `allowed_lateness` revise the key's latest window: the same
record again, `revision` one higher. Posts later than that are dropped by the windowing, as
Beam does.

Trend records are timestamped at their window's last instant (end - 1 ms). `.alerts` holds the
records whose severity is "alert" (one per story: an episode that no other alert explains).
With sales, product trends get `sales_lift` (see sales.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.transforms import window

from tendencias.models.trends.config import TrendScoringConfig
from tendencias.models.trends.groups import Scored, is_episode
from tendencias.records import is_alert
from tendencias.transforms.trends.alerts import GroupAlertsBatchFn, GroupAlertsFn
from tendencias.transforms.trends.batch import ScoreBatch
from tendencias.transforms.trends.stream import ScoreStream

__all__ = ["ScoreTrends", "TrendOutputs", "TrendScoringConfig", "is_alert"]


def _record(scored: Scored) -> dict:
    return scored.record


class TrendOutputs(NamedTuple):
    trends: pvalue.PCollection
    alerts: pvalue.PCollection


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
        else:  # per shard of keys, a window at a time, state kept per shard
            trends = posts | "ScoreStream" >> ScoreStream(self._config)
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
