"""The DuckDB store follows the archive file by file: new and grown files load, a vanished one
rebuilds, Parquet reads like JSONL, the database file survives a restart, and cached answers
change with the data."""

from __future__ import annotations

import json
import time

import pyarrow as pa
import pyarrow.parquet as pq

from tendencias.serve.store import queries as q
from tendencias.serve.store.duck import DuckDBStore
from tests.unit.serve.conftest import trend, write_jsonl

ALL = q.TrendFilter(limit=500)


def keys(store) -> list[str]:
    return sorted(r["key"] for r in store.run(q.trends(ALL)))


def test_new_grown_and_vanished_files(tmp_path):
    archive = tmp_path / "archive"
    first = write_jsonl(archive / "trends" / "a.jsonl", [trend("uno", "2026-11-01T10:00:00Z")])
    store = DuckDBStore(archive, path=tmp_path / "store.duckdb", watch=False)
    assert keys(store) == ["uno"] and store.last_load["files"] == 1
    assert not store.reload()  # nothing changed: nothing loaded
    write_jsonl(archive / "trends" / "b.jsonl", [trend("dos", "2026-11-01T10:00:00Z")])
    assert store.reload() and store.last_load["files"] == 1 and keys(store) == ["dos", "uno"]
    with first.open("a", encoding="utf-8") as handle:  # a file that grows is read again, whole
        handle.write(
            '{"kind": "term", "key": "tres", "horizon": "15m", "window_end": "2026-11-01T11:00:00Z"}\n'
        )
        handle.write('{"kind": "term", "key": "cuat')  # a line still being written is skipped
    assert store.reload() and keys(store) == ["dos", "tres", "uno"]
    (archive / "trends" / "b.jsonl").unlink()
    assert store.reload() and store.last_load["rebuilt"] and keys(store) == ["tres", "uno"]
    store.close()


def test_parquet_files_read_like_jsonl_and_missing_fields_are_null(tmp_path):
    archive = tmp_path / "archive"
    (archive / "trends").mkdir(parents=True)
    table = pa.Table.from_pylist(
        [
            {
                "kind": "topic",
                "key": "sin azucar",
                "horizon": "1d",
                "window_end": "2026-11-02T00:00:00Z",
                "count": 5,
                "score": 2.5,
            }
        ]
    )
    pq.write_table(table, archive / "trends" / "part-0.parquet")
    write_jsonl(archive / "trends" / "a.jsonl", [trend("uno", "2026-11-01T10:00:00Z")])
    store = DuckDBStore(archive, watch=False)
    rows = {r["key"]: r for r in store.run(q.trends(ALL))}
    assert rows["sin azucar"]["count"] == 5 and rows["sin azucar"]["stage"] is None
    assert rows["sin azucar"]["window_end"] == "2026-11-02T00:00:00Z"
    store.close()


def test_a_restart_loads_only_new_files_from_the_database_file(tmp_path):
    archive = tmp_path / "archive"
    write_jsonl(archive / "trends" / "a.jsonl", [trend(f"k{i}", "2026-11-01T10:00:00Z") for i in range(50)])
    path = tmp_path / "store.duckdb"
    DuckDBStore(archive, path=path, watch=False).close()
    store = DuckDBStore(archive, path=path, watch=False)
    assert store.last_load == {} and len(keys(store)) == 50  # nothing new: nothing read
    store.close()


def test_cached_answers_follow_the_data_and_the_watcher_finds_new_files(tmp_path):
    archive = tmp_path / "archive"
    write_jsonl(archive / "trends" / "a.jsonl", [trend("uno", "2026-11-01T10:00:00Z")])
    store = DuckDBStore(archive, refresh_s=0.2, watch=True)
    count = q.count_trends(ALL)
    assert store.run(count) == [{"n": 1}] and store.run(count) == [{"n": 1}]
    write_jsonl(archive / "trends" / "b.jsonl", [trend("dos", "2026-11-01T10:00:00Z")])
    deadline = time.monotonic() + 10
    while store.run(count) != [{"n": 2}] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store.run(count) == [{"n": 2}]
    store.close()


