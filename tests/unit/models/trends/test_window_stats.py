"""WindowStats gives the same counts whatever the order of its posts and merges: a key counted
from a file (one reader) or from Kafka partitions (several, merged in whatever order a runner
picks) must score alike, far beyond the caps of authors, texts and regions tracked exactly."""

from __future__ import annotations

import random

import pytest

from tendencias.models.trends.stats import MAX_AUTHORS, MAX_REGIONS, MAX_TEXTS, PostMark, WindowStats


def marks(n: int, authors: int, texts: int, regions: int, seed: int = 7) -> list[PostMark]:
    rng = random.Random(seed)
    return [
        PostMark(
            f"p{i}",
            f"author{rng.randrange(authors)}",
            rng.getrandbits(32),
            rng.randrange(texts),
            rng.choice((None, -0.5, 0.25, 0.9)),
            f"text {i}",
            f"region{rng.randrange(regions)}",
            "m1",
            "v1",
        )
        for i in range(n)
    ]


def summary(stats: WindowStats) -> tuple:
    return (
        stats.posts,
        stats.counted(2, 2),
        stats.distinct_authors(),
        stats.distinct_texts(),
        sorted(stats.regions.items()),
        stats.main_region(0.05),
        stats.examples,
        stats.sketch,
        stats.sentiment_milli,
    )


def in_parts(posts: list[PostMark], parts: int, rng: random.Random) -> WindowStats:
    """Posts shuffled into `parts` accumulators, merged in a random tree."""
    shuffled = posts[:]
    rng.shuffle(shuffled)
    accumulators = [WindowStats(3) for _ in range(parts)]
    for mark in shuffled:
        rng.choice(accumulators).add(mark)
    while len(accumulators) > 1:
        a = accumulators.pop(rng.randrange(len(accumulators)))
        b = accumulators.pop(rng.randrange(len(accumulators)))
        accumulators.append(a.merge(b))
    return accumulators[0]


@pytest.mark.parametrize(
    "authors, texts, regions",
    [(40, 20, 5), (3 * MAX_AUTHORS, 4 * MAX_TEXTS, 2 * MAX_REGIONS), (10 * MAX_AUTHORS, 50 * MAX_TEXTS, 80)],
)
def test_the_same_counts_whatever_the_order_and_the_merges(authors, texts, regions):
    posts = marks(4000, authors, texts, regions)
    in_order = WindowStats(3)
    for mark in posts:
        in_order.add(mark)
    rng = random.Random(1)
    for parts in (1, 2, 3, 7, 40):
        assert summary(in_parts(posts, parts, rng)) == summary(in_order), f"{parts} parts"


def test_tracked_keys_are_counted_exactly():
    posts = marks(3000, 2 * MAX_AUTHORS, 10, 3)
    stats = WindowStats(3)
    for mark in posts:
        stats.add(mark)
    exact: dict[str, int] = {}
    for mark in posts:
        exact[mark.author] = exact.get(mark.author, 0) + 1
    assert len(stats.authors) == MAX_AUTHORS
    assert sum(stats.authors.values()) + stats.overflow == len(posts)
    tracked_counts = sorted(stats.authors.values())
    # every tracked author holds all of its posts: its count is one of the exact counts
    assert all(n in exact.values() for n in tracked_counts)
