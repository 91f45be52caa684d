"""Sinks: BigQuery rows and schema (BigQuery itself cannot be reached from here), dead letters
for bad and rejected rows, archived posts, and the Kafka topics (integration). The archive
writer: test_archive.py."""

from __future__ import annotations

import base64
import json

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from tendencias.models.trends.baseline import BaselineParams, KeyHistory
from tendencias.models.trends.explain import trend_record
from tendencias.models.trends.rows import TREND_BQ_SCHEMA, archive_post, trend_to_bq_row, validate_trend_row
from tendencias.models.trends.scoring import SeverityParams, WindowInput, score_window
from tendencias.models.trends.stats import WindowStats, post_mark
from tendencias.records import parse_post
from tendencias.transforms.sinks import WriteTrendsToBigQuery, rejected_row_to_dead_letter

T0 = 1_704_085_200_000
P = 300_000


def enriched(n: int, t_ms: int, raw: str = "llámame al 987 654 321") -> dict:
    return {
        "id": f"p{n}",
        "event_time_ms": t_ms,
        "text": raw,
        "text_clean": "llámame al <phone>",
        "source": "twitter",
        "lang": "es",
        "author": f"anon{n}",
        "region": "Lima",
        "brand": None,
        "url": f"https://social.example/user{n}/status/{n}",
        "tokens": ["llamame"],
        "hashtags": [],
        "features": {"top_terms": ["llamame"]},
        "features_version": "v3",
        "sentiment": {"label": "neutral", "score": 0.0, "model": "local-1"},
    }


def a_trend() -> dict:
    stats = WindowStats(3)
    for i in range(6):
        stats.add(post_mark({**enriched(i, T0), "tokens": [f"w{i}"]}))
    history = KeyHistory()
    w = WindowInput(T0, stats, stats, ((T0, 100.0),), 100.0, (100.0,) * 24, T0 - 86_400_000, 0)
    scored = score_window(history, w, BaselineParams(P, 7 * 86_400_000), SeverityParams())
    trend = trend_record(
        "phrase", "sin azucar", scored, stats, horizon="15m", size_ms=900_000, tz="America/Lima"
    )
    return trend


def test_every_trend_field_is_in_the_bigquery_schema():
    trend = a_trend()
    columns = {field["name"] for field in TREND_BQ_SCHEMA["fields"]}
    assert columns == set(trend)
    examples = next(f for f in TREND_BQ_SCHEMA["fields"] if f["name"] == "examples")
    assert (examples["type"], examples["mode"]) == ("RECORD", "REPEATED")


def test_a_trend_becomes_a_valid_row():
    trend = a_trend()
    row = trend_to_bq_row(trend)
    assert validate_trend_row(row) == []
    assert row["window_start"].endswith("Z") and row["severity"] == "alert"
    assert row["examples"] and all(set(e) == {"id", "text"} for e in row["examples"])


@pytest.mark.parametrize(
    "change,problem",
    [
        ({"severity": "urgent"}, "severity must be"),
        ({"count": "5"}, "count must be an integer"),
        ({"score": float("nan")}, "score must be a finite number"),
        ({"window_start": "yesterday"}, "window_start must be an RFC 3339 time"),
        ({"key": None}, "key is required"),
        ({"kind": "colour"}, "kind must be one of"),
    ],
)
def test_bad_rows_say_what_is_wrong(change, problem):
    row = trend_to_bq_row({**a_trend(), **change})
    assert any(problem in p for p in validate_trend_row(row)), validate_trend_row(row)


class FakeBigQueryWrite(beam.PTransform):
    """Stands in for WriteToBigQuery: keeps the call's arguments, refuses rows whose key is
    "refused" the way streaming inserts report them: (table, row, errors)."""

    calls: list[dict] = []

    def __init__(self, **kwargs):
        super().__init__()
        FakeBigQueryWrite.calls.append(kwargs)
        self._table = kwargs["table"]

    def expand(self, rows):
        table = self._table
        return rows | beam.FlatMap(
            lambda row: (
                [(table, row, [{"reason": "invalid", "message": "no such field"}])]
                if row["key"] == "refused"
                else []
            )
        )


