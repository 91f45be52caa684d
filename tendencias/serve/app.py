"""The FastAPI app: routers, the store, security headers, and /healthz (the one open path)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from tendencias.serve.routers import api, metrics, pages
from tendencias.serve.settings import Settings

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def create_app(settings: Settings, store) -> FastAPI:
    app = FastAPI(
        title="Tendencias", version="1", description="Tendencias de consumo: alertas, historias, briefs."
    )
    app.state.settings = settings
    app.state.store = store

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.middleware("http")(metrics.observe)

    @app.exception_handler(HTTPException)
    async def to_login(request: Request, exc: HTTPException):
        wants_page = not request.url.path.startswith("/api") and "text/html" in request.headers.get(
            "accept", ""
        )
        if exc.status_code == 401 and wants_page:
            return RedirectResponse("/login", status_code=303)
        return await http_exception_handler(request, exc)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"ok": True}

    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(metrics.router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    return app
