"""The stream's volumes around one period end, as the scorer receives them with a key's counts.

Shared by the Beam stage (transforms/trends/score.py, AttachVolumeFn) and the Flink job, so
both give the scorer the same PeriodCounts.
"""

from __future__ import annotations

from collections.abc import Mapping

from tendencias.models.trends.baseline import BaselineParams, hourly_volume
from tendencias.models.trends.config import Horizon
from tendencias.models.trends.key_scorer import PeriodCounts
from tendencias.models.trends.stats import WindowStats

# (period volume, window periods, hourly volume, stream start): what PeriodCounts needs besides the key's stats
Volumes = tuple[float, tuple[tuple[int, float], ...], tuple[float, ...], int]


def stream_volumes(
    end: int,
    window: Mapping[int, tuple[int, int]],
    trailing: Mapping[int, tuple[int, int]],
    horizon: Horizon,
    baseline: BaselineParams,
) -> Volumes:
    """Volumes at period `end` from {period end: (posts, earliest ms)} of the window ending at
    `end` and {slot end: (posts, earliest ms)} of the complete slots in the trailing day."""
    trailing = trailing or {end: (0, end - 1)}
    first = min(t for _, t in trailing.values())
    span = min(horizon.volume_ms, end - first + horizon.period_ms - 1)
    per_slot = {e: float(n) for e, (n, _) in trailing.items()}
    periods = tuple(sorted((e, float(n)) for e, (n, _) in window.items()))
    hourly = hourly_volume(per_slot, horizon.slot_ms, end, span, baseline)
    return dict(periods).get(end, 0.0), periods, hourly, int(first)


def period_counts(end: int, stats: WindowStats, volumes: Volumes) -> PeriodCounts:
    """A key's period with the stream's volumes. The key's own posts are in the volumes; the
    guards only matter for a late pane seen before the volumes that include it."""
    period_volume, window, hourly, first = volumes
    return PeriodCounts(
        end,
        stats,
        max(period_volume, float(stats.posts)),
        window or ((end, float(stats.posts)),),
        hourly,
        first,
    )
