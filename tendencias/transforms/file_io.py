"""Reading JSONL files as raw records, so a file replays through the same graph as Kafka.

Each line becomes a `RawRecord` whose topic is the file's path and whose offset is the line
number (from 0), so a bad line's dead letter says exactly where it came from. A Parquet file
of the archive (archive/layout.py) reads as one JSON line per row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.metrics import Metrics

from tendencias.records import RawRecord


def pattern_matches(pattern: str) -> bool:
    """Whether any file matches `pattern` (local, gs:// or any Beam filesystem)."""
    from apache_beam.io.filesystems import FileSystems

    try:
        return any(result.metadata_list for result in FileSystems.match([pattern]))
    except Exception:  # an unreadable location counts as no match; the caller's message names it
        return False


class ReadLinesFn(beam.DoFn):
    """One RawRecord per non-blank line of a matched file (the bytes exactly as stored)."""

    def __init__(self):
        self.lines = Metrics.counter("file_io", "lines_read")

    def process(self, readable: fileio.ReadableFile) -> Iterator[RawRecord]:
        path = readable.metadata.path
        if path.endswith(".parquet"):
            from tendencias.archive.files import parquet_records

            with readable.open() as handle:
                for number, row in enumerate(parquet_records(handle)):
                    self.lines.inc()
                    line = json.dumps(row, ensure_ascii=False).encode("utf-8")
                    yield RawRecord(value=line, topic=path, partition=0, offset=number)
            return
        with readable.open() as handle:
            for number, line in enumerate(handle):
                line = line.rstrip(b"\r\n")
                if line.strip():
                    self.lines.inc()
                    yield RawRecord(value=line, topic=path, partition=0, offset=number)


class ReadJsonlRecords(beam.PTransform):
    """All lines of the files matching `pattern` (a path, a glob or a comma-separated list)."""

    def __init__(self, pattern: str):
        super().__init__()
        self.patterns = [part.strip() for part in pattern.split(",") if part.strip()]

    def expand(self, pbegin):
        return (
            pbegin
            | "Patterns" >> beam.Create(self.patterns)
            | "MatchFiles" >> fileio.MatchAll(empty_match_treatment=fileio.EmptyMatchTreatment.DISALLOW)
            | "ReadMatches" >> fileio.ReadMatches()
            | "ReadLines" >> beam.ParDo(ReadLinesFn())
        )
