"""Readers of the archive keep reading it, whatever wrote it: the records read back the same
from JSONL and Parquet (copies of a post or sale once), the dashboard's store loads Parquet
trends, and `tendencias analyze --history` reads a Parquet archive's posts."""

from __future__ import annotations

import json
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that

from tendencias.archive.files import archive_files, read_records
from tendencias.pipelines.config import history_pattern
from tendencias.serve.store.duck import DuckDBStore
from tendencias.serve.store.queries import Query
from tendencias.transforms.archive import WriteArchive
from tendencias.transforms.features.history import parse_history_line
from tendencias.transforms.file_io import ReadJsonlRecords

T0 = 1_788_220_800_000  # 2026-09-01T00:00:00Z


def post(n: int) -> dict:
    return {
        "id": f"p{n}",
        "event_time_ms": T0 + n * 60_000,
        "text": "la chicha morada sin azúcar",
        "text_clean": "la chicha morada sin azúcar",
        "source": "review",
        "author": f"anon{n % 3}",
        "region": "Cusco",
        "tokens": ["chicha", "morada", "azucar"],
        "hashtags": [],
        "features": {"top_terms": ["chicha"]},
        "sentiment": {"label": "positive", "score": 0.5, "model": "local-1", "aspects": ["sweetness"]},
        "origin": f"posts:0:{n}",
    }


def trend(n: int) -> dict:
    return {
        "kind": "term",
        "key": f"chicha{n}",
        "horizon": "15m",
        "window_start": "2026-09-01T00:00:00Z",
        "window_end": "2026-09-01T00:15:00Z",
        "revision": 0,
        "count": 4 + n,
        "posts": 4 + n,
        "authors": 3,
        "baseline": 0.25,
        "score": 6.5,
        "lift": 4.0,
        "severity": "alert" if n == 0 else "info",
        "status": "new" if n == 0 else None,
        "examples": [{"id": "p1", "text": "la chicha"}],
        "related": [],
        "stage": "emerging",  # a field the archive's schema does not know: kept as JSON text
    }


def sale(n: int) -> dict:
    return {
        "sku": "CM-1",
        "product": "chicha morada 1l",
        "category": "chicha",
        "region": "Cusco",
        "units": 3.0 + n,
        "revenue": 12.5,
        "currency": "PEN",
        "event_time_ms": T0 + n * 3_600_000,
        "origin": f"sales:0:{n}",
    }


def write(directory: Path, fmt: str) -> None:
    with TestPipeline() as p:
        for what, records in (
            ("posts", [post(n) for n in range(60)] + [post(7)]),  # p7 twice: read again after a restart
            ("trends", [trend(n) for n in range(3)]),
            ("sales", [sale(n) for n in range(2)]),
        ):
            _ = (
                p
                | f"Create{what}" >> beam.Create(records)
                | f"Archive{what}" >> WriteArchive(str(directory), what, fmt)
            )


@pytest.fixture(scope="module")
def archives(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for fmt in ("jsonl", "parquet"):
        out[fmt] = tmp_path_factory.mktemp(fmt)
        write(out[fmt], fmt)
    return out


@pytest.mark.parametrize("what", ["posts", "trends", "sales"])
def test_both_formats_read_back_the_same_records(archives, what):
    def key(record: dict) -> str:
        return json.dumps(record, sort_keys=True)

    from_jsonl = sorted(read_records(archives["jsonl"], what), key=key)
    from_parquet = sorted(read_records(archives["parquet"], what), key=key)
    # Parquet leaves out what is missing; JSONL keeps a trend's nulls
    assert from_parquet == [{k: v for k, v in r.items() if v is not None} for r in from_jsonl]
    if what == "posts":
        assert len(from_jsonl) == 60  # the copy of p7 read once
        assert from_parquet[0]["sentiment"]["aspects"] == ["sweetness"]
    if what == "trends":
        assert {t["stage"] for t in from_parquet} == {"emerging"}


def test_the_dashboard_store_loads_parquet_trends(archives):
    store = DuckDBStore(archives["parquet"])
    try:
        rows = store.run(Query("SELECT key, count, examples FROM {trends} ORDER BY key"))
    finally:
        store.close()
    assert [r["key"] for r in rows] == ["chicha0", "chicha1", "chicha2"]
    assert rows[0]["count"] == 4 and rows[0]["examples"][0]["id"] == "p1"


def test_analyze_reads_a_parquet_archive_of_posts(archives):
    folder = archives["parquet"] / "posts"
    pattern = history_pattern(str(folder))
    assert pattern.endswith("**.parquet") and "jsonl" not in pattern
    assert all(f.suffix == ".parquet" for f in archive_files(archives["parquet"], "posts"))

    def check(kinds):
        assert sorted(kinds) == ["posts"] * 61  # every row, copies too: analyze reads files as they are

    with TestPipeline() as p:
        lines = p | ReadJsonlRecords(pattern)
        assert_that(lines | beam.Map(lambda raw: parse_history_line(raw.value)[0]), check)
