"""Who is asking: an API key (machines) or an OIDC bearer JWT (people), as FastAPI dependencies.

- `X-API-Key`: compared in constant time with each key of TENDENCIAS_API_KEYS; a key acts as
  an analyst.
- `Authorization: Bearer <JWT>` or the HttpOnly `tendencias_session` cookie set by /login:
  RS256, signature checked against the issuer's JWKS (discovered from
  ISSUER/.well-known/openid-configuration unless TENDENCIAS_OIDC_JWKS_URL is set), issuer,
  audience and expiry checked; roles from Keycloak's `realm_access.roles` (or `roles`).
Roles rank viewer < analyst < admin; `require("analyst")` admits analysts and admins.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from functools import lru_cache

import httpx
import jwt
from fastapi import Depends, HTTPException, Request

from tendencias.serve.settings import Settings

ROLES = ("viewer", "analyst", "admin")
COOKIE = "tendencias_session"


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    via: str  # "api_key" or "oidc"


def settings(request: Request) -> Settings:
    return request.app.state.settings


@lru_cache(maxsize=8)
def jwks_client(issuer: str, jwks_url: str) -> jwt.PyJWKClient:
    if not jwks_url:
        config = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10).raise_for_status().json()
        jwks_url = config["jwks_uri"]
    return jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=10)


def role_of(claims: dict) -> str | None:
    roles = set((claims.get("realm_access") or {}).get("roles") or ()) | set(claims.get("roles") or ())
    best = [r for r in ROLES if r in roles]
    return best[-1] if best else None


def verify_token(token: str, config: Settings) -> Principal:
    if not config.oidc_issuer:
        raise HTTPException(401, "sign-in is not configured (TENDENCIAS_OIDC_ISSUER)")
    try:
        key = jwks_client(config.oidc_issuer, config.oidc_jwks_url).get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=config.oidc_audience or None,
            issuer=config.oidc_issuer,
            options={"require": ["exp", "iss", "sub"], "verify_aud": bool(config.oidc_audience)},
        )
    except (jwt.PyJWTError, httpx.HTTPError) as err:
        raise HTTPException(401, f"invalid token: {err}", headers={"WWW-Authenticate": "Bearer"}) from None
    role = role_of(claims)
    if role is None:
        raise HTTPException(403, "the token carries none of the roles viewer, analyst, admin")
    return Principal(claims.get("preferred_username") or claims["sub"], role, "oidc")


def principal(request: Request, config: Settings = Depends(settings)) -> Principal:
    key = request.headers.get("x-api-key")
    if key is not None:
        matched = False
        for known in config.api_keys:  # every key compared, in constant time
            matched |= hmac.compare_digest(key.encode(), known.encode())
        if not matched:
            raise HTTPException(401, "unknown API key")
        return Principal("api-key", "analyst", "api_key")
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(COOKIE)
    if not token:
        raise HTTPException(
            401, "credentials required: X-API-Key or a bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    return verify_token(token, config)


def require(role: str):
    wanted = ROLES.index(role)

    def check(who: Principal = Depends(principal)) -> Principal:
        if ROLES.index(who.role) < wanted:
            raise HTTPException(403, f"needs the {role} role; you are {who.role}")
        return who

    return check
