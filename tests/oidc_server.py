"""The issuer the tests sign in at: the package's development issuer (a real HTTP server)."""

from tendencias.serve.dev_issuer import DevIssuer as OIDCTestServer
from tendencias.serve.dev_issuer import User

__all__ = ["OIDCTestServer", "User"]
