"""Briefs: facts from an archive, the template, and the model through the real test server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tendencias.models.briefs.prompt import check_answer
from tendencias.models.briefs.select import stories, weekly_tops
from tendencias.models.briefs.writer import BriefWriter
from tendencias.tools.brief import main as brief_main
from tests.openai_server import serve_for_test


def _trend(kind, key, end, **extra):
    return {
        "kind": kind,
        "key": key,
        "horizon": "15m",
        "window_start": end.replace(":15:", ":00:"),
        "window_end": end,
        "count": 4,
        "baseline": 0.1,
        "score": 7.0,
        "lift": 4.0,
        "posts": 4,
        "severity": "watch",
        "status": None,
        "examples": [],
        **extra,
    }


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    lead = _trend(
        "term",
        "botella",
        "2026-11-03T14:15:00Z",
        severity="alert",
        status="new",
        episode="15m:term:botella@2026-11-03T14:15:00Z",
        examples=[{"id": "p1", "text": "otra botella rota, llámame al 987 654 321"}],
    )
    member = _trend(
        "term",
        "rota",
        "2026-11-03T14:15:00Z",
        status="related",
        episode="15m:term:rota@x",
        related_to=lead["episode"],
    )
    quiet = _trend("term", "agua", "2026-11-03T10:15:00Z", severity="info")
    (tmp_path / "trends").mkdir()
    (tmp_path / "trends" / "trends-00000-of-00001.jsonl").write_text(
        "\n".join(json.dumps(t) for t in (quiet, lead, member)) + "\n", encoding="utf-8"
    )
    posts = [
        {
            "id": f"p{i}",
            "text": "otra botella rota <phone>",
            "created_at": "2026-11-03T14:05:00.000+00:00",
            "region": "Arequipa",
            "source": "twitter",
            "lang": "es",
            "author": f"u{i}",
            "tokens": ["botella", "rota"],
            "sentiment": {"label": "negative", "score": -0.6, "aspects": ["packaging"]},
        }
        for i in range(1, 4)
    ] + [{"id": "far", "text": "botella", "created_at": "2026-11-01T14:05:00Z", "tokens": ["botella"]}]
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "posts-00000-of-00001.jsonl").write_text(
        "\n".join(json.dumps(p) for p in posts) + "\n{half a line", encoding="utf-8"
    )
    return tmp_path


def test_a_story_is_an_alert_with_its_related_trends(archive):
    trends = [
        json.loads(x) for x in (archive / "trends" / "trends-00000-of-00001.jsonl").read_text().splitlines()
    ]
    found = stories(trends)
    assert [s.id for s in found] == ["15m:term:botella@2026-11-03T14:15:00Z"]
    assert [m["key"] for m in found[0].members] == ["rota"]
    assert [t["key"] for t in weekly_tops(trends)[0].trends] == ["botella", "rota"]  # info is not rising


def test_template_brief_from_an_archive(archive, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    out = tmp_path / "briefs.jsonl"
    assert brief_main(["--archive", str(archive), "--output", str(out), "--cache", "none"]) == 0
    briefs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    story = briefs[0]
    assert story["story"] == "15m:term:botella@2026-11-03T14:15:00Z" and briefs[1]["period"] == "2026-W45"
    assert story["posts"] == 3 and story["where"][0]["region"] == "Arequipa"  # the post of Nov 1 is outside
    assert story["aspects"][0]["aspect"] == "packaging" and story["sentiment"]["negative"] == 3
    assert "987" not in json.dumps(story) and "<phone>" in story["evidence"][0]["text"]  # redacted again
    assert story["model"] == "template-v1" and 1 <= len(story["ideas"]) <= 3
    assert any("envase" in idea["name"].lower() for idea in story["ideas"])  # complaints about packaging


@pytest.fixture
def openai_server(monkeypatch):
    yield from serve_for_test(monkeypatch)


def test_model_brief_is_redacted_cached_and_costed(archive, tmp_path, openai_server):
    out = tmp_path / "briefs.jsonl"
    cache = str(tmp_path / "cache.sqlite")
    args = ["--archive", str(archive), "--output", str(out), "--cache", cache, "--weekly_top", "0"]
    assert brief_main(args) == 0
    brief = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert brief["title"] == "Modelo: botella en Arequipa" and brief["model"] == "gpt-4o-mini"
    assert brief["cost"]["source"] == "llm" and brief["cost"]["tokens_in"] > 0 and brief["cost"]["usd"] > 0
    assert "987 654" not in openai_server.everything_received()
    assert brief_main(args) == 0  # the same facts again: from the cache, no request
    assert len(openai_server.chat_requests()) == 1
    assert json.loads(out.read_text(encoding="utf-8").splitlines()[0])["cost"]["source"] == "cache"


def test_broken_answers_fall_back_to_the_template(archive, openai_server, tmp_path):
    openai_server.add_faults("malformed", "malformed")
    writer = BriefWriter("llm", cache_url="none")
    from tendencias.tools.brief import write_briefs

    write_briefs(archive, tmp_path / "b.jsonl", writer, weekly_top=0)
    brief = json.loads((tmp_path / "b.jsonl").read_text(encoding="utf-8"))
    assert brief["model"] == "template-v1" and brief["cost"]["source"] == "template"
    assert brief["cost"]["tokens_in"] > 0  # the failed attempts still cost, and say so
    assert writer.ledger.totals()["invalid_answers"] == 2


@pytest.mark.parametrize(
    "content, problem",
    [
        ('{"title": "t", "what": "w", "ideas": []}', "one to three"),
        ('{"title": "", "what": "w", "ideas": [{"name": "n", "rationale": "r"}]}', "$.title"),
        ('{"title": "t", "what": "w", "ideas": [{"name": "n"}]}', "missing 'rationale'"),
    ],
)
def test_answers_out_of_contract_are_refused(content, problem):
    answer, problems = check_answer(content)
    assert answer is None and any(problem in p for p in problems)
