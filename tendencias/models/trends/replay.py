"""In-memory replay of the trend stage, for tuning sweeps and throughput: the same KeyScorer
and the same period volumes (models/trends/volumes.py) as ScoreTrends, without a runner (no
late data).

tests/unit/test_trends_transform.py checks that it and the Beam composite emit the same
records, so numbers tuned here hold for `tendencias backfill`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from tendencias.models.trends.baseline import BaselineParams
from tendencias.models.trends.config import Horizon, TrendScoringConfig
from tendencias.models.trends.groups import Scored, is_episode
from tendencias.models.trends.key_scorer import HorizonScorers, KeyState
from tendencias.models.trends.keys import trend_keys
from tendencias.models.trends.stats import WindowStats, post_mark
from tendencias.models.trends.volumes import PeriodVolumes


def _volumes(posts: list[dict], h: Horizon, baseline: BaselineParams) -> dict[int, PeriodVolumes]:
    """Per period end: the stream's volumes there, as the streaming join gives them."""
    per: dict[int, tuple[int, int]] = {}
    slots: dict[int, tuple[int, int]] = {}
    for post in posts:
        t = int(post["event_time_ms"])
        for table, size in ((per, h.period_ms), (slots, h.slot_ms)):
            end = (t // size + 1) * size
            n, first = table.get(end, (0, t))
            table[end] = (n + 1, min(first, t))
    return {
        end: PeriodVolumes(
            h,
            baseline,
            end,
            {e: v for e, v in per.items() if end - h.size_ms < e <= end},
            {e: v for e, v in slots.items() if end - h.volume_ms < e <= end},
        )
        for end in per
    }


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
    periods: dict[tuple[str, str], list] = defaultdict(list)
    for rank, h in enumerate(sorted(horizons, key=lambda h: h.size_ms)):
        volumes = _volumes(posts, h, config.baseline(h))
        cells: dict[tuple[str, str], dict[int, WindowStats]] = defaultdict(dict)
        kinds = config.horizon_kinds(h)
        for post in posts:
            keys = trend_keys(post, kinds)
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
                (end, rank, h.name, volumes[end].counts(stats)) for end, stats in by_end.items()
            ]
    scorers = HorizonScorers([config.key_scorer(h) for h in horizons])
    out: list[dict] = []
    episodes: dict[int, list[Scored]] = defaultdict(list)
    for (kind, key), items in periods.items():
        state = KeyState()
        for end, _, horizon, counts in sorted(items, key=lambda item: item[:2]):
            scored = scorers.score(kind, key, state, horizon, counts)
            if scored is not None:
                out.append(scored.record)
                if is_episode(scored):
                    episodes[end].append(scored)
        if states is not None:
            for horizon, (history, kept) in state.horizons.items():
                states[(horizon, kind, key)] = (history, kept)
    grouper = config.grouper()
    for end in sorted(episodes):  # the records are changed in place
        grouper.window(end, episodes[end])
    return out
