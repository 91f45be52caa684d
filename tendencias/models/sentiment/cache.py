"""A cache of sentiment answers keyed by (normalised text, prompt version, model).

It survives restarts: a local SQLite file by default, Redis when given a `redis://` URL (the
`redis` package is then needed: `pip install tendencias[redis]`). Keys are SHA-256 digests,
so the cache holds no post text. Reposts ("RT @usuario: ...") and duplicates that differ only
in case, accents' composition, or spacing share one key, so they cost nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
import time
import unicodedata
from pathlib import Path
from typing import Protocol

_REPOST = re.compile(r"^(?:rt|repost|via)\s*@\w+\s*:?\s*", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """The form two posts share when they say the same thing (repost prefix, case, spacing)."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    text = _SPACE.sub(" ", text).strip()
    while True:
        stripped = _REPOST.sub("", text, count=1)
        if stripped == text:
            return text
        text = stripped


def cache_key(text: str, prompt_version: str, model: str) -> str:
    raw = "\x1f".join((prompt_version, model, normalise_text(text)))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def default_cache_path() -> Path:
    base = os.environ.get("TENDENCIAS_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "tendencias"
    )
    return Path(base) / "sentiment.sqlite"


class SentimentCache(Protocol):
    def get_many(self, keys: list[str]) -> dict[str, dict]: ...
    def put_many(self, answers: dict[str, dict]) -> None: ...
    def close(self) -> None: ...


class SqliteCache:
    """One SQLite file in WAL mode; one connection per thread (sqlite3 objects are per thread)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        conn = self._conn()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL, "
            "created REAL NOT NULL)"
        )
        conn.commit()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30)
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):  # SQLite caps the number of bound parameters
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._conn().execute(f"SELECT key, answer FROM answers WHERE key IN ({marks})", chunk)
            found.update((key, json.loads(answer)) for key, answer in rows)
        return found

    def put_many(self, answers: dict[str, dict]) -> None:
        if not answers:
            return
        conn = self._conn()
        with conn:
            now = time.time()
            conn.executemany(
                "INSERT OR REPLACE INTO answers (key, answer, created) VALUES (?, ?, ?)",
                [(k, json.dumps(v, sort_keys=True), now) for k, v in answers.items()],
            )

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class RedisCache:
    """Answers under `tendencias:sentiment:<key>`, optionally expiring after `ttl_seconds`."""

    PREFIX = "tendencias:sentiment:"

    def __init__(self, url: str, ttl_seconds: int | None = None):
        try:
            import redis
        except ImportError:
            raise RuntimeError(
                f"the sentiment cache URL {url.split('@')[-1]!r} needs the redis package: "
                "pip install 'tendencias[redis]' (or redis>=5)"
            ) from None
        self._client = redis.Redis.from_url(url)
        self._ttl = ttl_seconds

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        values = self._client.mget([self.PREFIX + k for k in unique])
        return {k: json.loads(v) for k, v in zip(unique, values, strict=True) if v is not None}

    def put_many(self, answers: dict[str, dict]) -> None:
        if not answers:
            return
        pipe = self._client.pipeline()
        for key, answer in answers.items():
            pipe.set(self.PREFIX + key, json.dumps(answer, sort_keys=True), ex=self._ttl)
        pipe.execute()

    def close(self) -> None:
        self._client.close()


class NoCache:
    """`cache_url="none"`: every post is asked."""

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        return {}

    def put_many(self, answers: dict[str, dict]) -> None:
        pass

    def close(self) -> None:
        pass


def open_cache(url: str | None) -> SentimentCache:
    """None or "" → the default SQLite file; a path or sqlite:///path; redis://...; "none"."""
    if not url:
        return SqliteCache(default_cache_path())
    if url == "none":
        return NoCache()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisCache(url)
    if url.startswith("sqlite:///"):
        return SqliteCache(url[len("sqlite:///") :])
    if "://" in url:
        raise ValueError(
            f"sentiment cache URL must be a file path, sqlite:///PATH, redis://... or none; "
            f"got scheme {url.split('://')[0]!r}"
        )
    return SqliteCache(os.path.expanduser(url))