def test_times_as_epoch_milliseconds_and_sales_with_accents(tmp_path):
    archive = tmp_path / "archive"
    write_jsonl(archive / "trends" / "a.jsonl", [trend("uno", 1793700000000)])
    write_jsonl(
        archive / "sales-2026.jsonl",
        [
            {
                "sku": "x",
                "product": "Maracuyá",
                "region": "Lima",
                "units": 3,
                "revenue": 9.0,
                "ts": "2026-11-01T10:00:00Z",
            }
        ],
    )
    write_jsonl(
        archive / "posts" / "p.jsonl",
        [
            {
                "id": "1",
                "text": "t",
                "created_at": 1793700000000,
                "product": "maracuya",
                "sentiment": {"score": 0.5},
            }
        ],
    )
    store = DuckDBStore(archive, watch=False)
    assert store.run(q.trends(ALL))[0]["window_end"] == "2026-11-03T10:00:00Z"
    days = store.run(q.chatter_and_sales("MARACUYÁ", None, None, None))
    assert [(d["posts"], d["units"]) for d in days] == [(0, 3.0), (1, 0.0)]
    store.close()


def test_parquet_columns_the_archive_keeps_as_json_text_are_decoded(tmp_path):
    """archive/layout.py writes varying nested fields (a post's sentiment) and fields its schema
    does not know as JSON text, and names them in the file's metadata."""
    archive = tmp_path / "archive"
    (archive / "posts").mkdir(parents=True)
    (archive / "trends").mkdir(parents=True)
    meta = {b"tendencias.json_columns": b'["sentiment"]'}
    posts = pa.Table.from_pylist(
        [
            {
                "id": "1",
                "created_at": "2026-11-01T10:00:00Z",
                "brand": "Andina Cola",
                "sentiment": '{"score": -0.5}',
            }
        ]
    )
    pq.write_table(posts.replace_schema_metadata(meta), archive / "posts" / "p.parquet")
    trends = pa.Table.from_pylist(
        [
            {
                "kind": "topic",
                "key": "t",
                "horizon": "1d",
                "window_end": "2026-11-01T00:00:00Z",
                "stage": '"growing"',
                "words": '["a", "b"]',
            }
        ]
    )
    meta = {b"tendencias.json_columns": b'["stage", "words"]'}
    pq.write_table(trends.replace_schema_metadata(meta), archive / "trends" / "t.parquet")
    store = DuckDBStore(archive, watch=False)
    [row] = store.run(q.sentiment_over_time(q.PostFilter(kind="brand"), 10, 0))
    assert row["key"] == "Andina Cola" and row["sentiment"] == -0.5
    [topic] = store.run(q.trends(ALL))
    assert topic["stage"] == "growing" and json.loads(topic["words"]) == ["a", "b"]
    store.close()


def test_trends_are_sorted_again_once_a_quarter_came_unsorted(tmp_path):
    archive = tmp_path / "archive"
    write_jsonl(
        archive / "trends" / "a.jsonl",
        [trend(f"k{i}", f"2026-11-01T1{i % 10}:00:00Z", kind="brand") for i in range(40)],
    )
    store = DuckDBStore(archive, path=tmp_path / "s.duckdb", watch=False)
    sorted_count = lambda: store._db.execute("SELECT sorted_trends FROM meta").fetchone()[0]  # noqa: E731
    assert sorted_count() == 40
    write_jsonl(archive / "trends" / "b.jsonl", [trend("x", "2026-11-01T09:00:00Z", kind="term")] * 5)
    store.reload()
    assert sorted_count() == 40  # 5 of 45 appended: not yet
    write_jsonl(
        archive / "trends" / "c.jsonl",
        [trend(f"y{i}", "2026-11-01T08:00:00Z", kind="hashtag") for i in range(20)],
    )
    store.reload()
    assert sorted_count() == 61  # 21 of 61 (b's five count once): sorted again
    kinds = [r[0] for r in store._db.execute("SELECT kind FROM trends").fetchall()]
    assert kinds == sorted(kinds)
    store.close()


def test_a_store_file_another_server_holds_is_left_alone(tmp_path):
    """A second server on the same archive works from memory; it neither fails nor deletes the file."""
    import subprocess
    import sys

    archive = tmp_path / "archive"
    write_jsonl(archive / "trends" / "a.jsonl", [trend("uno", "2026-11-01T10:00:00Z")])
    path = tmp_path / "store.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; db = duckdb.connect({str(path)!r}); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        store = DuckDBStore(archive, path=path, watch=False)
        assert store.path is None and keys(store) == ["uno"] and path.exists()
        store.close()
    finally:
        holder.kill()
        holder.wait()
