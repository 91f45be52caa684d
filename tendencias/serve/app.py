"""The FastAPI app: routers, the store, sign-in, security headers, and /healthz (the one open path)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from tendencias.serve.auth import require
from tendencias.serve.oidc import Provider
from tendencias.serve.routers import api, api_reference, metrics, pages, signin
from tendencias.serve.sessions import SessionStore
from tendencias.serve.settings import Settings


def content_security_policy(settings: Settings) -> str:
    # Logging out posts a form whose answer redirects to the issuer's end-session endpoint, and
    # form-action governs where a form's redirects may go: the issuer's origin is allowed there.
    issuer = urlsplit(settings.oidc_issuer)
    form_action = "'self'" + (f" {issuer.scheme}://{issuer.netloc}" if issuer.netloc else "")
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    )


def create_app(settings: Settings, store, provider: Provider | None = None) -> FastAPI:
    app = FastAPI(
        title="Tendencias",
        version="2",
        description=(
            "Tendencias de consumo: alertas, historias, tendencias, sentimiento, temas, ventas y briefs. "
            "Credentials: `X-API-Key` or `Authorization: Bearer <access token of the configured issuer>`."
        ),
        docs_url=None,  # Swagger UI needs inline script and a CDN: /api is the reference page
        redoc_url=None,
        openapi_url=None,  # served below, behind credentials
    )
    app.state.settings = settings
    app.state.store = store
    app.state.provider = provider or (Provider(settings) if settings.sign_in else None)
    app.state.sessions = SessionStore(settings.session_hours)
    headers = {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }

    @app.middleware("http")
    async def measure_and_secure(
        request: Request, call_next
    ):  # one middleware: each costs a task per request
        start = time.perf_counter()
        response = await call_next(request)
        metrics.record(request, response.status_code, time.perf_counter() - start)
        if request.url.path.startswith("/static/") and response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=3600"  # Chart.js: not on every page
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(HTTPException)
    async def to_login(request: Request, exc: HTTPException):
        wants_page = not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
            "accept", ""
        )
        if exc.status_code == 401 and wants_page:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            route = "/auth/login" if settings.sign_in else "/login"
            return RedirectResponse(f"{route}?{urlencode({'next': target})}", status_code=303)
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def say_what_to_fix(request: Request, exc: RequestValidationError):
        response = await request_validation_exception_handler(request, exc)
        if isinstance(response, JSONResponse):
            # FastAPI's own detail, plus one sentence a person can act on
            body = json.loads(response.body)
            body["message"] = "; ".join(
                f"{'.'.join(str(p) for p in e.get('loc', [])[1:]) or 'request'}: {e.get('msg')}"
                for e in body.get("detail", [])
            )
            return JSONResponse(body, status_code=422)
        return response

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"ok": True}

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require("viewer"))])
    def openapi() -> dict:
        return app.openapi()

    app.include_router(api.router)
    app.include_router(api_reference.router)
    app.include_router(signin.router)
    app.include_router(pages.router)
    app.include_router(metrics.router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    return app
