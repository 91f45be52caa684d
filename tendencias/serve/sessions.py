"""Server-side sign-in state: logins under way (state -> PKCE verifier, nonce, where to go back)
and sessions (an unguessable id in an HttpOnly cookie -> who, and the tokens to renew them).

Kept in the server's memory, bounded and expiring: the browser holds nothing but random ids, a
logout ends the session here (a copied cookie is worthless after it), and a restart asks people
to sign in again (silently, while their session at the issuer lasts).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace

from tendencias.serve.oidc import Tokens

LOGIN_TTL_S = 600.0
MAX_LOGINS = 10_000
MAX_SESSIONS = 50_000


@dataclass(frozen=True)
class PendingLogin:
    verifier: str
    nonce: str
    next_path: str
    redirect_uri: str
    created: float


@dataclass(frozen=True)
class Session:
    tokens: Tokens
    ends_at: float  # epoch seconds: the session's absolute end, whatever refreshes happen


class _Bounded:
    """An insertion-ordered map that drops its oldest entries beyond `limit`."""

    def __init__(self, limit: int):
        self.limit = limit
        self.items: OrderedDict[str, object] = OrderedDict()
        self.lock = threading.Lock()

    def put(self, key: str, value: object) -> None:
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.limit:
                self.items.popitem(last=False)


class SessionStore:
    def __init__(self, session_hours: float):
        self.session_s = session_hours * 3600
        self._logins = _Bounded(MAX_LOGINS)
        self._sessions = _Bounded(MAX_SESSIONS)

    def begin_login(self, verifier: str, nonce: str, next_path: str, redirect_uri: str) -> str:
        state = secrets.token_urlsafe(32)
        self._logins.put(state, PendingLogin(verifier, nonce, next_path, redirect_uri, time.time()))
        return state

    def finish_login(self, state: str) -> PendingLogin | None:
        """The login `state` began, once; None if unknown, used or older than LOGIN_TTL_S."""
        with self._logins.lock:
            pending = self._logins.items.pop(state, None)
        if pending is None or time.time() - pending.created > LOGIN_TTL_S:
            return None
        return pending

    def open(self, tokens: Tokens) -> str:
        sid = secrets.token_urlsafe(32)
        self._sessions.put(sid, Session(tokens, time.time() + self.session_s))
        return sid

    def get(self, sid: str) -> Session | None:
        with self._sessions.lock:
            session = self._sessions.items.get(sid)
        if session is None or time.time() >= session.ends_at:
            self.close(sid)
            return None
        return session

    def renew(self, sid: str, tokens: Tokens) -> None:
        with self._sessions.lock:
            session = self._sessions.items.get(sid)
            if session is not None:
                self._sessions.items[sid] = replace(session, tokens=tokens)

    def close(self, sid: str) -> Session | None:
        with self._sessions.lock:
            return self._sessions.items.pop(sid, None)
