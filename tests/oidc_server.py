"""A real HTTP server acting as an OIDC issuer for tests: discovery and a JWKS of its own
freshly minted RSA key; `token(...)` signs RS256 access tokens shaped like Keycloak's."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


class OIDCTestServer:
    def __init__(self, audience: str = "tendencias"):
        self.audience = audience
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/realms/tendencias"

    def jwks(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def token(
        self, roles=("viewer",), *, key=None, issuer=None, audience=None, expires_in=300, **claims
    ) -> str:
        now = int(time.time())
        body = {
            "iss": issuer or self.issuer,
            "aud": audience or self.audience,
            "sub": "user-1",
            "preferred_username": "ana",
            "iat": now,
            "exp": now + expires_in,
            "realm_access": {"roles": list(roles)},
            **claims,
        }
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": self.kid})

    def start(self) -> OIDCTestServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path.endswith("/.well-known/openid-configuration"):
                    body = {
                        "issuer": owner.issuer,
                        "jwks_uri": owner.issuer + "/protocol/openid-connect/certs",
                    }
                elif self.path.endswith("/certs"):
                    body = owner.jwks()
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
