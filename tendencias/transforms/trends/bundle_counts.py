"""Unbounded input: the trend stage's counts made per bundle, a period's keys of a shard together.

One Beam element per key mark (a post has about 16 keys), through a combine per key and period
on every horizon, then a grouping of each period's keys by shard, cost most of the stream's
CPU: each step of each element is the runner's work, and each key's partial count crossed to
the runner and back twice. `CountBundleFn` makes a post's keys and its PostMark once and adds
it, per horizon, to its keys' WindowStats of the bundle, a dict per (shard, period end); at the
end of the bundle each dict goes out once, timestamped at its period's last instant, with the
bundle's post volumes per period. `MergeShardCountsFn` then merges the bundles' dicts of a
shard and period in the period's window (CombinePerPeriod: the same triggers, late panes and
lateness as before), so the join gets a period's keys of a shard as one element, as it did.

A post later than the watermark lands in a late pane of its period as before: its bundle's
dict carries only the posts of that bundle, and the panes discard.
"""

from __future__ import annotations

from collections.abc import Iterable

import apache_beam as beam
from apache_beam.transforms import window
from apache_beam.utils.windowed_value import WindowedValue

from tendencias.models.trends.config import Horizon
from tendencias.models.trends.stats import WindowStats, post_mark
from tendencias.models.trends.volumes import count_post
from tendencias.transforms.trends.join import shard_of
from tendencias.transforms.trends.key_tally import KeyTally
from tendencias.transforms.trends.ordering import to_timestamp

ShardCounts = dict[tuple[str, str], WindowStats]  # a shard's keys in one period: (kind, key) -> stats


def counts_tag(horizon: Horizon) -> str:
    return f"counts_{horizon.name}"


def volumes_tag(horizon: Horizon) -> str:
    return f"volumes_{horizon.name}"


class CountBundleFn(beam.DoFn):
    """Posts -> per bundle and horizon: (shard, ShardCounts) per period (`counts_tag`), and
    (None, {period end: (posts, earliest event ms)}) per period (`volumes_tag`), each
    timestamped at its period's last instant, in the global window."""

    def __init__(
        self, horizons: list[tuple[Horizon, tuple[str, ...]]], kinds: tuple[str, ...], examples: int
    ):
        self._horizons = [(h, frozenset(wanted)) for h, wanted in horizons]
        self._kinds, self._examples = kinds, examples
        self._tally = KeyTally()

    def start_bundle(self) -> None:
        self._counts: list[dict[tuple[int, int], ShardCounts]] = [{} for _ in self._horizons]
        self._volumes: list[dict[int, tuple[int, int]]] = [{} for _ in self._horizons]
        self._shards: dict[tuple[str, str], int] = {}

    def process(self, post: dict) -> None:
        t = int(post["event_time_ms"])
        ends = [
            count_post(volumes, h.period_ms, t)
            for (h, _), volumes in zip(self._horizons, self._volumes, strict=True)
        ]
        keys = self._tally.keys_of(post, self._kinds)
        if not keys:
            return
        mark, shards, examples = post_mark(post), self._shards, self._examples
        for pair in keys:
            shard = shards.get(pair)
            if shard is None:
                shard = shards[pair] = shard_of(pair)
            for (_, wanted), counts, end in zip(self._horizons, self._counts, ends, strict=True):
                if pair[0] not in wanted:
                    continue
                cell = counts.get((shard, end))
                if cell is None:
                    cell = counts[(shard, end)] = {}
                stats = cell.get(pair)
                if stats is None:
                    stats = cell[pair] = WindowStats(examples)
                stats.add(mark)

    def finish_bundle(self) -> Iterable:
        self._tally.report()
        for (h, _), counts, volumes in zip(self._horizons, self._counts, self._volumes, strict=True):
            for (shard, end), cell in counts.items():
                yield beam.pvalue.TaggedOutput(counts_tag(h), _at_period_end((shard, cell), end))
            for end, volume in volumes.items():
                yield beam.pvalue.TaggedOutput(volumes_tag(h), _at_period_end((None, {end: volume}), end))


def _at_period_end(value, end_ms: int) -> WindowedValue:
    return WindowedValue(value, to_timestamp(end_ms - 1), (window.GlobalWindow(),))


class MergeShardCountsFn(beam.CombineFn):
    """A shard's ShardCounts of one period from many bundles -> one. Takes ownership of its
    inputs (each is a bundle's dict, made once and sent once)."""

    def create_accumulator(self) -> ShardCounts:
        return {}

    def add_input(self, acc: ShardCounts, part: ShardCounts) -> ShardCounts:
        if not acc:
            return part
        for pair, stats in part.items():
            mine = acc.get(pair)
            if mine is None:
                acc[pair] = stats
            else:
                mine.merge(stats)
        return acc

    def merge_accumulators(self, accumulators) -> ShardCounts:
        out: ShardCounts = {}
        for acc in accumulators:
            out = self.add_input(out, acc)
        return out

    def extract_output(self, acc: ShardCounts) -> ShardCounts:
        return acc
