"""Server-rendered pages in Spanish: alerts and stories, the trend explorer, sentiment per brand
and product, chatter against units sold, topics, briefs. Filters are forgiving (an unknown
value shows nothing, with the reason); the API is the strict, documented surface."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from tendencias.serve import charts
from tendencias.serve.auth import Principal, require
from tendencias.serve.routers.api import (
    load_brief,
    load_briefs,
    load_facets,
    load_sales,
    load_sentiment,
    load_series,
    load_stories,
    load_topics,
    store,
)
from tendencias.serve.routers.render import render
from tendencias.serve.store import queries as q

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require("viewer"))]
PAGE = 100
KINDS = ("term", "phrase", "hashtag", "brand", "product", "category", "region", "topic", "cluster")
STAGES = ("emerging", "growing", "peaking", "declining", "ended", "stable")


def _offset(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


def _pick(value: str | None, allowed) -> str | None:
    return value if value in allowed else None


@router.get("/", response_class=HTMLResponse)
def home(request: Request, who: Viewer, st=Depends(store)):
    return render(request, "alerts.html", who, stories=load_stories(st, 50, 0).items, page="alerts")


@router.get("/tendencias", response_class=HTMLResponse)
def explorer(
    request: Request,
    who: Viewer,
    st=Depends(store),
    kind: str | None = None,
    key: str | None = None,
    horizon: str | None = None,
    segment: str | None = None,
    stage: str | None = None,
    order: str = "recent",
    offset: str | None = None,
):
    facets = load_facets(st)
    f = q.TrendFilter(
        order="score" if order == "score" else "recent",
        kind=_pick(kind, KINDS),
        key=key.strip() if key and key.strip() else None,
        horizon=_pick(horizon, facets["horizon"]),
        segment=_pick(segment, facets["segment"]),
        stage=_pick(stage, facets["stage"]),
        limit=PAGE,
        offset=_offset(offset),
    )
    page = q.count_trends(f)
    total = st.run(page)[0]["n"]
    rows = st.run(q.trends(f))
    shown, points = load_series(st, f.kind, f.key, f.horizon, f.segment) if f.kind and f.key else (None, [])
    chart = charts.volume_and_sentiment(points) if points else None
    return render(
        request,
        "explorer.html",
        who,
        page="explorer",
        rows=rows,
        total=total,
        points=points,
        chart=chart,
        shown_segment=shown,
        f=f,
        facets=facets,
        kinds=KINDS,
        show_stage=any(r.get("stage") for r in rows),
    )


@router.get("/sentimiento", response_class=HTMLResponse)
def sentiment(
    request: Request,
    who: Viewer,
    st=Depends(store),
    kind: str = "brand",
    bucket: str = "day",
    region: str | None = None,
):
    kind = "product" if kind == "product" else "brand"
    bucket = "hour" if bucket == "hour" else "day"
    f = q.PostFilter(kind=kind, region=region or None, bucket=bucket)
    rows = load_sentiment(st, f, 5000, 0).items
    summary: dict[str, dict] = {}
    for r in rows:
        s = summary.setdefault(r["key"], {"key": r["key"], "posts": 0, "weighted": 0.0, "scored": 0})
        s["posts"] += r["posts"]
        if r["sentiment"] is not None:
            s["weighted"] += r["sentiment"] * r["posts"]
            s["scored"] += r["posts"]
    table = sorted(
        ({**s, "sentiment": s["weighted"] / s["scored"] if s["scored"] else None} for s in summary.values()),
        key=lambda s: -s["posts"],
    )
    return render(
        request,
        "sentiment.html",
        who,
        page="sentiment",
        kind=kind,
        bucket=bucket,
        region=region or "",
        regions=[r["region"] for r in st.run(q.regions("posts"))],
        table=table,
        sentiment_chart=charts.sentiment_lines(rows, bucket) if rows else None,
        posts_chart=charts.posts_lines(rows, bucket) if rows else None,
    )


@router.get("/ventas", response_class=HTMLResponse)
def sales(
    request: Request, who: Viewer, st=Depends(store), product: str | None = None, region: str | None = None
):
    products = st.run(q.sold_products())
    chosen = product or (products[0]["product"] if products else None)
    data = load_sales(st, chosen, region or None, None, None) if chosen else None
    days = data["days"] if data else []
    return render(
        request,
        "sales.html",
        who,
        page="sales",
        products=products,
        regions=[r["region"] for r in st.run(q.regions("sales"))],
        product=chosen,
        region=region or "",
        days=days,
        links=data["links"] if data else [],
        chart=charts.chatter_against_sales(days) if days else None,
    )


@router.get("/temas", response_class=HTMLResponse)
def topics(
    request: Request,
    who: Viewer,
    st=Depends(store),
    segment: str | None = None,
    stage: str | None = None,
    offset: str | None = None,
):
    facets = load_facets(st)
    segment = _pick(segment, facets["segment"])
    stage = _pick(stage, STAGES)
    page = load_topics(st, segment, stage, None, PAGE, _offset(offset))
    series = []
    if page.items:  # the strongest topics over time, on the longest horizon they have
        horizons = {t["horizon"] for t in page.items}
        horizon = "1d" if "1d" in horizons else page.items[0]["horizon"]
        keys = [t["key"] for t in page.items if t["horizon"] == horizon][:6]
        series = st.run(q.topic_series(keys, horizon, segment))
    return render(
        request,
        "topics.html",
        who,
        page="topics",
        topics=page.items,
        total=page.total,
        offset=page.offset,
        limit=PAGE,
        segment=segment,
        stage=stage,
        facets=facets,
        stages=STAGES,
        chart=charts.topic_lines(series) if series else None,
    )


@router.get("/briefs", response_class=HTMLResponse)
def briefs(request: Request, who: Viewer, st=Depends(store), offset: str | None = None):
    page = load_briefs(st, None, PAGE, _offset(offset))
    return render(
        request,
        "briefs.html",
        who,
        page="briefs",
        briefs=page.items,
        total=page.total,
        offset=page.offset,
        limit=PAGE,
    )


@router.get("/briefs/{brief_id:path}", response_class=HTMLResponse)
def brief(brief_id: str, request: Request, who: Viewer, st=Depends(store)):
    return render(request, "brief.html", who, page="briefs", brief=load_brief(st, brief_id))
