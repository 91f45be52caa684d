"""AssignClusters: each post joins its story cluster (models/stories/clusters.py), in event-time
order, and leaves with `clusters` (and without its embedding) for the trend stage to count.

The clusters are one sequence over the whole stream, so this is one key. Unbounded: a stateful
DoFn holds posts until the watermark passes them (transforms/trends/ordering.py) and takes them
in time order, the clusters kept in worker memory and durable in Beam state as a snapshot and a
log of the posts since (clusters_state.py), checked by a generation token read once per firing.
Bounded: one GroupByKey, then the posts sorted by time; no state or timers for a batch runner
to pay for. Both assign exactly alike.
"""

from __future__ import annotations

import os
import uuid

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms import window
from apache_beam.transforms.window import TimestampedValue

from tendencias.models.stories.clusters import ClusterParams, StoryClusters, assign_posts, in_time_order
from tendencias.transforms.stories.clusters_state import CHANGING, CachedClusters
from tendencias.transforms.trends.ordering import Ordering, to_timestamp

STAGE = "stories"
_ORDER = Ordering("clusters", log=True)  # its state: the generation token; its log: clusters_state.py

# This process's copies of the clusters: {(AssignClustersFn id, key): CachedClusters}. Beam runs
# one bundle of a key at a time, so a copy is never used by two threads at once.
_CACHE: dict[tuple[str, str], CachedClusters] = {}


def _emit(posts: list[dict], clusters: StoryClusters | CachedClusters, counted):
    for post in assign_posts(posts, clusters):
        counted.inc(bool(post["clusters"]))
        yield TimestampedValue(post, to_timestamp(int(post["event_time_ms"])))


class AssignClustersFn(beam.DoFn):
    """Unbounded: (one key, post) -> posts with `clusters`, in event-time order."""

    on_first, on_last = _ORDER.timers()

    def __init__(self, params: ClusterParams):
        self._params = params
        self._id = uuid.uuid4().hex  # names this step's copies in a worker process
        self._clustered = Metrics.counter(STAGE, "posts_clustered")
        self._reloads = Metrics.counter(STAGE, "clusters_reloaded")

    process = _ORDER.holding(lambda post: int(post["event_time_ms"]))

    def drain(self, key, due, state, log):
        clusters = self._clusters(key, state.read(), log)
        clusters.generation = CHANGING  # until this firing is written, the copy is ahead of Beam state
        yield from _emit([post for _, post in due], clusters, self._clustered)
        clusters.flush(log)
        generation = os.urandom(8)
        state.write(generation)
        clusters.generation = generation

    def _clusters(self, key: str, generation: bytes | None, log) -> CachedClusters:
        """This process's copy of the clusters, rebuilt from the durable log unless it is the
        one the key's last firing left."""
        cached = _CACHE.get((self._id, key))
        if cached is None or generation is None or cached.generation != generation:
            cached = _CACHE[(self._id, key)] = CachedClusters.load(log.read(), self._params)
            self._reloads.inc()
        return cached


class AssignClustersBatchFn(beam.DoFn):
    """Bounded: (one key, every post) -> posts with `clusters`, in event-time order."""

    def __init__(self, params: ClusterParams):
        self._params = params
        self._clustered = Metrics.counter(STAGE, "posts_clustered")

    def process(self, element):
        _, posts = element
        yield from _emit(in_time_order(posts), StoryClusters(self._params), self._clustered)


class AssignClusters(beam.PTransform):
    """Posts with `embedding` -> posts with `clusters` (a list of at most one cluster key)."""

    def __init__(self, params: ClusterParams | None = None):
        super().__init__()
        self._params = params or ClusterParams()

    def expand(self, posts):
        keyed = (
            posts
            | "OneKey"
            >> beam.Map(lambda post: ("stories", post)).with_output_types(
                beam.typehints.Tuple[str, beam.typehints.Any]
            )
            | "Global" >> beam.WindowInto(window.GlobalWindows())
        )
        if posts.is_bounded:
            return (
                keyed
                | "AllPosts" >> beam.GroupByKey()
                | "Assign" >> beam.ParDo(AssignClustersBatchFn(self._params))
            )
        return keyed | "Assign" >> beam.ParDo(AssignClustersFn(self._params))
