"""/api: the API's reference as a page (from the OpenAPI spec), for people who are signed in.
FastAPI's Swagger UI would need inline script and a CDN, which the CSP forbids."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from tendencias.serve.auth import Principal, require
from tendencias.serve.routers.render import render

router = APIRouter(include_in_schema=False)


def _parameters(operation: dict, spec: dict) -> list[dict]:
    out = []
    for p in operation.get("parameters", []):
        schema = p.get("schema", {})
        options = schema.get("anyOf", [schema])
        kinds, allowed = [], []
        for option in options:
            option = _resolve(option, spec)
            if option.get("enum"):
                allowed += option["enum"]
            elif option.get("type") and option["type"] != "null":
                kinds.append(option["type"] + ("[]" if option["type"] == "array" else ""))
        limits = [
            f"{name} {schema[key]}" for key, name in (("minimum", "≥"), ("maximum", "≤")) if key in schema
        ]
        out.append(
            {
                "name": p["name"],
                "where": p["in"],
                "required": p.get("required", False),
                "type": ", ".join(kinds) or ("enum" if allowed else ""),
                "allowed": allowed,
                "default": schema.get("default"),
                "limits": " ".join(limits),
                "description": p.get("description") or schema.get("description") or "",
            }
        )
    return out


def _resolve(schema: dict, spec: dict) -> dict:
    ref = schema.get("$ref")
    if not ref:
        return schema
    node = spec
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


@router.get("/api", response_class=HTMLResponse)
def reference(request: Request, who: Annotated[Principal, Depends(require("viewer"))]):
    spec = request.app.openapi()
    endpoints = [
        {
            "method": method.upper(),
            "path": path,
            "summary": op.get("summary", ""),
            "parameters": _parameters(op, spec),
        }
        for path, methods in spec["paths"].items()
        for method, op in methods.items()
    ]
    return render(request, "api.html", who, page="api", endpoints=endpoints)
