"""A development issuer: a small, real OAuth2/OIDC authorization server shaped like a Keycloak
realm, for tests and for trying the dashboard on one machine (`tendencias serve --dev_sign_in`,
`tendencias demo --serve PORT`). It listens on 127.0.0.1 only and keeps everything in memory;
people in production sign in at a real issuer (Keycloak), see README.

Under `/realms/tendencias`: the discovery document, a JWKS of its own freshly minted RSA key,
the authorize endpoint (a login form; authorization codes bound to the client, redirect URI,
PKCE S256 challenge and nonce, single use, 60 s), the token endpoint (authorization_code with
the verifier checked, refresh_token; a confidential client authenticates with HTTP Basic) and
the end-session endpoint. Tokens look like Keycloak's: access tokens with `azp`,
`realm_access.roles`, `aud` "account"; ID tokens with `aud` the client and the `nonce`.
`token(...)` also signs bearer access tokens directly, for the API tests.

Knobs for the tests of what the app refuses: `tamper` changes what the next token answer carries
({"nonce": ..., "key": other RSA key, "id_aud": ...}); `access_lifetime` shortens tokens.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

REALM = "/realms/tendencias"
OIDC = REALM + "/protocol/openid-connect"


@dataclass
class User:
    password: str
    roles: list[str]
    sub: str = field(default_factory=lambda: "user-" + secrets.token_hex(4))


class DevIssuer:
    def __init__(
        self,
        audience: str = "tendencias",
        client_id: str = "tendencias",
        client_secret: str = "",
        users: dict[str, User] | None = None,
    ):
        self.audience = audience
        self.client_id = client_id
        self.client_secret = client_secret
        self.users = users or {
            "ana": User("clave-de-ana", ["analyst"]),
            "vera": User("clave-de-vera", ["viewer"]),
            "nadie": User("clave-de-nadie", ["offline_access"]),
        }
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        self.access_lifetime = 300
        self.tamper: dict = {}
        self.codes: dict[str, dict] = {}
        self.refresh_tokens: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, form/query) seen
        self.logged_out = 0
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def issuer(self) -> str:
        return self.base + REALM

    def jwks(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.base + OIDC + "/auth",
            "token_endpoint": self.base + OIDC + "/token",
            "jwks_uri": self.base + OIDC + "/certs",
            "end_session_endpoint": self.base + OIDC + "/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public"],
        }

    # -- tokens ------------------------------------------------------------------------------

    def _sign(self, claims: dict, key=None) -> str:
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": self.kid})

    def token(
        self, roles=("viewer",), *, key=None, issuer=None, audience=None, expires_in=300, **claims
    ) -> str:
        """A bearer access token, as a client that signed in elsewhere would send."""
        now = int(time.time())
        body = {
            "iss": issuer or self.issuer,
            "aud": audience or self.audience,
            "sub": "user-1",
            "azp": "another-client",
            "preferred_username": "ana",
            "iat": now,
            "exp": now + expires_in,
            "realm_access": {"roles": list(roles)},
            **claims,
        }
        return self._sign(body, key)

    def _answer(self, name: str, user: User, nonce: str | None) -> dict:
        tamper, self.tamper = self.tamper, {}
        now = int(time.time())
        access = {
            "iss": self.issuer,
            "aud": "account",
            "sub": user.sub,
            "azp": self.client_id,
            "typ": "Bearer",
            "iat": now,
            "exp": now + self.access_lifetime,
            "preferred_username": name,
            "realm_access": {"roles": list(user.roles)},
            "scope": "openid profile",
        }
        ident = {
            "iss": self.issuer,
            "aud": tamper.get("id_aud", self.client_id),
            "sub": user.sub,
            "azp": self.client_id,
            "typ": "ID",
            "iat": now,
            "exp": now + self.access_lifetime,
            "preferred_username": name,
            **({"nonce": tamper.get("nonce", nonce)} if nonce is not None else {}),
        }
        refresh = secrets.token_urlsafe(24)
        with self._lock:
            self.refresh_tokens[refresh] = {"user": name, "expires": now + 1800}
        return {
            "access_token": self._sign(access, tamper.get("key")),
            "id_token": self._sign(ident, tamper.get("key")),
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": self.access_lifetime,
            "refresh_expires_in": 1800,
            "scope": "openid profile",
        }

    # -- the server --------------------------------------------------------------------------

    def start(self) -> DevIssuer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: bytes, kind: str, headers: dict | None = None):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, body: dict):
                self._send(status, json.dumps(body).encode(), "application/json")

            def _redirect(self, url: str):
                self._send(302, b"", "text/plain", {"Location": url})

            def _form(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                return {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}

            def do_GET(self):
                url = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                owner.requests.append(("GET", url.path, query))
                if url.path == REALM + "/.well-known/openid-configuration":
                    self._json(200, owner.discovery())
                elif url.path == OIDC + "/certs":
                    self._json(200, owner.jwks())
                elif url.path == OIDC + "/auth":
                    problem = owner._check_authorize(query)
                    if problem:
                        self._send(400, problem.encode(), "text/plain; charset=utf-8")
                    else:
                        self._send(200, owner._login_form(query, "").encode(), "text/html; charset=utf-8")
                elif url.path == OIDC + "/logout":
                    owner.logged_out += 1
                    target = query.get("post_logout_redirect_uri")
                    if target:
                        self._redirect(target)
                    else:
                        self._send(200, b"logged out", "text/plain")
                else:
                    self._send(404, b"not found", "text/plain")

            def do_POST(self):
                url = urlsplit(self.path)
                form = self._form()
                owner.requests.append(("POST", url.path, form))
                if url.path == OIDC + "/auth":
                    problem = owner._check_authorize(form)
                    user = owner.users.get(form.get("username", ""))
                    if problem:
                        self._send(400, problem.encode(), "text/plain; charset=utf-8")
                    elif user is None or not secrets.compare_digest(user.password, form.get("password", "")):
                        page = owner._login_form(form, "Usuario o contraseña incorrectos.")
                        self._send(200, page.encode(), "text/html; charset=utf-8")
                    else:
                        self._redirect(owner._issue_code(form))
                elif url.path == OIDC + "/token":
                    status, body = owner._token(form, self.headers.get("Authorization", ""))
                    self._json(status, body)
                else:
                    self._send(404, b"not found", "text/plain")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- the authorization server's rules ----------------------------------------------------

    def _check_authorize(self, q: dict) -> str:
        if q.get("response_type") != "code":
            return "unsupported response_type"
        if q.get("client_id") != self.client_id:
            return "unknown client"
        if not q.get("redirect_uri", "").startswith(("http://127.0.0.1:", "http://localhost:")):
            return "invalid redirect_uri"
        if "openid" not in q.get("scope", "").split():
            return "scope must include openid"
        if q.get("code_challenge_method") != "S256" or len(q.get("code_challenge", "")) < 43:
            return "PKCE S256 required"
        if not q.get("state") or not q.get("nonce"):
            return "state and nonce required"
        return ""

    def _login_form(self, q: dict, error: str) -> str:
        keep = (
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "nonce",
            "code_challenge",
            "code_challenge_method",
        )
        hidden = "".join(
            f'<input type="hidden" name="{k}" value="{html.escape(q.get(k, ""), quote=True)}">' for k in keep
        )
        return (
            "<!doctype html><html lang='es'><head><meta charset='utf-8'><title>Ingresar · realm tendencias</title>"
            "<link rel='icon' href='data:,'></head>"
            "<body><h1>Realm tendencias</h1>"
            + (f"<p id='error'>{html.escape(error)}</p>" if error else "")
            + f"<form method='post' action='{OIDC}/auth'>{hidden}"
            "<label>Usuario <input id='username' name='username'></label>"
            "<label>Contraseña <input id='password' name='password' type='password'></label>"
            "<button id='kc-login'>Ingresar</button></form></body></html>"
        )

    def _issue_code(self, q: dict) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self.codes[code] = {
                "user": q["username"],
                "redirect_uri": q["redirect_uri"],
                "challenge": q["code_challenge"],
                "nonce": q["nonce"],
                "expires": time.time() + 60,
            }
        return q["redirect_uri"] + "?" + urlencode({"state": q["state"], "session_state": "s", "code": code})

    def _client_ok(self, form: dict, authorization: str) -> bool:
        client, secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization.lower().startswith("basic "):
            client, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if client != self.client_id:
            return False
        return not self.client_secret or secrets.compare_digest(secret, self.client_secret)

    def _token(self, form: dict, authorization: str) -> tuple[int, dict]:
        if not self._client_ok(form, authorization):
            return 401, {"error": "unauthorized_client"}
        grant = form.get("grant_type")
        if grant == "authorization_code":
            with self._lock:
                issued = self.codes.pop(form.get("code", ""), None)  # single use
            if issued is None or issued["expires"] < time.time():
                return 400, {"error": "invalid_grant", "error_description": "Code not valid"}
            if form.get("redirect_uri") != issued["redirect_uri"]:
                return 400, {"error": "invalid_grant", "error_description": "Incorrect redirect_uri"}
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != issued["challenge"]:
                return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
            return 200, self._answer(issued["user"], self.users[issued["user"]], issued["nonce"])
        if grant == "refresh_token":
            with self._lock:
                known = self.refresh_tokens.pop(form.get("refresh_token", ""), None)  # rotated
            if known is None or known["expires"] < time.time():
                return 400, {"error": "invalid_grant", "error_description": "Token is not active"}
            return 200, self._answer(known["user"], self.users[known["user"]], None)
        return 400, {"error": "unsupported_grant_type"}

    def sign_in(
        self, client, base_url: str, user: str = "ana", password: str | None = None, next_path: str = "/"
    ):
        """What a browser does, with an httpx.Client: to the app, to the form, back with the code.
        Returns the app's last answer (the page after sign-in, or the error page)."""
        answer = client.get(f"{base_url}/auth/login", params={"next": next_path}, follow_redirects=True)
        form_action = self.base + OIDC + "/auth"
        query = {k: v[-1] for k, v in parse_qs(urlsplit(str(answer.url)).query).items()}
        query.update(username=user, password=password or self.users[user].password)
        return client.post(form_action, data=query, follow_redirects=True)
