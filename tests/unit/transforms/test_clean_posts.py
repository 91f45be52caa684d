"""CleanPosts: redacted text, salted pseudonyms, language filled in, dead letters for bad posts."""

from __future__ import annotations

import base64
import json

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from tendencias.transforms.text import SALT_ENV, CleanPosts, pseudonym


def _post(post_id: str, text: str, author: str | None = "@LuchoFan", lang: str | None = None) -> dict:
    return {
        "id": post_id,
        "text": text,
        "event_time_ms": 1_790_000_000_000,
        "source": "twitter",
        "lang": lang,
        "author": author,
        "brand": None,
        "product": None,
        "category": None,
        "region": "Lima",
        "url": None,
        "rating": None,
    }


_OUT: dict[str, list] = {}  # filled by the pipeline (DirectRunner runs in this process)


def _keep(values: list, name: str) -> None:
    _OUT[name] = values


def _clean(posts: list[dict]) -> tuple[list[dict], list[dict]]:
    """Runs CleanPosts on DirectRunner and returns (posts, dead letters)."""
    _OUT.clear()
    with BeamTestPipeline() as p:
        cleaned = p | beam.Create(posts) | CleanPosts(keep_handles=["@AndinaCola"])
        _ = cleaned.posts | "AllPosts" >> beam.combiners.ToList() | "KeepPosts" >> beam.Map(_keep, "posts")
        _ = cleaned.dead_letter | "AllDead" >> beam.combiners.ToList() | "KeepDead" >> beam.Map(_keep, "dead")
    return _OUT["posts"], _OUT["dead"]


def test_text_clean_redacts_personal_data_and_keeps_the_original_fields(monkeypatch):
    monkeypatch.setenv(SALT_ENV, "test-salt")
    text = "Escríbeme a rosa.quispe@correo.pe o al 987 654 321, gracias @AndinaCola y @vecina_rosa"
    [post], dead = _clean([_post("p1", text)])
    assert dead == []
    assert "rosa.quispe@correo.pe" not in post["text_clean"] and "987 654 321" not in post["text_clean"]
    assert "<email>" in post["text_clean"] and "<phone>" in post["text_clean"]
    assert "@AndinaCola" in post["text_clean"]  # a brand's public handle is kept
    assert "@vecina_rosa" not in post["text_clean"]
    assert post["id"] == "p1" and post["region"] == "Lima"


def test_author_is_a_stable_salted_pseudonym(monkeypatch):
    monkeypatch.setenv(SALT_ENV, "salt-one")
    posts, _ = _clean(
        [
            _post("a", "hola", author="@LuchoFan"),
            _post("b", "chau", author="luchofan"),
            _post("c", "hey", author=None),
        ]
    )
    by_id = {p["id"]: p for p in posts}
    assert by_id["a"]["author"] == by_id["b"]["author"] == pseudonym("LuchoFan", b"salt-one")
    assert "lucho" not in by_id["a"]["author"].lower()
    assert by_id["c"]["author"] is None
    monkeypatch.setenv(SALT_ENV, "salt-two")
    [again], _ = _clean([_post("a", "hola", author="@LuchoFan")])
    assert again["author"] != by_id["a"]["author"]


def test_random_salt_when_unset_is_consistent_within_a_run(monkeypatch):
    monkeypatch.delenv(SALT_ENV, raising=False)
    posts, _ = _clean([_post("a", "uno", author="@x_fan"), _post("b", "dos", author="@X_FAN")])
    assert posts[0]["author"] == posts[1]["author"]
    assert posts[0]["author"].startswith("u_")


def test_lang_is_filled_when_missing_and_normalised_when_given(monkeypatch):
    monkeypatch.setenv(SALT_ENV, "s")
    posts, _ = _clean(
        [
            _post("es", "¿Dónde venden la chicha morada que está de moda?"),
            _post("en", "This is the best lemonade in town"),
            _post("mixed", "está buenazo, so refreshing"),
            _post("given", "whatever text", lang="ES-pe"),
        ]
    )
    assert {p["id"]: p["lang"] for p in posts} == {"es": "es", "en": "en", "mixed": "mixed", "given": "es"}


def test_a_post_that_cannot_be_cleaned_is_a_dead_letter_without_its_text(monkeypatch):
    monkeypatch.setenv(SALT_ENV, "s")
    bad = _post("bad", "x")
    bad["text"] = 42
    missing = _post("missing", "y")
    del missing["text"]
    posts, dead = _clean([bad, missing, _post("ok", "todo bien")])
    assert [p["id"] for p in posts] == ["ok"]
    assert sorted(d["reason"] for d in dead) == ["clean_failed", "missing_text"]
    for letter in dead:
        assert letter["stage"] == "clean"
        raw = json.loads(base64.b64decode(letter["raw_b64"]))
        assert "text" not in raw and "author" not in raw and raw["id"] in ("bad", "missing")


def test_clean_posts_counts_in_a_pipeline(monkeypatch):
    monkeypatch.setenv(SALT_ENV, "s")
    with BeamTestPipeline() as p:
        cleaned = p | beam.Create([_post(str(i), f"post número {i}") for i in range(20)]) | CleanPosts()
        assert_that(
            cleaned.posts | beam.Map(lambda post: post["text_clean"]),
            equal_to([f"post número {i}" for i in range(20)]),
        )
