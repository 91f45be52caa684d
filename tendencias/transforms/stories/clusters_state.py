"""The story clusters in the stream: durable in Beam state, cached in the worker.

Beam state holds the truth: a runner may move the key to another worker, retry a bundle or
restore a job from a checkpoint, so a DoFn instance's memory can only be a cache of it. The
clusters pickle to several MB (centroids, the history ring), and a firing while the watermark
moves in small steps takes a few posts, so loading and storing them at every firing was most of
the live job's time through a backlog. So the clusters live in this process (`CachedClusters`,
shared by the DoFn's instances) and Beam state keeps:

- a log (a bag): a snapshot of the clusters (pickled, the history ring as float16), then one
  entry per firing since, of the posts it assigned (time and float32 vector, what `assign`
  reads). Only appended to while the cache is good; once `SNAPSHOT_POSTS` posts or
  `SNAPSHOT_MS` of event time have gone by since the snapshot, rewritten as a new snapshot.
- a generation token, written at each firing (one small read per firing). The cache carries the
  token of the firing that made it; a firing that reads another one (another worker moved the
  key on, or the bundle that made the cache failed and was retried) rebuilds the cache first:
  the snapshot, then the logged posts assigned again in the order they were. Assignment is
  deterministic, and at each snapshot the cache becomes the unpickled snapshot (float16 history
  included), so a rebuilt cache is the cached one.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterable

import numpy as np

from tendencias.models.stories.clusters import ClusterParams, StoryClusters
from tendencias.models.stories.embedding import pack, unpack

SNAPSHOT_POSTS = 2_000  # posts logged after a snapshot before the next one
SNAPSHOT_MS = 3_600_000  # event time after a snapshot before the next one
CHANGING = b"changing"  # the generation of a cache while a firing changes it
_SNAPSHOT, _POSTS = b"S", b"P"

Logged = tuple[int, bytes]  # (post time ms, float32 vector bytes)


def _dumps(value) -> bytes:
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


class CachedClusters:
    """The story clusters in this process, with the posts they took since their snapshot."""

    def __init__(self, clusters: StoryClusters, sequence: int = 0):
        self.generation: bytes | None = None
        self.clusters = clusters
        self.sequence = sequence  # of the latest log entry (bags need not keep their order)
        self.logged = 0  # posts in the log after the snapshot
        self.snapshot_at = clusters.clock  # event time of the snapshot, ms
        self._taken: list[Logged] = []  # this firing's posts, not yet written

    @classmethod
    def load(cls, log: Iterable[bytes], params: ClusterParams) -> CachedClusters:
        """The clusters as the durable log has them: its snapshot, then its posts again."""
        snapshot, entries = None, []
        for data in log:
            if data[:1] == _SNAPSHOT:
                snapshot = pickle.loads(data[1:])
            else:
                entries.append(pickle.loads(data[1:]))
        sequence, clusters = snapshot or (0, StoryClusters(copy.deepcopy(params)))
        out = cls(clusters, sequence)
        for number, posts in sorted(entries, key=lambda entry: entry[0]):
            if number > sequence:  # not in the snapshot already
                for t_ms, vector in posts:
                    clusters.assign(unpack(vector), t_ms)
                out.sequence, out.logged = number, out.logged + len(posts)
        return out

    def assign(self, vector: np.ndarray | None, t_ms: int) -> str | None:
        """`StoryClusters.assign` (for `assign_posts`), remembered for the log when the post
        changes the clusters (a post without a vector does not)."""
        if vector is not None:
            self._taken.append((int(t_ms), pack(vector)))
        return self.clusters.assign(vector, t_ms)

    def flush(self, log) -> None:
        """Writes this firing's posts to the durable log (a BagState), or a new snapshot in its
        place when the last one is old enough; the cache is then what a reload would give."""
        if not self._taken:
            return
        self.sequence += 1
        self.logged += len(self._taken)
        if self.logged >= SNAPSHOT_POSTS or self.clusters.clock - self.snapshot_at >= SNAPSHOT_MS:
            data = _SNAPSHOT + _dumps((self.sequence, self.clusters))
            log.clear()
            log.add(data)
            self.clusters = pickle.loads(data[1:])[1]  # the history ring as float16, as reloaded
            self.logged, self.snapshot_at = 0, self.clusters.clock
        else:
            log.add(_POSTS + _dumps((self.sequence, self._taken)))
        self._taken = []