def test_bad_and_refused_rows_go_to_the_dead_letters():
    good, bad, refused = a_trend(), {**a_trend(), "severity": "urgent"}, {**a_trend(), "key": "refused"}
    sink = WriteTrendsToBigQuery(
        "proj:ds.trends", write_method="STREAMING_INSERTS", write_fn=FakeBigQueryWrite
    )
    with TestPipeline() as p:
        out = p | beam.Create([good, bad, refused]) | sink
        reasons = out.dead_letters | beam.Map(
            lambda d: (d["stage"], d["reason"], json.loads(base64.b64decode(d["raw_b64"]))["key"])
        )
        assert_that(
            reasons, equal_to([("bigquery", "schema", "sin azucar"), ("bigquery", "rejected", "refused")])
        )
    call = FakeBigQueryWrite.calls[-1]
    assert call["schema"] == TREND_BQ_SCHEMA and call["method"] == "STREAMING_INSERTS"
    assert call["additional_bq_parameters"]["timePartitioning"] == {"type": "DAY", "field": "window_start"}


def test_real_write_to_bigquery_gets_the_schema_and_partitioning():
    transform = WriteTrendsToBigQuery("proj:ds.trends", write_method="FILE_LOADS").write_transform(
        streaming=False
    )
    assert isinstance(transform, beam.io.WriteToBigQuery)
    assert transform.schema == TREND_BQ_SCHEMA and transform.method == "FILE_LOADS"
    assert transform.additional_bq_parameters["timePartitioning"]["field"] == "window_start"


def test_bigquery_sink_refuses_bad_settings():
    with pytest.raises(ValueError, match="PROJECT:DATASET.TABLE"):
        WriteTrendsToBigQuery("trends")
    with pytest.raises(ValueError, match="write method"):
        WriteTrendsToBigQuery("p:d.t", write_method="CARRIER_PIGEON")


def test_storage_write_api_rejections_are_dead_letters_too():
    letter = rejected_row_to_dead_letter({"failed_row": {"key": "x"}, "error_message": "bad row"})
    assert (letter["reason"], letter["error"]) == ("rejected", "bad row")


def test_archived_posts_are_posts_with_redacted_text():
    archived = archive_post(enriched(1, T0 + 123))
    assert "987" not in json.dumps(archived) and "url" not in archived
    parsed = parse_post(json.dumps(archived).encode())
    assert parsed["text"] == "llámame al <phone>" and parsed["event_time_ms"] == T0 + 123
    assert archived["sentiment"]["model"] == "local-1" and archived["tokens"] == ["llamame"]


@pytest.mark.integration
def test_trends_reach_the_scores_and_alerts_topics(kafka_bootstrap, kafka_topic):
    from kafka import KafkaConsumer

    from tendencias.transforms.sinks import WriteTrendsToKafka

    scores, alerts = kafka_topic("scores"), kafka_topic("alerts")
    alert, info = a_trend(), {**a_trend(), "kind": "brand", "key": "andina", "severity": "info"}
    with TestPipeline() as p:
        _ = p | beam.Create([alert, info]) | WriteTrendsToKafka(kafka_bootstrap, scores, alerts)

    def read(topic: str) -> list[tuple[str, dict]]:
        consumer = KafkaConsumer(
            topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000
        )
        got = [(m.key.decode(), json.loads(m.value)) for m in consumer]
        consumer.close()
        return got

    assert sorted(k for k, _ in read(scores)) == ["brand:andina", "phrase:sin azucar"]
    assert [(k, v["severity"]) for k, v in read(alerts)] == [("phrase:sin azucar", "alert")]
