"""The stream's volumes around a period, which every key's score there is normalised by.
Shared by the Beam stage (transforms/trends/join.py) and the Flink job (tendencias/flink), so
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


def count_post(volumes: Volumes, slot_ms: int, t_ms: int) -> int:
    """Adds a post of event time `t_ms` to its slot of `slot_ms`; returns the slot's end."""
    end = (t_ms // slot_ms + 1) * slot_ms
    n, first = volumes.get(end, (0, t_ms))
    volumes[end] = (n + 1, min(first, t_ms))
    return end


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
