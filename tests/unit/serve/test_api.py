"""The JSON API over a real archive: filters, pagination, upserts, 422s that say what to fix,
the new sentiment, topics, sales and facets endpoints, and the OpenAPI spec naming them."""

from __future__ import annotations

import httpx
import pytest

from tests.unit.serve.conftest import KEY

H = {"X-API-Key": KEY}


def get(base_url: str, path: str, **params) -> httpx.Response:
    return httpx.get(base_url + path, params=params, headers=H)


def test_alerts_stories_and_trend_filters(base_url):
    alerts = get(base_url, "/api/alerts").json()
    assert alerts["total"] == 1 and alerts["items"][0]["key"] == "botella"
    assert alerts["items"][0]["stage"] == "emerging" and alerts["items"][0]["title"] == "botella · rota"
    assert [k["key"] for k in alerts["items"][0]["story_keys"]] == ["botella", "rotísima"]
    story = get(base_url, "/api/stories").json()["items"][0]
    assert [m["key"] for m in story["related"]] == ["rota"]
    page = get(base_url, "/api/trends", kind="brand", limit=2, offset=1).json()
    # four brand windows: the revised window counts once, the segment's breakdown is its own record
    assert page["total"] == 4 and len(page["items"]) == 2
    assert get(base_url, "/api/trends", stage="peaking").json()["items"][0]["key"] == "topic:sin azucar"
    topics = get(base_url, "/api/trends", kind="topic", order="score").json()["items"]
    assert [t["score"] for t in topics] == [3.0, 2.0, 1.0, 0.5]
    newest = get(base_url, "/api/trends", kind="topic").json()["items"]
    assert [t["score"] for t in newest] == [1.0, 0.5, 2.0, 3.0]
    assert get(base_url, "/api/trends", order="loudest").status_code == 422
    assert get(base_url, "/api/trends", segment="arequipa", kind="brand").json()["total"] == 1
    since = get(base_url, "/api/trends", since="2026-11-03T12:00Z").json()
    assert {t["key"] for t in since["items"]} == {"botella", "rota"}


def test_a_revised_window_counts_once_with_its_latest_revision(base_url):
    items = get(base_url, "/api/trends", kind="brand", limit=10).json()["items"]
    second_day = [t for t in items if t["window_end"].startswith("2026-11-02") and t["segment"] is None]
    assert len(second_day) == 1 and second_day[0]["revision"] == 1 and second_day[0]["count"] == 9


def test_the_key_series_is_over_all_segments_unless_one_is_named(base_url):
    points = get(base_url, "/api/sentiment", kind="brand", key="agua").json()["points"]
    assert [p["window_end"][:10] for p in points] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert [p["sentiment"] for p in points] == [0.1, 0.5, 0.3]  # not pulled by arequipa's -0.9
    arequipa = get(base_url, "/api/sentiment", kind="brand", key="agua", segment="arequipa").json()["points"]
    assert [p["sentiment"] for p in arequipa] == [-0.9]


def test_sentiment_over_time_per_brand_and_product_from_every_post(base_url):
    page = get(base_url, "/api/sentiment/over-time", kind="brand").json()
    andina = [r for r in page["items"] if r["key"] == "Andina Cola"]
    assert sum(r["posts"] for r in andina) == 12 and len(andina) == 3
    # posts alternate +0.5 / -0.5: each day's mean is one of them weighted by the day's posts
    assert all(-0.5 <= r["sentiment"] <= 0.5 for r in andina)
    products = get(base_url, "/api/sentiment/over-time", kind="product", key="agua misti SIN gas").json()
    assert [r["posts"] for r in products["items"]] == [3] and products["items"][0]["sentiment"] == 0.8
    region = get(base_url, "/api/sentiment/over-time", kind="brand", region="arequipa").json()
    assert {r["key"] for r in region["items"]} == {"Agua Misti"}
    hours = get(base_url, "/api/sentiment/over-time", bucket="hour", limit=2, offset=2).json()
    assert hours["total"] > 4 and len(hours["items"]) == 2 and hours["offset"] == 2


