"""The local store: the archive's files materialised into a DuckDB database, kept in step file
by file, with answers cached per version of the data.

- Files are found through archive.files (the one reader of the archive layout), JSONL and
  Parquet alike, and loaded into typed tables (`trends`, `briefs`, `sales`, and `post_hours`:
  posts counted per hour, brand, product, region and segment), each row tagged with its file.
  A file that appears or grows is (re)loaded; only when one disappears or shrinks is
  everything rebuilt. A background thread looks every `refresh_s` seconds; queries
  never wait for it (DuckDB's snapshots: readers see the last finished load).
- Trend records are upserts on (kind, key, horizon, segment, window_end): only the highest
  `revision` is kept, and a record delivered twice counts once.
- The database lives in a file (default ARCHIVE/.serve/store.duckdb), so a restart loads only
  what is new; `path=None` keeps it in memory. Trends are kept in (kind, horizon, window
  end) order (sorted again as loads append), so DuckDB's zone maps read only the row groups of
  the kind and horizon asked for.
- Answers are cached by (data version, SQL, parameters): a new file invalidates them all.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path

import duckdb

from tendencias.archive.files import archive_files
from tendencias.serve.store.base import bind, plain
from tendencias.serve.store.queries import Query

log = logging.getLogger(__name__)
SCHEMA_VERSION = 5  # a database file of another version is rebuilt
# A file-backed store spills to disk past this (loading a big archive sorts it): the server
# shares its machine. TENDENCIAS_STORE_MEMORY overrides it.
MEMORY_LIMIT = "1GB"
CACHE_ENTRIES = 1024
JSON_COLUMNS_KEY = b"tendencias.json_columns"  # archive/layout.py: Parquet columns held as JSON text
_IN_LIST = re.compile(r"IN UNNEST\(:(\w+)\)")  # BigQuery's form; DuckDB unnests in a subquery

# What each kind of file holds, as read (raw) and as kept. Raw types are forgiving (times as
# text or epoch ms, nested JSON); the SELECT turns them into the kept, typed columns.
_RAW = {
    "trends": {
        **dict.fromkeys(("kind", "key", "horizon", "severity", "status", "episode", "related_to"), "VARCHAR"),
        **dict.fromkeys(("segment", "explanation", "stage", "story", "label", "title"), "VARCHAR"),
        **dict.fromkeys(("window_start", "window_end"), "VARCHAR"),
        **dict.fromkeys(("count", "posts", "authors", "sales_lag_days", "revision"), "BIGINT"),
        **dict.fromkeys(
            ("baseline", "score", "lift", "growth", "sentiment", "sentiment_delta", "sales_lift"), "DOUBLE"
        ),
        "examples": "STRUCT(id VARCHAR, text VARCHAR)[]",
        "words": "JSON",
        "story_keys": "JSON",
    },
    "briefs": {"id": "VARCHAR", "story": "VARCHAR", "period": "VARCHAR", "window_end": "VARCHAR"},
    "posts": {
        **dict.fromkeys(("created_at", "brand", "product", "category", "region", "segment"), "VARCHAR"),
        "sentiment": "JSON",
    },
    "sales": {
        **dict.fromkeys(("ts", "sku", "product", "brand", "category", "region", "channel"), "VARCHAR"),
        **dict.fromkeys(("units", "revenue"), "DOUBLE"),
    },
}
_KEEP = {
    "trends": (
        "kind, key, horizon, as_time(window_start) AS window_start, as_time(window_end) AS window_end, "
        "count, posts, authors, baseline, score, lift, growth, sentiment, sentiment_delta, severity, status, "
        "episode, related_to, segment, explanation, sales_lift, sales_lag_days, examples, stage, story, label, "
        "CAST(words AS VARCHAR) AS words, title, CAST(story_keys AS VARCHAR) AS story_keys, "
        "COALESCE(revision, 0) AS revision"
    ),
    "briefs": "id, story, period, as_time(window_end) AS window_end, body",
    # posts are kept as hourly counts per brand, product, region and segment: what the pages ask
    "posts": (
        "trunc_hour(as_time(created_at)) AS hour, brand, product, category, region, segment, "
        "COUNT(*) AS posts, SUM(TRY_CAST(sentiment->>'score' AS DOUBLE)) AS sentiment_sum, "
        "COUNT(TRY_CAST(sentiment->>'score' AS DOUBLE)) AS scored, "
        "COUNT(*) FILTER (WHERE TRY_CAST(sentiment->>'score' AS DOUBLE) > 0.2) AS positive, "
        "COUNT(*) FILTER (WHERE TRY_CAST(sentiment->>'score' AS DOUBLE) < -0.2) AS negative"
    ),
    "sales": "as_time(ts) AS ts, sku, product, brand, category, region, channel, units, revenue",
}
# a record without these is no record (a line cut short while a job was writing it)
_REQUIRED = {
    "trends": "kind IS NOT NULL AND key IS NOT NULL AND as_time(window_end) IS NOT NULL",
    "briefs": "id IS NOT NULL",
    "posts": "as_time(created_at) IS NOT NULL",
    "sales": "as_time(ts) IS NOT NULL",
}
_TABLE = {"trends": "trends", "briefs": "briefs", "posts": "post_hours", "sales": "sales"}
TREND_ORDER = "kind, horizon, window_end"
_ORDER = {
    "trends": f" ORDER BY {TREND_ORDER}",
    "posts": " GROUP BY ALL ORDER BY hour",
    "sales": " ORDER BY ts",
}
RESORT_SHARE = 0.25  # trends are sorted again once this share of them came after the last sort
_MACROS = (
    # times arrive as RFC 3339 text or epoch milliseconds
    "CREATE OR REPLACE MACRO as_time(x) AS "
    "COALESCE(TRY_CAST(x AS TIMESTAMPTZ), to_timestamp(TRY_CAST(x AS BIGINT) / 1000))",
    # the dialect helpers the query layer uses (BigQuery gets temporary functions of these names)
    "CREATE OR REPLACE MACRO trunc_day(t) AS date_trunc('day', t)",
    "CREATE OR REPLACE MACRO trunc_hour(t) AS date_trunc('hour', t)",
    "CREATE OR REPLACE MACRO fold(s) AS strip_accents(lower(s))",
)
_IDENTITY = ("kind", "key", "horizon", "segment", "window_end")


def default_path(archive: str | Path) -> Path:
    return Path(archive) / ".serve" / "store.duckdb"


def _tables_sql() -> list[str]:
    kept = duckdb.connect(":memory:")
    try:
        for statement in _MACROS:
            kept.execute(statement)
        out = []
        for what, columns in _RAW.items():
            raw = ", ".join(f"{name} {kind}" for name, kind in columns.items())
            extra = ", body JSON" if what == "briefs" else ""
            kept.execute(f"CREATE TEMP TABLE raw_{what} ({raw}{extra})")
            group = " GROUP BY ALL" if "GROUP BY" in _ORDER.get(what, "") else ""
            described = kept.execute(f"DESCRIBE SELECT {_KEEP[what]} FROM raw_{what}{group}").fetchall()
            typed = ", ".join(f'"{name}" {kind}' for name, kind, *_ in described)
            out.append(f"CREATE TABLE IF NOT EXISTS {_TABLE[what]} ({typed}, _file INTEGER)")
        return out
    finally:
        kept.close()


class DuckDBStore:
    def __init__(
        self,
        archive: str | Path,
        refresh_s: float = 10.0,
        path: str | Path | None = None,
        watch: bool = True,
    ):
        self.archive = Path(archive)
        self.refresh_s = refresh_s
        self.path = Path(path) if path else None
        self.version = 0
        self._db = self._connect()
        self._reloading = threading.Lock()
        self._cache: OrderedDict[tuple, list[dict]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.last_load: dict = {}
        self.reload()
        self._stop = threading.Event()
        if watch:
            threading.Thread(target=self._watch, name="archive-watch", daemon=True).start()

    # -- the database ------------------------------------------------------------------------

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                db = self._open_file()
            except duckdb.IOException as err:
                if "lock" not in str(err).lower():
                    raise
                # another server has the file: work from memory, leave its file alone
                log.warning("store %s is in use by another process: keeping this one in memory", self.path)
                self.path = None
        if self.path is None:
            db = duckdb.connect(":memory:")
        db.execute("SET TimeZone = 'UTC'")
        if self.path is not None:
            db.execute("SET memory_limit = ?", [os.environ.get("TENDENCIAS_STORE_MEMORY", MEMORY_LIMIT)])
        for statement in _MACROS:
            db.execute(statement)
        for statement in _tables_sql():
            db.execute(statement)
        db.execute(
            "CREATE TABLE IF NOT EXISTS files (id INTEGER, what VARCHAR, path VARCHAR, size BIGINT, mtime_ns BIGINT)"
        )
        db.execute("CREATE TABLE IF NOT EXISTS meta (version INTEGER, sorted_trends BIGINT)")
        if not db.execute("SELECT COUNT(*) FROM meta").fetchone()[0]:
            db.execute("INSERT INTO meta VALUES (?, 0)", [SCHEMA_VERSION])
        return db

    def _open_file(self) -> duckdb.DuckDBPyConnection:
        try:
            db = duckdb.connect(str(self.path))
            found = db.execute(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'meta'"
            ).fetchone()[0]
            version = db.execute("SELECT version FROM meta").fetchone()[0] if found else None
        except duckdb.IOException:
            raise  # locked by another process, or no room: not a reason to throw the file away
        except duckdb.Error as err:  # another DuckDB release, or a broken file: start again
            log.warning("store %s unreadable (%s): rebuilding it", self.path, err)
            version = None
            self.path.unlink(missing_ok=True)
            Path(str(self.path) + ".wal").unlink(missing_ok=True)
            db = duckdb.connect(str(self.path))
        if version != SCHEMA_VERSION:
            for table in ("meta", "files", *_TABLE.values()):
                db.execute(f"DROP TABLE IF EXISTS {table}")
        return db

    def _watch(self) -> None:
        while not self._stop.wait(self.refresh_s):
            try:
                self.reload()
            except Exception:  # a file caught half-written: the next look will do
                log.exception("archive reload failed")

    # -- loading -------------------------------------------------------------------------------

    def _current(self) -> dict[str, tuple[str, int, int]]:
        found = {}
        for what in _RAW:
            for p in archive_files(self.archive, what):
                try:
                    st = p.stat()
                except FileNotFoundError:  # gone between the listing and now
                    continue
                found[str(p)] = (what, st.st_size, st.st_mtime_ns)
        return found

    def reload(self) -> bool:
        """Loads what changed in the archive; True if anything did."""
        if not self._reloading.acquire(blocking=False):
            return False  # another thread is loading
        try:
            return self._reload()
        finally:
            self._reloading.release()

    def _reload(self) -> bool:
        start = time.perf_counter()
        current = self._current()
        db = self._db.cursor()
        loaded = {
            path: (file_id, what, size, mtime)
            for file_id, what, path, size, mtime in db.execute(
                "SELECT id, what, path, size, mtime_ns FROM files"
            ).fetchall()
        }
        shrunk = [p for p, (_, _, size, _) in loaded.items() if p not in current or current[p][1] < size]
        changed = [p for p, meta in current.items() if p in loaded and loaded[p][2:] != meta[1:]]
        fresh = [p for p in current if p not in loaded]
        if not (shrunk or changed or fresh):
            return False
        db.execute("BEGIN TRANSACTION")
        try:
            if shrunk:  # rows a vanished file superseded may be gone: start again
                for table in ("files", *_TABLE.values()):
                    db.execute(f"DELETE FROM {table}")
                db.execute("UPDATE meta SET sorted_trends = 0")
                loaded, fresh, changed = {}, list(current), []
            stale = [loaded[p][0] for p in changed]
            if stale:
                for table in _TABLE.values():
                    db.execute(f"DELETE FROM {table} WHERE _file IN (SELECT UNNEST(?))", [stale])
                db.execute("DELETE FROM files WHERE id IN (SELECT UNNEST(?))", [stale])
            next_id = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM files").fetchone()[0]
            new_ids = []
            for what in _RAW:
                paths = sorted(p for p in fresh + changed if current[p][0] == what)
                if not paths:
                    continue
                ids = {p: next_id + i for i, p in enumerate(paths)}
                next_id += len(paths)
                new_ids += ids.values()
                db.executemany(
                    "INSERT INTO files VALUES (?, ?, ?, ?, ?)",
                    [[ids[p], what, p, current[p][1], current[p][2]] for p in paths],
                )
                self._load(db, what, ids)
            self._dedupe_trends(db, new_ids)
            self._keep_trends_sorted(db)
            db.execute("COMMIT")
        except Exception:
            db.execute("ROLLBACK")
            raise
        self.version += 1
        with self._cache_lock:
            self._cache.clear()
        self.last_load = {
            "files": len(fresh) + len(changed),
            "rebuilt": bool(shrunk),
            "seconds": round(time.perf_counter() - start, 2),
        }
        log.info("archive loaded: %s", self.last_load)
        return True

    def _load(self, db, what: str, ids: dict[str, int]) -> None:
        raw = ", ".join(f"{n} {k}" for n, k in _RAW[what].items())
        db.execute(f"CREATE OR REPLACE TEMP TABLE raw_{what} ({raw}, body JSON, filename VARCHAR)")
        jsonl = [p for p in ids if not p.endswith(".parquet")]
        parquet = [p for p in ids if p.endswith(".parquet")]
        if jsonl and what == "briefs":
            db.execute(
                "INSERT INTO raw_briefs BY NAME SELECT json->>'id' AS id, json->>'story' AS story, "
                "json->>'period' AS period, json->>'window_end' AS window_end, json AS body, filename "
                "FROM read_json_objects(?, format='newline_delimited', ignore_errors=true, filename=true)",
                [jsonl],
            )
        elif jsonl:
            db.execute(
                f"INSERT INTO raw_{what} BY NAME SELECT * FROM read_json(?, format='newline_delimited', "
                f"columns={_RAW[what]!r}, ignore_errors=true, filename=true)",
                [jsonl],
            )
        for (present, encoded), group in _parquet_groups(parquet).items():
            # the archive's Parquet files keep varying nested fields and fields their schema does
            # not know as JSON text, named in the file's metadata: decode those to the raw types
            columns = [_decoded(n, k) if n in encoded else n for n, k in _RAW[what].items() if n in present]
            body = ", to_json(t) AS body" if what == "briefs" else ""
            db.execute(
                f"INSERT INTO raw_{what} BY NAME SELECT {', '.join(columns)}, filename{body} "
                "FROM read_parquet(?, union_by_name=true, filename=true) AS t",
                [group],
            )
        file_ids = ", ".join(f"({i}, '{p.replace(chr(39), chr(39) * 2)}')" for p, i in ids.items())
        db.execute(
            f"INSERT INTO {_TABLE[what]} SELECT {_KEEP[what]}, f._file FROM raw_{what} "
            f"JOIN (VALUES {file_ids}) f(_file, _name) ON raw_{what}.filename = f._name "
            f"WHERE {_REQUIRED[what]}{_ORDER.get(what, '')}"
        )
        db.execute(f"DROP TABLE raw_{what}")

    @staticmethod
    def _keep_trends_sorted(db) -> None:
        """Trends sit in (kind, horizon, window end) order, so DuckDB's zone maps skip all but the
        row groups of the kind and horizon asked for, and the newest windows of each sit
        together. A load appends its files' records sorted among themselves; once a quarter of
        the table came that way, the whole table is sorted again."""
        total = db.execute("SELECT COUNT(*) FROM trends").fetchone()[0]
        sorted_trends = db.execute("SELECT sorted_trends FROM meta").fetchone()[0]
        if sorted_trends == 0 or total - sorted_trends > RESORT_SHARE * total:
            if sorted_trends:  # the first load went in sorted already
                db.execute(f"CREATE OR REPLACE TABLE trends AS SELECT * FROM trends ORDER BY {TREND_ORDER}")
            db.execute("UPDATE meta SET sorted_trends = ?", [total])

    @staticmethod
    def _dedupe_trends(db, new_ids: list[int]) -> None:
        """Keeps one record per window identity, the highest revision, among those just loaded."""
        if not new_ids:
            return
        same = " AND ".join(f"t.{c} IS NOT DISTINCT FROM n.{c}" for c in _IDENTITY)
        db.execute(
            f"""DELETE FROM trends WHERE rowid IN (
                SELECT rid FROM (
                    SELECT t.rowid AS rid, ROW_NUMBER() OVER (
                        PARTITION BY {", ".join("t." + c for c in _IDENTITY)}
                        ORDER BY t.revision DESC, t._file DESC) AS rn
                    FROM trends t
                    WHERE EXISTS (SELECT 1 FROM trends n WHERE n._file IN (SELECT UNNEST(?)) AND {same})
                ) WHERE rn > 1)""",
            [new_ids],
        )

    # -- queries -------------------------------------------------------------------------------

    def run(self, query: Query) -> list[dict]:
        """Rows as dicts (fresh dicts; nested values are shared with the cache: do not mutate)."""
        key = (self.version, query.sql, tuple(sorted((k, _hashable(v)) for k, v in query.params.items())))
        with self._cache_lock:
            rows = self._cache.get(key)
            if rows is not None:
                self._cache.move_to_end(key)
        if rows is None:
            sql = _IN_LIST.sub(
                r"IN (SELECT UNNEST(:\1))", query.sql.format(**{t: t for t in _TABLE.values()})
            )
            result = self._db.cursor().execute(bind(sql, "$"), query.params)
            names = [d[0] for d in result.description]
            rows = [{n: plain(v) for n, v in zip(names, row, strict=True)} for row in result.fetchall()]
            with self._cache_lock:
                self._cache[key] = rows
                while len(self._cache) > CACHE_ENTRIES:
                    self._cache.popitem(last=False)
        return [dict(r) for r in rows]

    def close(self) -> None:
        self._stop.set()
        with self._reloading:
            self._db.close()


def _parquet_groups(paths: list[str]) -> dict[tuple[frozenset, frozenset], list[str]]:
    """Parquet files grouped by (their columns, those their metadata says hold JSON text)."""
    import json

    import pyarrow.parquet as pq

    groups: dict[tuple[frozenset, frozenset], list[str]] = {}
    for path in paths:
        schema = pq.read_schema(path)
        encoded = json.loads((schema.metadata or {}).get(JSON_COLUMNS_KEY, b"[]"))
        groups.setdefault((frozenset(schema.names), frozenset(encoded)), []).append(path)
    return groups


def _decoded(name: str, kind: str) -> str:
    if kind == "JSON":
        return f"CAST({name} AS JSON) AS {name}"
    if kind == "VARCHAR":
        return f"json_extract_string({name}, '$') AS {name}"
    return f"TRY_CAST(json_extract({name}, '$') AS {kind}) AS {name}"


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value
