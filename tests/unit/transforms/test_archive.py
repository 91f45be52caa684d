"""WriteArchive: every record in a complete file, files never replaced, JSONL and Parquet read
back alike, a late record still archived, and the writer's watermark held until its files are
in place (what the durable commits rely on)."""

from __future__ import annotations

import json

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from tendencias.archive.files import archive_files, hour_of, read_file, read_records
from tendencias.archive.records import restore_post
from tendencias.models.trends.rows import archive_post
from tendencias.records import parse_post
from tendencias.transforms.archive import WriteArchive

T0 = 1_788_220_800_000  # 2026-09-01T00:00:00Z
MINUTE, HOUR = 60_000, 3_600_000


def enriched(n: int, t_ms: int) -> dict:
    return {
        "id": f"p{n}",
        "event_time_ms": t_ms,
        "text": "llámame al 987 654 321",
        "text_clean": "llámame al <phone>",
        "source": "twitter",
        "lang": "es",
        "author": f"anon{n}",
        "region": "Lima",
        "tokens": ["llamame"],
        "hashtags": [],
        "features": {"top_terms": ["llamame"]},
        "features_version": "v3",
        "sentiment": {"label": "neutral", "score": 0.0, "model": "local-1"},
        "origin": f"consumer.posts:1:{n}",
    }


def streaming() -> PipelineOptions:
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    return options


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_batch_archive_reads_back_as_posts_in_hour_folders(tmp_path, fmt):
    posts = [enriched(i, T0 + i * 20 * MINUTE) for i in range(6)]  # two hours
    broken = {**enriched(9, T0), "text_clean": ""}
    with TestPipeline() as p:
        out = p | beam.Create(posts + [broken]) | WriteArchive(str(tmp_path), "posts", fmt)
        assert_that(out.dead_letters | beam.Map(lambda d: d["reason"]), equal_to(["unarchivable"]))
        assert_that(out.files | beam.Map(lambda f: f.records), equal_to([3, 3]))
    files = archive_files(tmp_path, "posts")
    assert [hour_of(f) for f in files] == [T0, T0 + HOUR]
    assert all(f.suffix == f".{fmt}" for f in files)
    read = sorted(read_records(tmp_path, "posts"), key=lambda r: r["id"])
    assert read == [archive_post(p) for p in posts]  # the same records from either format
    assert parse_post(json.dumps(read[0]).encode())["text"] == "llámame al <phone>"
    assert restore_post(read[0])["event_time_ms"] == T0 and read[0]["origin"] == "consumer.posts:1:0"
    assert not list(tmp_path.rglob(".*"))  # no file left half-written


def test_a_second_run_never_replaces_the_files_of_the_first(tmp_path):
    posts = [enriched(i, T0 + i * MINUTE) for i in range(4)]
    for _ in range(2):
        with TestPipeline() as p:
            _ = p | beam.Create(posts) | WriteArchive(str(tmp_path), "posts")
    assert len(archive_files(tmp_path, "posts")) == 2
    ids = sorted(r["id"] for path in archive_files(tmp_path, "posts") for r in read_file(path))
    assert ids == sorted([f"p{i}" for i in range(4)] * 2)  # at least once: copies, never a loss
    assert sorted(r["id"] for r in read_records(tmp_path, "posts")) == [f"p{i}" for i in range(4)]


def test_a_writer_writes_when_it_holds_max_records(tmp_path):
    posts = [enriched(i, T0 + i) for i in range(10)]
    with TestPipeline() as p:
        out = p | beam.Create(posts) | WriteArchive(str(tmp_path), "posts", max_records=4)
        assert_that(out.files | beam.Map(lambda f: f.records), equal_to([4, 4, 2]))


def test_streaming_files_come_as_the_watermark_passes_and_late_records_are_kept(tmp_path):
    """
    flush periods of 1m:  |--p0 p1--|--p2--|        late p3 (in the first minute)
    watermark:                 ^ 1m       ^ 2m ...                   ^ end
    """
    trends = [{"kind": "term", "key": f"k{i}", "window_end": f"2026-09-01T00:0{i}:30Z"} for i in range(3)]
    late = {"kind": "term", "key": "late", "window_end": "2026-09-01T00:00:40Z"}
    at = [T0 / 1000 + 30, T0 / 1000 + 90, T0 / 1000 + 150]
    stream = (
        TestStream()
        .add_elements([TimestampedValue(t, a) for t, a in zip(trends[:2], at[:2], strict=True)])
        .advance_watermark_to(T0 / 1000 + 61)
        .add_elements([TimestampedValue(trends[2], at[2])])
        .advance_watermark_to(T0 / 1000 + 200)
        .add_elements([TimestampedValue(late, T0 / 1000 + 40)])
        .advance_watermark_to_infinity()
    )
    files = []

    def check(written):
        files.extend(written)
        assert sum(records for records, _, _ in written) == 4
        for _, first_ms, leaves_ms in written:
            # a file leaves at the end of the flush period of its oldest record (with whatever
            # came after it): the flush timer holds the writer's watermark until then
            assert leaves_ms == (first_ms // MINUTE + 1) * MINUTE

    with TestPipeline(options=streaming()) as p:
        out = p | stream | WriteArchive(str(tmp_path), "trends", flush_s=60)
        written = out.files | beam.Map(
            lambda f, ts=beam.DoFn.TimestampParam: (f.records, f.first_ms, ts.micros // 1000)
        )
        assert_that(written, check)
    keys = sorted(t["key"] for t in read_records(tmp_path, "trends"))
    assert keys == ["k0", "k1", "k2", "late"]  # the late one too: nothing is windowed, nothing dropped
    assert len(archive_files(tmp_path, "trends")) >= 2  # written as the stream went, not at its end


def test_hidden_files_are_never_read(tmp_path):
    folder = tmp_path / "posts" / "2026-09-01" / "00"
    folder.mkdir(parents=True)
    (folder / ".posts-x.jsonl.tmp").write_text('{"id": "half"}\n')
    (folder / "posts-y.jsonl").write_text('{"id": "whole"}\n')
    assert [r["id"] for r in read_records(tmp_path, "posts")] == ["whole"]


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="format"):
        WriteArchive("/tmp/a", "posts", "csv")
    with pytest.raises(ValueError, match="keeps posts, trends, sales"):
        WriteArchive("/tmp/a", "briefs")
