"""JSON endpoints: alerts, trends, stories, briefs, sentiment, topics, sales, facets.

Lists come as a `Page` (total, limit, offset, items). A bad parameter gets a 422 whose
`detail[].loc` names it and whose `msg` says what is accepted.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from tendencias.serve.auth import require
from tendencias.serve.store import queries as q

router = APIRouter(prefix="/api", dependencies=[Depends(require("viewer"))])
Kind = Literal["term", "phrase", "hashtag", "brand", "product", "category", "region", "topic", "cluster"]
Severity = Literal["info", "watch", "alert"]
Stage = Literal["emerging", "growing", "peaking", "declining", "ended", "stable"]
Bucket = Literal["day", "hour"]
Time = Annotated[
    str | None,
    Query(
        pattern=r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?Z?)?$",
        description="RFC 3339 in UTC: 2026-11-03 or 2026-11-03T14:15Z",
    ),
]
Limit = Annotated[int, Query(ge=1, le=500, description="items per page (1 to 500)")]
Offset = Annotated[int, Query(ge=0, description="items to skip")]
Segment = Annotated[str | None, Query(description="a segment of the trend records (see /api/facets)")]


class Page(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[dict]


async def store(request: Request):
    return request.app.state.store


def unprocessable(field: str, message: str) -> RequestValidationError:
    """A 422 like FastAPI's own, for checks that span parameters."""
    return RequestValidationError([{"loc": ("query", field), "msg": message, "type": "value_error"}])


def check_range(since: str | None, until: str | None) -> None:
    if since and until and until.rstrip("Z") <= since.rstrip("Z"):
        raise unprocessable("until", f"until ({until}) must come after since ({since})")


def tidy(rows: list[dict]) -> list[dict]:
    """`words` (a topic's top words) and `story_keys` (a story's keys) arrive as JSON text,
    whatever shape the job gave them."""
    for row in rows:
        for name in ("words", "story_keys"):
            if isinstance(row.get(name), str):
                try:
                    row[name] = json.loads(row[name])
                except ValueError:
                    pass
    return rows


def trend_page(st, f: q.TrendFilter) -> Page:
    check_range(f.since, f.until)
    total = st.run(q.count_trends(f))[0]["n"]
    return Page(total=total, limit=f.limit, offset=f.offset, items=tidy(st.run(q.trends(f))))


