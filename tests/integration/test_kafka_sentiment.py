"""Posts from a real Kafka topic through parse, clean and EnrichSentiment, with either backend.

The API backend talks to our OpenAI-protocol test server; what it received is checked for
personal data planted in the posts.
"""

from __future__ import annotations

import json
import uuid

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from kafka import KafkaProducer

from tendencias.transforms.kafka.read import ReadFromKafka
from tendencias.transforms.parse import ParsePosts
from tendencias.transforms.sentiment import EnrichSentiment
from tendencias.transforms.text import CleanPosts
from tests.openai_server import label_for, serve_for_test

pytestmark = pytest.mark.integration

PLANTED = ["rosa.quispe@gmail.com", "987 654 321", "@rosa_q", "45678912"]
POSTS = [
    {
        "id": "k1",
        "text": f"me encanta la chicha morada, escríbeme a {PLANTED[0]}",
        "created_at": 1740830400000,
    },
    {"id": "k2", "text": f"horrible y caro, reclamos al {PLANTED[1]}", "created_at": 1740830401000},
    {
        "id": "k3",
        "text": f"{PLANTED[2]} dice que la compró ayer, DNI {PLANTED[3]}",
        "created_at": 1740830402000,
    },
]
_OUT: dict[str, list] = {}


@pytest.fixture
def openai_server(monkeypatch):
    yield from serve_for_test(monkeypatch)


def _keep(post: dict, run: str) -> None:
    _OUT[run].append(post)


def flow(bootstrap: str, topic: str, **stage) -> dict[str, dict]:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for post in POSTS:
        producer.send(topic, json.dumps(post, ensure_ascii=False).encode())
    producer.flush()
    producer.close()
    run = uuid.uuid4().hex
    _OUT[run] = []
    pipeline = beam.Pipeline(options=PipelineOptions([], runner="DirectRunner"))
    raw = pipeline | ReadFromKafka(
        bootstrap,
        [topic],
        group_id=f"sent-{run}",
        start="earliest",
        bounded=True,
        event_time_field="created_at",
    )
    cleaned = (raw | ParsePosts()).posts | CleanPosts()
    enriched = cleaned.posts | EnrichSentiment(**stage)
    enriched.posts | beam.Map(_keep, run)
    pipeline.run().wait_until_finish()
    return {p["id"]: p for p in _OUT.pop(run)}


def test_kafka_to_sentiment_with_the_local_model(kafka_bootstrap, kafka_topic, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    out = flow(kafka_bootstrap, kafka_topic("sent-local"), backend="auto")
    assert set(out) == {p["id"] for p in POSTS}
    assert {p["sentiment"]["source"] for p in out.values()} == {"local"}


def test_kafka_to_sentiment_with_the_api(kafka_bootstrap, kafka_topic, openai_server):
    out = flow(
        kafka_bootstrap,
        kafka_topic("sent-api"),
        backend="openai",
        cache_url="none",
        local_confidence_threshold=None,
    )
    assert set(out) == {p["id"] for p in POSTS}
    for post in POSTS:
        sentiment = out[post["id"]]["sentiment"]
        assert sentiment["source"] == "llm"
        assert sentiment["label"] == label_for(out[post["id"]]["text_clean"])[0]
    received = openai_server.everything_received()
    assert len(openai_server.sent_posts()) == len(POSTS)
    for secret in PLANTED:
        assert secret not in received, secret
