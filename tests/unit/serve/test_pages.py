"""The pages a signed-in person opens: every one answers, escapes post texts, sends a strict
CSP, and shows the new fields (segment, stage, topics, sales) when the archive has them."""

from __future__ import annotations

import httpx
import pytest

PAGES = (
    "/",
    "/tendencias",
    "/tendencias?kind=brand&key=agua&horizon=1d",
    "/tendencias?kind=term&segment=arequipa&stage=emerging",
    "/sentimiento",
    "/sentimiento?kind=product&bucket=hour&region=lima",
    "/ventas",
    "/ventas?product=Andina+Cola+Cl%C3%A1sica&region=Lima",
    "/temas",
    "/temas?stage=peaking",
    "/briefs",
    "/briefs/ep-1",
    "/api",
)


@pytest.fixture(scope="module")
def browser(base_url, oidc):
    with httpx.Client() as client:
        assert oidc.sign_in(client, base_url, "ana").status_code == 200
        yield client


@pytest.mark.parametrize("path", PAGES)
def test_every_page_escapes_post_texts_and_sends_a_strict_csp(base_url, browser, path):
    page = browser.get(base_url + path)
    assert page.status_code == 200, page.text[:500]
    assert "<script>alert" not in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in page.text.replace('<script type="application/json"', "")  # no inline script
    assert "ana · analyst" in page.text


def test_the_alert_page_shows_the_escaped_example_and_its_stage(base_url, browser):
    home = browser.get(base_url + "/").text
    assert "&lt;script&gt;alert" in home and "emergente" in home
    assert (
        "botella · rota" in home and '<span class="chip">rotísima</span>' in home
    )  # the story's title and keys


def test_the_explorer_offers_segments_and_stages_present_in_the_archive(base_url, browser):
    page = browser.get(base_url + "/tendencias").text
    assert '<select name="segment">' in page and "<option>arequipa</option>" in page
    assert '<select name="stage">' in page and "en su pico" in page
    chart = browser.get(base_url + "/tendencias?kind=brand&key=agua&horizon=1d").text
    assert 'id="series-chart-data"' in chart and "/static/charts.js" in chart


def test_topics_show_labels_escaped_and_their_stage(base_url, browser):
    page = browser.get(base_url + "/temas").text
    assert "topic:sin azucar" in page and "sin, azúcar" in page and "en su pico" in page
    assert "&lt;script&gt;alert" in page  # a label made of post text
    assert 'id="topics-chart-data"' in page


def test_sales_page_puts_units_beside_posts(base_url, browser):
    page = browser.get(base_url + "/ventas").text
    assert "Andina Cola Clásica" in page and 'id="sales-chart-data"' in page and "Aún sin evidencia" in page


def test_a_json_data_block_cannot_close_its_script_tag(base_url, browser):
    page = browser.get(base_url + "/temas").text
    block = page.split('id="topics-chart-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block  # tojson escapes < > & as \\u003c ...


def test_without_sign_in_configured_the_login_page_says_so(archive):
    from tendencias.serve.app import create_app
    from tendencias.serve.settings import Settings
    from tendencias.serve.store.duck import DuckDBStore
    from tests.serve_helpers import running

    store = DuckDBStore(archive, watch=False)
    with running(create_app(Settings(archive=str(archive), api_keys=("k" * 20,)), store)) as base:
        page = httpx.get(base + "/", headers={"accept": "text/html"}, follow_redirects=True)
        assert str(page.url).startswith(base + "/login") and "no está configurado" in page.text
    store.close()
