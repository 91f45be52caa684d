"""The web app's settings, read once from the environment (never from flags: they hold secrets)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from tendencias.errors import UsageError


@dataclass(frozen=True)
class Settings:
    archive: str = ""
    api_keys: tuple[str, ...] = ()  # TENDENCIAS_API_KEYS, comma-separated
    oidc_issuer: str = ""  # TENDENCIAS_OIDC_ISSUER, e.g. https://sso.example.pe/realms/tendencias
    oidc_audience: str = ""  # TENDENCIAS_OIDC_AUDIENCE: what bearer access tokens must name in aud
    oidc_jwks_url: str = ""  # TENDENCIAS_OIDC_JWKS_URL; empty: from the discovery document
    oidc_client_id: str = "tendencias"  # TENDENCIAS_OIDC_CLIENT_ID: this app's client at the issuer
    oidc_client_secret: str = ""  # TENDENCIAS_OIDC_CLIENT_SECRET: empty for a public client
    public_url: str = ""  # TENDENCIAS_PUBLIC_URL: how browsers reach us; empty: from the request
    cookie_secure: bool = True  # TENDENCIAS_COOKIE_SECURE=0 only for plain-HTTP local use
    session_hours: float = 8.0  # TENDENCIAS_SESSION_HOURS: a session ends then at the latest
    refresh_s: float = 10.0  # TENDENCIAS_ARCHIVE_REFRESH_S: how often the archive is checked

    @property
    def sign_in(self) -> bool:
        """People can sign in (an issuer is configured)."""
        return bool(self.oidc_issuer)

    @classmethod
    def from_env(cls, archive: str = "") -> Settings:
        env = os.environ
        keys = tuple(k.strip() for k in env.get("TENDENCIAS_API_KEYS", "").split(",") if k.strip())

        def number(name: str, default: float) -> float:
            try:
                value = float(env.get(name, default))
            except ValueError:
                raise UsageError(f"{name} must be a number, not {env[name]!r}") from None
            if value <= 0:
                raise UsageError(f"{name} must be above 0")
            return value

        return cls(
            archive=archive,
            api_keys=keys,
            oidc_issuer=env.get("TENDENCIAS_OIDC_ISSUER", "").rstrip("/"),
            oidc_audience=env.get("TENDENCIAS_OIDC_AUDIENCE", ""),
            oidc_jwks_url=env.get("TENDENCIAS_OIDC_JWKS_URL", ""),
            oidc_client_id=env.get("TENDENCIAS_OIDC_CLIENT_ID", "") or "tendencias",
            oidc_client_secret=env.get("TENDENCIAS_OIDC_CLIENT_SECRET", ""),
            public_url=env.get("TENDENCIAS_PUBLIC_URL", "").rstrip("/"),
            cookie_secure=env.get("TENDENCIAS_COOKIE_SECURE", "1") != "0",
            session_hours=number("TENDENCIAS_SESSION_HOURS", 8.0),
            refresh_s=number("TENDENCIAS_ARCHIVE_REFRESH_S", 10.0),
        )
