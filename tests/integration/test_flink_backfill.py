"""`scripts/flink.sh backfill` against `tendencias backfill` on the same generated file: the
Flink job's trend records must be the same records, field for field."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

IDENTITY = ("kind", "key", "horizon", "window_end", "count", "severity")


def _records(path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8")]


def _without_time(rows: list[dict]) -> list[str]:
    return sorted(json.dumps({k: v for k, v in r.items() if k != "time"}, sort_keys=True) for r in rows)


def test_flink_backfill_writes_the_same_trend_records_as_tendencias_backfill(flink_sh, tmp_path):
    env = dict(os.environ, TENDENCIAS_PSEUDONYM_SALT="flink-parity")  # same pseudonyms in both
    sample = [sys.executable, "-m", "tendencias.cli", "sample", "--output", str(tmp_path), "--days", "2"]
    subprocess.run([*sample, "--seed", "11"], check=True, env=env, capture_output=True)
    posts = tmp_path / "posts.jsonl"
    with posts.open("ab") as handle:  # bad records take the dead-letter path on both
        handle.write(b'{"id": "x1", "text": "sin fecha"}\n\xff\xfe not utf-8\n')
    beam = [
        sys.executable,
        "-m",
        "tendencias.cli",
        "backfill",
        "--input",
        str(posts),
        "--output",
        str(tmp_path / "beam"),
        "--sentiment_backend=local",
        "--sentiment_local_tier=fast",  # the Flink job's tier: .venv-flink has no USE encoder
    ]
    subprocess.run(beam, check=True, env=env, capture_output=True)
    flink = subprocess.run(
        [flink_sh, "backfill", "--input", str(posts), "--output", str(tmp_path / "flink")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert flink.returncode == 0, flink.stderr[-3000:]
    expected, got = _records(tmp_path / "beam/trends.jsonl"), _records(tmp_path / "flink/trends.jsonl")
    assert len(expected) > 1000 and any(t["severity"] == "alert" for t in expected)
    # Differences are counted, not diffed: pytest's diff of thousands of records takes minutes.
    ids_got, ids_expected = ({tuple(t[f] for f in IDENTITY) for t in rows} for rows in (got, expected))
    assert ids_got == ids_expected, (
        f"{len(ids_got - ids_expected)} records only from Flink, {len(ids_expected - ids_got)} only from Beam"
    )
    differ = [i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b]
    assert not differ, f"{len(differ)} records differ, the first: {got[differ[0]]} vs {expected[differ[0]]}"
    dead_beam = [json.loads(line) for line in (tmp_path / "beam/dead_letters.txt").open()]
    dead_flink = [json.loads(line) for line in (tmp_path / "flink/dead_letters.txt").open()]
    assert _without_time(dead_flink) == _without_time(dead_beam) and len(dead_beam) == 2
