"""The OpenID Connect client: the authorization-code flow with PKCE against the configured issuer
(Keycloak's shape: a realm's discovery document, authorize and token endpoints, a JWKS), and
the checks on every token it hands us.

- `Provider.authorize_url` sends the browser to the issuer with `state` (ties the answer to the
  browser that asked), `nonce` (ties the ID token to this login) and an S256 code challenge.
- `Provider.redeem` trades the code and its verifier for tokens; `Provider.refresh` renews them.
- Every ID token is checked: RS256 signature against the JWKS, issuer, audience (our client id),
  `azp`, expiry and nonce. Every access token: signature, issuer, expiry, and the configured
  audience (bearer tokens) or `azp` (tokens we redeemed). Roles come from the access token's
  `realm_access.roles` (or `roles`), as Keycloak puts them.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import jwt

from tendencias.serve.settings import Settings

ROLES = ("viewer", "analyst", "admin")
ALGORITHMS = ["RS256"]
DISCOVERY_TTL_S = 3600.0


class SignInError(Exception):
    """A sign-in that cannot go on; `reason` is said to the person (Spanish), `detail` logged."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason


@dataclass(frozen=True)
class Identity:
    name: str
    role: str | None  # None: none of viewer, analyst, admin
    expires_at: float  # the access token's expiry, epoch seconds


@dataclass(frozen=True)
class Tokens:
    identity: Identity
    refresh_token: str
    refresh_expires_at: float  # epoch seconds; 0 without a refresh token
    id_token: str


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge), RFC 7636."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def role_of(claims: dict) -> str | None:
    roles = set((claims.get("realm_access") or {}).get("roles") or ()) | set(claims.get("roles") or ())
    best = [r for r in ROLES if r in roles]
    return best[-1] if best else None


class Provider:
    """The issuer as this app sees it; discovery and JWKS fetched lazily and cached."""

    def __init__(self, settings: Settings, client: httpx.Client | None = None):
        self.settings = settings
        self.issuer = settings.oidc_issuer
        self._http = client or httpx.Client(timeout=10)
        self._lock = threading.Lock()
        self._config: dict = {}
        self._fetched = 0.0
        self._jwks: jwt.PyJWKClient | None = None

    def config(self) -> dict:
        with self._lock:
            if not self._config or time.monotonic() - self._fetched > DISCOVERY_TTL_S:
                url = f"{self.issuer}/.well-known/openid-configuration"
                try:
                    config = self._http.get(url).raise_for_status().json()
                except (httpx.HTTPError, ValueError) as err:
                    raise SignInError(
                        "No se pudo contactar al proveedor de identidad.", f"discovery {url}: {err}"
                    ) from None
                if config.get("issuer", "").rstrip("/") != self.issuer:
                    raise SignInError(
                        "El proveedor de identidad no es el configurado.",
                        f"discovery names issuer {config.get('issuer')!r}, expected {self.issuer!r}",
                    )
                self._config, self._fetched = config, time.monotonic()
                jwks_url = self.settings.oidc_jwks_url or config["jwks_uri"]
                self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=10)
            return self._config

    def _endpoint(self, name: str) -> str:
        url = self.config().get(name)
        if not url:
            raise SignInError("El proveedor de identidad no ofrece este paso.", f"discovery lacks {name}")
        return url

    def authorize_url(self, redirect_uri: str, state: str, nonce: str, challenge: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.settings.oidc_client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return f"{self._endpoint('authorization_endpoint')}?{urlencode(query)}"

    def logout_url(self, id_token: str, after: str) -> str | None:
        url = self.config().get("end_session_endpoint")
        if not url:
            return None
        query = {
            "client_id": self.settings.oidc_client_id,
            "post_logout_redirect_uri": after,
            **({"id_token_hint": id_token} if id_token else {}),
        }
        return f"{url}?{urlencode(query)}"

    def _token_request(self, form: dict) -> dict:
        form = {**form, "client_id": self.settings.oidc_client_id}
        auth = None
        if self.settings.oidc_client_secret:  # a confidential client (Keycloak's default for web apps)
            auth = (self.settings.oidc_client_id, self.settings.oidc_client_secret)
        try:
            response = self._http.post(self._endpoint("token_endpoint"), data=form, auth=auth)
        except httpx.HTTPError as err:
            raise SignInError("No se pudo contactar al proveedor de identidad.", str(err)) from None
        if response.status_code != 200:
            try:
                error = response.json()
            except ValueError:
                error = {"error": response.text[:200]}
            raise SignInError(
                "El proveedor de identidad rechazó el ingreso.",
                f"token endpoint {response.status_code}: {error.get('error')} {error.get('error_description', '')}",
            )
        return response.json()

    def redeem(self, code: str, verifier: str, redirect_uri: str, nonce: str) -> Tokens:
        answer = self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            }
        )
        return self._tokens(answer, nonce)

    def refresh(self, refresh_token: str) -> Tokens:
        return self._tokens(
            self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token}), None
        )

    def _tokens(self, answer: dict, nonce: str | None) -> Tokens:
        if not answer.get("access_token") or (nonce is not None and not answer.get("id_token")):
            raise SignInError(
                "El proveedor de identidad no envió los tokens.", f"token answer: {sorted(answer)}"
            )
        id_claims = self.verify_id_token(answer["id_token"], nonce) if answer.get("id_token") else {}
        access = self.verify_access_token(answer["access_token"], issued_to_us=True)
        if id_claims and id_claims["sub"] != access["sub"]:
            raise SignInError(
                "Los tokens no son de la misma persona.", "sub differs between ID and access token"
            )
        now = time.time()
        refresh_in = answer.get("refresh_expires_in")
        refresh_token = answer.get("refresh_token") or ""
        return Tokens(
            identity=identity_of({**id_claims, **access}),
            refresh_token=refresh_token,
            refresh_expires_at=(now + float(refresh_in)) if refresh_token and refresh_in else 0.0,
            id_token=answer.get("id_token") or "",
        )

    def _decode(self, token: str, audience: str | None, require: list[str]) -> dict:
        self.config()
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            return jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=audience,
                issuer=self.issuer,
                leeway=30,
                options={"require": require, "verify_aud": audience is not None},
            )
        except jwt.PyJWTError as err:
            raise SignInError("El token no es válido.", f"invalid token: {err}") from None

    def verify_id_token(self, token: str, nonce: str | None) -> dict:
        client = self.settings.oidc_client_id
        claims = self._decode(token, client, ["exp", "iat", "iss", "sub", "aud"])
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != client:
            raise SignInError("El token no es para esta aplicación.", f"id token azp {claims.get('azp')!r}")
        if nonce is not None and not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise SignInError("El ingreso no corresponde a esta sesión.", "id token nonce mismatch")
        return claims

    def verify_access_token(self, token: str, issued_to_us: bool = False) -> dict:
        """The claims of an access token. A bearer token must name the configured audience (when
        one is set); one we redeemed ourselves must have been issued to our client (`azp`), since
        Keycloak names only "account" in `aud` unless an audience mapper adds more."""
        audience = None if issued_to_us else (self.settings.oidc_audience or None)
        claims = self._decode(token, audience, ["exp", "iss", "sub"])
        if issued_to_us and claims.get("azp") != self.settings.oidc_client_id:
            raise SignInError(
                "El token no es para esta aplicación.", f"access token azp {claims.get('azp')!r}"
            )
        return claims


def identity_of(claims: dict) -> Identity:
    return Identity(
        name=claims.get("preferred_username") or claims.get("email") or claims["sub"],
        role=role_of(claims),
        expires_at=float(claims["exp"]),
    )
