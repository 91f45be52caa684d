"""`tendencias run` as users start it: on Prism, against the real broker, in true streaming,
with the default flags (allowed lateness, warm-up, both horizons) but for shorter windows.

A post produced after the job started (sales flowing too, as by default) must show up in a
trend record of each horizon while the job is still running: windows fire on the watermark, not at the end of input or of the allowed
lateness. A late post (event time inside a window already emitted) revises that record: the
same (kind, key, horizon, window_end), one revision more.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaConsumer

from tests.integration.job_helpers import job_log_tail, start_job, stop_job
from tests.integration.kafka_helpers import produce, produce_posts

pytestmark = pytest.mark.integration


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _post(text: str, brand: str, at: datetime | None = None) -> dict:
    return {
        "id": uuid.uuid4().hex,
        "text": text,
        "created_at": _iso(at or datetime.now(UTC)),
        "source": "review",
        "author": f"tester{uuid.uuid4().hex[:6]}",
        "brand": brand,
        "region": "Lima",
    }


def _sale() -> dict:
    return {
        "id": uuid.uuid4().hex,
        "ts": _iso(datetime.now(UTC)),
        "sku": "PRB-500",
        "product": "bebida de prueba 500ml",
        "category": "gaseosa",
        "region": "Lima",
        "units": 3,
        "revenue": 7.5,
    }


def _trends_with(
    consumer: KafkaConsumer,
    kind: str,
    key: str,
    deadline: float,
    horizons: set[str] | None = None,
    revised: bool = False,
) -> list[dict]:
    """The key's records until one of each of `horizons` (any, if None) has come, or the
    deadline; with `revised`, only revisions count."""
    found: list[dict] = []

    def done() -> bool:
        seen = {t["horizon"] for t in found if t.get("revision", 0) > 0 or not revised}
        return bool(seen) and (horizons is None or horizons <= seen)

    while not done() and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            for record in batch:
                trend = json.loads(record.value)
                if (
                    trend["kind"] == kind
                    and trend["key"] == key
                    and (trend.get("revision", 0) > 0 or not revised)
                ):
                    found.append(trend)
    return found


def test_post_produced_while_running_reaches_a_trend_record(
    kafka_bootstrap, kafka_topic, prism_location, tmp_path
):
    topics = ("posts", "sales", "scores", "alerts", "dead")
    posts, sales, scores, alerts, dead = (kafka_topic(name) for name in topics)
    command = [
        sys.executable,
        "-m",
        "tendencias.cli",
        "run",
        f"--kafka_bootstrap={kafka_bootstrap}",
        f"--posts_topic={posts}",
        f"--sales_topic={sales}",  # the default job reads sales too
        f"--scores_topic={scores}",
        f"--alerts_topic={alerts}",
        f"--dead_letter_topic={dead}",
        f"--group_id=test-{uuid.uuid4().hex[:8]}",
        "--start_offset=earliest",
        "--trend_window=4s",
        "--trend_slide=2s",
        "--long_window=12s",
        "--long_slide=6s",
        "--sentiment_backend=local",
        f"--prism_location={prism_location}",
    ]
    job = start_job(command, tmp_path)
    consumer = KafkaConsumer(
        scores, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    try:
        produce(kafka_bootstrap, sales, [json.dumps(_sale()).encode()])
        # The job is up once a warm-up post has come out as a trend record.
        deadline = time.monotonic() + 120
        while job.poll() is None and time.monotonic() < deadline:
            produce_posts(
                kafka_bootstrap, posts, [_post("probando la bebida de prueba", "Marca Calentamiento")]
            )
            if _trends_with(consumer, "brand", "marca calentamiento", time.monotonic() + 3):
                break
        else:
            pytest.fail(
                f"the job did not emit a warm-up trend (exit {job.poll()}):\n{job_log_tail(tmp_path)}"
            )

        marker = f"Marca {uuid.uuid4().hex[:8]}"
        produced_at = time.monotonic()
        produce_posts(kafka_bootstrap, posts, [_post(f"me encanta la nueva {marker}", marker)])
        found = _trends_with(consumer, "brand", marker.lower(), time.monotonic() + 60, horizons={"4s", "12s"})
        assert {t["horizon"] for t in found} == {"4s", "12s"}, (
            f"not every horizon counted the post produced while running: {found}\n{job_log_tail(tmp_path)}"
        )
        assert job.poll() is None, "the trend came out only because the job ended"
        assert all(t["count"] >= 1 and t["revision"] == 0 for t in found)
        assert time.monotonic() - produced_at < 60

        # A late post: its event time is inside the short window already emitted.
        first = next(t for t in found if t["horizon"] == "4s")
        end = datetime.fromisoformat(first["window_end"].replace("Z", "+00:00"))
        late = _post(f"tarde pero seguro, la {marker}", marker, at=end - timedelta(milliseconds=500))
        produce_posts(kafka_bootstrap, posts, [late])
        identity = ("brand", marker.lower(), "4s", first["window_end"])
        revised = [
            t
            for t in _trends_with(
                consumer, "brand", marker.lower(), time.monotonic() + 60, horizons={"4s"}, revised=True
            )
            if (t["kind"], t["key"], t["horizon"], t["window_end"]) == identity
        ]
        assert revised, f"the late post did not revise {identity}:\n{job_log_tail(tmp_path)}"
        assert revised[0]["revision"] == 1
        assert revised[0]["posts"] == first["posts"] + 1
    finally:
        consumer.close()
        stop_job(job)
