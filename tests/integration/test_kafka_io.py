"""ReadFromKafka / WriteToKafka against the real broker, on DirectRunner (bounded) and Prism (streaming)."""

from __future__ import annotations

import base64
import json
import threading
import time

import apache_beam as beam
import pytest
from apache_beam.metrics import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.runner import PipelineState
from apache_beam.testing.util import assert_that, equal_to
from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from tendencias.transforms.kafka.offsets import mark_metadata
from tendencias.transforms.kafka.read import KafkaDeliveryError, ReadFromKafka, WriteToKafka
from tendencias.transforms.parse import ParsePosts
from tests.integration.kafka_helpers import produce, produce_posts, read_all

pytestmark = pytest.mark.integration

TEXTS = [
    "la nueva chicha sin azúcar está buenaza",
    "too sweet but the mango one is great",
    "ya no encuentro la de maracuyá en Arequipa",
    "precio subió otra vez, 4 soles la botella",
]
BAD = {
    b"{not json at all": "not_json",
    b"\xff\xfe\xfa not utf-8": "not_utf8",
    json.dumps({"text": "sin id", "created_at": "2025-03-01T12:00:00Z"}).encode(): "missing_id",
    json.dumps({"id": "bad-4", "created_at": "2025-03-01T12:00:00Z"}).encode(): "missing_text",
    json.dumps(
        {"id": "bad-5", "text": ["lista"], "created_at": "2025-03-01T12:00:00Z"}
    ).encode(): "wrong_type",
}


def make_post(i: int, created_ms: int | None = None) -> dict:
    created = created_ms if created_ms is not None else 1740830400000 + i * 1000
    return {"id": f"post-{i}", "text": TEXTS[i % len(TEXTS)], "created_at": created, "source": "twitter"}


def counter(result, name: str) -> int:
    found = result.metrics().query(MetricsFilter().with_namespace("kafka").with_name(name))["counters"]
    return sum(c.committed for c in found)


def direct() -> beam.Pipeline:
    return beam.Pipeline(options=PipelineOptions([], runner="DirectRunner"))


def bounded_read(bootstrap: str, topic: str, group: str, start: str):
    return ReadFromKafka(
        bootstrap, [topic], group_id=group, start=start, bounded=True, event_time_field="created_at"
    )


def test_bounded_read_yields_exactly_n_posts_and_dead_letters_the_planted_ones(kafka_bootstrap, kafka_topic):
    posts_topic, dead_topic = kafka_topic("posts", partitions=3), kafka_topic("dead", partitions=1)
    posts = [make_post(i) for i in range(500)]
    produce_posts(kafka_bootstrap, posts_topic, posts[:250])
    bad_where = dict(zip(BAD, produce(kafka_bootstrap, posts_topic, list(BAD)), strict=True))
    produce_posts(kafka_bootstrap, posts_topic, posts[250:])

    pipeline = direct()
    raw = pipeline | bounded_read(kafka_bootstrap, posts_topic, "it-a", "earliest")
    parsed = raw | ParsePosts()
    ids = parsed.posts | beam.Map(lambda p, ts=beam.DoFn.TimestampParam: (p["id"], ts.micros // 1000))
    assert_that(ids, equal_to([(p["id"], p["created_at"]) for p in posts]))
    parsed[ParsePosts.DEAD_LETTER] | WriteToKafka(kafka_bootstrap, dead_topic, key_fn=lambda d: d["reason"])
    result = pipeline.run()
    result.wait_until_finish()
    assert counter(result, "records_read") == 505

    letters = [json.loads(r.value) for r in read_all(kafka_bootstrap, dead_topic, expected=5)]
    assert len(letters) == 5
    by_raw = {base64.b64decode(d["raw_b64"]): d for d in letters}
    assert set(by_raw) == set(BAD)
    for value, reason in BAD.items():
        letter = by_raw[value]
        assert (letter["reason"], letter["stage"], letter["topic"]) == (reason, "parse", posts_topic)
        assert (letter["partition"], letter["offset"]) == bad_where[value]


def test_offsets_committed_after_bounded_read_and_next_read_resumes(kafka_bootstrap, kafka_topic):
    topic = kafka_topic("resume", partitions=3)
    produce_posts(kafka_bootstrap, topic, [make_post(i) for i in range(60)])

    def read_expecting(ids: list[str]) -> None:
        pipeline = direct()
        records = pipeline | bounded_read(kafka_bootstrap, topic, "it-b", "committed")
        found = records | ParsePosts()
        assert_that(found.posts | beam.Map(lambda p: p["id"]), equal_to(ids))
        pipeline.run().wait_until_finish()

    read_expecting([f"post-{i}" for i in range(60)])
    checker = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id="it-b", enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in range(3)]
    ends = checker.end_offsets(partitions)
    assert {tp: checker.committed(tp) for tp in partitions} == ends
    checker.close()

    produce_posts(kafka_bootstrap, topic, [make_post(i) for i in range(60, 80)])
    read_expecting([f"post-{i}" for i in range(60, 80)])


def test_redelivered_records_are_counted_after_a_restart(kafka_bootstrap, kafka_topic):
    topic = kafka_topic("redeliver", partitions=1)
    produce_posts(kafka_bootstrap, topic, [make_post(i) for i in range(30)])
    # A crashed run: offsets 10..19 were emitted, but only the commit of offset 10 happened.
    crashed = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id="it-r", enable_auto_commit=False)
    crashed.commit({TopicPartition(topic, 0): OffsetAndMetadata(10, mark_metadata(19), -1)})
    crashed.close()

    pipeline = direct()
    offsets = (
        pipeline
        | ReadFromKafka(kafka_bootstrap, [topic], group_id="it-r", bounded=True)
        | beam.Map(lambda r: r.offset)
    )
    assert_that(offsets, equal_to(list(range(10, 30))))
    result = pipeline.run()
    result.wait_until_finish()
    assert counter(result, "redelivered") == 10
    assert counter(result, "records_read") == 20


