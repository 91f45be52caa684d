"""Unbounded input: the trend stage per shard of keys, a window of the short horizon at a time.

    posts ─ CountPeriodsFn ─ (shard, ShardPart) per bundle and window ─ windows of the short period
          ─ GroupByKey(shard) ─ one pane per shard and window ─ ScoreShardsFn (state per shard) ─ Scored trends

CountPeriodsFn (count.py) counts each bundle into per-key cells and volumes, as for a bounded
input, and sends each shard its part per window: the short horizon's period, where a longer
horizon's period goes in the window its last instant falls in. The windows (allowed lateness,
discarding, fired at the watermark and again for late posts: periods.py `windowing`) decide
what is on time, what is late, and drop what is later than `allowed_lateness`, as Beam does;
so each shard gets one pane per window with posts, holding every horizon's periods that end in
it, and one more pane per late post.

`ScoreShardsFn` keeps, per shard, the panes waiting for the watermark, the stream's volumes
(ShardVolumes, from the parts) and its keys' scoring state (shard_keys.py: durable in Beam state,
cached in the worker). A pane sets a timer at its window's last instant; when the watermark
gets there, the shard scores the keys of its due panes with the shared core
(models/trends/shard_scorer.py), each key's periods in (end, horizon rank) order, revising the
key's latest window for late posts of a period it already scored. Its Beam state is read
once per firing, not once per key.
"""

from __future__ import annotations

import os
import pickle
import struct
import uuid
from typing import Any

import apache_beam as beam
from apache_beam.coders import BytesCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms import userstate, window

from tendencias.models.trends.cells import ShardPart, merge_parts
from tendencias.models.trends.config import TrendScoringConfig
from tendencias.models.trends.shard_scorer import ShardScorer
from tendencias.models.trends.windows import HOUR_MS
from tendencias.transforms.trends.alerts import emit_trend
from tendencias.transforms.trends.count import CountPeriodsFn
from tendencias.transforms.trends.ordering import to_timestamp
from tendencias.transforms.trends.periods import windowing
from tendencias.transforms.trends.shard_keys import CHANGING, ShardKeys

_BY_SHARD = beam.typehints.Tuple[int, Any]

# A shard's state: one bag, read once per firing, of the shard's own entry (generation and
# ShardVolumes, pickled) and the panes waiting for the watermark (their window end, 8 bytes,
# then the pickled ShardPart: a firing unpickles only the panes it takes); and the log of its
# keys (shard_keys.py), only appended to while this process's copy is good.
_PANES = beam.DoFn.StateParam(userstate.BagStateSpec("shard_panes", BytesCoder()))
_KEYS = beam.DoFn.StateParam(userstate.BagStateSpec("shard_keys", BytesCoder()))
_SHARD, _PANE = b"S", b"P"
_END = struct.Struct(">q")
# One timer per window (its end as the dynamic tag), at the window's last instant: each holds
# the output watermark there until it fires, so the grouping after it sees a window whole.
_DUE_SPEC = userstate.TimerSpec("shard_due", userstate.TimeDomain.WATERMARK)
_DUE = beam.DoFn.TimerParam(_DUE_SPEC)

# This process's copies of the shards' keys: {(ScoreShardsFn id, shard): ShardKeys}. Beam runs
# one bundle of a key at a time, so one shard's copy is never used by two threads at once.
_KEYS_CACHE: dict[tuple[str, int], ShardKeys] = {}


def _dumps(value) -> bytes:
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


