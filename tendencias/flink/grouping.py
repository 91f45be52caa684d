"""GroupAlerts: the episode records of every key and horizon through one AlertGrouper
(models/trends/groups.py), window by window in event-time order, on a single key: what
GroupAlertsFn does in the Beam graph."""

from __future__ import annotations

import copy

from pyflink.common import Types
from pyflink.datastream import KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import ValueStateDescriptor

from tendencias.flink.timers import due_by
from tendencias.models.trends.groups import AlertGrouper, Scored, is_episode
from tendencias.records import window_end_ms

__all__ = ["GroupAlertsFn", "is_episode"]


class GroupAlertsFn(KeyedProcessFunction):
    def __init__(self, grouper: AlertGrouper):
        self._grouper = grouper

    def open(self, runtime_context: RuntimeContext):
        self._state = runtime_context.get_state(ValueStateDescriptor("grouper", Types.PICKLED_BYTE_ARRAY()))

    def _load(self) -> tuple[AlertGrouper, dict[int, list[Scored]]]:
        return self._state.value() or (copy.deepcopy(self._grouper), {})

    def process_element(self, scored: Scored, ctx):
        grouper, pending = self._load()
        end = window_end_ms(scored.record)
        if end not in pending:
            pending[end] = []
            ctx.timer_service().register_event_time_timer(end - 1)
        pending[end].append(scored)
        self._state.update((grouper, pending))

    def on_timer(self, timestamp: int, ctx):
        grouper, pending = self._load()
        until = due_by(timestamp, ctx)
        for end in sorted(e for e in pending if e - 1 <= until):
            yield from grouper.window(end, pending.pop(end))
        self._state.update((grouper, pending))
