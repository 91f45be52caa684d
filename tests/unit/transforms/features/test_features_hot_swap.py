"""ApplyFeatures follows DIR/LATEST while the stream runs: records before the pointer moves carry
the old version, records after it the new one, with no restart (TestStream on DirectRunner and
on Prism). Also: tokens without any analysis, broken versions, records missing their text."""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.test_stream import TestStream as BeamTestStream
from apache_beam.transforms.window import TimestampedValue

from tendencias.models.features import store as transform_store
from tendencias.models.segments.model import post_segments
from tendencias.models.sentiment.aspects import find_aspects
from tendencias.records import parse_post
from tendencias.transforms.features.apply import ApplyFeatures
from tests.unit import tft_versions

SWAP = "swap-marker"
# DirectRunner would first try Prism (downloading it) for a streaming pipeline: name the
# in-process streaming runner, so this case is the DirectRunner one on any machine.
DIRECT_STREAMING = ["--streaming", "--runner=BundleBasedDirectRunner"]
_LOCK = threading.Lock()


def _record(post_id: str, text: str, offset_s: int) -> dict:
    at = tft_versions.START_MS + tft_versions.DAY_MS + offset_s * 1000
    record = parse_post(json.dumps(tft_versions.make_post(post_id, text, at)).encode())
    return dict(record, text_clean=record["text"])


def _publish_on_marker(record: dict, directory: str, version: str) -> dict:
    """Stands in for the scheduled analysis: moves LATEST when the marker record goes by."""
    if record["id"] == SWAP:
        transform_store.write_latest(directory, version)
    return record


def _append(line: str, path: str) -> None:
    with _LOCK, open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def _summary(record: dict, timestamp=beam.DoFn.TimestampParam) -> str:
    return json.dumps([record["id"], record["features_version"], float(timestamp), record["tokens"]])


def _read(path: Path) -> dict[str, list]:
    if not path.exists():
        return {}
    return {row[0]: row[1:] for row in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


def _hot_swap(tmp_path: Path, options: PipelineOptions, broken_next: bool = False) -> None:
    """LATEST names the first version; the marker record moves it to the second (or to a
    version that cannot load, which must leave the first in use)."""
    versions = tft_versions.copy_versions(tmp_path / "versions")
    directory = str(versions.directory)
    target = "20990101T000000Z-notthere" if broken_next else versions.second
    transform_store.write_latest(directory, versions.first)
    before = [_record(f"before-{i}", "limonada de coco helada en la playa", i) for i in range(5)]
    marker = _record(SWAP, "chicha morada sin azúcar", 10)
    after = [_record(f"after-{i}", "chicha morada sin azúcar 💚", 20 + i) for i in range(5)]
    stream = BeamTestStream().advance_watermark_to(before[0]["event_time_ms"] / 1000)
    for group in (before, [marker], after):  # one bundle each
        stream = stream.add_elements([TimestampedValue(r, r["event_time_ms"] / 1000) for r in group])
    stream = stream.advance_watermark_to_infinity()
    out = tmp_path / "out.jsonl"
    with beam.Pipeline(options=options) as p:
        featured = (
            p
            | "Stream" >> stream
            | "ScheduledAnalysis" >> beam.Map(_publish_on_marker, directory, target)
            | "Features" >> ApplyFeatures(directory, refresh_seconds=0, batch_size=100)
        )
        _ = featured.posts | "Summary" >> beam.Map(_summary) | "Collect" >> beam.Map(_append, str(out))
    rows = _read(out)
    assert len(rows) == len(before) + 1 + len(after)
    for record in before:
        assert rows[record["id"]][:2] == [versions.first, record["event_time_ms"] / 1000]
    for record in after:
        expected = versions.first if broken_next else versions.second
        assert rows[record["id"]][:2] == [expected, record["event_time_ms"] / 1000]
    assert "sin azucar" in rows["after-0"][2] and "limonada coco" in rows["before-0"][2]


def test_hot_swap_on_direct_runner(tmp_path):
    _hot_swap(tmp_path, PipelineOptions(DIRECT_STREAMING))


def test_hot_swap_on_prism(tmp_path, prism_location):
    _hot_swap(
        tmp_path,
        PipelineOptions(
            [
                "--streaming",
                "--runner=PrismRunner",
                f"--prism_location={prism_location}",
                "--environment_type=LOOPBACK",
                # Prism's job server is cached per process; one made earlier without our binary
                # (e.g. by DirectRunner trying Prism first) must not be reused.
                "--experiments=disable_prism_server_singleton",
            ]
        ),
    )


def _run_batch(records: list, **features_args) -> tuple[list[dict], list[dict]]:
    with BeamTestPipeline() as p:
        featured = p | beam.Create(records) | ApplyFeatures(**features_args)
        _ = featured.posts | "Posts" >> beam.combiners.ToList() | "KeepPosts" >> beam.Map(_keep, "posts")
        _ = featured.dead_letter | "Dead" >> beam.combiners.ToList() | "KeepDead" >> beam.Map(_keep, "dead")
    return _OUT["posts"], _OUT["dead"]


_OUT: dict[str, list] = {}


def _keep(values: list, name: str) -> None:
    _OUT[name] = values


@pytest.mark.parametrize("has_dir", [False, True], ids=["no_transform_dir", "dir_without_latest"])
def test_tokens_without_any_analysis(tmp_path, has_dir):
    records = [_record("a", "Ya probaron la chicha SIN AZÚCAR? #SinAzúcar 💚", 0)]
    posts, dead = _run_batch(records, transform_dir=str(tmp_path) if has_dir else None)
    assert dead == []
    [post] = posts
    assert post["features"] is None and post["features_version"] is None
    assert post["hashtags"] == ["#sinazucar"]
    assert {"chicha", "#sinazucar", "💚", "sin azucar"} <= set(post["tokens"])


def test_a_new_version_that_cannot_load_leaves_the_current_one_in_use(tmp_path):
    _hot_swap(tmp_path, PipelineOptions(DIRECT_STREAMING), broken_next=True)


def test_records_missing_text_clean_are_dead_letters_without_raw_text():
    good = _record("good", "limonada", 0)
    missing = _record("missing", "mi número privado", 1)
    del missing["text_clean"]
    posts, dead = _run_batch([good, missing, "not a record"], transform_dir=None)
    assert [p["id"] for p in posts] == ["good"]
    reasons = sorted(d["reason"] for d in dead)
    assert reasons == ["bad_record", "missing_text_clean"]
    for letter in dead:
        assert letter["stage"] == "features"
        assert "privado" not in base64.b64decode(letter["raw_b64"]).decode()


def test_posts_get_the_topics_and_segments_of_the_version_in_use(tmp_path):
    versions = tft_versions.copy_versions(tmp_path / "v")  # LATEST: day 2 (sugar-free chicha)
    records = [
        _record("sugar", "me pasé a la chicha morada sin azúcar 💚", 0),
        _record("nothing", "qué frío hace hoy en la mañana", 1),
    ]
    posts, dead = _run_batch(records, transform_dir=str(versions.directory), refresh_seconds=0)
    assert dead == []
    by_id = {post["id"]: post for post in posts}
    assert by_id["sugar"]["topics"] and by_id["sugar"]["features_version"] == versions.second
    assert by_id["nothing"]["topics"] == []
    # every post of day 2 is about sugar, so the version learnt no segment from it: the aspect
    # words still name it when the trend stage counts the post
    assert by_id["sugar"]["segments"] == []
    aspects = find_aspects(by_id["sugar"]["text_clean"])
    assert "health-conscious" in post_segments(by_id["sugar"]["segments"], aspects)
