"""The one reader of an archive folder (`tendencias run/backfill --archive_dir DIR`).

The sinks write `DIR/posts/posts-*.jsonl` and `DIR/trends/trends-*.jsonl` today; names unique
per run or writer, and Parquet files, are on their way. Everything here globs `DIR/<what>*/**`
(and `DIR/<what>*.jsonl|.parquet` at the top) and reads both formats, so readers do not care
which writer made a file. `sales` are the Sale records a demo copies in (`DIR/sales*.jsonl`);
`briefs` are what `tendencias brief` writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

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
    """The records of `what`, file by file; a line that is not a JSON object is skipped."""
    for path in archive_files(directory, what):
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            yield from pq.read_table(path).to_pylist()
            continue
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line still being written by a running job
                if isinstance(record, dict):
                    yield record


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
