"""`tendencias backfill` end to end on DirectRunner, over generated posts with planted trends.

The sample generator records its planted bursts; the backfill must alert on them after their
onset, stay quiet before it, write its files as the contract says, and send bad lines to the
dead letters with their reasons.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tendencias.pipelines import backfill
from tendencias.tools.sample_data import write_sample

BAD_LINES = [b"not json at all", b'{"id": "x1", "created_at": "2026-11-01T10:00:00Z"}', b"\xff\xfe broken"]


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory):
    work = tmp_path_factory.mktemp("backfill")
    start = datetime(2026, 11, 1, 5, tzinfo=UTC)
    write_sample(work / "data", days=2, posts_per_hour=40, start=start, seed=11)
    with open(work / "data" / "posts.jsonl", "ab") as handle:
        handle.write(b"\n".join(BAD_LINES) + b"\n")
    status = backfill.main(
        [
            "--input",
            str(work / "data" / "posts.jsonl"),
            "--sales_input",
            str(work / "data" / "sales.jsonl"),
            "--output",
            str(work / "out"),
            "--sentiment_backend=local",
        ]
    )
    assert status == 0
    return work


def _trends(work) -> list[dict]:
    return [json.loads(line) for line in (work / "out" / "trends.jsonl").open(encoding="utf-8")]


def test_writes_the_contract_files_and_only_them(backfilled):
    out = backfilled / "out"
    assert sorted(p.name for p in out.iterdir()) == ["dead_letters.txt", "summary.json", "trends.jsonl"]
    trends = _trends(backfilled)
    assert trends, "no trend records"
    ends = [t["window_end"] for t in trends]
    assert ends == sorted(ends)
    required = {
        "kind",
        "key",
        "window_start",
        "window_end",
        "count",
        "baseline",
        "score",
        "growth",
        "sentiment",
        "sentiment_delta",
        "severity",
        "examples",
        "explanation",
    }
    assert all(required <= set(t) for t in trends)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["trends"] == len(trends)
    assert summary["alerts"] == sum(t["severity"] == "alert" for t in trends)


def test_alerts_on_planted_bursts_after_their_onset_and_not_before(backfilled):
    truth = json.loads((backfilled / "data" / "truth.json").read_text())
    alerts = [t for t in _trends(backfilled) if t["severity"] == "alert"]
    for burst in truth:
        about = [a for a in alerts if a["key"] in burst["keys"] or any(k in a["key"] for k in burst["keys"])]
        assert about, f"no alert about {burst['name']}"
        assert min(a["window_end"] for a in about) >= burst["onset"], (
            f"{burst['name']} alerted before its onset"
        )
    first_onset = min(b["onset"] for b in truth)
    early = [a for a in alerts if a["window_end"] < first_onset]
    assert len(early) <= 3, f"too many alerts in ordinary chatter: {[(a['kind'], a['key']) for a in early]}"


def test_examples_show_redacted_text_only(backfilled):
    texts = [e["text"] for t in _trends(backfilled) for e in t["examples"]]
    assert texts
    assert not any("@correo.pe" in text or "987 654 321" in text for text in texts)


def test_bad_lines_become_dead_letters_with_reasons(backfilled):
    dead = [json.loads(line) for line in (backfilled / "out" / "dead_letters.txt").open(encoding="utf-8")]
    assert sorted(d["reason"] for d in dead) == ["missing_text", "not_json", "not_utf8"]
    assert all(d["stage"] == "parse" and d["raw_b64"] and d["offset"] is not None for d in dead)
