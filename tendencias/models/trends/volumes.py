"""The stream's volumes around a period, which every key's score there is normalised by.
Shared by the Beam stage (models/trends/shard_scorer.py) and the Flink job (tendencias/flink), so
both give the scorer the same PeriodCounts.

Volumes are `{slot end: (posts, earliest event ms)}` dicts. They arrive in parts (the panes of
a streaming run: on time, then one per late post), which `merge_volumes` adds up, so a part
is never counted twice however many panes there are.
"""

from __future__ import annotations

from collections.abc import Iterable

from tendencias.models.trends.baseline import BaselineParams, hourly_volume
from tendencias.models.trends.config import Horizon
from tendencias.models.trends.key_scorer import PeriodCounts
from tendencias.models.trends.stats import WindowStats

Volumes = dict[int, tuple[int, int]]


def merge_volumes(parts: Iterable[Volumes]) -> Volumes:
    """The sum of volume parts: posts added, earliest times kept."""
    out: Volumes = {}
    for part in parts:
        for end, (n, first) in part.items():
            if end in out:
                out[end] = (out[end][0] + n, min(out[end][1], first))
            else:
                out[end] = (n, first)
    return out


class PeriodVolumes:
    """What all keys of one period end share: the period's and the window's post counts, the
    trailing day's hourly volume and the stream's start, computed once for the period."""

    def __init__(
        self, horizon: Horizon, baseline: BaselineParams, end: int, window: Volumes, trailing: Volumes
    ):
        trailing = trailing or {end: (0, end - 1)}
        first = min(t for _, t in trailing.values())
        span = min(horizon.volume_ms, end - first + horizon.period_ms - 1)
        per_slot = {e: float(n) for e, (n, _) in trailing.items()}
        self.end = end
        self.window = tuple(sorted((e, float(n)) for e, (n, _) in window.items()))
        self.period = dict(self.window).get(end, 0.0)
        self.hourly = hourly_volume(per_slot, horizon.slot_ms, end, span, baseline)
        self.first = int(first)

    def counts(self, stats: WindowStats) -> PeriodCounts:
        """One key's PeriodCounts. The key's own posts are in the volumes; max() only guards a
        late pane of the key that came before the late pane of the volumes."""
        return PeriodCounts(
            self.end,
            stats,
            max(self.period, float(stats.posts)),
            self.window or ((self.end, float(stats.posts)),),
            self.hourly,
            self.first,
        )


def add_volume(table: Volumes, end: int, value: tuple[int, int]) -> None:
    """Adds one (posts, earliest ms) to `table[end]`, in place."""
    known = table.get(end)
    table[end] = value if known is None else (known[0] + value[0], min(known[1], value[1]))


class ShardVolumes:
    """The stream's volumes as a shard's scorer learns them from its parts (models/trends/cells.py):
    per horizon rank, posts per period and per slot (the trailing day's hours, each slot the
    sum of its periods). `at(rank, end)` gives the PeriodVolumes every key of that period is
    scored with; parts may come in any order and more than once per period (late panes)."""

    def __init__(self, horizons: list[Horizon], baselines: list[BaselineParams]):
        self._horizons, self._baselines = horizons, baselines
        self.periods: list[Volumes] = [{} for _ in horizons]
        self.slots: list[Volumes] = [{} for _ in horizons]
        self._at: dict[tuple[int, int], PeriodVolumes] = {}

    def __getstate__(self):
        return self.periods, self.slots

    def __setstate__(self, state):
        self.periods, self.slots = state
        self._at = {}

    def bind(self, horizons: list[Horizon], baselines: list[BaselineParams]) -> ShardVolumes:
        """Restored from its state (periods and slots only): the horizons again."""
        self._horizons, self._baselines = horizons, baselines
        return self

    def add(self, volumes: dict[int, Volumes]) -> None:
        for rank, table in volumes.items():
            slot_ms = self._horizons[rank].slot_ms
            periods, slots = self.periods[rank], self.slots[rank]
            for end, value in table.items():
                add_volume(periods, end, value)
                add_volume(slots, ((end - 1) // slot_ms + 1) * slot_ms, value)
        self._at = {}

    def at(self, rank: int, end: int) -> PeriodVolumes:
        """The volumes around period `end` of horizon `rank`: the window's periods and the
        trailing day's slots that end by `end`."""
        found = self._at.get((rank, end))
        if found is None:
            h = self._horizons[rank]
            found = self._at[(rank, end)] = PeriodVolumes(
                h,
                self._baselines[rank],
                end,
                {e: v for e, v in self.periods[rank].items() if end - h.size_ms < e <= end},
                {e: v for e, v in self.slots[rank].items() if end - h.volume_ms < e <= end},
            )
        return found

    def prune(self, rank: int, oldest: int) -> None:
        """Forgets what no period ending after `oldest` reads."""
        h = self._horizons[rank]
        self.periods[rank] = {e: v for e, v in self.periods[rank].items() if e > oldest - h.size_ms}
        self.slots[rank] = {e: v for e, v in self.slots[rank].items() if e > oldest - h.volume_ms}
        self._at = {}
