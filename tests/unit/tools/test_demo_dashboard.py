"""The demo's last step: briefs into the job's archive, the sales beside it, and how to open the
dashboard on it."""

from __future__ import annotations

import json

from tendencias.tools.demo import _dashboard
from tests.unit.serve.conftest import trend, write_jsonl


def test_the_demo_ends_with_briefs_sales_and_the_dashboard_command(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    archive, data = tmp_path / "archive", tmp_path / "data"
    lead = trend("botella", "2026-11-03T14:15:00Z", severity="alert", status="new", episode="ep-1")
    write_jsonl(archive / "trends" / "t.jsonl", [lead])
    write_jsonl(
        archive / "posts" / "p.jsonl",
        [{"id": "p1", "text": "botella rota", "created_at": "2026-11-03T14:10:00Z"}],
    )
    write_jsonl(
        data / "sales.jsonl", [{"sku": "a", "product": "x", "units": 1, "ts": "2026-11-03T10:00:00Z"}]
    )
    assert _dashboard(archive, data, port=0) == 0
    assert (archive / "sales.jsonl").read_text() == (data / "sales.jsonl").read_text()
    briefs = [json.loads(line) for line in (archive / "briefs" / "briefs.jsonl").open()]
    assert any(b.get("story") for b in briefs)
    said = capsys.readouterr().out
    assert f"tendencias serve --archive {archive} --dev_sign_in --port 8080" in said
    assert "ana, password demo" in said and "http://127.0.0.1:8080/" in said


def test_no_dashboard_when_the_job_wrote_nothing(tmp_path, capsys):
    (tmp_path / "archive").mkdir()
    assert _dashboard(tmp_path / "archive", tmp_path, port=0) == 1
    assert "no dashboard" in capsys.readouterr().err
