"""ScoreKeys: per (kind, key), Flink keyed state and event-time timers around the package's
HorizonScorers (models/trends/key_scorer.py), as ScoreStreamShardFn does in the Beam graph.

A key's posts are counted per period of every horizon (WindowStats, keyed state); a timer at
each period's last instant scores the key's due periods in (end, horizon rank) order with the
stream's volumes (broadcast state from StreamVolumes), so the baseline sees time go forwards.
Late posts within the allowed lateness revise the key's latest window at once (Beam's late
pane); later ones are left out for that horizon. A key silent for `forget_after` is cleared.
"""

from __future__ import annotations

from pyflink.common import Types
from pyflink.datastream import KeyedBroadcastProcessFunction, RuntimeContext
from pyflink.datastream.state import MapStateDescriptor, ValueStateDescriptor

from tendencias.flink.timers import due_by
from tendencias.models.trends.config import TrendScoringConfig
from tendencias.models.trends.key_scorer import KeyState
from tendencias.models.trends.keys import trend_keys
from tendencias.models.trends.stats import WindowStats, post_mark
from tendencias.models.trends.volumes import PeriodVolumes
from tendencias.models.trends.windows import HOUR_MS

VOLUMES = MapStateDescriptor("stream_volumes", Types.STRING(), Types.PICKLED_BYTE_ARRAY())
KEY_SEPARATOR = "\x1f"


def key_posts(post: dict, kinds: tuple[str, ...]):
    """Post -> (kind<US>key, PostMark, event ms) for each key it counts towards."""
    keys = trend_keys(post, kinds)
    if not keys:
        return
    mark, t = post_mark(post), int(post["event_time_ms"])
    for kind, key in keys:
        yield f"{kind}{KEY_SEPARATOR}{key}", mark, t


def _volume_key(horizon: str, end: int) -> str:
    return f"{horizon}@{end}"


class ScoreKeysFn(KeyedBroadcastProcessFunction):
    def __init__(self, config: TrendScoringConfig):
        self._config = config
        self._horizons = config.horizons()
        self._by_name = {h.name: h for h in self._horizons}
        self._kinds = {h.name: frozenset(config.horizon_kinds(h)) for h in self._horizons}
        self._lateness = int(config.allowed_lateness * 1000)
        self._forget_after = int(config.forget_after * 1000)
        self._keep_volumes = int(config.allowed_lateness * 1000) + 2 * max(
            h.period_ms for h in self._horizons
        )

    def open(self, runtime_context: RuntimeContext):
        self._scorers = self._config.horizon_scorers()
        get = runtime_context.get_state
        self._cells = get(
            ValueStateDescriptor("cells", Types.PICKLED_BYTE_ARRAY())
        )  # {(h, end): WindowStats}
        self._keys = get(ValueStateDescriptor("key_state", Types.PICKLED_BYTE_ARRAY()))  # KeyState
        self._forget_at = get(ValueStateDescriptor("forget_at", Types.LONG()))
        self._pruned_at = 0  # per subtask: when old volumes were last pruned from the broadcast state

    def process_broadcast_element(self, value, ctx):
        horizon, end, volumes = value
        state = ctx.get_broadcast_state(VOLUMES)
        state.put(_volume_key(horizon, end), volumes)
        # Pruned behind the watermark, not behind the newest volume: in a bounded run every
        # volume arrives before any key's timer fires.
        watermark = ctx.current_watermark()
        if watermark > self._pruned_at + HOUR_MS:
            self._pruned_at = watermark
            old = [k for k in state.keys() if int(k.rsplit("@", 1)[1]) < watermark - self._keep_volumes]
            for k in old:
                state.remove(k)

    def process_element(self, value, ctx):
        _, mark, t = value
        watermark = ctx.timer_service().current_watermark()
        cells = self._cells.value() or {}
        keys: KeyState | None = None
        emitted = []
        kind = ctx.get_current_key().split(KEY_SEPARATOR, 1)[0]
        for h in self._horizons:
            if kind not in self._kinds[h.name]:
                continue  # story clusters: the short horizon only
            end = (t // h.period_ms + 1) * h.period_ms
            if end - 1 + self._lateness < watermark:
                continue  # later than the allowed lateness
            if (h.name, end) not in cells:
                keys = keys or self._keys.value() or KeyState()
                if keys.of(h.name)[0].last_end and end <= keys.of(h.name)[0].last_end:
                    # a late post of a period already scored: the key's latest window is revised
                    stats = WindowStats(self._config.examples).add(mark)
                    counts = self._volumes(ctx, h.name, end, stats).counts(stats)
                    kind, name = ctx.get_current_key().split(KEY_SEPARATOR, 1)
                    emitted.append(self._scorers.revise(kind, name, keys, h.name, counts))
                    continue
                cells[(h.name, end)] = WindowStats(self._config.examples)
                ctx.timer_service().register_event_time_timer(end - 1)
            cells[(h.name, end)].add(mark)
        self._cells.update(cells)
        if keys is not None:
            self._keys.update(keys)
        # on the hour, so a busy key has one pending forget timer, not one per post
        forget = max((t + self._forget_after) // HOUR_MS * HOUR_MS + HOUR_MS, self._forget_at.value() or 0)
        if forget != self._forget_at.value():
            ctx.timer_service().register_event_time_timer(forget)
            self._forget_at.update(forget)
        yield from (scored for scored in emitted if scored is not None)  # Scored records

    def _volumes(self, ctx, horizon: str, end: int, stats: WindowStats):
        found = ctx.get_broadcast_state(VOLUMES).get(_volume_key(horizon, end))
        if found is not None:
            return found
        # Pruned already (a post near the end of the allowed lateness): what the key alone
        # shows, as AttachVolumeFn does with a late pane seen before its volumes.
        h = self._by_name[horizon]
        return PeriodVolumes(h, self._config.baseline(h), end, {}, {})

    def on_timer(self, timestamp: int, ctx):
        cells = self._cells.value() or {}
        until = due_by(timestamp, ctx)
        due = sorted(
            (cell for cell in cells if cell[1] - 1 <= until),
            key=lambda cell: (cell[1], self._scorers.rank[cell[0]]),
        )
        if due:
            kind, name = ctx.get_current_key().split(KEY_SEPARATOR, 1)
            keys = self._keys.value() or KeyState()
            for horizon, end in due:
                stats = cells.pop((horizon, end))
                counts = self._volumes(ctx, horizon, end, stats).counts(stats)
                if end <= keys.of(horizon)[0].last_end:  # scored already (a late first post)
                    scored = self._scorers.revise(kind, name, keys, horizon, counts)
                else:
                    scored = self._scorers.score(kind, name, keys, horizon, counts)
                if scored is not None:
                    yield scored
            self._keys.update(keys)
            self._cells.update(cells)
        if timestamp == self._forget_at.value() and not cells:
            # silent for forget_after: its history has faded to little (as ScoreStreamShardFn forgets it)
            self._cells.clear()
            self._keys.clear()
            self._forget_at.clear()
