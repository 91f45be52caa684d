"""Story clusters: similar posts join one cluster key, unrelated ones do not, and a cluster like
the stream's usual chatter gets no key (models/stories/clusters.py)."""

from __future__ import annotations

import numpy as np

from tendencias.models.stories.clusters import ClusterParams, StoryClusters, assign_posts
from tendencias.models.stories.embedding import pack
from tendencias.records import Post

T0 = 1_767_225_600_000  # 2026-01-01
MIN = 60_000
RNG = np.random.default_rng(5)
COMMON = RNG.standard_normal(512)  # what all posts share: they are all posts


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def chatter(n: int) -> list[np.ndarray]:
    """Posts about nothing in particular: a shared direction (they are all posts) plus noise."""
    return [unit(COMMON + RNG.standard_normal(512) * 1.5) for _ in range(n)]


def story(n: int, spread: float = 2.5) -> list[np.ndarray]:
    """Posts of one story told differently: a direction of their own, each far from the others."""
    theme = RNG.standard_normal(512)
    return [unit(theme + RNG.standard_normal(512) * spread) for _ in range(n)]


def warm(clusters: StoryClusters, hours: float = 12, per_hour: int = 8) -> int:
    """Ordinary chatter for `hours`; returns the time after it."""
    t = T0
    for vector in chatter(int(hours * per_hour)):
        t += int(3_600_000 / per_hour)
        clusters.assign(vector, t)
    return t


def test_a_story_told_in_different_words_joins_one_cluster():
    clusters = StoryClusters()
    t = warm(clusters)
    told = story(8)
    pairwise = np.array(told) @ np.array(told).T
    assert pairwise[np.triu_indices(8, 1)].mean() < 0.3  # no two posts much alike
    keys = [clusters.assign(v, t + i * MIN) for i, v in enumerate(told)]
    assert keys[0] is not None and keys.count(keys[0]) >= 6, keys


def test_unrelated_posts_stay_apart_and_nothing_before_the_warm_up():
    clusters = StoryClusters(ClusterParams(warmup_posts=20))
    early = [clusters.assign(v, T0 + i * MIN) for i, v in enumerate(chatter(20))]
    assert early == [None] * 20
    later = [clusters.assign(v, T0 + (30 + i) * MIN) for i, v in enumerate(chatter(30))]
    counts = {k: later.count(k) for k in set(later) - {None}}
    assert max(counts.values()) <= 2, counts


def test_a_cluster_like_the_streams_usual_talk_gets_no_key():
    clusters = StoryClusters()
    topic = RNG.standard_normal(512)
    t = T0
    for i in range(600):  # a day of a brand's ordinary posts, one in three about one thing
        t += 144_000
        vector = unit(topic + RNG.standard_normal(512) * 2.5) if i % 3 == 0 else chatter(1)[0]
        clusters.assign(vector, t)
    keys = [clusters.assign(unit(topic + RNG.standard_normal(512) * 2.5), t + i * MIN) for i in range(8)]
    assert clusters.last_share > 0.05
    assert keys[-4:] == [None] * 4, keys


def test_lone_posts_are_forgotten_and_state_stays_bounded():
    clusters = StoryClusters(ClusterParams(max_clusters=50))
    t = T0
    for vector in chatter(400):
        t += 5 * MIN
        clusters.assign(vector, t)
    assert clusters.n <= 50
    assert clusters.n <= 13  # an hour of lone posts at one per 5 minutes, give or take a sweep


def test_assign_posts_sets_clusters_and_drops_the_embedding():
    vectors = chatter(25) + story(3, spread=0.5)
    posts = [
        Post(f"p{i}", "texto", T0 + i * MIN, embedding=pack(v))
        if i % 2
        else {"id": f"p{i}", "event_time_ms": T0 + i * MIN, "embedding": pack(v)}
        for i, v in enumerate(vectors)
    ]
    out = assign_posts(posts, StoryClusters())
    assert all(p.get("embedding") is None for p in out)
    assert all(isinstance(p["clusters"], list) for p in out)
    assert isinstance(out[1], Post) and isinstance(out[0], dict)
    assert out[-1]["clusters"] and out[-1]["clusters"] == out[-2]["clusters"] == out[-3]["clusters"]
