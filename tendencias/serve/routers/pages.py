"""Server-rendered pages in Spanish (Jinja2, autoescaped: post texts are untrusted)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from tendencias.serve.auth import COOKIE, Principal, require, settings, verify_token
from tendencias.serve.routers.api import load_brief, load_stories, store
from tendencias.serve.store import queries as q

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require("viewer"))]


def _render(request: Request, name: str, who: Principal | None, **context) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"who": who, **context})


@router.get("/", response_class=HTMLResponse)
def home(request: Request, who: Viewer, st=Depends(store)):
    return _render(request, "alerts.html", who, stories=load_stories(st, 50, 0).items)


@router.get("/tendencias", response_class=HTMLResponse)
def explorer(
    request: Request,
    who: Viewer,
    st=Depends(store),
    kind: str | None = None,
    key: str | None = None,
    horizon: str | None = None,
    segment: str | None = None,
):
    f = q.TrendFilter(
        kind=kind or None, key=key or None, horizon=horizon or None, segment=segment or None, limit=100
    )
    rows = st.run(q.trends(f))
    points = st.run(q.series(kind, key, horizon or None, segment or None)) if kind and key else []
    return _render(request, "explorer.html", who, rows=rows, points=points, f=f)


@router.get("/briefs", response_class=HTMLResponse)
def briefs(request: Request, who: Viewer, st=Depends(store)):
    import json

    items = [json.loads(r["body"]) for r in st.run(q.briefs(None, 100, 0))]
    return _render(request, "briefs.html", who, briefs=items)


@router.get("/briefs/{brief_id:path}", response_class=HTMLResponse)
def brief(brief_id: str, request: Request, who: Viewer, st=Depends(store)):
    return _render(request, "brief.html", who, brief=load_brief(st, brief_id))


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, error: str = ""):
    return _render(request, "login.html", None, error=error)


@router.post("/login")
def login(request: Request, token: Annotated[str, Form(min_length=20)], config=Depends(settings)):
    try:
        verify_token(token.strip(), config)
    except Exception as err:  # HTTPException: say why on the form, never set the cookie
        return _render(request, "login.html", None, error=getattr(err, "detail", "token inválido"))
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE, token.strip(), httponly=True, secure=config.cookie_secure, samesite="lax", max_age=3600
    )
    return response


@router.post("/logout")
def logout():
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response
