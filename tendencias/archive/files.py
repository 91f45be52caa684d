"""The one reader of an archive folder (`tendencias run/backfill --archive_dir DIR`).

The job writes `DIR/<what>/<YYYY-MM-DD>/<HH>/<what>-...jsonl|.parquet` (layout.py) for posts,
trends and sales; older archives hold `DIR/posts/posts-*.jsonl`. Everything here globs
`DIR/<what>*/**` (and `DIR/<what>*.jsonl|.parquet` at the top) and reads both formats, so
readers do not care which writer made a file. `sales` are also the Sale records a demo copies
in (`DIR/sales*.jsonl`); `briefs` are what `tendencias brief` writes. Files still being
written are hidden (`.name.tmp`) and never read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from tendencias.archive.layout import JSON_COLUMNS_KEY
from tendencias.archive.records import copy_key

WHAT = ("posts", "trends", "sales", "briefs")
FORMATS = (".jsonl", ".json", ".parquet")


def archive_files(directory: str | Path, what: str, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Every file of `what` under `directory`, sorted, of the given formats."""
    if what not in WHAT:
        raise ValueError(f"an archive holds {', '.join(WHAT)}, not {what!r}")
    root = Path(directory)
    found: set[Path] = set()
    for entry in root.glob(f"{what}*"):
        if entry.is_dir():
            found.update(p for p in entry.rglob("*") if p.is_file())
        elif entry.is_file():
            found.add(entry)
    # Beam writes temp files beside the final ones while a job runs: never read them. Only the
    # parts below `root` count: the demo's archive itself lives under `.scratch/`.
    return sorted(
        p
        for p in found
        if p.suffix in formats
        and not any(part.startswith((".", "beam-temp")) for part in p.relative_to(root).parts)
    )


def read_records(directory: str | Path, what: str) -> Iterator[dict]:
    """The records of `what`, file by file; a line that is not a JSON object is skipped, and so
    is a second copy of a post or sale (records/copy_key)."""
    seen: set[str] = set()
    for path in archive_files(directory, what):
        for record in read_file(path):
            key = copy_key(what, record)
            if key is not None:
                if key in seen:
                    continue
                seen.add(key)
            yield record


def read_file(path: str | Path) -> Iterator[dict]:
    """The records of one archive file, JSONL or Parquet."""
    path = Path(path)
    if path.suffix == ".parquet":
        yield from parquet_records(path)
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line of a file written by hand, or cut short by a full disk
            if isinstance(record, dict):
                yield record


def parquet_records(source) -> Iterator[dict]:
    """A Parquet file's rows (a path or an open binary file), JSON text columns decoded and
    missing values left out, so a record reads the same from either format."""
    import pyarrow.parquet as pq

    table = pq.read_table(source)
    encoded = json.loads((table.schema.metadata or {}).get(JSON_COLUMNS_KEY, b"[]"))
    for row in table.to_pylist():
        for name in encoded:
            if row.get(name) is not None:
                row[name] = json.loads(row[name])
        yield {name: value for name, value in row.items() if value is not None}


_HOUR_FOLDER = re.compile(r"(\d{4}-\d{2}-\d{2})/(\d{2})/[^/]+$")


def hour_of(path: str | Path) -> int | None:
    """Start (epoch ms) of the event hour a file of the layout is filed under; None for files
    outside it (older archives, files copied in)."""
    match = _HOUR_FOLDER.search(Path(path).as_posix())
    if not match:
        return None
    at = datetime.strptime(f"{match.group(1)} {match.group(2)}", "%Y-%m-%d %H").replace(tzinfo=UTC)
    return int(at.timestamp() * 1000)


def require_archive(directory: str | Path) -> Path:
    """`directory` if it holds trends or posts; ValueError naming what is missing otherwise."""
    root = Path(directory)
    if not root.is_dir():
        raise ValueError(f"archive folder {str(root)!r} does not exist")
    if not archive_files(root, "trends") and not archive_files(root, "posts"):
        raise ValueError(
            f"archive folder {str(root)!r} has no posts*/ or trends*/ files: write one with "
            "`tendencias backfill --archive_dir DIR` or `tendencias run --archive_dir DIR`"
        )
    return root