def test_topics_at_their_latest_window_with_stage_and_words(base_url):
    page = get(base_url, "/api/topics").json()
    assert page["total"] == 2
    first = page["items"][0]
    assert first["key"] == "topic:sin azucar" and first["stage"] == "peaking" and first["peak_score"] == 3.0
    assert first["words"] == ["sin", "azúcar"]
    assert [t["key"] for t in get(base_url, "/api/topics", stage="declining").json()["items"]] == [
        "topic:envase"
    ]


def test_chatter_against_units_sold_per_day(base_url):
    answer = get(base_url, "/api/sales", product="andina cola clasica").json()
    days = {d["day"][:10]: d for d in answer["days"]}
    assert days["2026-11-04"]["units"] == 40 and days["2026-11-04"]["posts"] == 0
    assert days["2026-11-01"]["units"] == 10 and days["2026-11-01"]["posts"] == 4
    assert answer["links"] == []
    products = get(base_url, "/api/sales/products").json()["items"]
    assert products == [{"product": "Andina Cola Clásica", "units": 100.0, "revenue": 350.0, "posts": 12}]


def test_facets_name_what_the_archive_holds(base_url):
    facets = get(base_url, "/api/facets").json()
    assert facets["segment"] == ["arequipa"] and "topic" in facets["kind"]
    assert set(facets["stage"]) == {"emerging", "growing", "peaking", "declining"}


@pytest.mark.parametrize(
    "path, query, field",
    [
        ("/api/trends", "kind=flavour", "kind"),
        ("/api/trends", "limit=0", "limit"),
        ("/api/trends", "since=yesterday", "since"),
        ("/api/trends", "stage=booming", "stage"),
        ("/api/trends", "since=2026-11-03&until=2026-11-01", "until"),
        ("/api/sentiment/over-time", "bucket=week", "bucket"),
        ("/api/sentiment/over-time", "kind=term", "kind"),
        ("/api/sales", "", "product"),
        ("/api/topics", "offset=-1", "offset"),
    ],
)
def test_bad_parameters_get_a_422_naming_them_and_what_to_fix(base_url, path, query, field):
    response = httpx.get(f"{base_url}{path}?{query}", headers=H)
    body = response.json()
    assert response.status_code == 422 and body["detail"][0]["loc"][-1] == field
    assert body["message"].startswith(field + ":")


def test_the_openapi_spec_documents_every_endpoint(base_url):
    spec = get(base_url, "/openapi.json").json()
    for path in (
        "/api/alerts", "/api/trends", "/api/stories", "/api/briefs", "/api/sentiment",
        "/api/sentiment/over-time", "/api/topics", "/api/sales", "/api/sales/products", "/api/facets",
    ):  # fmt: skip
        assert path in spec["paths"], path
    params = {p["name"] for p in spec["paths"]["/api/trends"]["get"]["parameters"]}
    assert {"kind", "segment", "stage", "since", "until", "limit", "offset"} <= params


def test_bigquery_store_sends_the_same_queries_with_typed_parameters():
    pytest.importorskip("google.cloud.bigquery")
    from tendencias.serve.store import queries as q
    from tendencias.serve.store.bigquery import BigQueryStore

    store = BigQueryStore("p:d.trends", "p.d.briefs", client=object(), post_hours_table="p.d.post_hours")
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
    sql, _ = store.prepare(q.sentiment_over_time(q.PostFilter(kind="product", keys=["Clásica"]), 10, 0))
    assert sql.startswith("CREATE TEMP FUNCTION trunc_day") and "CREATE TEMP FUNCTION fold" in sql
    assert "FROM `p.d.post_hours`" in sql and "fold(product) IN UNNEST(@keys)" in sql


def test_a_key_with_records_only_in_a_segment_gets_that_segments_series(base_url):
    answer = get(base_url, "/api/sentiment", kind="term", key="botella", horizon="15m").json()
    assert answer["segment"] == "arequipa" and [p["count"] for p in answer["points"]] == [4]
