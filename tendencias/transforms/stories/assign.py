"""AssignClusters: each post joins its story cluster (models/stories/clusters.py), in event-time
order, and leaves with `clusters` (and without its embedding) for the trend stage to count.

The clusters are one sequence over the whole stream, so this is one key. Unbounded: a stateful
DoFn holds posts until the watermark passes them (transforms/trends/ordering.py) and takes them
in time order, the clusters kept in state (loaded and stored once per firing, not per post).
Bounded: one GroupByKey, then the posts sorted by time; no state or timers for a batch runner
to pay for. Both assign exactly alike.
"""

from __future__ import annotations

import copy

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms import window
from apache_beam.transforms.window import TimestampedValue

from tendencias.models.stories.clusters import ClusterParams, StoryClusters, assign_posts, in_time_order
from tendencias.transforms.trends.ordering import Ordering, load, store, to_timestamp

STAGE = "stories"
_ORDER = Ordering("clusters")  # its state: the StoryClusters


def _emit(posts: list[dict], clusters: StoryClusters, counted):
    for post in assign_posts(posts, clusters):
        counted.inc(bool(post["clusters"]))
        yield TimestampedValue(post, to_timestamp(int(post["event_time_ms"])))


class AssignClustersFn(beam.DoFn):
    """Unbounded: (one key, post) -> posts with `clusters`, in event-time order."""

    on_first, on_last = _ORDER.timers()

    def __init__(self, params: ClusterParams):
        self._params = params
        self._clustered = Metrics.counter(STAGE, "posts_clustered")

    process = _ORDER.holding(lambda post: int(post["event_time_ms"]))

    def drain(self, _, due, state):
        clusters = load(state) or StoryClusters(copy.deepcopy(self._params))
        yield from _emit([post for _, post in due], clusters, self._clustered)
        store(state, clusters)


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
