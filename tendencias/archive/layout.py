"""How an archive folder is written: where each file goes, its name, its format, and how it
appears (whole, never half-written). The read side is `files.py`.

    DIR/<what>/<YYYY-MM-DD>/<HH>/<what>-<first event>-<run>-<writer>-<nonce>.<jsonl|parquet>

`<YYYY-MM-DD>/<HH>` is the UTC hour of the records' event time (a post's `created_at`, a
trend's `window_end`, a sale's `ts`), so a reader of a span of time opens only its folders.
`<run>` is new for every start of a job and `<writer>` names the writer inside it, and every
file gets a random nonce besides: a restart, a retried bundle or a second writer never
replaces a file; at worst a record is written twice (at least once), never lost.

A local file is written under a hidden name beside its final one (`.<name>.tmp`, which
readers skip), flushed to disk, then renamed: readers and the commit of Kafka offsets only
ever see complete files. Other filesystems (gs://...) publish an object whole when it is
closed, so it is written under its final name.

JSONL holds the records as they are. Parquet needs one schema for every file of a kind, so
the contract's fields have fixed types (`COLUMNS`); nested objects whose fields vary (a
post's sentiment and features) and any field the schema does not know are stored as JSON
text, named in the file's metadata (`JSON_COLUMNS_KEY`) so `files.read_records` decodes them.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

WRITTEN = ("posts", "trends", "sales")
FORMATS = ("jsonl", "parquet")
HOUR_MS = 3_600_000
JSON_COLUMNS_KEY = b"tendencias.json_columns"

_STRING, _FLOAT, _INT, _STRINGS = "string", "float", "int", "strings"
_POST_COLUMNS = {
    **dict.fromkeys(("id", "text", "created_at", "origin", "source", "lang", "author"), _STRING),
    **dict.fromkeys(("brand", "product", "category", "region", "features_version"), _STRING),
    "rating": _FLOAT,
    "tokens": _STRINGS,
    "hashtags": _STRINGS,
}
_SALE_COLUMNS = {
    **dict.fromkeys(("sku", "product", "category", "region", "currency", "ts", "origin"), _STRING),
    **dict.fromkeys(("brand", "channel"), _STRING),
    **dict.fromkeys(("units", "revenue"), _FLOAT),
}


def _trend_columns() -> dict[str, str]:
    from tendencias.models.trends.rows import TREND_BQ_SCHEMA

    kinds = {"STRING": _STRING, "TIMESTAMP": _STRING, "FLOAT": _FLOAT, "INTEGER": _INT}
    columns = {}
    for f in TREND_BQ_SCHEMA["fields"]:
        if f["type"] == "RECORD":
            columns[f["name"]] = "examples"  # [{id, text}], as the dashboard reads them
        elif f["mode"] == "REPEATED":
            columns[f["name"]] = _STRINGS
        else:
            columns[f["name"]] = kinds[f["type"]]
    return columns


def columns(what: str) -> dict[str, str]:
    """The typed Parquet columns of `what`."""
    if what == "posts":
        return _POST_COLUMNS
    if what == "sales":
        return _SALE_COLUMNS
    if what == "trends":
        return _trend_columns()
    raise ValueError(f"an archive writes {', '.join(WRITTEN)}, not {what!r}")


def event_ms(what: str, record: dict) -> int:
    """The event time a record is filed under (epoch ms)."""
    from tendencias.records import parse_time_ms

    field = {"posts": "created_at", "trends": "window_end", "sales": "ts"}[what]
    return parse_time_ms(record[field], field)


def file_path(directory: str, what: str, first_ms: int, run: str, writer: str, fmt: str) -> str:
    """A new file's path: the hour folder of `first_ms`, a name no other file has."""
    at = datetime.fromtimestamp(first_ms / 1000, UTC)
    name = f"{what}-{at:%Y%m%dT%H%M%S}-{run}-{writer}-{uuid.uuid4().hex[:8]}.{fmt}"
    return "/".join((directory.rstrip("/"), what, f"{at:%Y-%m-%d}", f"{at:%H}", name))


def by_hour(items: Iterable[tuple[int, bytes]]) -> dict[int, list[tuple[int, bytes]]]:
    """(event ms, line) pairs grouped by the UTC hour they fall in, each group in time order."""
    groups: dict[int, list[tuple[int, bytes]]] = {}
    for at, line in items:
        groups.setdefault(at // HOUR_MS * HOUR_MS, []).append((at, line))
    for group in groups.values():
        group.sort(key=lambda item: item[0])
    return groups


def _typed(kind: str, name: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == _STRING:
        if isinstance(value, (dict, list, tuple)):
            raise ValueError(f"{name} must be text, got {type(value).__name__}")
        return str(value)
    if kind in (_FLOAT, _INT):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number, got {value!r}")
        return float(value) if kind == _FLOAT else int(value)
    if kind == _STRINGS:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{name} must be a list of text, got {type(value).__name__}")
        return [str(v) for v in value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(e, dict) for e in value):
        raise ValueError(f"{name} must be a list of objects, got {value!r:.60}")
    return [
        {"id": str(e.get("id")), "text": None if e.get("text") is None else str(e["text"])} for e in value
    ]


def parquet_row(what: str, record: dict) -> dict:
    """`record` as a Parquet row of `what`; ValueError saying which field does not fit."""
    typed = columns(what)
    row = {name: _typed(kind, name, record.get(name)) for name, kind in typed.items()}
    for name, value in record.items():
        if name not in typed and value is not None:
            row[name] = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return row


def _arrow_type(kind: str):
    import pyarrow as pa

    return {
        _STRING: pa.string(),
        _FLOAT: pa.float64(),
        _INT: pa.int64(),
        _STRINGS: pa.list_(pa.string()),
        "examples": pa.list_(pa.struct([("id", pa.string()), ("text", pa.string())])),
    }[kind]


def encode(what: str, fmt: str, lines: list[bytes]) -> bytes:
    """A file's bytes from its lines (JSON of archive records, or of Parquet rows)."""
    if fmt == "jsonl":
        return b"".join(line + b"\n" for line in lines)
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in lines]
    typed = columns(what)
    extra = sorted({name for row in rows for name in row} - set(typed))
    fields = [pa.field(name, _arrow_type(kind)) for name, kind in typed.items()]
    fields += [pa.field(name, pa.string()) for name in extra]
    schema = pa.schema(fields, metadata={JSON_COLUMNS_KEY: json.dumps(extra).encode()})
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), buffer, compression="zstd")
    return buffer.getvalue()


def write_whole(path: str, data: bytes) -> None:
    """Writes `path` so that it appears complete or not at all (see module docstring)."""
    from apache_beam.io.filesystems import FileSystems

    if "://" in path and not path.startswith("file://"):
        with FileSystems.create(path) as handle:
            handle.write(data)
        return
    path = path.removeprefix("file://")
    folder, name = os.path.split(path)
    os.makedirs(folder, exist_ok=True)
    temporary = os.path.join(folder, f".{name}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)  # atomic on one filesystem; never replaces: the name is new


def write_files(
    directory: str, what: str, fmt: str, run: str, writer: str, items: Iterable[tuple[int, bytes]]
) -> list[tuple[str, int, int, int]]:
    """Writes (event ms, line) pairs, one file per event hour; (path, records, first ms, last
    ms) of each file written."""
    written = []
    for group in by_hour(items).values():
        first, last = group[0][0], group[-1][0]
        path = file_path(directory, what, first, run, writer, fmt)
        write_whole(path, encode(what, fmt, [line for _, line in group]))
        written.append((path, len(group), first, last))
    return written
