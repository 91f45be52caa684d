"""Scoring a shard's cells: each key's periods of every horizon, in (end, horizon rank) order.

The scoring half of the trend stage, shared by both plans: a backfill scores each shard's keys
one after another over the whole input (transforms/trends/batch.py), the stream scores the
keys of a shard's due periods at each firing with their state from the shard's store
(transforms/trends/stream.py); in-memory replay does what both do, key by key. All of them
build a period's WindowStats from the key's marks in the order they came, take its volumes
from `ShardVolumes` and call the key's `HorizonScorers`, so they give the same records.

A period already scored for the key (late posts, within the allowed lateness) revises the
key's latest window instead; a key silent for `forget_after` starts again from nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from tendencias.models.trends.cells import Cell
from tendencias.models.trends.config import TrendScoringConfig
from tendencias.models.trends.groups import Scored
from tendencias.models.trends.key_scorer import KeyState
from tendencias.models.trends.stats import PostMark, WindowStats
from tendencias.models.trends.volumes import ShardVolumes


class ShardScorer:
    """The scorers of every horizon, and what scoring a key's cells needs around them."""

    def __init__(self, config: TrendScoringConfig):
        self.horizons = sorted(config.horizons(), key=lambda h: h.size_ms)  # index = rank
        self.baselines = [config.baseline(h) for h in self.horizons]
        self.scorers = config.horizon_scorers()
        self.examples = config.examples
        self.forget_after_ms = int(config.forget_after * 1000)
        self.scored = self.revised = self.forgotten = 0  # tallies, for the caller's counters

    def volumes(self) -> ShardVolumes:
        return ShardVolumes(self.horizons, self.baselines)

    def silent(self, seen: int, end: int) -> bool:
        """Whether a key last seen in the period ending at `seen` has been silent for
        `forget_after` by the period ending at `end` (its state is then forgotten: its history
        has faded to little by then, and a million one-off bigrams must not be kept for ever)."""
        return bool(seen) and seen + self.forget_after_ms < end

    def score_key(
        self,
        kind: str,
        key: str,
        state: KeyState,
        by_period: Mapping[Cell, list[int]],
        marks: list[PostMark],
        volumes: ShardVolumes,
    ) -> Iterator[Scored | None]:
        """The Scored record (or None) of each of the key's cells, in (end, rank) order; `state`
        moves on with them."""
        for cell in sorted(by_period):
            end, rank = cell
            if state.horizons and self.silent(last_seen(state), end):
                state.horizons.clear()
                self.forgotten += 1
            name = self.horizons[rank].name
            stats = WindowStats(self.examples)
            for i in by_period[cell]:
                stats.add(marks[i])
            counts = volumes.at(rank, end).counts(stats)
            known = state.horizons.get(name)
            if known is not None and end <= known[0].last_end:  # late posts of a period scored
                self.revised += 1
                yield self.scorers.revise(kind, key, state, name, counts)
            else:
                self.scored += 1
                yield self.scorers.score(kind, key, state, name, counts)


def last_seen(state: KeyState) -> int:
    """The end of the latest period scored for the key, of any horizon (0: none)."""
    return max((history.last_end for history, _ in state.horizons.values()), default=0)
