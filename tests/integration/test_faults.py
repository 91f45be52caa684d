"""Faults, on the real broker and Prism, with the job's default flags (10m allowed lateness, 6h
warm-up, 15m/3m and 1d/1h horizons) and an archive:

- SIGKILL of the whole job mid-stream, then a restart with the same group: every produced post
  is in the archive at least once (copies counted), and the restart sends no record of a
  window the first run had written.
- The broker stopped for 20 s mid-stream and started again (a broker of the test's own, on
  another port): the job keeps running and archives every post.
- A drain (SIGTERM, --duration) archives every post read and commits to the end, then exits.
- A restart alerts at once: its trend state comes back from the archive (warm start), so a
  burst right after the restart alerts although the new run has seen no history itself.

benchmarks/bench_faults.py runs the first two and prints their numbers.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tendencias.records import window_end_ms
from tendencias.transforms.kafka.offsets import read_durable
from tests.fault_helpers import Broker, Job, free_port_pair, post, produce, spread

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _tag(what: str) -> str:
    return f"{what}-{uuid.uuid4().hex[:8]}"


def _wait_for(check, timeout: float, job: Job, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert job.process.poll() is None, f"the job ended while waiting for {what}:\n{job.log_tail()}"
        assert time.monotonic() < deadline, f"no {what} after {timeout:.0f}s:\n{job.log_tail()}"
        time.sleep(1)


def _durable_ms(job: Job) -> int | None:
    marks = [read_durable(meta) for _, meta in job.committed().values()]
    return max((m for m in marks if m is not None), default=None)


def test_sigkill_mid_stream_and_restart_archives_every_post(kafka_bootstrap, prism_location, tmp_path):
    tag = _tag("kill")
    job = Job(kafka_bootstrap, tag, tmp_path, prism_location)
    job.create_topics()
    posts = spread(3000, datetime.now(UTC) - timedelta(hours=8), timedelta(hours=4), tag)
    try:
        produce(kafka_bootstrap, job.topics["posts"], posts[:1500])
        job.start()
        _wait_for(lambda: any(offset for offset, _ in job.committed().values()), 300, job, "commit")
        produce(kafka_bootstrap, job.topics["posts"], posts[1500:2250])
        job.kill()  # mid-stream: posts read but not archived, windows open, offsets behind
        committed, ends = job.committed(), job.end_offsets()
        assert sum(offset or 0 for offset, _ in committed.values()) < sum(ends.values()), (
            "everything was committed before the kill: nothing was in flight"
        )
        written_before = len(job.trend_records())
        emitted_through = _durable_ms(job)

        job.start()
        produce(kafka_bootstrap, job.topics["posts"], posts[2250:])
        ids = {p["id"] for p in posts}
        assert job.wait_archived(ids, timeout=600), f"posts missing from the archive:\n{job.log_tail()}"
        assert job.terminate() == 0, f"the restarted job did not drain:\n{job.log_tail()}"
    finally:
        job.stop_quietly()
    archived = job.archived_ids()
    lost = ids - set(archived)
    copies = sum(n - 1 for i, n in archived.items() if i in ids)
    print(
        f"SIGKILL: produced {len(ids)}, archived {sum(archived.values())}, lost {len(lost)}, copies {copies}"
    )
    assert not lost
    assert job.committed() and {p: o for p, (o, _) in job.committed().items()} == job.end_offsets()
    again = [
        t
        for t in job.trend_records()[written_before:]
        if emitted_through and t.get("revision", 0) == 0 and window_end_ms(t) <= emitted_through
    ]
    assert not again, (
        f"the restart sent again {len(again)} records of windows the first run wrote: {again[:2]}"
    )


@pytest.fixture
def own_broker():
    broker = Broker(free_port_pair())
    try:
        broker.start()
    except RuntimeError as err:
        pytest.skip(f"could not start a broker of the test's own: {err}")
    yield broker
    broker.stop()
    broker.remove()


def test_broker_stopped_for_20s_mid_stream_loses_nothing(own_broker, prism_location, tmp_path):
    tag = _tag("bounce")
    job = Job(own_broker.bootstrap, tag, tmp_path, prism_location)
    job.create_topics()
    posts = spread(2000, datetime.now(UTC) - timedelta(hours=2), timedelta(hours=2), tag)
    try:
        produce(own_broker.bootstrap, job.topics["posts"], posts[:1000])
        job.start()
        _wait_for(lambda: len(job.archived_ids()) >= 500, 300, job, "archived posts")
        own_broker.stop()
        time.sleep(20)
        assert job.process.poll() is None, f"the job died with the broker:\n{job.log_tail()}"
        own_broker.start()
        produce(own_broker.bootstrap, job.topics["posts"], posts[1000:])
        ids = {p["id"] for p in posts}
        assert job.wait_archived(ids, timeout=600), f"posts missing after the bounce:\n{job.log_tail()}"
        assert job.process.poll() is None, "the job stopped"
        assert job.terminate() == 0, f"the job did not drain:\n{job.log_tail()}"
    finally:
        job.stop_quietly()
    archived = job.archived_ids()
    print(
        f"broker bounce: produced {len(ids)}, archived {sum(archived.values())}, lost {len(ids - set(archived))}"
    )
    assert ids <= set(archived)


def test_duration_drains_every_post_read_and_commits_to_the_end(kafka_bootstrap, prism_location, tmp_path):
    tag = _tag("drain")
    job = Job(kafka_bootstrap, tag, tmp_path, prism_location, extra=("--duration=90s",))
    job.create_topics()
    # the last hour open when the run ends: before the drain, its posts were lost (issue 9)
    posts = spread(1200, datetime.now(UTC) - timedelta(minutes=100), timedelta(minutes=100), tag)
    produce(kafka_bootstrap, job.topics["posts"], posts)
    try:
        job.start()
        assert job.process.wait(timeout=400) == 0, f"the job did not drain by itself:\n{job.log_tail()}"
    finally:
        job.stop_quietly()
    assert set(job.archived_ids()) == {p["id"] for p in posts}
    assert {p: o for p, (o, _) in job.committed().items()} == job.end_offsets()
    assert "drained in" in job.log_tail(200)


def test_a_restart_alerts_at_once_from_the_warm_start(kafka_bootstrap, prism_location, tmp_path):
    tag = _tag("warm")
    job = Job(kafka_bootstrap, tag, tmp_path, prism_location)
    job.create_topics()
    now = datetime.now(UTC)
    history = spread(900, now - timedelta(hours=7, minutes=10), timedelta(hours=7), tag)
    try:
        produce(kafka_bootstrap, job.topics["posts"], history)
        job.start()
        _wait_for(lambda: len(job.archived_ids()) == len(history), 400, job, "the whole history archived")
        assert job.terminate() == 0, f"the first run did not drain:\n{job.log_tail()}"

        job.start()  # knows nothing but what the archive gives it back
        time.sleep(20)
        burst = [
            dict(
                post(10_000 + i, datetime.now(UTC), tag),
                text=f"probé el maracuyá picante {i}, {w}",
                author=f"fan{i}",
            )
            for i, w in enumerate(
                ("increíble", "qué rico", "me encanta", "raro", "pica", "lo quiero", "top", "wow")
            )
        ]
        produce(kafka_bootstrap, job.topics["posts"], burst)
        alerts: list[dict] = []

        def alerted() -> bool:
            alerts[:] = [
                t
                for t in job.trend_records(timeout=3)
                if t["severity"] == "alert" and "picante" in t["key"] and t["horizon"] == "15m"
            ]
            return bool(alerts)

        _wait_for(alerted, 600, job, "an alert on the burst")
        assert job.terminate() == 0
    finally:
        job.stop_quietly()
    assert alerts[0]["status"] == "new" and alerts[0]["count"] >= 4
