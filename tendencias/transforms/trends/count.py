"""CountPeriodsFn: posts -> each bundle's ShardParts (models/trends/cells.py), for both plans.

A bundle's posts are counted per key and period in the DoFn (a partial aggregation, as a
combiner lifted before a shuffle would do, without an accumulator per key) and leave in
`finish_bundle`: one part a shard for a bounded input (in the global window: the whole input
is one batch), one part a shard and window in the stream, timestamped at the window's last
instant (never earlier than its posts, so never late because of the move) for the windowing
that follows to put it in that window.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms import window
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Timestamp
from apache_beam.utils.windowed_value import WindowedValue

from tendencias.models.trends.cells import BundleCounter
from tendencias.models.trends.config import Horizon


class CountPeriodsFn(beam.DoFn):
    """Posts -> (shard, ShardPart). `window_ms`: None for a bounded input, else the windows the
    parts travel in (the short horizon's period)."""

    def __init__(self, horizons: list[tuple[Horizon, tuple[str, ...]]], window_ms: int | None):
        self._horizons = sorted(horizons, key=lambda hk: hk[0].size_ms)
        self._window = window_ms
        self._posts = Metrics.counter("trends", "posts_keyed")
        self._keys = Metrics.counter("trends", "post_keys")
        self._keyless = Metrics.counter("trends", "posts_without_keys")

    def start_bundle(self) -> None:
        self._counter = BundleCounter(self._horizons, self._window)

    def process(self, post) -> None:
        self._counter.add(post)

    def finish_bundle(self):
        counter = self._counter
        self._posts.inc(counter.posts)
        self._keys.inc(counter.keys)
        self._keyless.inc(counter.keyless)
        for shard, end, part in counter.parts():
            at = MIN_TIMESTAMP if end is None else Timestamp(micros=(end - 1) * 1000)
            yield WindowedValue((shard, part), at, (window.GlobalWindow(),))
        self._counter = BundleCounter(self._horizons, self._window)
