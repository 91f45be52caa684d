"""The local store: the archive's JSONL/Parquet files loaded into an in-memory DuckDB.

Files are read through archive.files (the one reader of the archive layout) and loaded again
when the set of files or their sizes change, checked at most every `refresh_s` seconds, so
the dashboard follows a running job's archive.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import duckdb

from tendencias.archive.files import archive_files
from tendencias.serve.store.base import bind, plain
from tendencias.serve.store.queries import Query

_IN_LIST = re.compile(r"IN UNNEST\(:(\w+)\)")  # BigQuery's form; DuckDB unnests in a subquery
_COLUMNS = {
    **dict.fromkeys(
        ("kind", "key", "horizon", "window_start", "window_end", "severity", "status"), "VARCHAR"
    ),
    **dict.fromkeys(("episode", "related_to", "segment", "explanation"), "VARCHAR"),
    **dict.fromkeys(("count", "posts", "authors", "sales_lag_days"), "BIGINT"),
    **dict.fromkeys(
        ("baseline", "score", "lift", "growth", "sentiment", "sentiment_delta", "sales_lift"), "DOUBLE"
    ),
    "examples": "STRUCT(id VARCHAR, text VARCHAR)[]",
}
_EMPTY_TRENDS = "CREATE OR REPLACE TABLE trends (" + ", ".join(f"{n} {t}" for n, t in _COLUMNS.items()) + ")"


def _source(files: list[Path]) -> str | None:
    """One SELECT over the JSONL and Parquet files; fields a file lacks are NULL."""
    jsonl = [str(p) for p in files if p.suffix != ".parquet"]
    parquet = [str(p) for p in files if p.suffix == ".parquet"]
    parts = []
    if jsonl:
        parts.append(
            f"SELECT * FROM read_json({jsonl!r}, format='newline_delimited', columns={_COLUMNS!r}, "
            "ignore_errors=true)"
        )
    if parquet:
        names = ", ".join(repr(n) for n in _COLUMNS)
        parts.append(
            f"SELECT COLUMNS(lambda c: c IN ({names})) FROM read_parquet({parquet!r}, union_by_name=true)"
        )
    return " UNION ALL BY NAME ".join(parts) or None


class DuckDBStore:
    def __init__(self, archive: str | Path, refresh_s: float = 10.0):
        self.archive = Path(archive)
        self.refresh_s = refresh_s
        self._db = duckdb.connect(":memory:")
        self._lock = threading.Lock()
        self._signature: tuple = ()
        self._checked = 0.0
        self.reload()

    def _files(self) -> dict[str, list[Path]]:
        return {what: archive_files(self.archive, what) for what in ("trends", "briefs")}

    def reload(self) -> None:
        files = self._files()
        signature = tuple((str(p), p.stat().st_size) for group in files.values() for p in group)
        self._checked = time.monotonic()
        if signature == self._signature:
            return
        with self._lock:
            db = self._db
            db.execute(_EMPTY_TRENDS)
            source = _source(files["trends"])
            if source:
                db.execute(f"INSERT INTO trends BY NAME {source}")
            db.execute(
                "CREATE OR REPLACE TABLE briefs (id VARCHAR, story VARCHAR, window_end VARCHAR, body JSON)"
            )
            names = [str(p) for p in files["briefs"] if p.suffix != ".parquet"]
            if names:
                db.execute(
                    "INSERT INTO briefs SELECT json->>'id', json->>'story', json->>'window_end', json "
                    f"FROM read_json_objects({names!r}, format='newline_delimited', ignore_errors=true)"
                )
            self._signature = signature

    def run(self, query: Query) -> list[dict]:
        if time.monotonic() - self._checked > self.refresh_s:
            self.reload()
        sql = _IN_LIST.sub(r"IN (SELECT UNNEST(:\1))", query.sql.format(trends="trends", briefs="briefs"))
        sql = bind(sql, "$")
        with self._lock:
            cursor = self._db.cursor()
        result = cursor.execute(sql, query.params)
        names = [d[0] for d in result.description]
        return [{n: plain(v) for n, v in zip(names, row, strict=True)} for row in result.fetchall()]

    def close(self) -> None:
        self._db.close()