def test_write_delivery_error_fails_the_pipeline(kafka_bootstrap):
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    topic = f"small-{time.monotonic_ns()}"
    admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": "1024"})])
    try:
        pipeline = direct()
        big = {"id": "big", "text": "ñ" * 4000}
        pipeline | beam.Create([{"id": "ok", "text": "hola"}, big]) | WriteToKafka(kafka_bootstrap, topic)
        with pytest.raises(Exception, match="not delivered") as caught:
            pipeline.run().wait_until_finish()
        assert "MessageSizeTooLarge" in str(caught.value) or isinstance(caught.value, KafkaDeliveryError)
    finally:
        admin.delete_topics([topic])
        admin.close()


@pytest.mark.slow
def test_streaming_read_on_prism_emits_windows_while_running(kafka_bootstrap, kafka_topic, prism_location):
    source, sink = kafka_topic("live", partitions=2), kafka_topic("counts", partitions=1)
    # Beam shares one Prism job server per process, and DirectRunner creates it without our binary.
    options = PipelineOptions(
        [],
        runner="PrismRunner",
        prism_location=prism_location,
        streaming=True,
        experiments=["disable_prism_server_singleton"],
    )
    pipeline = beam.Pipeline(options=options)
    (
        pipeline
        | ReadFromKafka(
            kafka_bootstrap,
            [source],
            group_id="it-live",
            event_time_field="created_at",
            idle_advance_seconds=1.0,
        )
        | beam.WindowInto(beam.window.FixedWindows(2))
        | beam.combiners.Count.Globally().without_defaults()
        | beam.Map(lambda n, w=beam.DoFn.WindowParam: {"window_start": w.start.micros // 1000, "count": n})
        | WriteToKafka(kafka_bootstrap, sink)
    )
    result = pipeline.run()
    try:
        deadline = time.monotonic() + 30
        while result.state != PipelineState.RUNNING and time.monotonic() < deadline:
            time.sleep(0.2)
        assert result.state == PipelineState.RUNNING
        time.sleep(2)  # the job is up; everything below is produced after it started

        def produce_live():
            for wave in range(4):
                now = int(time.time() * 1000)
                produce_posts(kafka_bootstrap, source, [make_post(wave * 10 + i, now) for i in range(10)])
                time.sleep(0.5)

        producer = threading.Thread(target=produce_live)
        producer.start()
        producer.join()
        windows = []
        while sum(w["count"] for w in windows) < 40 and time.monotonic() < deadline + 15:
            windows = [json.loads(r.value) for r in read_all(kafka_bootstrap, sink, expected=40, timeout=2)]
        assert sum(w["count"] for w in windows) == 40, windows
        assert result.state == PipelineState.RUNNING  # the windows fired while the job kept running
    finally:
        result.cancel()
