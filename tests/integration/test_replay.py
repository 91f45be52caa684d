"""tendencias replay against the real broker: keys, timestamps, per-partition order, dead letters."""

from __future__ import annotations

import base64
import json
import random

import pytest

from tendencias.tools import replay
from tests.integration.kafka_helpers import read_all

pytestmark = pytest.mark.integration


def test_replay_produces_in_event_time_order_with_keys_and_timestamps(kafka_bootstrap, kafka_topic, tmp_path):
    topic, dead_topic = kafka_topic("replay", partitions=3), kafka_topic("replay-dead", partitions=1)
    rng = random.Random(7)
    times = {f"post-{i}": 1740830400000 + rng.randrange(0, 3_600_000) for i in range(300)}
    lines = [
        json.dumps({"id": pid, "text": "la chicha de jora volvió", "created_at": t})
        for pid, t in times.items()
    ]
    bad = ["{roto", json.dumps({"id": "sin-texto", "created_at": 1740830400000})]
    lines[10:10] = bad  # lines 11 and 12 of the file
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    argv = [
        str(path),
        "--topic",
        topic,
        "--bootstrap-servers",
        kafka_bootstrap,
        "--dead-letter-topic",
        dead_topic,
        "--quiet",
    ]
    assert replay.main(argv) == 0

    records = read_all(kafka_bootstrap, topic, expected=300)
    assert len(records) == 300
    for record in records:
        post = json.loads(record.value)
        assert record.key.decode() == post["id"]
        assert record.timestamp == times[post["id"]] == post["created_at"]
    for partition in {r.partition for r in records}:
        in_partition = sorted((r for r in records if r.partition == partition), key=lambda r: r.offset)
        stamps = [r.timestamp for r in in_partition]
        assert stamps == sorted(stamps), f"partition {partition} is not in event-time order"

    letters = [json.loads(r.value) for r in read_all(kafka_bootstrap, dead_topic, expected=2)]
    assert sorted((d["reason"], d["offset"], d["stage"]) for d in letters) == [
        ("missing_text", 12, "replay"),
        ("not_json", 11, "replay"),
    ]
    assert {base64.b64decode(d["raw_b64"]).decode() for d in letters} == set(bad)
