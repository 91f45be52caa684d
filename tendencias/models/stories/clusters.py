"""Clusters of posts that say the same thing, online: the keys of story trends (kind "cluster").

A story told in different words shares no token, so no term key counts it; but its posts are
near each other in a sentence embedding's space (models/stories/embedding.py). Taken one by one
in event-time order, each post joins the active cluster whose centroid is most similar to it,
when that similarity is at least `similarity`, or starts a cluster of its own. The cluster's id
is a trend key like any other: the trend stage counts its posts per period and scores them
against the cluster's own history (baseline, warm-up, episodes), so a cluster that is a steady
conversation learns its usual volume, and a new one that suddenly holds several posts from
different people is a story, even when no word repeats among them.

Why centroids and not pairs (nor locality-sensitive hashing): two posts of one story told in
different words are only a little more similar than two unrelated posts (cosine about 0.25
against 0.1 for USE vectors of tweets, measured by benchmarks/bench_stories.py), too little
for any pairwise test or hash band; but the centroid of a few of them is much closer to each
than to any unrelated post, so a cluster grows firmer with every post it gets.

- Vectors are centred on the stream's running mean (decayed, `mean_half_life`) before the
  cosine: all posts share a common direction (they are all tweets, in this market), which
  would make everything look alike.
- A centroid is a decayed sum (`cluster_half_life`), so a long conversation follows its
  recent posts, and a cluster that stops growing is forgotten: a lone post after
  `singleton_ttl`, any cluster after `idle_ttl` without posts.
- No post is assigned before `warmup_posts` have set the mean.

Plain numpy; the state pickles to a few MB at most (`max_clusters`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tendencias.models.stories.embedding import DIMENSIONS

CLUSTER_PREFIX = "c"
HOUR_MS, DAY_MS = 3_600_000, 86_400_000
RECHECK_MS = 30 * 60_000  # a cluster's historical share is checked again after this, or at 1.5x its size
SWEEP_MS = 60_000
_ROWS = ("sums", "last", "sizes", "ids", "shares", "checked_size", "checked_at")


@dataclass(frozen=True)
class ClusterParams:
    similarity: float = 0.22  # cosine to a centroid (centred vectors) needed to join it
    cluster_half_life_ms: int = 2 * 3_600_000
    mean_half_life_ms: int = 24 * 3_600_000
    singleton_ttl_ms: int = 3_600_000  # a cluster of one post is dropped after this
    idle_ttl_ms: int = 6 * 3_600_000  # any cluster without a new post this long is dropped
    warmup_posts: int = 20
    max_clusters: int = 4000
    # Novelty: a cluster is counted (its posts get its key) only while the posts of a usual
    # `window_ms` would be expected to hold at most `novel_expected` of its kind: the share of
    # the stream's past posts (older than `recent_ms`, at most `history_ms` old, the newest
    # `history_posts` of them) that would have joined it, times the stream's mean volume per
    # window over the last day. A new story, not a slice of a conversation the stream has been
    # having all along, and the busier the stream, the more alike a story's posts must be.
    novel_expected: float = 1.0
    window_ms: int = 15 * 60_000
    recent_ms: int = 2 * 3_600_000
    history_ms: int = 3 * 24 * 3_600_000
    history_posts: int = 3000

    def __post_init__(self):
        if not 0 < self.similarity < 1:
            raise ValueError(f"story similarity must be between 0 and 1, got {self.similarity}")
        for name in ("cluster_half_life_ms", "mean_half_life_ms", "singleton_ttl_ms", "idle_ttl_ms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.warmup_posts < 1 or self.max_clusters < 1:
            raise ValueError("warmup_posts and max_clusters must be at least 1")


class StoryClusters:
    """The active clusters and the stream's mean vector; `assign` one post at a time, in time order.

    Clusters live in the first `n` rows of arrays that grow by doubling, so opening one does not
    copy them all; expired ones are swept out at most once a minute of stream time."""

    def __init__(self, params: ClusterParams | None = None):
        self.params = params or ClusterParams()
        self.mean_sum = np.zeros(DIMENSIONS, dtype=np.float64)
        self.mean_weight = 0.0
        self.seen = 0  # posts with a vector so far
        self.clock = 0  # latest post time, ms
        self.started = 0  # first post time, ms
        self.swept = 0  # stream time of the latest sweep of expired clusters
        self.n = 0  # active clusters: rows [0, n) of the arrays below
        self.sums = np.zeros((16, DIMENSIONS), dtype=np.float32)  # decayed sums of centred unit vectors
        self.last = np.zeros(16, dtype=np.int64)  # time of each cluster's latest post
        self.sizes = np.zeros(16, dtype=np.int32)  # posts each cluster has had
        self.ids = np.zeros(16, dtype=np.int64)
        self.shares = np.zeros(16, dtype=np.float32)  # historical share when last checked
        self.checked_size = np.zeros(16, dtype=np.int32)  # size and time of that check
        self.checked_at = np.zeros(16, dtype=np.int64)
        self.next_id = 1
        self.recent: list[tuple[int, np.ndarray]] = []  # posts not yet history, oldest first
        self.history = np.zeros((0, DIMENSIONS), dtype=np.float32)  # raw unit vectors, a ring
        self.history_t = np.zeros(0, dtype=np.int64)  # 0: an empty slot
        self.ring = 0  # where the next history post goes
        self.hourly: dict[int, int] = {}  # posts per hour (by hour since the epoch), the last day
        self.last_share = 0.0  # the latest assignment's historical share (diagnostics)

    def assign(self, vector: np.ndarray | None, t_ms: int) -> str | None:
        """The cluster key the post at `t_ms` with `vector` counts towards (None: no vector,
        warming up, or its cluster is no new story)."""
        if vector is None:
            return None
        t_ms = max(int(t_ms), self.clock)  # a late post is taken as if it came now
        x = np.asarray(vector, dtype=np.float64)
        centred = self._centred(x) if self.seen >= self.params.warmup_posts else None
        self._learn_mean(x, t_ms)
        self._remember(x, t_ms)
        if centred is None:
            return None
        if t_ms - self.swept >= SWEEP_MS:
            self._expire(t_ms)
        row = self._join(centred.astype(np.float32), t_ms)
        # A cluster of one or two posts is new by definition (and cannot alert: no trend does with
        # fewer than 4 posts, so a third that closes the gate keeps it below that); a growing one
        # is checked at 3, 5, 8 ... posts and every RECHECK_MS (its share moves slowly).
        size = self.sizes[row]
        if size >= 3 and (size >= 1.5 * self.checked_size[row] or t_ms - self.checked_at[row] >= RECHECK_MS):
            self.shares[row] = self._historical_share(self.sums[row])
            self.checked_size[row], self.checked_at[row] = size, t_ms
        self.last_share = float(self.shares[row])
        expected = self.last_share * self._volume_per_window()
        return key_of(int(self.ids[row])) if expected <= self.params.novel_expected else None

    def _join(self, centred: np.ndarray, t_ms: int) -> int:
        """The row of the cluster the post joins (a new one when none is similar enough)."""
        n = self.n
        if n:
            sums = self.sums[:n]
            cosines = (sums @ centred) / np.maximum(np.linalg.norm(sums, axis=1), 1e-9)
            best = int(np.argmax(cosines))
            if cosines[best] >= self.params.similarity:
                decay = 0.5 ** ((t_ms - self.last[best]) / self.params.cluster_half_life_ms)
                self.sums[best] = self.sums[best] * decay + centred
                self.last[best], self.sizes[best] = t_ms, self.sizes[best] + 1
                return best
        return self._open(centred, t_ms)

    def _open(self, centred: np.ndarray, t_ms: int) -> int:
        if self.n == len(self.ids):
            self._resize(2 * len(self.ids))
        row, self.n = self.n, self.n + 1
        self.sums[row], self.last[row], self.sizes[row] = centred, t_ms, 1
        self.ids[row], self.next_id = self.next_id, self.next_id + 1
        self.shares[row], self.checked_size[row], self.checked_at[row] = 0.0, 1, t_ms
        return row

    def _resize(self, capacity: int) -> None:
        for name in _ROWS:
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)

    def _expire(self, t_ms: int) -> None:
        n, p = self.n, self.params
        idle = t_ms - self.last[:n]
        keep = (idle < p.idle_ttl_ms) & ((self.sizes[:n] > 1) | (idle < p.singleton_ttl_ms))
        if keep.sum() >= p.max_clusters:  # the longest idle go first
            keep &= idle < np.sort(idle[keep])[p.max_clusters - 1]
        rows = np.flatnonzero(keep)
        for name in _ROWS:
            array = getattr(self, name)
            array[: len(rows)] = array[rows]
        self.n, self.swept = len(rows), t_ms

    def _remember(self, x: np.ndarray, t_ms: int) -> None:
        """The post waits `recent_ms` in `recent`, then joins the history ring."""
        self.recent.append((t_ms, x.astype(np.float32)))
        cut, aged = t_ms - self.params.recent_ms, 0
        while aged < len(self.recent) and self.recent[aged][0] <= cut:
            aged += 1
        if aged and not len(self.history_t):
            self.history = np.zeros((self.params.history_posts, DIMENSIONS), dtype=np.float32)
            self.history_t = np.zeros(self.params.history_posts, dtype=np.int64)
        for at, vector in self.recent[:aged]:
            self.history[self.ring], self.history_t[self.ring] = vector, at
            self.ring = (self.ring + 1) % self.params.history_posts
        del self.recent[:aged]

    def _historical_share(self, centroid: np.ndarray) -> float:
        """Share of the history's posts (centred like the clusters) that would join `centroid`."""
        fresh = self.history_t > max(0, self.clock - self.params.history_ms)
        count = int(fresh.sum())
        if count == 0:
            return 0.0
        mean = (self.mean_sum / self.mean_weight).astype(np.float32)
        c = centroid / max(float(np.linalg.norm(centroid)), 1e-9)
        # cos(c, h - m) for unit h without building the centred matrix: (c.h - c.m) / |h - m|
        both = self.history @ np.stack([c, mean], axis=1)  # all rows (masking first would copy them)
        norms = np.sqrt(np.maximum(1.0 - 2.0 * both[:, 1] + float(mean @ mean), 1e-12))
        cosines = (both[:, 0] - float(c @ mean)) / norms
        return float(((cosines >= self.params.similarity) & fresh).sum() / count)

    def __getstate__(self):  # the history ring as float16: half the state, cosines to 1e-3
        state = self.__dict__.copy()
        state["history"] = self.history.astype(np.float16)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.history = self.history.astype(np.float32)

    def _volume_per_window(self) -> float:
        """The stream's mean posts per `window_ms` over the last day (or since it started)."""
        span = min(DAY_MS, max(HOUR_MS, self.clock - self.started))
        return sum(self.hourly.values()) * self.params.window_ms / span

    def _centred(self, x: np.ndarray) -> np.ndarray | None:
        centred = x - self.mean_sum / self.mean_weight
        norm = np.linalg.norm(centred)
        return centred / norm if norm > 1e-6 else None

    def _learn_mean(self, x: np.ndarray, t_ms: int) -> None:
        if self.seen:
            factor = 0.5 ** ((t_ms - self.clock) / self.params.mean_half_life_ms)
            self.mean_sum *= factor
            self.mean_weight *= factor
        else:
            self.started = self.swept = t_ms
        self.mean_sum += x
        self.mean_weight += 1.0
        self.seen += 1
        self.clock = t_ms
        hour = t_ms // HOUR_MS
        self.hourly[hour] = self.hourly.get(hour, 0) + 1
        if len(self.hourly) > 25:
            self.hourly = {h: n for h, n in self.hourly.items() if h > hour - 24}


def key_of(cluster_id: int) -> str:
    return f"{CLUSTER_PREFIX}{cluster_id}"


def in_time_order(posts: list) -> list:
    """Posts in the order clusters take them: by event time, then id (a bounded run and the
    Flink job sort alike, so they assign alike)."""
    return sorted(posts, key=lambda post: (int(post["event_time_ms"]), str(post.get("id"))))


def assign_posts(posts: list, clusters: StoryClusters) -> list:
    """Each post (a Post, or a dict in the benchmarks; in event-time order) with `clusters` (its
    cluster key, or none) and without its embedding: the post as the trend stage reads it."""
    from tendencias.models.stories.embedding import EMBEDDING, unpack

    out = []
    for post in posts:
        key = clusters.assign(unpack(post.get(EMBEDDING)), int(post["event_time_ms"]))
        found = [key] if key else []
        if isinstance(post, dict):
            out.append({**{k: v for k, v in post.items() if k != EMBEDDING}, "clusters": found})
        else:
            out.append(post.replace(embedding=None, clusters=found))
    return out