class _PaneFn(beam.DoFn):
    """(shard, the window's ShardParts) -> (shard, (window end, one ShardPart))."""

    def process(self, element, win=beam.DoFn.WindowParam):
        shard, parts = element
        yield shard, (int(win.end.micros // 1000), merge_parts(parts))


class ScoreShardsFn(beam.DoFn):
    """(shard, (window end, ShardPart)) -> Scored Trend records of the shard's keys, each
    window's once the watermark has passed it (late panes: at once)."""

    def __init__(self, config: TrendScoringConfig):
        self._config = config
        self._id = uuid.uuid4().hex  # names this step's shard copies in a worker process
        self._lateness = int(config.allowed_lateness * 1000)
        self._scored = Metrics.counter("trends", "periods_scored")
        self._revised = Metrics.counter("trends", "late_periods_revised")
        self._forgotten = Metrics.counter("trends", "keys_forgotten")
        self._emitted = Metrics.counter("trends", "trends_emitted")
        self._alerts = Metrics.counter("trends", "alerts")
        self._firings = Metrics.counter("trends", "shard_firings")
        self._reads = Metrics.counter("trends", "shard_state_reads")
        self._reloads = Metrics.counter("trends", "shard_keys_reloaded")

    def setup(self) -> None:
        self._scorer = ShardScorer(self._config)

    def process(self, element, panes=_PANES, due=_DUE):
        _, (end, part) = element
        panes.add(_PANE + _END.pack(end) + _dumps(part))
        due.set(to_timestamp(end - 1), dynamic_timer_tag=str(end))

    @userstate.on_timer(_DUE_SPEC)
    def on_due(self, key=beam.DoFn.KeyParam, fired=beam.DoFn.TimestampParam, panes=_PANES, log=_KEYS):
        limit = fired.micros // 1000
        generation, volumes, due, rest = None, None, [], []
        for data in panes.read():
            if data[:1] == _SHARD:
                generation, volumes = pickle.loads(data[1:])
                continue
            end = _END.unpack_from(data, 1)[0]
            if end - 1 <= limit:
                due.append((end, pickle.loads(data[1 + _END.size :])))
            else:
                rest.append(data)
        self._reads.inc()
        if not due:  # another window's timer took these panes already
            return
        self._firings.inc()
        keys = self._keys(key, generation, log)
        keys.generation = CHANGING  # until this firing is written, the copy is ahead of Beam state
        scorer = self._scorer
        volumes = scorer.volumes() if volumes is None else volumes.bind(scorer.horizons, scorer.baselines)
        due.sort(key=lambda pane: pane[0])
        for _, part in due:
            volumes.add(part.volumes)
        marks, cells, _ = merge_parts(part for _, part in due)
        for pair, by_period in cells.items():
            state = keys.get(pair)
            for scored in scorer.score_key(*pair, state, by_period, marks, volumes):
                yield from emit_trend(scored, self._emitted, self._alerts)
            keys.put(pair, state)
        # Late posts come at most `allowed_lateness` after their period: older volumes are done with.
        for rank in range(len(scorer.horizons)):
            volumes.prune(rank, due[-1][0] - self._lateness)
        if limit - keys.swept_at >= HOUR_MS:  # the keys no period of theirs came for in a while
            scorer.forgotten += keys.forget_silent(limit - scorer.forget_after_ms)
            keys.swept_at = limit
        generation = os.urandom(8)
        panes.clear()
        panes.add(_SHARD + _dumps((generation, volumes)))
        for data in rest:
            panes.add(data)
        keys.flush(log)
        keys.generation = generation
        self._tally(scorer)

    def _keys(self, shard: int, generation: bytes | None, log) -> ShardKeys:
        """This process's copy of the shard's keys, rebuilt from the durable log unless it is
        the one the shard's last firing left."""
        cached = _KEYS_CACHE.get((self._id, shard))
        if cached is None or cached.generation != generation:
            cached = _KEYS_CACHE[(self._id, shard)] = ShardKeys.load(log.read())
            self._reloads.inc()
            self._reads.inc()
        return cached

    def _tally(self, scorer: ShardScorer) -> None:
        self._scored.inc(scorer.scored)
        self._revised.inc(scorer.revised)
        self._forgotten.inc(scorer.forgotten)
        scorer.scored = scorer.revised = scorer.forgotten = 0


class ScoreStream(beam.PTransform):
    """Unbounded: posts -> Scored Trend records of every key, period and horizon."""

    def __init__(self, config: TrendScoringConfig):
        super().__init__()
        self._config = config

    def expand(self, posts):
        config = self._config
        horizons = sorted(config.horizons(), key=lambda h: h.size_ms)
        window_ms = horizons[0].period_ms
        return (
            posts
            | "CountPeriods"
            >> beam.ParDo(CountPeriodsFn([(h, config.horizon_kinds(h)) for h in horizons], window_ms))
            | "InWindows" >> windowing(window_ms / 1000, config.allowed_lateness, bounded=False)
            | "ByShard" >> beam.GroupByKey().with_input_types(beam.typehints.Tuple[int, ShardPart])
            | "OnePane" >> beam.ParDo(_PaneFn()).with_output_types(_BY_SHARD)
            | "Global" >> beam.WindowInto(window.GlobalWindows())
            | "ScoreShards" >> beam.ParDo(ScoreShardsFn(config))
        )
