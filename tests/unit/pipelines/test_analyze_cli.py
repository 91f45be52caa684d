"""`tendencias analyze`: the window by event time, too-short windows, the atomic LATEST pointer."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline

from tendencias.models.features import keys as fk
from tendencias.models.features import store as transform_store
from tendencias.pipelines import analyze
from tendencias.records import RawRecord
from tendencias.transforms.features.history import SelectWindow
from tests.unit import tft_versions

AS_OF = tft_versions.START_MS + tft_versions.DAY_MS  # end of day 1
HOUR_MS = 3_600_000


def _line(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def _select(tmp_path: Path, lines: list[bytes], as_of_ms: int | None) -> tuple[dict, list[dict], list[dict]]:
    records = [
        RawRecord(value=line, topic="history.jsonl", partition=0, offset=n) for n, line in enumerate(lines)
    ]
    work = tmp_path / "work"
    with BeamTestPipeline() as p:
        _ = p | beam.Create(records) | SelectWindow(86_400, as_of_ms, str(work), str(tmp_path / "dead"))
    instances = [json.loads(line) for part in sorted(work.glob("posts-*.jsonl")) for line in part.open()]
    dead = [json.loads(line) for part in sorted(tmp_path.glob("dead*.jsonl")) for line in part.open()]
    return json.loads((work / "summary.json").read_text()), instances, dead


def _boundary_history() -> list[bytes]:
    start = AS_OF - tft_versions.DAY_MS
    posts = [
        ("too-early", start - 1),
        ("first-in", start),
        ("last-in", AS_OF - 1),
        ("at-as-of", AS_OF),
        ("later", AS_OF + 5 * HOUR_MS),
    ]
    lines = [_line(tft_versions.make_post(i, f"chicha morada número {i}", t)) for i, t in posts]
    # an archived enriched post: only text_clean and event_time_ms
    lines.append(
        _line(
            {
                "id": "archived",
                "text_clean": "limonada de coco @usuario",
                "event_time_ms": start + 10,
                "source": "twitter",
            }
        )
    )
    lines += [
        _line(
            {
                "sku": "S1",
                "product": "Sierra Cola",
                "category": "gaseosa",
                "region": "Lima",
                "units": 3,
                "revenue": 7.5,
                "ts": iso,
            }
        )
        for iso in ("2026-03-01T12:00:00Z", "2026-03-02T12:00:00Z")
    ]
    lines += [b"{not json", _line({"id": "no-time", "text": "hola"}), b"\xff\xfe", _line(["a", "list"])]
    return lines


def test_window_is_selected_by_event_time_half_open(tmp_path):
    summary, instances, dead = _select(tmp_path, _boundary_history(), AS_OF)
    assert summary["posts"] == 3 and summary["sales"] == 1  # first-in, last-in, archived; the day-1 sale
    assert summary["as_of_ms"] == AS_OF and summary["as_of_from"] == "flag"
    assert summary["lines"] == 12 and summary["dead_letters"] == 4
    assert sorted(d["reason"] for d in dead) == ["missing_time", "not_json", "not_object", "not_utf8"]
    assert all(d["topic"] == "history.jsonl" and d["stage"] == "analyze" for d in dead)
    tokens = sorted(tuple(i[fk.TOKENS]) for i in instances)
    assert ("limonada", "coco", "limonada coco") in tokens  # the archived post, read from text_clean
    assert sum("chicha morada" in t for t in tokens) == 2


def test_as_of_defaults_to_just_after_the_latest_event(tmp_path):
    summary, _, _ = _select(tmp_path, _boundary_history(), None)
    assert summary["as_of_from"] == "latest_event"
    assert summary["as_of_ms"] == AS_OF + 12 * HOUR_MS + 1  # the day-2 sale is the latest event
    assert summary["posts"] == 3  # last-in, at-as-of and later: the 24 h before it


def _write_history(tmp_path: Path) -> Path:
    posts, _ = tft_versions.history()
    return tft_versions.write_jsonl(tmp_path / "history" / "posts.jsonl", posts)


@pytest.mark.parametrize(
    "flags, why",
    [
        (["--min_posts", "1000"], "holds 90 posts, fewer than --min_posts 1000"),
        (["--as_of", "2020-01-01T00:00:00Z"], "holds 0 posts"),
    ],
)
def test_too_short_window_fails_and_leaves_latest(tmp_path, capsys, flags, why):
    history = _write_history(tmp_path)
    output = tmp_path / "out"
    output.mkdir()
    transform_store.write_latest(str(output), "20260101T000000Z-previous")
    status = analyze.main(
        ["--history", str(history), "--window", "1d", "--as_of", str(AS_OF), "--output", str(output), *flags]
    )
    assert status == 2
    assert why in capsys.readouterr().err
    assert transform_store.read_latest(str(output)) == "20260101T000000Z-previous"
    assert sorted(p.name for p in output.iterdir()) == ["LATEST", "dead_letter"]  # no version, no work left


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--window", "1d"], "--history PATH and --output DIR are both required"),
        (["--history", "{history}", "--output", "o", "--window", "a week"], "--window: not a duration"),
        (["--history", "{history}", "--output", "o", "--as_of", "yesterday"], "--as_of is not RFC 3339"),
        (["--history", "/nowhere/*.jsonl", "--output", "o"], "--history: no file matches '/nowhere/*.jsonl'"),
        (["--history", "{history}", "--output", "o", "--min_posts", "0"], "--min_posts must be at least 1"),
        (["--history", "{history}", "--output", "o", "--every", "soon"], "not a duration"),
        (["--history", "{history}", "--output", "o", "--windows", "1d"], "unknown argument(s): --windows"),
    ],
)
def test_bad_flags_fail_fast_with_what_to_fix(tmp_path, capsys, argv, message):
    history = str(_write_history(tmp_path))
    assert analyze.main([a.format(history=history) for a in argv]) == 2
    assert message in capsys.readouterr().err


def test_flags_become_the_analysis_config(tmp_path):
    history = str(_write_history(tmp_path).parent)
    options = PipelineOptions(
        [
            "--history",
            history,
            "--window",
            "2d",
            "--as-of",
            "2026-03-02T00:00:00Z",
            "--output",
            "out",
            "--min_posts",
            "5",
            "--top_k",
            "100",
            "--min_frequency",
            "2",
        ]
    )
    config = analyze.analysis_config(options)
    assert (config.history, config.output, config.window_seconds, config.as_of_ms) == (
        history,
        "out",
        172_800.0,
        AS_OF,
    )
    assert (config.min_posts, config.top_k, config.min_frequency, config.sales) == (5, 100, 2, "")


def test_every_repeats_the_analysis_until_interrupted(tmp_path, monkeypatch):
    history = str(_write_history(tmp_path))
    runs, sleeps = [], []
    monkeypatch.setattr(analyze, "_run_once", lambda config, options: runs.append(config.window_seconds) or 0)

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(analyze.time, "sleep", sleep)
    assert analyze.main(["--history", history, "--output", str(tmp_path / "o"), "--every", "6h"]) == 0
    assert runs == [604_800.0] * 3 and sleeps == [21_600.0] * 3


def test_a_successful_analysis_writes_a_version_then_the_pointer():
    versions = tft_versions.analysed()
    directory = str(versions.directory)
    assert transform_store.read_latest(directory) == versions.second
    assert transform_store.list_versions(directory) == [versions.first, versions.second]
    assert versions.first < versions.second  # names sort by age
    meta = transform_store.read_metadata(str(versions.directory / versions.second))
    assert meta["version"] == versions.second and meta["counts"]["posts"] == tft_versions.POSTS_PER_DAY
    assert meta["counts"]["sales"] == 27 and meta["window"]["seconds"] == 86_400
    assert (versions.directory / versions.second / fk.SALES_DIR).is_dir()
    assert not (versions.directory / versions.first / fk.SALES_DIR).exists()
    assert not list(versions.directory.glob(".*"))  # no work folder or temporary pointer left


def test_pruning_keeps_the_newest_and_whatever_latest_names(tmp_path):
    versions = tft_versions.copy_versions(tmp_path / "v")
    directory = str(versions.directory)
    transform_store.write_latest(directory, versions.first)
    assert transform_store.prune_versions(directory, keep=1) == []
    transform_store.write_latest(directory, versions.second)
    assert transform_store.prune_versions(directory, keep=1) == [versions.first]
    assert transform_store.list_versions(directory) == [versions.second]


def test_latest_pointer_is_replaced_atomically(tmp_path):
    """A reader polling while the pointer flips 300 times only ever sees a whole version name."""
    names = {"20260301T000000Z-aaaaaaaa", "20260302T000000Z-bbbbbbbb"}
    transform_store.write_latest(str(tmp_path), "20260301T000000Z-aaaaaaaa")
    seen: set = set()
    done = threading.Event()

    def reader():
        while not done.is_set():
            seen.add(transform_store.read_latest(str(tmp_path)))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for n in range(300):
            transform_store.write_latest(str(tmp_path), sorted(names)[n % 2])
    finally:
        done.set()
        thread.join()
    assert seen <= names and len(seen) == 2
    assert [p.name for p in tmp_path.iterdir()] == [fk.LATEST_FILE]


def test_an_analysis_fits_topics_and_segments_beside_the_transform_fn():
    from tendencias.models.segments.model import SegmentModel
    from tendencias.models.topics.model import TopicModel

    versions = tft_versions.analysed()
    first = TopicModel.load(versions.directory / versions.first / "topics")
    second = TopicModel.load(versions.directory / versions.second / "topics")
    meta = transform_store.read_metadata(str(versions.directory / versions.second))
    assert meta["topics"]["method"] == "nmf" and meta["topics"]["k"] == len(second.ids)
    assert meta["topics"]["labels"] == dict(zip(second.ids, second.labels, strict=True))
    # day 1 was the beach, day 2 sugar-free chicha: the second analysis was matched to the first
    assert "stability_previous" in meta["topics"] and "stability_previous" not in first.numbers
    assert any("azucar" in " ".join(words) for words in second.words)
    assert any("playa" in " ".join(words) for words in first.words)
    assert SegmentModel.load(versions.directory / versions.second / "segments") is not None
    assert set(meta["segments"]) >= {"health-conscious", "price-sensitive"}


def test_topics_zero_fits_no_topic_model(tmp_path):
    history = tft_versions.write_jsonl(tmp_path / "h" / "posts.jsonl", tft_versions.history()[0])
    status = analyze.main(["--history", str(history), "--output", str(tmp_path / "o"), "--topics", "0"])
    assert status == 0
    version = transform_store.read_latest(str(tmp_path / "o"))
    assert not (tmp_path / "o" / version / "topics").exists()
    assert transform_store.read_metadata(str(tmp_path / "o" / version))["topics"] is None
