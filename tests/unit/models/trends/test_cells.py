"""Counting a bundle into cells (models/trends/cells.py) and a shard's volumes (volumes.py):
every shard learns every post's volume, a longer horizon's period travels in the window its
last instant falls in, and parts merge into what one part of all the posts would be.

    short horizon (3 min):  ... |10:54-10:57|10:57-11:00|11:00-11:03| ...   windows of the stream
    long horizon (1 h):     |----------- 10:00-11:00 -----------|             its cell: window 11:00
"""

from __future__ import annotations

from tendencias.models.trends.cells import SHARDS, BundleCounter, merge_parts, shard_of, window_end
from tendencias.models.trends.config import TrendScoringConfig
from tendencias.models.trends.keys import KINDS
from tendencias.models.trends.volumes import ShardVolumes

MIN = 60_000
HOUR = 60 * MIN
T0 = 1_704_085_200_000  # Monday 2024-01-01 00:00 in Lima (05:00 UTC), on the hour
CONFIG = TrendScoringConfig(trend_window="15m", trend_slide="3m", long_window="1d", long_slide="1h")
HORIZONS = [(h, KINDS) for h in CONFIG.horizons()]


def post(n: int, t: int, words: list[str]) -> dict:
    return {
        "id": f"p{n}",
        "event_time_ms": t,
        "text_clean": " ".join(words),
        "tokens": words,
        "author": f"a{n}",
    }


def counted(posts: list[dict], window_ms: int | None) -> BundleCounter:
    counter = BundleCounter(HORIZONS, window_ms)
    for p in posts:
        counter.add(p)
    return counter


def test_a_bounded_bundle_gives_one_part_a_shard_each_with_every_volume():
    posts = [post(1, T0 + MIN, ["agua"]), post(2, T0 + 4 * MIN, ["agua", "limon"]), post(3, T0 + 5 * MIN, [])]
    parts = list(counted(posts, None).parts())
    assert [shard for shard, _, _ in parts] == list(range(SHARDS))
    assert all(window is None for _, window, _ in parts)
    for _, _, part in parts:  # the keyless post counts in the volumes too
        assert part.volumes[0] == {T0 + 3 * MIN: (1, T0 + MIN), T0 + 6 * MIN: (2, T0 + 4 * MIN)}
        assert part.volumes[1] == {T0 + HOUR: (3, T0 + MIN)}
    agua = parts[shard_of(("term", "agua"))][2]
    cells = agua.cells[("term", "agua")]
    assert sorted(cells) == [(T0 + 3 * MIN, 0), (T0 + 6 * MIN, 0), (T0 + HOUR, 1)]
    assert [agua.marks[i].post_id for i in cells[(T0 + HOUR, 1)]] == ["p1", "p2"]


def test_in_the_stream_a_long_period_travels_in_the_window_of_its_last_instant():
    window = CONFIG.horizons()[0].period_ms
    parts = list(counted([post(1, T0 + MIN, ["agua"])], window).parts())
    windows = {w for _, w, _ in parts}
    assert windows == {T0 + 3 * MIN, T0 + HOUR}  # the short period's, and the hour's last window
    assert window_end(T0 + HOUR, window) == T0 + HOUR
    assert len(parts) == 2 * SHARDS  # every shard gets every window's volumes
    agua = shard_of(("term", "agua"))
    by_window = {w: part for shard, w, part in parts if shard == agua}
    assert list(by_window[T0 + 3 * MIN].cells[("term", "agua")]) == [(T0 + 3 * MIN, 0)]
    assert list(by_window[T0 + HOUR].cells[("term", "agua")]) == [(T0 + HOUR, 1)]
    assert by_window[T0 + HOUR].volumes == {1: {T0 + HOUR: (1, T0 + MIN)}}
    other = next(part for shard, w, part in parts if shard != agua and w == T0 + HOUR)
    assert other.cells == {} and other.marks == [] and other.volumes == by_window[T0 + HOUR].volumes


def test_parts_merge_into_the_part_of_all_their_posts():
    posts = [post(i, T0 + i * 20_000, ["agua", f"w{i % 3}"]) for i in range(30)]
    whole = dict((shard, part) for shard, _, part in counted(posts, None).parts())
    halves = [dict((s, p) for s, _, p in counted(half, None).parts()) for half in (posts[:13], posts[13:])]
    for shard in range(SHARDS):
        merged = merge_parts([halves[0][shard], halves[1][shard]])
        assert merged.volumes == whole[shard].volumes
        assert merged.cells.keys() == whole[shard].cells.keys()
        for pair, cells in merged.cells.items():
            for cell, indices in cells.items():
                expected = [whole[shard].marks[i] for i in whole[shard].cells[pair][cell]]
                assert [merged.marks[i] for i in indices] == expected


def test_shard_volumes_add_up_parts_in_any_order_and_give_the_window_and_the_day():
    baselines = [CONFIG.baseline(h) for h in CONFIG.horizons()]
    posts = [post(i, T0 + i * 7 * MIN, ["agua"]) for i in range(40)]  # 4h40m of posts
    parts = [part for shard, _, part in counted(posts, 3 * MIN).parts() if shard == 0]
    forwards, backwards = (
        ShardVolumes(CONFIG.horizons(), baselines),
        ShardVolumes(CONFIG.horizons(), baselines),
    )
    for part in parts:
        forwards.add(part.volumes)
    for part in reversed(parts):
        backwards.add(part.volumes)
    end = T0 + 4 * HOUR + 3 * MIN
    for volumes in (forwards, backwards):
        at = volumes.at(0, end)
        assert at.window == ((T0 + 3 * HOUR + 54 * MIN, 1.0), (T0 + 4 * HOUR, 1.0))  # posts at 3:51, 3:58
        assert volumes.slots[0][T0 + HOUR] == (9, T0)  # posts 0..8 in the first hour
        assert at.first == T0
    forwards.prune(0, end)
    assert min(forwards.periods[0]) > end - 15 * MIN
