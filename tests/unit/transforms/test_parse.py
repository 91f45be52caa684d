"""ParsePosts / ParseSales on DirectRunner: parsed records carry their event time, nothing is lost."""

from __future__ import annotations

import base64
import json

import apache_beam as beam
from apache_beam.metrics import MetricsFilter
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from tendencias.records import RawRecord
from tendencias.transforms.parse import ParsePosts, ParseSales

T_MS = 1740830400000  # 2025-03-01T12:00:00Z


def raw(value: bytes, offset: int, partition: int = 0) -> RawRecord:
    return RawRecord(value, "consumer.posts", partition, offset, T_MS, None)


def post_bytes(post_id: str, seconds: int) -> bytes:
    doc = {"id": post_id, "text": f"me encanta la inca kola {post_id}", "created_at": T_MS + seconds * 1000}
    return json.dumps(doc).encode("utf-8")


BAD = {
    10: (b"{oops", "not_json"),
    11: (b"\xc3\x28", "not_utf8"),
    12: (json.dumps({"text": "sin id", "created_at": T_MS}).encode(), "missing_id"),
    13: (json.dumps({"id": "x", "created_at": T_MS}).encode(), "missing_text"),
    14: (json.dumps({"id": "y", "text": 5, "created_at": T_MS}).encode(), "wrong_type"),
}


def counters(result) -> dict[str, int]:
    found = result.metrics().query(MetricsFilter().with_namespace("parse"))["counters"]
    totals: dict[str, int] = {}
    for counter in found:
        totals[counter.key.metric.name] = totals.get(counter.key.metric.name, 0) + counter.committed
    return totals


def test_posts_and_dead_letters():
    good = [raw(post_bytes(f"p{i}", i), offset=i, partition=1) for i in range(5)]
    bad = [raw(value, offset=offset, partition=2) for offset, (value, _) in BAD.items()]
    pipeline = test_pipeline.TestPipeline()
    parsed = pipeline | beam.Create(good + bad) | ParsePosts()
    stamped = parsed.posts | "Stamp" >> beam.Map(
        lambda p, ts=beam.DoFn.TimestampParam: (p["id"], ts.micros // 1000)
    )
    assert_that(stamped, equal_to([(f"p{i}", T_MS + i * 1000) for i in range(5)]), label="EventTimes")
    letters = parsed[ParsePosts.DEAD_LETTER] | beam.Map(
        lambda d: (
            d["reason"],
            d["stage"],
            d["topic"],
            d["partition"],
            d["offset"],
            base64.b64decode(d["raw_b64"]),
        )
    )
    expected = [
        (reason, "parse", "consumer.posts", 2, offset, value) for offset, (value, reason) in BAD.items()
    ]
    assert_that(letters, equal_to(expected), label="DeadLetters")
    result = pipeline.run()
    result.wait_until_finish()
    totals = counters(result)
    assert totals["ok"] == 5
    for _, reason in BAD.values():
        assert totals[reason] == 1, (reason, totals)


def test_unexpected_input_is_dead_lettered_as_internal():
    pipeline = test_pipeline.TestPipeline()
    parsed = pipeline | beam.Create(["not a RawRecord", raw(post_bytes("ok", 0), 0)]) | ParsePosts()
    assert_that(parsed.posts | beam.Map(lambda p: p["id"]), equal_to(["ok"]), label="Good")
    letters = parsed[ParsePosts.DEAD_LETTER] | beam.Map(
        lambda d: (d["reason"], d["offset"], "AttributeError" in d["error"], base64.b64decode(d["raw_b64"]))
    )
    assert_that(letters, equal_to([("internal", None, True, b"'not a RawRecord'")]), label="Internal")
    pipeline.run().wait_until_finish()


def test_sales():
    sale = {
        "sku": "IK-1L",
        "product": "inca kola 1L",
        "category": "gaseosas",
        "region": "Arequipa",
        "units": 4,
        "revenue": 22.4,
        "ts": "2025-03-01T12:00:05Z",
    }
    records = [raw(json.dumps(sale).encode(), 0), raw(json.dumps({**sale, "units": -2}).encode(), 1)]
    pipeline = test_pipeline.TestPipeline()
    parsed = pipeline | beam.Create(records) | ParseSales()
    stamped = parsed.sales | beam.Map(lambda s, ts=beam.DoFn.TimestampParam: (s["sku"], ts.micros // 1000))
    assert_that(stamped, equal_to([("IK-1L", T_MS + 5000)]), label="Sales")
    reasons = parsed[ParseSales.DEAD_LETTER] | beam.Map(lambda d: (d["reason"], d["offset"]))
    assert_that(reasons, equal_to([("out_of_range", 1)]), label="SaleDeadLetters")
    pipeline.run().wait_until_finish()
