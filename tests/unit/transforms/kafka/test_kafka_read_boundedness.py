"""ReadFromKafka tells downstream stages whether its output ends: trends pick batch or
streaming plans from `is_bounded`, so a live read marked bounded never fires its windows."""

from __future__ import annotations

import apache_beam as beam
import pytest

from tendencias.transforms.kafka.read import ReadFromKafka


@pytest.mark.parametrize("bounded", [True, False])
def test_output_boundedness_follows_the_read_mode(bounded):
    pipeline = beam.Pipeline()
    records = pipeline | ReadFromKafka(
        bootstrap_servers="127.0.0.1:9", topics=["posts"], start="earliest", bounded=bounded
    )
    assert records.is_bounded is bounded
    parsed = records | beam.Map(lambda record: record)
    assert parsed.is_bounded is bounded
