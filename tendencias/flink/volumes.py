"""StreamVolumes: the stream's post counts per period and per hour, for every horizon, on one
key (they are global), emitted per period end once the watermark has passed it. ScoreKeys
gets them as broadcast state: what AttachVolumeFn's side input is in the Beam graph.

Late posts within the allowed lateness join the counts and the period's volumes are emitted
again (the Beam side input accumulates late panes too); later ones are left out, as Beam's
windowing drops them.
"""

from __future__ import annotations

from pyflink.common import Types
from pyflink.datastream import KeyedProcessFunction, RuntimeContext
from pyflink.datastream.state import ValueStateDescriptor

from tendencias.flink.timers import due_by
from tendencias.models.trends.config import TrendScoringConfig
from tendencias.models.trends.volumes import PeriodVolumes


def _bucket(t: int, size: int) -> int:
    return (t // size + 1) * size


class StreamVolumesFn(KeyedProcessFunction):
    """Post -> (horizon, period end, Volumes) per period end with posts, in time order."""

    def __init__(self, config: TrendScoringConfig):
        self._config = config
        self._horizons = config.horizons()
        self._lateness = int(config.allowed_lateness * 1000)

    def open(self, runtime_context: RuntimeContext):
        # {horizon: ({period end: [posts, first]}, {slot end: [posts, first]}, {pending period ends})}
        self._state = runtime_context.get_state(ValueStateDescriptor("volumes", Types.PICKLED_BYTE_ARRAY()))

    def _load(self) -> dict:
        data = self._state.value()
        return data if data is not None else {h.name: ({}, {}, set()) for h in self._horizons}

    def process_element(self, post, ctx):
        t = int(post["event_time_ms"])
        watermark = ctx.timer_service().current_watermark()
        state = self._load()
        for h in self._horizons:
            end = _bucket(t, h.period_ms)
            if end - 1 + self._lateness < watermark:
                continue  # later than the allowed lateness: Beam's windows drop it too
            periods, slots, pending = state[h.name]
            for table, key in ((periods, end), (slots, _bucket(t, h.slot_ms))):
                cell = table.setdefault(key, [0, t])
                cell[0] += 1
                cell[1] = min(cell[1], t)
            if end not in pending:
                pending.add(end)
                ctx.timer_service().register_event_time_timer(end - 1)
        self._state.update(state)

    def on_timer(self, timestamp: int, ctx):
        state, until = self._load(), due_by(timestamp, ctx)
        for h in self._horizons:
            periods, slots, pending = state[h.name]
            due = sorted(e for e in pending if e - 1 <= until)
            for end in due:
                window = {e: tuple(periods[e]) for e in periods if end - h.size_ms < e <= end}
                trailing = {e: tuple(slots[e]) for e in slots if end - h.volume_ms < e <= end}
                volumes = PeriodVolumes(h, self._config.baseline(h), end, window, trailing)
                pending.discard(end)
                yield h.name, end, volumes
            if due:  # what no later period end (nor a late post) can need any more
                oldest = due[-1] - self._lateness - max(h.size_ms, h.volume_ms) - h.slot_ms
                for table in (periods, slots):
                    for e in [e for e in table if e < oldest]:
                        del table[e]
        self._state.update(state)
