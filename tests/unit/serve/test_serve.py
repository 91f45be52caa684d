"""`tendencias serve` through a real uvicorn server, a real JWKS server and a real archive."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tendencias.serve.app import create_app
from tendencias.serve.settings import Settings
from tendencias.serve.store.duck import DuckDBStore
from tests.oidc_server import OIDCTestServer
from tests.serve_helpers import running

KEY = "machine-key-0123456789"
EVIL = '<script>alert("x")</script> botella rota'


def _trend(key, end, **extra):
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
        **extra,
    }


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("archive")
    lead = _trend(
        "botella",
        "2026-11-03T14:15:00Z",
        severity="alert",
        status="new",
        episode="ep-1",
        examples=[{"id": "p1", "text": EVIL}],
    )
    rows = [lead, _trend("rota", "2026-11-03T14:15:00Z", status="related", related_to="ep-1", episode="ep-2")]
    rows += [
        _trend("agua", f"2026-11-0{d}T10:00:00Z", severity="info", kind="brand", horizon="1d")
        for d in (1, 2, 3)
    ]
    (root / "trends").mkdir()
    (root / "trends" / "trends-00000-of-00001.jsonl").write_text("\n".join(map(json.dumps, rows)) + "\n")
    (root / "briefs").mkdir()
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
    (root / "briefs" / "briefs.jsonl").write_text(json.dumps(brief) + "\n")
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
    with running(create_app(settings, DuckDBStore(archive))) as base:
        yield base


def test_nothing_but_healthz_without_credentials(base_url):
    assert httpx.get(f"{base_url}/healthz").status_code == 200
    for path in ("/api/alerts", "/api/trends", "/api/stories", "/api/briefs", "/api/sentiment?key=agua"):
        assert httpx.get(base_url + path).status_code == 401, path
    page = httpx.get(base_url + "/", headers={"accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/login"
    assert httpx.get(base_url + "/api/alerts", headers={"X-API-Key": KEY + "x"}).status_code == 401


def test_api_key_reads_alerts_stories_and_filters(base_url):
    h = {"X-API-Key": KEY}
    alerts = httpx.get(f"{base_url}/api/alerts", headers=h).json()
    assert alerts["total"] == 1 and alerts["items"][0]["key"] == "botella"
    story = httpx.get(f"{base_url}/api/stories", headers=h).json()["items"][0]
    assert [m["key"] for m in story["related"]] == ["rota"]
    page = httpx.get(f"{base_url}/api/trends?kind=brand&limit=2&offset=1", headers=h).json()
    assert (
        page["total"] == 3
        and len(page["items"]) == 2
        and page["items"][0]["window_end"] == "2026-11-02T10:00:00Z"
    )
    series = httpx.get(f"{base_url}/api/sentiment?kind=brand&key=agua", headers=h).json()["points"]
    assert [p["window_end"][:10] for p in series] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert httpx.get(f"{base_url}/api/briefs/ep-1", headers=h).json()["title"] == "Sube «botella»"


@pytest.mark.parametrize(
    "query, field", [("kind=flavour", "kind"), ("limit=0", "limit"), ("since=yesterday", "since")]
)
def test_bad_parameters_get_a_422_naming_them(base_url, query, field):
    response = httpx.get(f"{base_url}/api/trends?{query}", headers={"X-API-Key": KEY})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == field


def test_bearer_tokens_are_verified_against_the_issuers_jwks(base_url, oidc):
    ok = httpx.get(f"{base_url}/api/alerts", headers={"Authorization": f"Bearer {oidc.token()}"})
    assert ok.status_code == 200
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for token in (
        oidc.token(key=stranger),
        oidc.token(audience="other"),
        oidc.token(expires_in=-60),
        oidc.token(issuer="http://evil.example"),
    ):
        assert (
            httpx.get(f"{base_url}/api/alerts", headers={"Authorization": f"Bearer {token}"}).status_code
            == 401
        )
    no_role = httpx.get(
        f"{base_url}/api/alerts", headers={"Authorization": f"Bearer {oidc.token(roles=['x'])}"}
    )
    assert no_role.status_code == 403


def test_pages_escape_post_texts_and_send_a_strict_csp(base_url, oidc):
    with httpx.Client(base_url=base_url) as browser:
        login = browser.post("/login", data={"token": oidc.token(roles=["analyst"])})
        assert login.status_code == 303 and "httponly" in login.headers["set-cookie"].lower()
        home = browser.get("/")
        brief = browser.get("/briefs/ep-1")
    for page in (home, brief):
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "&lt;script&gt;alert" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "unsafe-inline" not in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
    assert "Revisar envase" in brief.text and "ana (analyst)" in home.text


def test_a_bad_token_in_the_login_form_sets_no_cookie(base_url):
    response = httpx.post(f"{base_url}/login", data={"token": "x" * 40})
    assert (
        response.status_code == 200
        and "set-cookie" not in response.headers
        and "invalid token" in response.text
    )


def test_bigquery_store_sends_the_same_queries_with_typed_parameters():
    pytest.importorskip("google.cloud.bigquery")
    from tendencias.serve.store import queries as q
    from tendencias.serve.store.bigquery import BigQueryStore

    store = BigQueryStore("p:d.trends", "p.d.briefs", client=object())
    sql, params = store.prepare(q.trends(q.TrendFilter(kind="brand", since="2026-11-01", limit=5)))
    assert (
        sql.startswith("SELECT kind, key")
        and "FROM `p.d.trends` WHERE kind = @kind AND window_end >= @since" in sql
    )
    assert "LIMIT @limit OFFSET @offset" in sql and "brand" not in sql
    typed = {p.name: (p.type_, p.value) for p in params}
    assert typed == {
        "kind": ("STRING", "brand"),
        "since": ("TIMESTAMP", "2026-11-01"),
        "limit": ("INT64", 5),
        "offset": ("INT64", 0),
    }
    sql, params = store.prepare(q.story_members(["ep-1"]))
    assert "related_to IN UNNEST(@episodes)" in sql and params[0].array_type == "STRING"


def test_metrics_count_requests_by_route_for_machines_and_admins(base_url, oidc):
    httpx.get(f"{base_url}/api/alerts", headers={"X-API-Key": KEY})
    assert httpx.get(f"{base_url}/metrics").status_code == 401
    viewer = {"Authorization": f"Bearer {oidc.token(roles=['viewer'])}"}
    assert httpx.get(f"{base_url}/metrics", headers=viewer).status_code == 403
    text = httpx.get(f"{base_url}/metrics", headers={"X-API-Key": KEY}).text
    assert 'tendencias_http_requests_total{method="GET",route="/api/alerts",status="200"}' in text
    assert "tendencias_http_request_duration_seconds_bucket" in text
