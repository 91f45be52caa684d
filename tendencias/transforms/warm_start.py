"""ReadWarmStart: the archived posts and sales a restarting job rebuilds its trend state from
(archive/warm_start.py says which), timestamped with their event time.

One DoFn reads every file, so copies of a record count once and, above all, nothing it emits
is late: the stage holds its output watermark at the start of time until it has read the
last file, so the trend stage sees the whole warm start before it lets any window of the live
read close. (A GroupByKey to remove copies would emit at the end of the global window, and
records re-timestamped after it would be late.)
"""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import TimestampedValue

from tendencias.archive.files import read_file
from tendencias.archive.records import copy_key, restore_post, restore_sale
from tendencias.archive.warm_start import WarmStartPlan, taken


class WarmStartOutputs(NamedTuple):
    posts: pvalue.PCollection
    sales: pvalue.PCollection


class ReadWarmStartFn(beam.DoFn):
    SALES = "sales"

    def __init__(self, plan: WarmStartPlan):
        self._plan = plan
        self._counters = {
            name: Metrics.counter("warm_start", name)
            for name in ("posts", "sales", "read_again_from_kafka", "copies", "unreadable")
        }

    def _records(self):
        for what, path in self._plan.files:
            try:
                for record in read_file(path):
                    yield what, record
            except Exception:  # a file that cannot be read costs its records, not the job
                self._counters["unreadable"].inc()

    def process(self, _impulse):
        plan, start_of = self._plan, self._plan.start_of()
        seen: set[str] = set()
        for what, record in self._records():
            copy = copy_key(what, record)
            if copy in seen:
                self._counters["copies"].inc()
                continue
            seen.add(copy)
            try:
                restored = restore_post(record) if what == "posts" else restore_sale(record)
            except Exception:  # not a post or sale of the contract: nothing to count
                self._counters["unreadable"].inc()
                continue
            at = restored["event_time_ms"]
            if not taken(record, at, plan, start_of):
                if at >= plan.since_ms:
                    self._counters["read_again_from_kafka"].inc()
                continue
            self._counters[what].inc()
            value = TimestampedValue(restored, at / 1000)
            yield value if what == "posts" else pvalue.TaggedOutput(self.SALES, value)


class ReadWarmStart(beam.PTransform):
    """-> WarmStartOutputs(posts, sales), restored as the trend stage counts them."""

    def __init__(self, plan: WarmStartPlan):
        super().__init__()
        self._plan = plan

    def expand(self, pbegin) -> WarmStartOutputs:
        read = (
            pbegin
            | "Impulse" >> beam.Impulse()
            | "ReadArchive"
            >> beam.ParDo(ReadWarmStartFn(self._plan)).with_outputs(ReadWarmStartFn.SALES, main="posts")
        )
        return WarmStartOutputs(read.posts, read[ReadWarmStartFn.SALES])
