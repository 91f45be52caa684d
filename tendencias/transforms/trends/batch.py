"""Bounded input: the trend stage over batches of posts, not one Beam element per key and period.

    posts ─ CountPeriodsFn ─ shard parts (per bundle: each key's posts per period) ─ GroupByKey(shard) ─┐
                  └─ volume parts (posts per period and per hourly slot) ─ MergeVolumes ─ (side input) ─┴─ ScoreShardFn ─ Scored trends

A post's keys and its PostMark are made once, whatever the horizons; a bundle's cells (a key's
posts in one period) are kept as lists of marks, so no accumulator is made, pickled or merged
per key and period on the way; the stream's volumes are a few hundred numbers a day, merged
into one side input (complete before any shard is scored: the input is bounded). Each shard
then scores its keys one at a time, every period of every horizon in (end, horizon rank)
order, exactly as the streaming path's ScoreKeyFn and the in-memory replay do: the same
WindowStats (the key's marks of the period, added in arrival order), the same PeriodVolumes,
the same KeyScorer. A key's state lives only while it is scored, so memory is one key's
state plus the cells of a shard.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms import window
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from tendencias.models.trends.config import Horizon, TrendScoringConfig
from tendencias.models.trends.key_scorer import HorizonScorers, KeyState
from tendencias.models.trends.keys import trend_keys
from tendencias.models.trends.stats import PostMark, WindowStats, post_mark
from tendencias.models.trends.volumes import PeriodVolumes, Volumes, merge_volumes
from tendencias.transforms.trends.join import SHARDS, shard_of
from tendencias.transforms.trends.key_state import emit_trend

Cells = dict[tuple[str, str], dict[tuple[int, int], list[int]]]  # pair -> (end, rank) -> mark indices


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
        self._posts = Metrics.counter("trends", "posts_keyed")
        self._keys = Metrics.counter("trends", "post_keys")
        self._keyless = Metrics.counter("trends", "posts_without_keys")

    def start_bundle(self) -> None:
        self._marks: list[PostMark] = []
        self._cells: list[Cells] = [{} for _ in range(SHARDS)]
        self._shard: dict[tuple[str, str], Cells] = {}
        self._volumes: dict[str, tuple[Volumes, Volumes]] = {h.name: ({}, {}) for h in self._horizons}
        self._counts = [0, 0, 0]  # posts, keys, posts without keys

    def process(self, post) -> None:
        t = int(post["event_time_ms"])
        ends = []
        for rank, h in enumerate(self._horizons):
            per_period, per_slot = self._volumes[h.name]
            for table, size in ((per_period, h.period_ms), (per_slot, h.slot_ms)):
                end = (t // size + 1) * size
                n, first = table.get(end, (0, t))
                table[end] = (n + 1, min(first, t))
            ends.append(((t // h.period_ms + 1) * h.period_ms, rank))
        keys = trend_keys(post, self._kinds)
        self._counts[0] += 1
        if not keys:
            self._counts[2] += 1
            return
        self._counts[1] += len(keys)
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
        posts, keys, keyless = self._counts
        self._posts.inc(posts)
        self._keys.inc(keys)
        self._keyless.inc(keyless)
        for shard, cells in enumerate(self._cells):
            if cells:
                yield _global((shard, _compact(self._marks, cells)))
        if posts:
            yield beam.pvalue.TaggedOutput(self.VOLUMES, _global(self._volumes))


def _global(value: Any) -> WindowedValue:
    return WindowedValue(value, MIN_TIMESTAMP, (window.GlobalWindow(),))


def _compact(marks: list[PostMark], cells: Cells) -> ShardPart:
    """The part of a shard: only the marks its keys hold, re-indexed in their order."""
    used = sorted({i for by_period in cells.values() for indices in by_period.values() for i in indices})
    if len(used) == len(marks):
        return ShardPart(marks, cells)
    where = {old: new for new, old in enumerate(used)}
    remapped = {
        pair: {cell: [where[i] for i in indices] for cell, indices in by_period.items()}
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

    def process(self, element, volumes: dict):
        _, parts = element
        marks, cells = _merge_parts(list(parts))
        at: dict[tuple[int, int], PeriodVolumes] = {}
        scored = 0
        for (kind, key), by_period in cells.items():
            state = KeyState()
            for cell in sorted(by_period):
                end, rank = cell
                h = self._horizons[rank]
                stats = WindowStats(self._examples)
                for i in by_period[cell]:
                    stats.add(marks[i])
                period_volumes = at.get(cell)
                if period_volumes is None:
                    period_volumes = at[cell] = self._volumes_at(volumes, rank, end)
                scored += 1
                yield from emit_trend(
                    self._scorers.score(kind, key, state, h.name, period_volumes.counts(stats)),
                    self._emitted,
                    self._alerts,
                )
        self._scored.inc(scored)

    def _volumes_at(self, volumes: dict, rank: int, end: int) -> PeriodVolumes:
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
