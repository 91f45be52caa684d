"""Signing in and out: /login (the page), /auth/login (to the issuer), /auth/callback (back from
it), /logout. The authorization-code flow with PKCE; see oidc.py for the checks."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tendencias.serve.auth import cookie_name, sessions, settings
from tendencias.serve.oidc import SignInError, pkce_pair
from tendencias.serve.routers.render import render
from tendencias.serve.sessions import LOGIN_TTL_S, SessionStore
from tendencias.serve.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
LOGIN_COOKIE = "tendencias_login"  # the state of the login under way: ties the callback to this browser


def safe_next(path: str | None) -> str:
    """Only a path of this site: never another host (no open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def _base(request: Request, config: Settings) -> str:
    return config.public_url or str(request.base_url).rstrip("/")


def _login_page(request: Request, error: str = "", status: int = 200, **context) -> HTMLResponse:
    config: Settings = request.app.state.settings
    response = render(request, "login.html", None, error=error, sign_in=config.sign_in, **context)
    response.status_code = status
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/", salida: int = 0):
    return _login_page(request, next_path=safe_next(next), left=bool(salida))


@router.get("/auth/login")
def begin(request: Request, next: str = "/", config: Settings = Depends(settings)):
    next_path = safe_next(next)
    if request.app.state.provider is None:
        return _login_page(request, "El ingreso de personas no está configurado.", 503, next_path=next_path)
    store: SessionStore = request.app.state.sessions
    verifier, challenge = pkce_pair()
    nonce = secrets.token_urlsafe(24)
    redirect_uri = _base(request, config) + "/auth/callback"
    state = store.begin_login(verifier, nonce, next_path, redirect_uri)
    try:
        url = request.app.state.provider.authorize_url(redirect_uri, state, nonce, challenge)
    except SignInError as err:
        log.warning("sign-in: %s", err)
        return _login_page(request, err.reason, 502, next_path=next_path)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        LOGIN_COOKIE,
        state,
        max_age=int(LOGIN_TTL_S),
        path="/auth",
        httponly=True,
        secure=config.cookie_secure,
        samesite="lax",  # sent on the issuer's top-level redirect back to us
    )
    return response


@router.get("/auth/callback")
def callback(
    request: Request,
    state: str = "",
    code: str = "",
    error: str = "",
    error_description: str = "",
    config: Settings = Depends(settings),
    store: SessionStore = Depends(sessions),
):
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not state or not expected or not secrets.compare_digest(state, expected):
        return _forget_login(
            _login_page(request, "El ingreso caducó o no empezó aquí. Vuelve a intentarlo.", 400)
        )
    pending = store.finish_login(state)
    if pending is None:
        return _forget_login(_login_page(request, "El ingreso caducó. Vuelve a intentarlo.", 400))
    if error or not code:
        log.info("sign-in refused by the issuer: %s %s", error, error_description)
        reason = (
            "Cancelaste el ingreso."
            if error == "access_denied"
            else "El proveedor de identidad no te dejó ingresar."
        )
        return _forget_login(_login_page(request, reason, 400, next_path=pending.next_path))
    try:
        tokens = request.app.state.provider.redeem(
            code, pending.verifier, pending.redirect_uri, pending.nonce
        )
    except SignInError as err:
        log.warning("sign-in: %s", err)
        return _forget_login(_login_page(request, err.reason, 400, next_path=pending.next_path))
    if tokens.identity.role is None:
        return _forget_login(
            _login_page(
                request,
                f"{tokens.identity.name}: tu cuenta no tiene ninguno de los roles de Tendencias "
                "(viewer, analyst, admin). Pídelo a quien administra el acceso.",
                403,
            )
        )
    response = RedirectResponse(pending.next_path, status_code=303)
    response.set_cookie(
        cookie_name(config),
        store.open(tokens),
        max_age=int(store.session_s),
        path="/",
        httponly=True,
        secure=config.cookie_secure,
        samesite="lax",
    )
    return _forget_login(response)


def _forget_login(response):
    response.delete_cookie(LOGIN_COOKIE, path="/auth")
    return response


@router.post("/logout")
def logout(request: Request, config: Settings = Depends(settings), store: SessionStore = Depends(sessions)):
    name = cookie_name(config)
    session = store.close(request.cookies.get(name, ""))
    after = _base(request, config) + "/login?" + urlencode({"salida": 1})
    target = "/login?salida=1"
    if session is not None and request.app.state.provider is not None:
        try:  # end the session at the issuer too (RP-initiated logout), when it offers that
            target = request.app.state.provider.logout_url(session.tokens.id_token, after) or target
        except SignInError as err:
            log.warning("logout at the issuer: %s", err)
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(name, path="/", secure=config.cookie_secure, httponly=True)
    return response
