"""Bounded input: the trend stage over batches of posts, not one Beam element per key and period.

    posts ─ CountPeriodsFn ─ shard parts (per bundle: each key's posts per period) ─ GroupByKey(shard) ─┐
                  └─ volume parts (posts per period and per hourly slot) ─ MergeVolumes ─ (side input) ─┴─ ScoreShardFn ─ Scored trends

A post's keys and its PostMark are made once, whatever the horizons; a bundle's cells (a key's
posts in one period) are kept as lists of marks, so no accumulator is made, pickled or merged
per key and period on the way; the stream's volumes are a few hundred numbers a day, merged
into one side input (complete before any shard is scored: the input is bounded). Each shard
then scores its keys with models/trends/shard_scorer.py: every period of every horizon in
(end, horizon rank) order, numpy across the shard's keys of each period, giving byte for byte
the records the streaming path's ScoreStreamShardFn (key_state.py) and the in-memory replay give key by key (the same
WindowStats of the key's marks, added in arrival order, the same PeriodVolumes, the same
KeyScorer for the windows that could matter). A shard's histories live only while it is
scored: memory is a row of arrays (~0.5 KB) per key and horizon of the shard, plus its cells.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms import window
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from tendencias.models.trends.config import Horizon, TrendScoringConfig
from tendencias.models.trends.key_scorer import HorizonScorers
from tendencias.models.trends.shard_scorer import Cells, score_shard
from tendencias.models.trends.stats import PostMark, post_mark
from tendencias.models.trends.volumes import PeriodVolumes, Volumes, count_post, merge_volumes
from tendencias.transforms.trends.join import SHARDS, shard_of
from tendencias.transforms.trends.key_state import emit_trend
from tendencias.transforms.trends.key_tally import KeyTally


class ShardPart(NamedTuple):
    """One bundle's posts of one shard's keys: the marks, and each key's cells as mark indices."""

    marks: list[PostMark]
    cells: Cells


class CountPeriodsFn(beam.DoFn):
    """Posts -> one ShardPart per shard per bundle (main output, keyed by shard), and the
    bundle's volumes: {horizon: (posts per period, posts per slot)} (`VOLUMES`)."""

    VOLUMES = "volumes"

    def __init__(
        self, horizons: list[Horizon], kinds: tuple[str, ...], short_only_kinds: tuple[str, ...] = ()
    ):
        self._horizons = sorted(horizons, key=lambda h: h.size_ms)
        self._kinds = kinds
        self._short_only = frozenset(short_only_kinds)  # counted on the shortest horizon only
        self._tally = KeyTally()

    def start_bundle(self) -> None:
        self._marks: list[PostMark] = []
        self._cells: list[Cells] = [{} for _ in range(SHARDS)]
        self._shard: dict[tuple[str, str], Cells] = {}
        self._volumes: dict[str, tuple[Volumes, Volumes]] = {h.name: ({}, {}) for h in self._horizons}

    def process(self, post) -> None:
        t = int(post["event_time_ms"])
        ends = []
        for rank, h in enumerate(self._horizons):
            per_period, per_slot = self._volumes[h.name]
            count_post(per_slot, h.slot_ms, t)
            ends.append((count_post(per_period, h.period_ms, t), rank))
        keys = self._tally.keys_of(post, self._kinds)
        if not keys:
            return
        index = len(self._marks)
        self._marks.append(post_mark(post))
        for pair in keys:
            cells = self._shard.get(pair)
            if cells is None:
                cells = self._shard[pair] = self._cells[shard_of(pair)]
            by_period = cells.get(pair)
            if by_period is None:
                by_period = cells[pair] = {}
            for cell in ends[:1] if pair[0] in self._short_only else ends:
                marks = by_period.get(cell)
                if marks is None:
                    by_period[cell] = [index]
                else:
                    marks.append(index)

    def finish_bundle(self):
        posts = self._tally.posts
        self._tally.report()
        for shard, cells in enumerate(self._cells):
            if cells:
                yield _global((shard, _compact(self._marks, cells)))
        if posts:
            yield beam.pvalue.TaggedOutput(self.VOLUMES, _global(self._volumes))


def _global(value: Any) -> WindowedValue:
    return WindowedValue(value, MIN_TIMESTAMP, (window.GlobalWindow(),))


def _compact(marks: list[PostMark], cells: Cells) -> ShardPart:
    """The part of a shard: only the marks its keys hold, re-indexed in their order; or all of the
    bundle's marks, as they are, when the shard's keys hold most of them (a post's keys are spread
    over the shards, so they usually do: re-indexing every key's cells costs more than the few
    marks it would save)."""
    used = sorted({i for by_period in cells.values() for indices in by_period.values() for i in indices})
    if len(used) >= 0.75 * len(marks):
        return ShardPart(marks, cells)
    where = [0] * len(marks)
    for new, old in enumerate(used):
        where[old] = new
    at = where.__getitem__
    remapped = {
        pair: {cell: list(map(at, indices)) for cell, indices in by_period.items()}
        for pair, by_period in cells.items()
    }
    return ShardPart([marks[i] for i in used], remapped)


