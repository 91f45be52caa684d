"""JSON endpoints: /api/alerts, /api/trends, /api/stories, /api/briefs, /api/sentiment."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from tendencias.serve.auth import require
from tendencias.serve.store import queries as q

router = APIRouter(prefix="/api", dependencies=[Depends(require("viewer"))])
Kind = Literal["term", "phrase", "hashtag", "brand", "product", "category", "region", "topic"]
Severity = Literal["info", "watch", "alert"]
Time = Annotated[
    str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?Z?)?$", description="RFC 3339 (UTC)")
]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


class Page(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[dict]


def store(request: Request):
    return request.app.state.store


def _page(st, f: q.TrendFilter) -> Page:
    total = st.run(q.count_trends(f))[0]["n"]
    return Page(total=total, limit=f.limit, offset=f.offset, items=st.run(q.trends(f)))


@router.get("/trends", response_model=Page)
def trends(
    st=Depends(store),
    kind: Kind | None = None,
    key: str | None = None,
    horizon: str | None = None,
    segment: str | None = None,
    severity: Severity | None = None,
    since: Time = None,
    until: Time = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page:
    return _page(st, q.TrendFilter(kind, key, horizon, segment, severity, since, until, limit, offset))


@router.get("/alerts", response_model=Page)
def alerts(
    st=Depends(store),
    kind: Kind | None = None,
    segment: str | None = None,
    since: Time = None,
    until: Time = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page:
    return _page(
        st,
        q.TrendFilter(
            kind=kind, segment=segment, severity="alert", since=since, until=until, limit=limit, offset=offset
        ),
    )


def load_stories(st, limit: int = 50, offset: int = 0) -> Page:
    f = q.TrendFilter(severity="alert", limit=limit, offset=offset)
    page = _page(st, f)
    episodes = [t["episode"] for t in page.items if t.get("episode")]
    members = st.run(q.story_members(episodes)) if episodes else []
    for lead in page.items:
        lead["related"] = [m for m in members if m["related_to"] == lead.get("episode")]
    return page


@router.get("/stories", response_model=Page)
def stories(st=Depends(store), limit: Limit = 50, offset: Offset = 0) -> Page:
    return load_stories(st, limit, offset)


@router.get("/briefs", response_model=Page)
def briefs(st=Depends(store), story: str | None = None, limit: Limit = 50, offset: Offset = 0) -> Page:
    rows = st.run(q.briefs(story, limit, offset))
    return Page(
        total=len(rows) + offset, limit=limit, offset=offset, items=[json.loads(r["body"]) for r in rows]
    )


def load_brief(st, brief_id: str) -> dict:
    rows = st.run(q.brief(brief_id))
    if not rows:
        raise HTTPException(404, f"no brief {brief_id!r}")
    return json.loads(rows[0]["body"])


@router.get("/briefs/{brief_id:path}")
def brief(brief_id: str, st=Depends(store)) -> dict:
    return load_brief(st, brief_id)


@router.get("/sentiment")
def sentiment(
    st=Depends(store),
    kind: Kind = "brand",
    key: Annotated[str, Query(min_length=1, description="e.g. andina cola")] = ...,
    horizon: str | None = "1d",
    segment: str | None = None,
) -> dict:
    points = st.run(q.series(kind, key, horizon, segment))
    return {"kind": kind, "key": key, "horizon": horizon, "segment": segment, "points": points}
