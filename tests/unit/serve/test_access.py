"""Access: only /healthz is open; API keys; bearer tokens against the issuer's JWKS; people
signing in through the authorization-code flow with PKCE at a real authorization server."""

from __future__ import annotations

import time

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.unit.serve.conftest import KEY


def test_nothing_but_healthz_without_credentials(base_url):
    assert httpx.get(f"{base_url}/healthz").status_code == 200
    for path in (
        "/api/alerts", "/api/trends", "/api/stories", "/api/briefs", "/api/sentiment?key=agua",
        "/api/sentiment/over-time", "/api/topics", "/api/sales?product=x", "/api/facets", "/openapi.json",
        "/metrics",
    ):  # fmt: skip
        assert httpx.get(base_url + path).status_code == 401, path
    for path in ("/docs", "/redoc"):
        assert httpx.get(base_url + path).status_code in (401, 404), path
    page = httpx.get(base_url + "/ventas?product=x", headers={"accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/auth/login?next=%2Fventas%3Fproduct%3Dx"
    assert httpx.get(f"{base_url}/api/alerts", headers={"X-API-Key": KEY + "x"}).status_code == 401


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
        answer = httpx.get(f"{base_url}/api/alerts", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401
    no_role = httpx.get(
        f"{base_url}/api/alerts", headers={"Authorization": f"Bearer {oidc.token(roles=['x'])}"}
    )
    assert no_role.status_code == 403


def _cookie(client: httpx.Client) -> str:
    return client.cookies.get("tendencias_session") or ""


def test_a_person_signs_in_with_pkce_state_and_nonce_and_gets_a_session_cookie(base_url, oidc):
    with httpx.Client() as browser:
        page = oidc.sign_in(browser, base_url, "ana", next_path="/ventas")
        assert page.status_code == 200 and str(page.url) == f"{base_url}/ventas"
        assert "ana · analyst" in page.text
        set_cookies = " ".join(
            h for r in page.history for k, h in r.headers.multi_items() if k == "set-cookie"
        ).lower()
        assert (
            "tendencias_session=" in set_cookies
            and "httponly" in set_cookies
            and "samesite=lax" in set_cookies
        )
        # what the app sent to the issuer: S256 challenge, state and nonce; the verifier at the token endpoint
        authorize = [q for m, p, q in oidc.requests if p.endswith("/auth") and m == "GET"][-1]
        assert authorize["code_challenge_method"] == "S256" and authorize["state"] and authorize["nonce"]
        token_call = [q for m, p, q in oidc.requests if p.endswith("/token")][-1]
        assert token_call["grant_type"] == "authorization_code" and len(token_call["code_verifier"]) >= 43
        assert browser.get(f"{base_url}/api/alerts").status_code == 200  # the session works for the API too
        # logout ends the session here and at the issuer
        before = oidc.logged_out
        sid = _cookie(browser)
        out = browser.post(f"{base_url}/logout", follow_redirects=True)
        assert oidc.logged_out == before + 1 and str(out.url).startswith(f"{base_url}/login?salida=1")
        assert "Saliste" in out.text
    replay = httpx.get(f"{base_url}/api/alerts", cookies={"tendencias_session": sid})
    assert replay.status_code == 401  # a copied cookie is worthless after logout


def test_a_callback_without_the_browsers_state_is_refused(base_url, oidc):
    with httpx.Client() as attacker, httpx.Client() as victim:
        start = attacker.get(f"{base_url}/auth/login", follow_redirects=False)
        state = dict(httpx.URL(start.headers["location"]).params)["state"]
        # login CSRF: the victim's browser is sent to the callback with the attacker's state
        answer = victim.get(f"{base_url}/auth/callback", params={"state": state, "code": "x"})
        assert answer.status_code == 400 and "caducó" in answer.text and not _cookie(victim)


@pytest.mark.parametrize(
    "tamper, reason",
    [({"nonce": "another-login"}, "no corresponde"), ({"id_aud": "another-client"}, "no es válido")],
)
def test_an_id_token_with_a_wrong_nonce_or_audience_opens_no_session(base_url, oidc, tamper, reason):
    with httpx.Client() as browser:
        oidc.tamper = dict(tamper)
        page = oidc.sign_in(browser, base_url, "ana")
        assert page.status_code == 400 and reason in page.text and not _cookie(browser)


def test_tokens_signed_by_another_key_open_no_session(base_url, oidc):
    with httpx.Client() as browser:
        oidc.tamper = {"key": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
        page = oidc.sign_in(browser, base_url, "ana")
        assert page.status_code == 400 and not _cookie(browser)


def test_a_person_without_a_role_is_told_so(base_url, oidc):
    with httpx.Client() as browser:
        page = oidc.sign_in(browser, base_url, "nadie")
        assert page.status_code == 403 and "ninguno de los roles" in page.text and not _cookie(browser)


def test_the_session_renews_its_access_token_with_the_refresh_token(base_url, oidc):
    with httpx.Client() as browser:
        oidc.access_lifetime = 1
        try:
            oidc.sign_in(browser, base_url, "vera")
        finally:
            oidc.access_lifetime = 300
        time.sleep(2)  # past the access token's expiry: the session renews it before using it
        refreshes = sum(1 for m, p, q in oidc.requests if q.get("grant_type") == "refresh_token")
        assert browser.get(f"{base_url}/api/alerts").status_code == 200
        assert sum(1 for m, p, q in oidc.requests if q.get("grant_type") == "refresh_token") == refreshes + 1
        # a viewer cannot read the metrics
        assert browser.get(f"{base_url}/metrics").status_code == 403


def test_next_never_leaves_the_site(base_url, oidc):
    with httpx.Client() as browser:
        page = oidc.sign_in(browser, base_url, "ana", next_path="//evil.example/x")
        assert str(page.url) == f"{base_url}/"


def test_metrics_count_requests_by_route_for_machines_and_admins(base_url, oidc):
    httpx.get(f"{base_url}/api/alerts", headers={"X-API-Key": KEY})
    viewer = {"Authorization": f"Bearer {oidc.token(roles=['viewer'])}"}
    assert httpx.get(f"{base_url}/metrics", headers=viewer).status_code == 403
    admin = {"Authorization": f"Bearer {oidc.token(roles=['admin'])}"}
    assert httpx.get(f"{base_url}/metrics", headers=admin).status_code == 200
    text = httpx.get(f"{base_url}/metrics", headers={"X-API-Key": KEY}).text
    assert 'tendencias_http_requests_total{method="GET",route="/api/alerts",status="200"}' in text
    assert "tendencias_http_request_duration_seconds_bucket" in text


def test_an_issuer_that_does_not_answer_is_said_so_on_the_login_page(archive):
    from tendencias.serve.app import create_app
    from tendencias.serve.settings import Settings
    from tendencias.serve.store.duck import DuckDBStore
    from tests.serve_helpers import free_port, running

    gone = f"http://127.0.0.1:{free_port()}/realms/tendencias"
    store = DuckDBStore(archive, watch=False)
    with running(
        create_app(Settings(archive=str(archive), oidc_issuer=gone, cookie_secure=False), store)
    ) as base:
        page = httpx.get(base + "/briefs", headers={"accept": "text/html"}, follow_redirects=True)
        assert page.status_code == 502 and "No se pudo contactar al proveedor de identidad" in page.text
    store.close()
