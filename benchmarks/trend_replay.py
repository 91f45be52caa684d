"""In-memory replay of the trend stage, for tuning sweeps and throughput: the same KeyScorer
and the same period/volume semantics as ScoreTrends, without a runner (no late data).

tests/unit/test_trends_transform.py checks that it and the Beam composite emit the same
records, so numbers tuned here hold for `tendencias backfill`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from tendencias.models.trends.baseline import BaselineParams, hourly_volume
from tendencias.models.trends.config import Horizon, TrendScoringConfig
from tendencias.models.trends.key_scorer import HorizonScorers, KeyState, PeriodCounts
from tendencias.models.trends.keys import trend_keys
from tendencias.models.trends.stats import WindowStats, post_mark


def _volumes(posts: list[dict], h: Horizon, baseline: BaselineParams) -> dict[int, tuple]:
    """Per period end: (period volume, window periods, hourly volume, stream start)."""
    per: dict[int, list[int]] = defaultdict(lambda: [0, 2**62])
    slots: dict[int, list[int]] = defaultdict(lambda: [0, 2**62])
    for post in posts:
        t = int(post["event_time_ms"])
        for table, size in ((per, h.period_ms), (slots, h.slot_ms)):
            cell = table[(t // size + 1) * size]
            cell[0] += 1
            cell[1] = min(cell[1], t)
    out = {}
    for end, (n, _) in per.items():
        window = tuple(
            (e, float(per[e][0]))
            for e in range(end - h.size_ms + h.period_ms, end + 1, h.period_ms)
            if e in per
        )
        last_slot = end // h.slot_ms * h.slot_ms
        trailing = {
            e: float(slots[e][0])
            for e in range(last_slot - h.volume_ms + h.slot_ms, last_slot + 1, h.slot_ms)
            if e in slots and e > end - h.volume_ms
        }
        first = min((slots[e][1] for e in trailing), default=end - 1)
        span = min(h.volume_ms, end - first + h.period_ms - 1)
        out[end] = (float(n), window, hourly_volume(trailing, h.slot_ms, end, span, baseline), first)
    return out


def replay(
    posts: Iterable[dict],
    config: TrendScoringConfig,
    horizons: list[Horizon] | None = None,
    states: dict | None = None,
) -> list[dict]:
    """Trend records of `posts` (enriched post dicts with event_time_ms), time-ordered per key.
    With `states`, each key's final state is left there: {(horizon, kind, key): (KeyHistory,
    recent periods)}."""
    posts = list(posts)
    horizons = horizons or config.horizons()
    periods: dict[tuple[str, str], list[tuple[int, int, str, PeriodCounts]]] = defaultdict(list)
    for rank, h in enumerate(sorted(horizons, key=lambda h: h.size_ms)):
        volumes = _volumes(posts, h, config.baseline(h))
        cells: dict[tuple[str, str], dict[int, WindowStats]] = defaultdict(dict)
        for post in posts:
            keys = trend_keys(post, config.kinds)
            if not keys:
                continue
            mark, end = post_mark(post), (int(post["event_time_ms"]) // h.period_ms + 1) * h.period_ms
            for pair in keys:
                cell = cells[pair].get(end)
                if cell is None:
                    cell = cells[pair][end] = WindowStats(config.examples)
                cell.add(mark)
        for pair, by_end in cells.items():
            periods[pair] += [
                (end, rank, h.name, PeriodCounts(end, stats, *volumes[end])) for end, stats in by_end.items()
            ]
    scorers = HorizonScorers([config.key_scorer(h) for h in horizons])
    out: list[dict] = []
    episodes: dict[int, list[dict]] = defaultdict(list)
    for (kind, key), items in periods.items():
        state = KeyState()
        for end, _, horizon, counts in sorted(items, key=lambda item: item[:2]):
            record = scorers.score(kind, key, state, horizon, counts)
            if record is not None:
                out.append(record)
                if record["status"] in ("new", "ongoing"):
                    episodes[end].append(record)
        if states is not None:
            for horizon, (history, kept) in state.horizons.items():
                states[(horizon, kind, key)] = (history, kept)
    grouper = config.grouper()
    for end in sorted(episodes):  # the records are changed in place
        grouper.window(end, episodes[end])
    return out