class MergeVolumesFn(beam.CombineFn):
    """Volume parts -> {horizon: (posts per period, posts per slot)} of the whole input."""

    def create_accumulator(self) -> dict:
        return {}

    def add_input(self, acc: dict, part: dict) -> dict:
        return self.merge_accumulators([acc, part])

    def merge_accumulators(self, accumulators) -> dict:
        out: dict[str, tuple[Volumes, Volumes]] = {}
        for acc in accumulators:
            for name, (periods, slots) in acc.items():
                known = out.get(name, ({}, {}))
                out[name] = (merge_volumes([known[0], periods]), merge_volumes([known[1], slots]))
        return out

    def extract_output(self, acc: dict) -> dict:
        return acc


class ScoreShardFn(beam.DoFn):
    """(shard, its ShardParts), the volumes side input -> Scored Trend records of its keys."""

    def __init__(self, horizons: list[Horizon], config: TrendScoringConfig, scorers: HorizonScorers):
        self._horizons = sorted(horizons, key=lambda h: h.size_ms)
        self._baselines = [config.baseline(h) for h in self._horizons]
        self._examples = config.examples
        self._scorers = scorers
        self._scored = Metrics.counter("trends", "periods_scored")
        self._emitted = Metrics.counter("trends", "trends_emitted")
        self._alerts = Metrics.counter("trends", "alerts")
        self._volumes: dict | None = None
        self._at: dict[tuple[int, int], PeriodVolumes] = {}

    def process(self, element, volumes: dict):
        _, parts = element
        marks, cells = _merge_parts(list(parts))
        if volumes is not self._volumes:  # the periods' volumes are the same for every shard
            self._volumes, self._at = volumes, {}
        at = self._at

        def volumes_at(rank: int, end: int) -> PeriodVolumes:
            if (end, rank) not in at:
                at[end, rank] = self.volumes_at(volumes, rank, end)
            return at[end, rank]

        records, scored = score_shard(
            self._scorers, [h.name for h in self._horizons], self._examples, marks, cells, volumes_at
        )
        for record in records:
            yield from emit_trend(record, self._emitted, self._alerts)
        self._scored.inc(scored)

    def volumes_at(self, volumes: dict, rank: int, end: int) -> PeriodVolumes:
        """The stream's volumes around period `end`, as the streaming join gives them."""
        h = self._horizons[rank]
        periods, slots = volumes.get(h.name, ({}, {}))
        return PeriodVolumes(
            h,
            self._baselines[rank],
            end,
            {e: v for e, v in periods.items() if end - h.size_ms < e <= end},
            {e: v for e, v in slots.items() if end - h.volume_ms < e <= end},
        )


def _merge_parts(parts: list[ShardPart]) -> tuple[list[PostMark], Cells]:
    """One shard's parts (one per bundle) as one: marks appended, cells joined in part order."""
    if len(parts) == 1:
        return parts[0]
    marks: list[PostMark] = []
    cells: Cells = {}
    for part in parts:
        offset = len(marks)
        marks += part.marks
        for pair, by_period in part.cells.items():
            into = cells.setdefault(pair, {})
            for cell, indices in by_period.items():
                into.setdefault(cell, []).extend(i + offset for i in indices)
    return marks, cells


def count_in_memory(
    posts: Iterable[dict], config: TrendScoringConfig
) -> tuple[list[PostMark], list[Cells], dict]:
    """`CountPeriodsFn` over `posts` as one bundle, without a runner (benchmarks, tests): the
    marks, each shard's cells, and the volumes side input."""
    count = CountPeriodsFn(
        sorted(config.horizons(), key=lambda h: h.size_ms), config.kinds, config.short_only_kinds
    )
    count.start_bundle()
    for post in posts:
        count.process(post)
    return count._marks, count._cells, count._volumes


class ScoreBatch(beam.PTransform):
    """Bounded: posts -> Scored Trend records of every key, period and horizon."""

    def __init__(self, config: TrendScoringConfig):
        super().__init__()
        self._config = config

    def expand(self, posts):
        config, horizons = self._config, self._config.horizons()
        counted = posts | "CountPeriods" >> beam.ParDo(
            CountPeriodsFn(horizons, config.kinds, config.short_only_kinds)
        ).with_outputs(CountPeriodsFn.VOLUMES, main="parts")
        volumes = counted[CountPeriodsFn.VOLUMES] | "MergeVolumes" >> beam.CombineGlobally(MergeVolumesFn())
        return (
            counted.parts
            | "ByShard" >> beam.GroupByKey().with_input_types(beam.typehints.Tuple[int, ShardPart])
            | "ScoreShards"
            >> beam.ParDo(
                ScoreShardFn(horizons, config, config.horizon_scorers()), beam.pvalue.AsSingleton(volumes)
            )
        )
