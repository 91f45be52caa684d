"""Per-period combines for the trend stage, shaped for every runner.

`CombinePerPeriod` combines values per key and fixed period, with the period's end in the
grouping key, so each key holds a single window: Beam Python's own runners scan all the
windows of a key on every timer, which made a key present in every period (or a global
count) quadratic in the length of a backfill. Outputs are in the period's FixedWindows, timestamped
at its last instant.

Late data: with an unbounded input, panes fire at the watermark and again for each late
element within `lateness_s`, discarding: each pane holds only the new elements, so a later
stage adds them up (models/trends/volumes.py merge_volumes, the scorer's revise).
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.transforms import trigger, window
from apache_beam.transforms.window import TimestampedValue

from tendencias.models.trends.volumes import merge_volumes


def windowing(period_s: float, lateness_s: float, bounded: bool, offset_s: float = 0) -> beam.WindowInto:
    fn = window.FixedWindows(period_s, offset_s)
    if bounded:  # no late data in a bounded run: the default trigger is much cheaper to run
        return beam.WindowInto(fn)
    # The default trigger fires at the watermark and again for each late element; Prism never
    # fired the equivalent AfterWatermark(late=AfterCount(1)) on a live read. Discarding: an
    # accumulating window with allowed lateness holds Prism's watermark until the lateness has
    # passed, so nothing downstream of it would be on time.
    return beam.WindowInto(
        fn, accumulation_mode=trigger.AccumulationMode.DISCARDING, allowed_lateness=lateness_s
    )


class _WithPeriodFn(beam.DoFn):
    def __init__(self, period_ms: int, offset_ms: int):
        self._period, self._offset = period_ms, offset_ms

    def process(self, element, ts=beam.DoFn.TimestampParam):
        key, value = element
        end = ((ts.micros // 1000 - self._offset) // self._period + 1) * self._period + self._offset
        yield (key, end), value


class CombinePerPeriod(beam.PTransform):
    """(key, value) -> (key, combined value) per period of `period_ms` (periods start at
    `offset_ms` past the epoch's multiples), in its fixed window."""

    def __init__(
        self,
        period_ms: int,
        combine_fn: beam.CombineFn,
        lateness_s: float,
        bounded: bool,
        offset_ms: int = 0,
    ):
        super().__init__()
        self._period, self._offset, self._fn = period_ms, offset_ms % period_ms, combine_fn
        self._windowing = windowing(period_ms / 1000, lateness_s, bounded, self._offset / 1000)
        self._bounded = bounded

    def expand(self, pcoll):
        keyed = pcoll | "WithPeriod" >> beam.ParDo(_WithPeriodFn(self._period, self._offset))
        if self._bounded:  # the period is in the key: combine in the global window (a batch
            # runner's cheapest grouping), then put each result back in its period's window
            return (
                keyed
                | "Global" >> beam.WindowInto(window.GlobalWindows())
                | "Combine" >> beam.CombinePerKey(self._fn)
                | "InPeriod"
                >> beam.Map(lambda kv: TimestampedValue((kv[0][0], kv[1]), (kv[0][1] - 1) / 1000))
                | "Window" >> self._windowing
            )
        return (
            keyed
            | "Window" >> self._windowing
            | "Combine" >> beam.CombinePerKey(self._fn)
            | "DropPeriod" >> beam.Map(lambda kv: (kv[0][0], kv[1]))
        )


class VolumesPerSlotFn(beam.CombineFn):
    """Volume parts ({slot end: (posts, earliest event ms)}) -> their sum in slots of this fn's
    `period_ms` (a part in smaller slots is re-bucketed into them)."""

    def __init__(self, period_ms: int):
        self._period = period_ms

    def create_accumulator(self) -> dict[int, tuple[int, int]]:
        return {}

    def add_input(self, acc, part):
        period = self._period
        return merge_volumes([acc, {((e - 1) // period + 1) * period: v for e, v in part.items()}])

    def merge_accumulators(self, accumulators):
        return merge_volumes(accumulators)

    def extract_output(self, acc):
        return acc
