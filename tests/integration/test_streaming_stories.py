"""`tendencias run` on Prism against the real broker tells a story as it happens: posts that say
one thing in different words become one story alert on the alerts topic, while the job runs
(short windows and warm-up, the default story flags)."""

from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaConsumer

from tests.integration.job_helpers import job_log_tail, start_job, stop_job
from tests.integration.kafka_helpers import produce_posts

pytestmark = pytest.mark.integration

CHATTER = [  # written for this test: ordinary posts about many things
    "qué rico el ceviche de hoy en el almuerzo",
    "mañana hay examen de matemática y no estudié nada",
    "el tráfico en la Javier Prado está horrible",
    "vi la final de la serie anoche, buenaza",
    "mi gato tiró todas las plantas del balcón",
    "alguien sabe a qué hora abre el banco los sábados",
    "se me malogró la laptop justo antes de entregar",
    "hoy toca gimnasio aunque no quiera",
    "qué buena música ponen en esta radio",
    "el concierto del sábado fue increíble",
    "ya llegó el frío a Lima, saquen las chompas",
    "me quedé dormido en el bus y me pasé de paradero",
]
STORY = [  # one happening, told in different words
    "Fuerte explosión en la refinería, se ve humo negro desde Ventanilla",
    "evacuaron a los trabajadores de la planta de combustible, hubo un estallido",
    "incendio en una planta petrolera, los bomberos ya están llegando",
    "dicen que reventó un tanque de crudo en el puerto, hay heridos",
    "las llamas se ven desde la costa, qué miedo",
    "el cielo está gris por la humareda del fuego en la refinadora",
]


def _post(text: str, at: datetime | None = None) -> dict:
    created = (at or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"id": uuid.uuid4().hex, "text": text, "created_at": created, "author": f"u{uuid.uuid4().hex[:6]}"}


def test_a_story_in_different_words_is_one_alert_while_the_job_runs(
    kafka_bootstrap, kafka_topic, prism_location, tmp_path
):
    posts, scores, alerts, dead = (kafka_topic(name) for name in ("posts", "scores", "alerts", "dead"))
    command = [
        sys.executable,
        "-m",
        "tendencias.cli",
        "run",
        f"--kafka_bootstrap={kafka_bootstrap}",
        f"--posts_topic={posts}",
        "--sales_topic=",
        f"--scores_topic={scores}",
        f"--alerts_topic={alerts}",
        "--briefs_topic=",
        f"--dead_letter_topic={dead}",
        f"--group_id=test-{uuid.uuid4().hex[:8]}",
        "--start_offset=earliest",
        "--trend_window=6s",
        "--trend_slide=2s",
        "--long_window=0",
        "--warmup=2s",
        "--sentiment_backend=local",
        f"--prism_location={prism_location}",
    ]
    job = start_job(command, tmp_path)
    consumer = KafkaConsumer(
        alerts,
        scores,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    found: dict[str, list[dict]] = {"scores": [], "alerts": []}
    try:
        # An hour of ordinary chatter first, dated in the past (the clusters' mean, and the
        # warm-up: the stream's volumes the scorer warms up on come in hourly slots), until the
        # job has emitted records.
        start = datetime.now(UTC) - timedelta(minutes=70)
        sent = 0
        deadline = time.monotonic() + 180
        while job.poll() is None and time.monotonic() < deadline and not found["scores"]:
            at = [start + timedelta(minutes=2 * (sent + i)) for i in range(6)]
            produce_posts(
                kafka_bootstrap,
                posts,
                [_post(CHATTER[(sent + i) % len(CHATTER)], t) for i, t in enumerate(at)],
            )
            sent = min(sent + 6, 33)  # at most up to two minutes ago
            _poll(consumer, found, scores, alerts)
        assert found["scores"], f"the job emitted nothing (exit {job.poll()}):\n{job_log_tail(tmp_path)}"
        produce_posts(kafka_bootstrap, posts, [_post(text) for text in STORY])
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not any(a["kind"] == "cluster" for a in found["alerts"]):
            _poll(consumer, found, scores, alerts)
        story = [a for a in found["alerts"] if a["kind"] == "cluster"]
        assert story, f"no story alert; alerts {found['alerts']}\n{job_log_tail(tmp_path)}"
        assert job.poll() is None, "the alert came out only because the job ended"
        [alert] = story
        assert alert["story"] == alert["episode"] and alert["title"] and alert["count"] >= 4
        assert alert["stage"] == "emerging"
    finally:
        consumer.close()
        stop_job(job)


def _poll(consumer: KafkaConsumer, found: dict, scores: str, alerts: str) -> None:
    for part, batch in consumer.poll(timeout_ms=1000).items():
        for record in batch:
            found["alerts" if part.topic == alerts else "scores"].append(json.loads(record.value))
