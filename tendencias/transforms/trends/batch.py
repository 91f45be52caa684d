"""Bounded input: the trend stage over batches of posts, not one Beam element per key and period.

    posts ─ CountPeriodsFn ─ (shard, ShardPart) per bundle ─ GroupByKey(shard) ─ ScoreShardFn ─ Scored trends

CountPeriodsFn (count.py) counts each bundle into per-key cells and the bundle's volumes; a
shard's parts, all of them once the input is read, make its keys' cells and the whole stream's
volumes (every part carries its bundle's). ScoreShardFn then scores the shard's keys one at a
time with the shared core (models/trends/shard_scorer.py), every period of every horizon in
(end, horizon rank) order, exactly as the stream does: a key's state lives only while it is
scored, so memory is one key's state plus the cells of a shard.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from tendencias.models.trends.cells import ShardPart, merge_parts
from tendencias.models.trends.config import TrendScoringConfig
from tendencias.models.trends.key_scorer import KeyState
from tendencias.models.trends.shard_scorer import ShardScorer
from tendencias.transforms.trends.alerts import emit_trend
from tendencias.transforms.trends.count import CountPeriodsFn


class ScoreShardFn(beam.DoFn):
    """(shard, all its ShardParts) -> Scored Trend records of its keys."""

    def __init__(self, config: TrendScoringConfig):
        self._config = config
        self._scored = Metrics.counter("trends", "periods_scored")
        self._forgotten = Metrics.counter("trends", "keys_forgotten")
        self._emitted = Metrics.counter("trends", "trends_emitted")
        self._alerts = Metrics.counter("trends", "alerts")

    def setup(self) -> None:
        self._scorer = ShardScorer(self._config)

    def process(self, element):
        _, parts = element
        marks, cells, volume_parts = merge_parts(parts)
        scorer = self._scorer
        volumes = scorer.volumes()
        volumes.add(volume_parts)
        for (kind, key), by_period in cells.items():
            for scored in scorer.score_key(kind, key, KeyState(), by_period, marks, volumes):
                yield from emit_trend(scored, self._emitted, self._alerts)
        self._scored.inc(scorer.scored)
        self._forgotten.inc(scorer.forgotten)
        scorer.scored = scorer.forgotten = 0


class ScoreBatch(beam.PTransform):
    """Bounded: posts -> Scored Trend records of every key, period and horizon."""

    def __init__(self, config: TrendScoringConfig):
        super().__init__()
        self._config = config

    def expand(self, posts):
        config = self._config
        horizons = [(h, config.horizon_kinds(h)) for h in config.horizons()]
        return (
            posts
            | "CountPeriods" >> beam.ParDo(CountPeriodsFn(horizons, None))
            | "ByShard" >> beam.GroupByKey().with_input_types(beam.typehints.Tuple[int, ShardPart])
            | "ScoreShards" >> beam.ParDo(ScoreShardFn(config))
        )
