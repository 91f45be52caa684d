"""AssignClustersFn: each post joins its story cluster (models/stories/clusters.py) in event-time
order, on a single key: what AssignClusters does in the Beam graph. Posts wait in keyed state
until the watermark passes them, then are embedded in one batch, put in the Beam backfill's
order (`in_time_order`) and assigned."""

from __future__ import annotations

import copy

from pyflink.common import Types
from pyflink.datastream import KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import ValueStateDescriptor

from tendencias.flink.timers import due_by
from tendencias.models.stories.clusters import ClusterParams, StoryClusters, assign_posts, in_time_order
from tendencias.models.stories.embedding import EMBEDDING, embed_texts, embedding_text, pack


class AssignClustersFn(KeyedProcessFunction):
    def __init__(self, params: ClusterParams):
        self._params = params

    def open(self, runtime_context: RuntimeContext):
        self._state = runtime_context.get_state(ValueStateDescriptor("clusters", Types.PICKLED_BYTE_ARRAY()))

    def _load(self) -> tuple[StoryClusters, list[dict]]:
        return self._state.value() or (StoryClusters(copy.deepcopy(self._params)), [])

    def process_element(self, post: dict, ctx):
        clusters, pending = self._load()
        pending.append(post)
        ctx.timer_service().register_event_time_timer(int(post["event_time_ms"]))
        self._state.update((clusters, pending))

    def on_timer(self, timestamp: int, ctx):
        clusters, pending = self._load()
        until = due_by(timestamp, ctx)
        due = in_time_order([p for p in pending if int(p["event_time_ms"]) <= until])
        if not due:
            return
        vectors = embed_texts([embedding_text(p) for p in due])
        yield from assign_posts(
            [dict(p, **{EMBEDDING: pack(v)}) for p, v in zip(due, vectors, strict=True)], clusters
        )
        self._state.update((clusters, [p for p in pending if int(p["event_time_ms"]) > until]))
