"""The answer cache: keys, persistence across restarts, and the optional Redis store."""

from __future__ import annotations

import importlib.util
import threading

import pytest

from tendencias.models.sentiment.cache import (
    NoCache,
    SqliteCache,
    cache_key,
    default_cache_path,
    normalise_text,
    open_cache,
)

ANSWER = {"label": "positive", "score": 0.8, "confidence": 0.9, "aspects": ["taste"], "lang": "es"}


@pytest.mark.parametrize(
    "a, b",
    [
        ("Me encanta la Inca Kola", "me encanta   la inca kola "),
        ("Me encanta la Inca Kola", "RT @usuario: Me encanta la Inca Kola"),
        ("Me encanta la Inca Kola", "rt @usuario me encanta la inca kola"),
        ("café", "cafe\u0301"),  # composed and decomposed accents
    ],
)
def test_reposts_and_trivial_variants_share_a_key(a, b):
    assert normalise_text(a) == normalise_text(b)
    assert cache_key(a, "v1", "m") == cache_key(b, "v1", "m")


def test_key_changes_with_text_prompt_version_and_model():
    keys = {
        cache_key("rico", "v1", "m"),
        cache_key("rica", "v1", "m"),
        cache_key("rico", "v2", "m"),
        cache_key("rico", "v1", "other"),
    }
    assert len(keys) == 4


def test_sqlite_cache_survives_a_restart_and_holds_no_text(tmp_path):
    path = tmp_path / "c" / "sentiment.sqlite"
    key = cache_key("una frase muy particular", "v1", "m")
    first = SqliteCache(path)
    first.put_many({key: ANSWER})
    first.close()
    second = SqliteCache(path)  # a new process would do the same
    assert second.get_many([key, "missing"]) == {key: ANSWER}
    second.close()
    assert b"particular" not in path.read_bytes()


def test_sqlite_cache_from_many_threads(tmp_path):
    cache = SqliteCache(tmp_path / "s.sqlite")
    keys = [cache_key(f"post {n}", "v1", "m") for n in range(200)]

    def write(part):
        cache.put_many({k: dict(ANSWER, score=0.5) for k in part})

    threads = [threading.Thread(target=write, args=(keys[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache.get_many(keys)) == 200  # more keys than one SQL statement may bind


def test_open_cache_forms(tmp_path, monkeypatch):
    monkeypatch.setenv("TENDENCIAS_CACHE_DIR", str(tmp_path / "home"))
    assert default_cache_path() == tmp_path / "home" / "sentiment.sqlite"
    assert isinstance(open_cache(None), SqliteCache) and default_cache_path().exists()
    assert isinstance(open_cache("none"), NoCache)
    assert open_cache(f"sqlite:///{tmp_path}/x.sqlite").path == tmp_path / "x.sqlite"
    assert open_cache(str(tmp_path / "y.sqlite")).path == tmp_path / "y.sqlite"
    with pytest.raises(ValueError, match="scheme 'memcached'"):
        open_cache("memcached://host")


def test_no_cache_stores_nothing():
    cache = NoCache()
    cache.put_many({"k": ANSWER})
    assert cache.get_many(["k"]) == {}


@pytest.mark.skipif(importlib.util.find_spec("redis") is not None, reason="redis is installed here")
def test_redis_without_the_package_says_how_to_fix_it():
    with pytest.raises(RuntimeError, match=r"needs the redis package: pip install") as err:
        open_cache("redis://:hunter2@localhost:6379/0")
    assert "hunter2" not in str(err.value)  # a password in the URL is not echoed
