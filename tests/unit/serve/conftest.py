"""A small archive written as the job and the demo write one, a real issuer, and the app on a
real port in front of both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tendencias.serve.app import create_app
from tendencias.serve.settings import Settings
from tendencias.serve.store.duck import DuckDBStore
from tests.oidc_server import OIDCTestServer
from tests.serve_helpers import running

KEY = "machine-key-0123456789"
EVIL = '<script>alert("x")</script> botella rota'


def trend(key, end, **extra):
    return {
        "kind": "term",
        "key": key,
        "horizon": "15m",
        "window_start": end,
        "window_end": end,
        "count": 4,
        "baseline": 0.1,
        "score": 7.0,
        "lift": 4.0,
        "sentiment": -0.4,
        "severity": "watch",
        "segment": "arequipa",
        "examples": [],
        "explanation": "x",
        "revision": 0,
        **extra,
    }


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def post(i: int, day: int, brand: str, product: str, score: float, region: str = "Lima") -> dict:
    return {
        "id": f"p{i}",
        "text": EVIL if i == 0 else f"post {i}",
        "created_at": f"2026-11-0{day}T1{i % 10}:00:00.000+00:00",
        "brand": brand,
        "product": product,
        "region": region,
        "sentiment": {"score": score, "label": "x"},
    }


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("archive")
    lead = trend(
        "botella",
        "2026-11-03T14:15:00Z",
        severity="alert",
        status="new",
        episode="ep-1",
        stage="emerging",
        story="ep-1",
        title="botella · rota",
        story_keys=[
            {"kind": "term", "key": "botella", "count": 4},
            {"kind": "term", "key": "rotísima", "count": 3},
        ],
        examples=[{"id": "p1", "text": EVIL}],
    )
    rows = [lead, trend("rota", "2026-11-03T14:15:00Z", status="related", related_to="ep-1", episode="ep-2")]
    rows += [
        trend(
            "agua",
            f"2026-11-0{d}T10:00:00Z",
            severity="info",
            kind="brand",
            horizon="1d",
            segment=None,
            sentiment=0.1 * d,
        )
        for d in (1, 2, 3)
    ]
    # a segment's breakdown of the same window: must not pull the overall series
    rows.append(
        trend("agua", "2026-11-03T10:00:00Z", severity="info", kind="brand", horizon="1d", sentiment=-0.9)
    )
    # a late post revised a window: only revision 1 counts
    rows.append(
        trend(
            "agua",
            "2026-11-02T10:00:00Z",
            kind="brand",
            horizon="1d",
            segment=None,
            sentiment=0.5,
            revision=1,
            count=9,
            severity="info",
        )
    )
    rows += [
        trend(
            "topic:sin azucar",
            f"2026-11-0{d}T00:00:00Z",
            kind="topic",
            horizon="1d",
            segment=None,
            score=4.0 - d,  # strongest first is oldest first
            stage=stage,
            words=["sin", "azúcar"],
        )
        for d, stage in ((1, "emerging"), (2, "growing"), (3, "peaking"))
    ]
    rows.append(
        trend(
            "topic:envase",
            "2026-11-03T00:00:00Z",
            kind="topic",
            horizon="1d",
            segment=None,
            score=0.5,
            stage="declining",
            label=EVIL,
        )
    )
    write_jsonl(root / "trends" / "trends-00000-of-00001.jsonl", rows)
    posts = [
        post(i, 1 + i % 3, "Andina Cola", "Andina Cola Clásica", 0.5 if i % 2 else -0.5) for i in range(12)
    ]
    posts += [post(100 + i, 2, "Agua Misti", "Agua Misti sin gas", 0.8, region="Arequipa") for i in range(3)]
    write_jsonl(root / "posts" / "posts-00000-of-00001.jsonl", posts)
    write_jsonl(
        root / "sales.jsonl",
        [
            {
                "sku": "A",
                "product": "Andina Cola Clásica",
                "category": "gaseosa",
                "region": "Lima",
                "units": 10 * d,
                "revenue": 35.0 * d,
                "currency": "PEN",
                "ts": f"2026-11-0{d}T20:00:00Z",
            }
            for d in (1, 2, 3, 4)
        ],
    )
    brief = {
        "id": "ep-1",
        "story": "ep-1",
        "window_end": "2026-11-03T14:15:00Z",
        "title": "Sube «botella»",
        "what": EVIL,
        "ideas": [{"name": "Revisar envase", "rationale": "quejas"}],
        "where": [],
        "who": [],
        "sentiment": {"mean": -0.4, "positive": 0, "neutral": 0, "negative": 3},
        "aspects": [],
        "evidence": [{"id": "p1", "text": EVIL}],
        "sales": None,
        "model": "template-v1",
        "cost": {"tokens_in": 0, "tokens_out": 0, "usd": 0.0},
        "authors": 3,
    }
    write_jsonl(root / "briefs" / "briefs.jsonl", [brief])
    return root


@pytest.fixture(scope="module")
def oidc():
    server = OIDCTestServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def base_url(archive, oidc):
    settings = Settings(
        archive=str(archive),
        api_keys=(KEY, "other-key"),
        oidc_issuer=oidc.issuer,
        oidc_audience="tendencias",
        cookie_secure=False,
    )
    store = DuckDBStore(archive, path=None, watch=False)
    with running(create_app(settings, store)) as base:
        yield base
    store.close()