@router.get("/trends", response_model=Page, summary="Trend records, newest window (or strongest) first")
def trends(
    st=Depends(store),
    kind: Kind | None = None,
    key: str | None = None,
    horizon: str | None = Query(None, description="the scoring window, e.g. 15m or 1d"),
    segment: Segment = None,
    severity: Severity | None = None,
    stage: Stage | None = None,
    since: Time = None,
    until: Time = None,
    order: Annotated[
        Literal["recent", "score"], Query(description="newest window first, or strongest")
    ] = "recent",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page:
    f = q.TrendFilter(kind, key, horizon, segment, severity, since, until, limit, offset, stage, order=order)
    return trend_page(st, f)


@router.get("/alerts", response_model=Page, summary="Alerts, newest first")
def alerts(
    st=Depends(store),
    kind: Kind | None = None,
    segment: Segment = None,
    since: Time = None,
    until: Time = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page:
    f = q.TrendFilter(
        kind=kind, segment=segment, severity="alert", since=since, until=until, limit=limit, offset=offset
    )
    return trend_page(st, f)


def load_stories(st, limit: int = 50, offset: int = 0) -> Page:
    page = trend_page(st, q.TrendFilter(severity="alert", limit=limit, offset=offset))
    episodes = [t["episode"] for t in page.items if t.get("episode")]
    members = tidy(st.run(q.story_members(episodes))) if episodes else []
    for lead in page.items:
        lead["related"] = [m for m in members if m["related_to"] == lead.get("episode")]
    return page


@router.get("/stories", response_model=Page, summary="Alert stories with their related trends")
def stories(st=Depends(store), limit: Limit = 50, offset: Offset = 0) -> Page:
    return load_stories(st, limit, offset)


def load_briefs(st, story: str | None, limit: int, offset: int) -> Page:
    rows = st.run(q.briefs(story, limit, offset))
    total = st.run(q.count_briefs(story))[0]["n"]
    return Page(total=total, limit=limit, offset=offset, items=[json.loads(r["body"]) for r in rows])


@router.get("/briefs", response_model=Page, summary="Innovation briefs, newest first")
def briefs(st=Depends(store), story: str | None = None, limit: Limit = 50, offset: Offset = 0) -> Page:
    return load_briefs(st, story, limit, offset)


def load_brief(st, brief_id: str) -> dict:
    rows = st.run(q.brief(brief_id))
    if not rows:
        raise HTTPException(404, f"no brief {brief_id!r}")
    return json.loads(rows[0]["body"])


@router.get("/briefs/{brief_id:path}", summary="One brief")
def brief(brief_id: str, st=Depends(store)) -> dict:
    return load_brief(st, brief_id)


def load_series(
    st, kind: str, key: str, horizon: str | None, segment: str | None
) -> tuple[str | None, list[dict]]:
    """(segment shown, points) of one key. Without a segment: its records over all segments,
    or, when it only has records in segments (a burst in one region), its busiest segment's."""
    if segment is None:
        found = st.run(q.key_segments(kind, key, horizon))
        if found and found[0]["segment"] is not None:
            segment = found[0]["segment"]
    return segment, st.run(q.series(kind, key, horizon, segment))


@router.get(
    "/sentiment",
    summary="Volume, baseline and sentiment per window of one key's trend records",
    description="Over all segments unless `segment` names one; a key with records only in segments "
    "gets its busiest segment's (the answer's `segment` says which).",
)
def sentiment(
    key: Annotated[str, Query(min_length=1, description="e.g. andina cola")],
    st=Depends(store),
    kind: Kind = "brand",
    horizon: str | None = "1d",
    segment: Segment = None,
) -> dict:
    segment, points = load_series(st, kind, key, horizon, segment)
    return {"kind": kind, "key": key, "horizon": horizon, "segment": segment, "points": points}


def load_sentiment(st, f: q.PostFilter, limit: int, offset: int) -> Page:
    check_range(f.since, f.until)
    total = st.run(q.count_sentiment_over_time(f))[0]["n"]
    return Page(
        total=total, limit=limit, offset=offset, items=st.run(q.sentiment_over_time(f, limit, offset))
    )


@router.get(
    "/sentiment/over-time",
    response_model=Page,
    summary="Posts and sentiment per brand or product and day (or hour), from every archived post",
)
def sentiment_over_time(
    st=Depends(store),
    kind: Literal["brand", "product"] = "brand",
    key: Annotated[list[str] | None, Query(description="brands or products (repeat the parameter)")] = None,
    region: str | None = None,
    bucket: Bucket = "day",
    since: Time = None,
    until: Time = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="items per page (1 to 5000)")] = 500,
    offset: Offset = 0,
) -> Page:
    return load_sentiment(st, q.PostFilter(kind, key, region, since, until, bucket), limit, offset)


def load_topics(st, segment, stage, horizon, limit: int, offset: int) -> Page:
    total = st.run(q.count_topics(segment, stage, horizon))[0]["n"]
    items = tidy(st.run(q.topics(segment, stage, horizon, limit, offset)))
    return Page(total=total, limit=limit, offset=offset, items=items)


@router.get("/topics", response_model=Page, summary="Topics (kind topic trends), each at its latest window")
def topics(
    st=Depends(store),
    segment: Segment = None,
    stage: Stage | None = None,
    horizon: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page:
    return load_topics(st, segment, stage, horizon, limit, offset)


def load_sales(st, product: str, region: str | None, since: str | None, until: str | None) -> dict:
    check_range(since, until)
    days = st.run(q.chatter_and_sales(product, region, since, until))
    links = st.run(q.sales_links(product, 20, 0))
    return {"product": product, "region": region, "days": days, "links": links}


@router.get("/sales", summary="Posts about a product against its units sold, per day; the job's sales links")
def sales(
    product: Annotated[str, Query(min_length=1, description="a product, e.g. Andina Cola Zero")],
    st=Depends(store),
    region: str | None = None,
    since: Time = None,
    until: Time = None,
) -> dict:
    return load_sales(st, product, region, since, until)


@router.get("/sales/products", summary="Products with sales: units, revenue and posts about them")
def sold_products(st=Depends(store)) -> dict:
    return {"items": st.run(q.sold_products())}


def load_facets(st) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"kind": [], "horizon": [], "segment": [], "stage": []}
    for row in st.run(q.facets()):
        out[row["facet"]].append(row["value"])
    return out


@router.get("/facets", summary="The kinds, horizons, segments and stages the archive holds")
def facets(st=Depends(store)) -> dict[str, list[str]]:
    return load_facets(st)
