"""One alert per story: StoryGrouper joins alerts on the same posts, on posts the story already
had, or meaning the same (its example posts embedded); the lead tells the story."""

from __future__ import annotations

import zlib

from tendencias.models.stories.grouping import StoryGrouper
from tendencias.models.trends.groups import Evidence, Scored
from tendencias.records import iso_utc

T0 = 1_767_225_600_000
MIN = 60_000
FIRE = [
    "Fuerte explosión en la refinería, se ve humo negro desde Ventanilla",
    "evacuaron a los trabajadores de la planta de combustible tras el estallido",
    "incendio en una planta petrolera, los bomberos ya están llegando",
]
FIRE_LATER = [
    "las llamas se ven desde la costa, qué miedo",
    "dicen que reventó un tanque de crudo en el puerto, hay heridos",
    "el cielo está gris por la humareda del fuego en la refinería",
]
MATCH = [
    "golazo de Perú en el último minuto, qué partidazo",
    "la selección clasifica, todo el barrio sale a festejar",
    "ganamos 2-1, arriba la bicolor",
]


def alert(kind: str, key: str, end: int, texts: list[str], ids: list[str], status: str = "new", score=9.0):
    episode = f"15m:{kind}:{key}@{iso_utc(end)}"
    record = {
        "kind": kind,
        "key": key,
        "horizon": "15m",
        "window_end": iso_utc(end),
        "score": score,
        "count": len(ids),
        "severity": "alert" if status == "new" else "watch",
        "status": status,
        "episode": episode,
        "examples": [{"id": i, "text": t} for i, t in zip(ids, texts, strict=False)],
        "explanation": f"{key} up",
        "related_to": None,
        "related": [],
    }
    sketch = tuple(sorted(zlib.crc32(i.encode()) for i in ids))
    return Scored(record, Evidence(len(ids), sketch))


def grouper() -> StoryGrouper:
    return StoryGrouper(0.5, {"15m": 24 * MIN}, {"15m": 15 * MIN})


def test_an_alert_meaning_the_same_joins_the_story_and_another_does_not():
    g = grouper()
    first = alert("cluster", "c7", T0, FIRE, ["a1", "a2", "a3", "a4"])
    [lead] = g.window(T0, [first])
    assert lead["story"] == lead["episode"] and lead["title"].startswith("Fuerte explosión")
    ongoing = alert("cluster", "c7", T0 + 3 * MIN, FIRE, ["a1", "a2", "a3", "a4"], status="ongoing")
    ongoing.record["episode"] = lead["episode"]
    same = alert("term", "humareda", T0 + 3 * MIN, FIRE_LATER, ["b1", "b2", "b3", "b4"])
    other = alert("term", "golazo", T0 + 3 * MIN, MATCH, ["m1", "m2", "m3", "m4"], score=8.0)
    out = {r["key"]: r for r in g.window(T0 + 3 * MIN, [ongoing, same, other])}
    assert (out["humareda"]["status"], out["humareda"]["severity"]) == ("related", "watch")
    assert out["humareda"]["related_to"] == lead["episode"] and out["humareda"]["story"] == lead["episode"]
    assert (out["golazo"]["status"], out["golazo"]["severity"]) == ("new", "alert")
    assert out["golazo"]["story"] == out["golazo"]["episode"] != lead["episode"]
    keys = {(k["kind"], k["key"]) for k in out["c7"]["story_keys"]}
    assert keys == {("cluster", "c7"), ("term", "humareda")}
    assert out["c7"]["title"] == "humareda"  # a readable key names the story once it has one


def test_an_alert_on_posts_the_story_already_had_joins_it_later():
    g = grouper()
    first = alert("cluster", "c9", T0, FIRE, [f"p{i}" for i in range(6)])
    [lead] = g.window(T0, [first])
    # nine minutes later, a slower key bursts on (mostly) the same posts, told as a match report
    late = alert("term", "tanque", T0 + 9 * MIN, MATCH, ["p0", "p1", "p2", "p3", "x1"])
    [out] = g.window(T0 + 9 * MIN, [late])
    assert out["status"] == "related" and out["story"] == lead["episode"]
