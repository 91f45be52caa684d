"""`tendencias backfill` with its default flags finds a story told in different words: real
tweets at a natural rate (../shared/data/sentiment, re-timed), and ten posts in 30 minutes about
a fire at a refinery in which no content word appears more than twice. One alert, within 15
minutes of the first post, telling the story; every record has its lifecycle stage and breakdown."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter

import pytest

from tendencias.models.text.normalise import post_tokens
from tendencias.records import iso_utc
from tests.conftest import shared_data_dir

pytestmark = pytest.mark.slow

START = 1_767_243_600_000  # 2026-01-01 00:00 in Lima
DAY, MIN = 86_400_000, 60_000
STORY = [  # written for this test
    "Fuerte explosión en la refinería, se ve humo negro desde Ventanilla",
    "acaban de evacuar a los trabajadores de la planta de combustible, hubo un estallido",
    "Se escuchó un estruendo horrible por el Callao y ahora sale una columna gris enorme",
    "incendio en una planta petrolera, los bomberos ya están llegando",
    "¿alguien sabe qué explotó? tiemblan las ventanas de mi casa por el puerto",
    "Dicen que reventó un tanque de crudo, hay heridos",
    "Las llamas se ven desde la Costa Verde, qué miedo",
    "Cierran la avenida Gambetta por el siniestro en la refinadora",
    "Mi primo trabaja ahí y no contesta el celular, estoy desesperada",
    "El cielo del puerto está oscuro por la humareda del fuego",
]


def test_a_story_in_many_words_is_one_alert_within_15_minutes(tmp_path):
    data = shared_data_dir()
    if data is None:
        pytest.skip("reference data not found (../shared/data or TENDENCIAS_SHARED_DATA)")
    words = Counter(t for text in STORY for t in set(post_tokens(text)["tokens"]) if " " not in t)
    assert max(words.values()) <= 2  # the story shares meaning, not words
    texts = [line.strip() for line in (data / "sentiment/umsab_es/train_text.txt").open(encoding="utf-8")]
    rng = random.Random(4)
    posts, t = [], START
    while t < START + 2 * DAY:  # about 150 posts a day
        t += int(rng.expovariate(150 / DAY))
        posts.append({"id": f"bg{len(posts)}", "text": rng.choice(texts), "created_at": iso_utc(t)})
        posts[-1]["author"] = f"u{rng.randrange(5000)}"
    first = START + DAY + 15 * 3_600_000  # 15:00 in Lima on the second day
    story = [
        {"id": f"story{i}", "text": text, "created_at": iso_utc(first + i * 3 * MIN), "author": f"s{i}"}
        for i, text in enumerate(STORY)
    ]
    path = tmp_path / "posts.jsonl"
    rows = sorted(posts + story, key=lambda p: p["created_at"])
    path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in rows), encoding="utf-8")
    env = dict(os.environ, TENDENCIAS_PSEUDONYM_SALT="stories")
    env.pop("OPENAI_API_KEY", None)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tendencias.cli",
            "backfill",
            "--input",
            str(path),
            "--output",
            str(tmp_path / "out"),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    trends = [json.loads(line) for line in (tmp_path / "out" / "trends.jsonl").open(encoding="utf-8")]
    assert all(t["stage"] and set(t["breakdown"]) == {"region", "segment"} for t in trends)
    alerts = [t for t in trends if t["severity"] == "alert"]
    about = [
        a for a in alerts if sum(e["id"].startswith("story") for e in a["examples"]) * 2 > len(a["examples"])
    ]
    assert len(about) == 1, [(a["kind"], a["key"], a["window_end"]) for a in about]
    [alert] = about
    assert alert["kind"] == "cluster" and alert["stage"] == "emerging"
    assert (alert["window_end"] > iso_utc(first)) and (alert["window_end"] <= iso_utc(first + 15 * MIN))
    assert (
        alert["story"] == alert["episode"]
        and alert["title"]
        and alert["story_keys"][0]["key"] == alert["key"]
    )
    members = [t for t in trends if t.get("story") == alert["story"]]
    assert all(m["severity"] != "alert" for m in members if m is not alert and m["status"] == "related")
    others = [a for a in alerts if a is not alert]
    assert len(others) <= 1, [(a["kind"], a["key"], a["window_end"]) for a in others]
