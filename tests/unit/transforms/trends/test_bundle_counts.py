"""The stream's counts made per bundle (transforms/trends/bundle_counts.py): however the posts fall
into bundles and the bundles' dicts are merged, each key of each period and horizon ends with the
WindowStats of its posts added one by one, in its shard, and the volumes count every post."""

from __future__ import annotations

import random

import pytest
from apache_beam.pvalue import TaggedOutput

from tendencias.models.trends.config import TrendScoringConfig
from tendencias.models.trends.keys import trend_keys
from tendencias.models.trends.stats import WindowStats, post_mark
from tendencias.transforms.trends.bundle_counts import (
    CountBundleFn,
    MergeShardCountsFn,
    counts_tag,
    volumes_tag,
)
from tendencias.transforms.trends.join import shard_of

from .test_trends_transform import HOUR, T0, WORDS, post

CONFIG = TrendScoringConfig(trend_slide="5m", long_window="1d", long_slide="1h")


def some_posts(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [
        post(
            i,
            T0 + int(rng.random() * 3 * HOUR),
            rng.sample(WORDS[:12], 3),
            author=f"u{rng.randrange(9)}",
            region=rng.choice(["lima", "cusco"]),
            clusters=[f"c{rng.randrange(3)}"],
        )
        for i in range(n)
    ]


def run_bundles(fn: CountBundleFn, bundles: list[list[dict]]) -> list[TaggedOutput]:
    out = []
    for bundle in bundles:
        fn.start_bundle()
        for p in bundle:
            assert fn.process(p) is None
        out += list(fn.finish_bundle())
    return out


def one_by_one(posts: list[dict], horizon, kinds) -> dict:
    """{(period end, (kind, key)): WindowStats}, each post added in turn."""
    out: dict = {}
    for p in posts:
        end = (p["event_time_ms"] // horizon.period_ms + 1) * horizon.period_ms
        for pair in trend_keys(p, CONFIG.kinds):
            if pair[0] in kinds:
                out.setdefault((end, pair), WindowStats(CONFIG.examples)).add(post_mark(p))
    return out


@pytest.mark.parametrize("bundle_size", [1, 7, 400])
def test_bundle_counts_merge_to_the_posts_counted_one_by_one(bundle_size):
    posts = some_posts(300, seed=bundle_size)
    wanted = [(h, CONFIG.horizon_kinds(h)) for h in CONFIG.horizons()]
    assert "cluster" in wanted[0][1] and "cluster" not in wanted[1][1]
    fn = CountBundleFn(wanted, CONFIG.kinds, CONFIG.examples)
    outputs = run_bundles(fn, [posts[i : i + bundle_size] for i in range(0, len(posts), bundle_size)])
    rng = random.Random(5)
    rng.shuffle(outputs)  # bundles reach the combine in any order, as inputs or as accumulators
    for h, kinds in wanted:
        merged: dict = {}
        for out in outputs:
            if out.tag != counts_tag(h):
                continue
            (shard, cell), ts = out.value.value, out.value.timestamp
            end = ts.micros // 1000 + 1
            assert end % h.period_ms == 0
            combine, key = MergeShardCountsFn(), (shard, end)
            acc = merged.get(key, combine.create_accumulator())
            if rng.random() < 0.5:
                merged[key] = combine.add_input(acc, cell)
            else:
                merged[key] = combine.merge_accumulators(
                    [acc, combine.add_input(combine.create_accumulator(), cell)]
                )
        got = {(end, pair): stats for (shard, end), cell in merged.items() for pair, stats in cell.items()}
        assert all(shard_of(pair) == shard for (shard, _), cell in merged.items() for pair in cell)
        expected = one_by_one(posts, h, kinds)
        assert any(pair[0] == "cluster" for _, pair in expected) == ("cluster" in kinds)
        assert got.keys() == expected.keys()
        for key, stats in expected.items():
            assert got[key].__getstate__() == stats.__getstate__(), key
        volumes: dict = {}
        for out in outputs:
            if out.tag == volumes_tag(h):
                (none, part) = out.value.value
                assert none is None and out.value.timestamp.micros // 1000 + 1 in part
                for end, (n, first) in part.items():
                    total, earliest = volumes.get(end, (0, first))
                    volumes[end] = (total + n, min(earliest, first))
        ends = [(p["event_time_ms"] // h.period_ms + 1) * h.period_ms for p in posts]
        assert {e: n for e, (n, _) in volumes.items()} == {e: ends.count(e) for e in set(ends)}
        assert all(
            first == min(p["event_time_ms"] for p, e in zip(posts, ends, strict=True) if e == end)
            for end, (_, first) in volumes.items()
        )
