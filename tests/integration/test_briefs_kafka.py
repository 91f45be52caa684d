"""Briefs of the stream on a real Kafka topic (DirectRunner), and the --briefs_topic flag."""

from __future__ import annotations

import json

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from tendencias.pipelines.config import KafkaOptions, parse_pipeline_options
from tendencias.transforms.briefs import BriefAlerts
from tests.integration.kafka_helpers import read_all

pytestmark = pytest.mark.integration

ALERT = {
    "kind": "term",
    "key": "botella",
    "horizon": "15m",
    "window_start": "2026-11-03T13:57:00Z",
    "window_end": "2026-11-03T14:12:00Z",
    "count": 4,
    "posts": 4,
    "baseline": 0.03,
    "score": 7.3,
    "lift": 4.8,
    "sentiment": -0.4,
    "severity": "alert",
    "status": "new",
    "segment": "arequipa",
    "episode": "ep-botella",
    "examples": [{"id": "p1", "text": "otra botella rota, mi número 987 654 321"}],
}


def test_each_story_alert_becomes_one_brief_on_the_topic(kafka_bootstrap, kafka_topic, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    topic = kafka_topic("briefs")
    related = dict(ALERT, severity="watch", status="related", episode="ep-rota", key="rota")
    broken = dict(ALERT, episode="ep-broken", window_start="not a time")
    with TestPipeline() as p:
        dead = p | beam.Create([ALERT, related, broken]) | BriefAlerts(kafka_bootstrap, topic)
        assert_that(dead | beam.Map(lambda d: d["reason"]), equal_to(["brief_failed"]))
    records = read_all(kafka_bootstrap, topic, expected=1)
    assert len(records) == 1 and records[0].key == b"ep-botella"
    brief = json.loads(records[0].value)
    assert brief["story"] == "ep-botella" and brief["where"][0]["region"] == "Arequipa"
    assert brief["ideas"] and "987" not in records[0].value.decode()


def test_briefs_topic_flag():
    def parse(argv):
        return parse_pipeline_options(argv, prog="t", description="", option_classes=(KafkaOptions,))

    assert parse([]).view_as(KafkaOptions).briefs_topic == "trends.briefs"
    off = parse(["--briefs_topic="])
    assert off.view_as(KafkaOptions).briefs_topic == ""
