"""Jinja2 pages in Spanish, autoescaped (post texts are untrusted), and the words they show for
the records' English codes."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from tendencias.models.briefs.template import KIND_ES

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))

SPANISH = {
    **KIND_ES,  # the kinds, as the briefs name them
    "cluster": "historia",  # posts that tell one story in different words
    # severities
    "info": "normal",
    "watch": "en observación",
    "alert": "alerta",
    # lifecycle stages
    "emerging": "emergente",
    "growing": "creciendo",
    "peaking": "en su pico",
    "declining": "bajando",
    "ended": "terminada",
    "stable": "estable",
    # aspects people write about
    "taste": "sabor",
    "sweetness": "dulzor",
    "price": "precio",
    "size": "tamaño",
    "packaging": "envase",
    "availability": "disponibilidad",
    "health": "salud",
    "energy": "energía",
    "service": "servicio",
    "other": "otros",
    # episode status
    "new": "nueva",
    "ongoing": "en curso",
    "related": "relacionada",
}


def spanish(code) -> str:
    return SPANISH.get(code, code) if code is not None else ""


def signed(value, digits: int = 2) -> str:
    return "—" if value is None else f"{value:+.{digits}f}"


def number(value, digits: int = 0) -> str:
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}"
    return text.replace(",", " ")  # thin grouping, no ambiguity between "1,5" and "1.5"


def day(value) -> str:
    """'2026-11-03T14:15:00Z' as '2026-11-03 14:15' (UTC)."""
    return "" if not value else str(value).replace("T", " ").replace(":00Z", "").replace("Z", "")


def query_with(request: Request, **changes) -> str:
    """The current query string with `changes` (None removes a parameter)."""
    params = {k: v for k, v in request.query_params.items() if k not in changes}
    params.update({k: v for k, v in changes.items() if v is not None})
    return "?" + urlencode(params)


templates.env.filters.update(es=spanish, signed=signed, number=number, day=day)
templates.env.globals.update(query_with=query_with, SPANISH=SPANISH)


def render(request: Request, name: str, who, **context) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"who": who, **context})
