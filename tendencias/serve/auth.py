"""Who is asking, as FastAPI dependencies: an API key (machines), a bearer JWT, or a session.

- `X-API-Key`: compared in constant time with each key of TENDENCIAS_API_KEYS; a key acts as
  an analyst.
- `Authorization: Bearer <JWT>`: an access token of the configured issuer, checked by
  `oidc.Provider.verify_access_token` (signature against the JWKS, issuer, expiry, audience).
- The session cookie that signing in (routers/signin.py) sets: the session lives on the server;
  its access token is renewed with the refresh token when it expires, so a role taken away at
  the issuer is gone here within one access-token lifetime.
Roles rank viewer < analyst < admin; `require("analyst")` admits analysts and admins.
"""

from __future__ import annotations

import hmac
import logging
import time
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from tendencias.serve.oidc import ROLES, Provider, SignInError, identity_of
from tendencias.serve.sessions import SessionStore
from tendencias.serve.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    via: str  # "api_key", "bearer" or "session"


# Dependencies are `async def` unless they block: FastAPI runs a plain `def` dependency in its
# thread pool, a hop per dependency per request.


async def settings(request: Request) -> Settings:
    return request.app.state.settings


def provider(request: Request) -> Provider:
    if request.app.state.provider is None:
        raise HTTPException(401, "sign-in is not configured (TENDENCIAS_OIDC_ISSUER)")
    return request.app.state.provider


async def sessions(request: Request) -> SessionStore:
    return request.app.state.sessions


def cookie_name(config: Settings) -> str:
    # __Host-: the browser keeps it only if Secure, for this host and path / (no subdomain sets it)
    return "__Host-tendencias" if config.cookie_secure else "tendencias_session"


def _role_or_403(name: str, role: str | None, via: str) -> Principal:
    if role is None:
        raise HTTPException(403, "the token carries none of the roles viewer, analyst, admin")
    return Principal(name, role, via)


async def _from_session(request: Request, config: Settings) -> Principal | None:
    sid = request.cookies.get(cookie_name(config))
    store: SessionStore = request.app.state.sessions
    session = store.get(sid) if sid else None
    if session is None:
        return None
    tokens = session.tokens
    if tokens.identity.expires_at <= time.time():
        if not tokens.refresh_token or tokens.refresh_expires_at <= time.time():
            store.close(sid)
            return None
        try:
            tokens = await run_in_threadpool(request.app.state.provider.refresh, tokens.refresh_token)
        except SignInError as err:  # revoked at the issuer, or the issuer is away: sign in again
            log.info("session refresh failed: %s", err)
            store.close(sid)
            return None
        store.renew(sid, tokens)
    return _role_or_403(tokens.identity.name, tokens.identity.role, "session")


async def principal(request: Request, config: Settings = Depends(settings)) -> Principal:
    key = request.headers.get("x-api-key")
    if key is not None:
        matched = False
        for known in config.api_keys:  # every key compared, in constant time
            matched |= hmac.compare_digest(key.encode(), known.encode())
        if not matched:
            raise HTTPException(401, "unknown API key")
        return Principal("api-key", "analyst", "api_key")
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        try:
            claims = await run_in_threadpool(provider(request).verify_access_token, header[7:].strip())
        except SignInError as err:
            raise HTTPException(401, str(err), headers={"WWW-Authenticate": "Bearer"}) from None
        who = identity_of(claims)
        return _role_or_403(who.name, who.role, "bearer")
    who = await _from_session(request, config)
    if who is None:
        raise HTTPException(
            401,
            "credentials required: X-API-Key, a bearer token or a session",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return who


def require(role: str):
    wanted = ROLES.index(role)

    async def check(who: Principal = Depends(principal)) -> Principal:
        if ROLES.index(who.role) < wanted:
            raise HTTPException(403, f"needs the {role} role; you are {who.role}")
        return who

    return check
