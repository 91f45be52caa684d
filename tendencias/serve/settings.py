"""The web app's settings, read once from the environment (never from flags: they hold secrets)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    archive: str = ""
    api_keys: tuple[str, ...] = ()  # TENDENCIAS_API_KEYS, comma-separated
    oidc_issuer: str = ""  # TENDENCIAS_OIDC_ISSUER, e.g. https://sso.example.pe/realms/tendencias
    oidc_audience: str = ""  # TENDENCIAS_OIDC_AUDIENCE
    oidc_jwks_url: str = ""  # TENDENCIAS_OIDC_JWKS_URL; empty: discovered from the issuer
    cookie_secure: bool = True  # TENDENCIAS_COOKIE_SECURE=0 only for plain-HTTP local use
    refresh_s: float = 10.0  # how often the archive is checked for new files

    @classmethod
    def from_env(cls, archive: str = "") -> Settings:
        env = os.environ
        keys = tuple(k.strip() for k in env.get("TENDENCIAS_API_KEYS", "").split(",") if k.strip())
        return cls(
            archive=archive,
            api_keys=keys,
            oidc_issuer=env.get("TENDENCIAS_OIDC_ISSUER", "").rstrip("/"),
            oidc_audience=env.get("TENDENCIAS_OIDC_AUDIENCE", ""),
            oidc_jwks_url=env.get("TENDENCIAS_OIDC_JWKS_URL", ""),
            cookie_secure=env.get("TENDENCIAS_COOKIE_SECURE", "1") != "0",
            refresh_s=float(env.get("TENDENCIAS_ARCHIVE_REFRESH_S", "10")),
        )
