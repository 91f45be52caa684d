"""A person's visit: headless Chromium opens the dashboard on an archive made from the demo's
generated data, is sent to the issuer's login form, signs in, sees the planted alerts, walks
every page through the menu (charts drawn, no console error: a CSP violation would be one),
opens a brief and signs out.

Screenshots go to TENDENCIAS_SCREENSHOT_DIR, or to a temporary folder the test prints;
`scripts/screenshots.sh` points it at docs/img to refresh the README's.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tendencias.serve.app import create_app
from tendencias.serve.settings import Settings
from tendencias.serve.store.duck import DuckDBStore
from tests.oidc_server import OIDCTestServer
from tests.serve_helpers import build_demo_archive, running

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
# menu entry -> (what the page's h1 says, its chart canvases, screenshot file)
PAGES = {
    "Explorador": ("Explorador de tendencias", [], None),
    "Sentimiento": ("Sentimiento por marca", ["sentiment-chart", "posts-chart"], "sentiment.png"),
    "Conversación y ventas": ("Conversación frente a unidades vendidas", ["sales-chart"], "sales.png"),
    "Temas": ("Temas", [], None),
    "Briefs": ("Briefs de innovación", [], None),
    "API": ("API", [], None),
}


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
    store = DuckDBStore(archive, watch=False)
    with running(create_app(settings, store)) as base:
        yield base, oidc
    store.close()
    oidc.stop()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("TENDENCIAS_SCREENSHOT_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    print(f"\nscreenshots in {folder}")


def _charts_drawn(page, canvases: list[str]) -> None:
    for canvas in canvases:
        page.wait_for_function(
            f"() => typeof Chart !== 'undefined' && Chart.getChart('{canvas}') !== undefined", timeout=10_000
        )


def test_a_person_signs_in_walks_every_page_opens_a_brief_and_signs_out(site, tmp_path, shots):
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
            locale="es-PE",
        )
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

        # no session: to the issuer's login form, and back with a session
        page.goto(base + "/")
        assert page.url.startswith(oidc.issuer + "/protocol/openid-connect/auth?")
        page.fill("#username", "ana")
        page.fill("#password", "clave-de-ana")
        page.click("#kc-login")
        page.wait_for_selector("article.story")
        assert page.url == base + "/"
        assert "ana · analyst" in page.locator("form.who").inner_text()
        stories = page.locator("article.story h2").all_inner_texts()
        assert any("botella" in s for s in stories) and any("sin azucar" in s for s in stories)
        page.screenshot(path=str(shots / "dashboard.png"), full_page=True)

        page.locator("a.brief-link").first.click()
        page.wait_for_selector("ol.ideas li")
        assert page.locator("h1").inner_text().startswith("Sube «")
        assert page.locator("ul.examples li").count() >= 1
        page.screenshot(path=str(shots / "brief.png"), full_page=True)

        # every page through the menu
        for entry, (heading, canvases, shot) in PAGES.items():
            page.locator("header nav a", has_text=entry).first.click()
            page.wait_for_load_state("load")
            assert page.locator("h1").first.inner_text().startswith(heading), entry
            assert page.locator("header nav a[aria-current=page]").inner_text() == entry
            _charts_drawn(page, canvases)
            if shot:
                page.screenshot(path=str(shots / shot), full_page=True)

        # the explorer from a trend's link, with its chart and a segment filter
        page.locator("header nav a", has_text="Explorador").first.click()
        page.select_option("select[name=kind]", "phrase")
        page.fill("input[name=key]", "sin azucar")
        page.select_option("select[name=horizon]", "15m")
        with page.expect_navigation():
            page.click("form.filters button")
        _charts_drawn(page, ["series-chart"])
        assert page.locator("select[name=segment] option").count() > 1  # the demo's regions
        page.screenshot(path=str(shots / "explorer.png"), full_page=True)

        # sales for another product, picked from the list
        page.goto(base + "/ventas")
        page.select_option("select[name=product]", index=1)
        with page.expect_navigation():
            page.click("form.filters button")
        _charts_drawn(page, ["sales-chart"])

        page.click("#logout")
        page.wait_for_selector("text=Saliste de Tendencias")
        page.goto(base + "/tendencias")
        assert page.url.startswith(oidc.issuer)  # signed out: the issuer asks again
        context.close()
    assert not problems, problems
