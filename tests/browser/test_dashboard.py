"""A person's visit: headless Chromium opens the dashboard on an archive made from the demo's
generated data, signs in, sees the planted alerts, opens a brief; screenshots to docs/img/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tendencias.serve.app import create_app
from tendencias.serve.settings import Settings
from tendencias.serve.store.duck import DuckDBStore
from tests.oidc_server import OIDCTestServer
from tests.serve_helpers import ROOT, build_demo_archive, running

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = pytest.mark.slow


def _chromium() -> str:
    path = os.environ.get("TENDENCIAS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing: scripts/browser.sh must install it in CI")
        pytest.skip("Chromium is not installed: run scripts/browser.sh")
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    archive = build_demo_archive(tmp_path_factory.mktemp("demo"))
    oidc = OIDCTestServer().start()
    settings = Settings(
        archive=str(archive), oidc_issuer=oidc.issuer, oidc_audience="tendencias", cookie_secure=False
    )
    with running(create_app(settings, DuckDBStore(archive))) as base:
        yield base, oidc
    oidc.stop()


def test_a_person_signs_in_sees_the_planted_alerts_and_opens_a_brief(site, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    base, oidc = site
    chromium = _chromium()
    problems: list[str] = []
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=chromium,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(base + "/")
        assert page.url.endswith("/login")  # no session: to the sign-in form
        page.fill("textarea[name=token]", oidc.token(roles=["analyst"]))
        page.click("#login")
        page.wait_for_selector("article.story")
        stories = page.locator("article.story h2").all_inner_texts()
        assert any("botella" in s for s in stories) and any("sin azucar" in s for s in stories)
        page.screenshot(path=str(ROOT / "docs" / "img" / "dashboard.png"), full_page=True)
        page.locator("a.brief-link").first.click()
        page.wait_for_selector("ol.ideas li")
        assert page.locator("h1").inner_text().startswith("Sube «")
        assert page.locator("ul.examples li").count() >= 1
        page.screenshot(path=str(ROOT / "docs" / "img" / "brief.png"), full_page=True)
        page.goto(base + "/tendencias?kind=phrase&key=sin+azucar&horizon=15m")
        page.wait_for_function("() => Chart.getChart('series-chart') !== undefined")
        page.screenshot(path=str(ROOT / "docs" / "img" / "explorer.png"), full_page=True)
        context.close()
    assert not problems, problems  # a CSP violation would show up here
