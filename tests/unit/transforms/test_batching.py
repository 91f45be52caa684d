import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import window
from apache_beam.utils.windowed_value import WindowedValue

from tendencias.transforms.batching import BatchPerBundleFn


class SizesFn(BatchPerBundleFn):
    """Tags each element with the size of the batch it was flushed in."""

    def accept(self, element):
        return element * 10

    def flush(self, batch):
        for element, timestamp, win in batch:
            yield WindowedValue((element, len(batch), int(timestamp)), timestamp, (win,))


def test_elements_come_out_in_batches_in_their_own_timestamp_and_window():
    with TestPipeline() as p:
        out = (
            p
            | beam.Create(range(5), reshuffle=False)
            | beam.Map(lambda x: window.TimestampedValue(x, 100 + x))
            | beam.WindowInto(window.FixedWindows(2))
            | beam.ParDo(SizesFn(batch_size=2))
            | beam.Map(lambda t, w=beam.DoFn.WindowParam: (t[0], t[2], int(w.start)))
        )
        assert_that(out, equal_to([(x * 10, 100 + x, (100 + x) // 2 * 2) for x in range(5)]))


def test_a_full_batch_is_flushed_at_once_and_the_rest_when_the_bundle_ends():
    fn = SizesFn(batch_size=2)
    fn.start_bundle()
    first = list(fn.process(1, timestamp=1, window=window.GlobalWindow()))
    second = list(fn.process(2, timestamp=2, window=window.GlobalWindow()))
    third = list(fn.process(3, timestamp=3, window=window.GlobalWindow()))
    rest = list(fn.finish_bundle())
    assert first == [] and third == []
    assert [v.value for v in second] == [(10, 2, 1), (20, 2, 2)]
    assert [v.value for v in rest] == [(30, 1, 3)]
    assert list(fn.finish_bundle()) == []  # nothing flushed twice
