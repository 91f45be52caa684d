"""The PyFlink job on the local Flink mini-cluster against the real broker: a post produced
while it runs comes out in a trend record; killed with SIGKILL and restored from its last
checkpoint, it counts every post exactly once."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import pytest

from tests.integration.flink_helpers import committed_consumer, kill_job, poll_trends, start_job, tail
from tests.integration.kafka_helpers import produce_posts

pytestmark = pytest.mark.integration


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _post(brand: str, at_ms: int, n: int = 0) -> dict:
    tag = uuid.uuid4().hex[:8]
    return {
        "id": f"{tag}-{n}",
        "text": f"probando {brand} con sabor{tag}",  # distinct texts: no per-text cap applies
        "created_at": _iso(at_ms),
        "source": "review",
        "author": f"tester{tag}",
        "brand": brand,
        "region": "Lima",
    }


def _job_args(bootstrap: str, topics: dict, group: str, checkpoints, window: str, slide: str) -> list[str]:
    return [
        f"--kafka_bootstrap={bootstrap}",
        f"--posts_topic={topics['posts']}",
        f"--scores_topic={topics['scores']}",
        f"--alerts_topic={topics['alerts']}",
        f"--dead_letter_topic={topics['dead']}",
        f"--group_id={group}",
        f"--trend_window={window}",
        f"--trend_slide={slide}",
        "--long_window=0",
        "--allowed_lateness=0",
        "--checkpoint_interval=1s",
        f"--checkpoint_dir={checkpoints}",
    ]


def _topics(kafka_topic) -> dict:
    return {name: kafka_topic(f"flink-{name}") for name in ("posts", "scores", "alerts", "dead")}


def test_post_produced_while_running_reaches_a_trend_record(flink_sh, kafka_bootstrap, kafka_topic, tmp_path):
    topics, log = _topics(kafka_topic), tmp_path / "job.log"
    args = _job_args(kafka_bootstrap, topics, f"t-{uuid.uuid4().hex[:8]}", tmp_path / "chk", "4s", "2s")
    job = start_job(flink_sh, args, log)
    consumer = committed_consumer(kafka_bootstrap, topics["scores"])
    stop = threading.Event()

    def clock():  # posts of another brand at the current time move the watermark on
        while not stop.is_set():
            produce_posts(kafka_bootstrap, topics["posts"], [_post("Marca Reloj", int(time.time() * 1000))])
            stop.wait(1.0)

    ticker = threading.Thread(target=clock, daemon=True)
    ticker.start()
    try:
        deadline = time.monotonic() + 180
        while job.poll() is None and time.monotonic() < deadline:  # up once the clock's trend shows
            if any(t["key"] == "marca reloj" for t in poll_trends(consumer, 2)):
                break
        else:
            pytest.fail(f"the job emitted no trend record (exit {job.poll()}):\n{tail(log)}")
        marker = f"Marca {uuid.uuid4().hex[:8]}"
        produced_at = time.monotonic()
        produce_posts(kafka_bootstrap, topics["posts"], [_post(marker, int(time.time() * 1000))])
        found = []
        while not found and time.monotonic() < produced_at + 60:
            found = [
                t for t in poll_trends(consumer, 1) if t["kind"] == "brand" and t["key"] == marker.lower()
            ]
        assert found, f"no trend record counted the post produced while running:\n{tail(log)}"
        assert job.poll() is None, "the trend came out only because the job ended"
        assert found[0]["count"] == 1 and found[0]["horizon"] == "4s"
        print(f"post to committed trend record: {time.monotonic() - produced_at:.1f} s")
    finally:
        stop.set()
        ticker.join(timeout=10)
        consumer.close()
        kill_job(job)


def test_killed_job_restores_from_its_checkpoint_and_counts_every_post_once(
    flink_sh, kafka_bootstrap, kafka_topic, tmp_path
):
    """300 posts of one brand, 4 per 2-second period (windows of one period), in three batches
    with a SIGKILL of the whole job between the second and the third. Every period's record
    must come out once (no duplicates, the sinks are transactional) and their `posts` must
    add up to 300 (nothing lost)."""
    topics, log, checkpoints = _topics(kafka_topic), tmp_path / "job.log", tmp_path / "chk"
    args = _job_args(kafka_bootstrap, topics, f"t-{uuid.uuid4().hex[:8]}", checkpoints, "2s", "2s")
    start = (int(time.time() * 1000) - 3_600_000) // 2000 * 2000
    posts = [_post("Marca Conteo", start + 500 * i + 100, i) for i in range(300)]
    consumer = committed_consumer(kafka_bootstrap, topics["scores"])
    seen: list[dict] = []

    def counted() -> list[dict]:
        seen.extend(t for t in poll_trends(consumer, 1) if t["key"] == "marca conteo")
        return seen

    job = start_job(flink_sh, args, log)
    try:
        produce_posts(kafka_bootstrap, topics["posts"], posts[:100])
        deadline = time.monotonic() + 180
        while not counted() or not list(checkpoints.glob("*/chk-*/_metadata")):
            assert job.poll() is None and time.monotonic() < deadline, f"no trend or checkpoint:\n{tail(log)}"
        produce_posts(kafka_bootstrap, topics["posts"], posts[100:200])
        time.sleep(1.5)  # mid-stream: some of the batch processed, some in flight
        kill_job(job)
        before = len(counted())
        killed_at = time.monotonic()
        job = start_job(flink_sh, [*args, "--restore=latest"], log)
        produce_posts(kafka_bootstrap, topics["posts"], posts[200:])
        clock = _post("Marca Reloj", start + 500 * 300 + 10_000)  # closes the last period
        produce_posts(kafka_bootstrap, topics["posts"], [clock])
        deadline = time.monotonic() + 180
        while sum(t["posts"] for t in counted()) < 300 and time.monotonic() < deadline:
            assert job.poll() is None, f"restored job exited:\n{tail(log)}"
        restored_in = time.monotonic() - killed_at
    finally:
        consumer.close()
        kill_job(job)
    assert "restoring from" in log.read_text(), "the second run did not restore from a checkpoint"
    ends = [t["window_end"] for t in seen]
    assert len(ends) == len(set(ends)), "a period's record came out twice across the restart"
    assert len(set(ends)) == 75, f"expected 75 periods, got {len(set(ends))}:\n{tail(log)}"
    assert sum(t["posts"] for t in seen) == 300
    assert all(t["posts"] == 4 for t in seen)
    print(
        f"{before} records before the kill, {len(seen)} in all; all counted {restored_in:.1f} s after the kill"
    )
