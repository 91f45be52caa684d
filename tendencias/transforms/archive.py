"""WriteArchive: enriched posts, trends or sales into the archive folder (archive/layout.py).

    records ─ Encode (dead letters) ─ per writer: ArchiveWriterFn ─ ArchivedFile per file

`ArchiveWriterFn` keeps a writer's records in Beam state and writes them out, one file per
event hour, when the watermark passes the end of the `flush_s` period of the oldest one it
holds (or when it holds `max_records`). Its flush timer holds its output watermark, so a stage
after it (transforms/kafka/durable.py) sees the watermark pass a time only once every record
before it is in a complete file; and, given a ledger, it acknowledges each record's origin once
its file is in place, which is what Kafka offsets are committed after (kafka/durable.py).
Nothing is windowed, so a record is never dropped as late; on a runner with durable state
(Flink, Dataflow) the buffer is checkpointed with the offsets.
"""

from __future__ import annotations

import json
import struct
import uuid
import zlib
from collections.abc import Mapping
from typing import NamedTuple

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.coders import BytesCoder, VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms import userstate
from apache_beam.utils.timestamp import Timestamp

from tendencias.archive.layout import FORMATS, WRITTEN, event_ms, parquet_row, write_files
from tendencias.archive.records import archive_sale, parse_origin
from tendencias.models.trends.rows import archive_post
from tendencias.records import dead_letter, json_text
from tendencias.transforms.kafka.durable import acknowledge

_HEADER = struct.Struct(">qH")  # a buffered record: its event ms and origin's length, origin, line
_KEYED_LINE = beam.typehints.Tuple[int, beam.typehints.Tuple[int, str, bytes]]  # (writer, (ms, origin, line))


class ArchivedFile(NamedTuple):
    what: str
    path: str
    records: int
    first_ms: int
    last_ms: int


class ArchiveOutputs(NamedTuple):
    files: pvalue.PCollection  # ArchivedFile, one per file written
    dead_letters: pvalue.PCollection


def archive_record(what: str, record: dict) -> dict:
    """The record as the archive keeps it (posts redacted, sales with `ts`)."""
    if what == "posts":
        return archive_post(record)
    if what == "sales":
        return archive_sale(record)
    return record


class EncodeForArchiveFn(beam.DoFn):
    """Record -> (writer, (event ms, origin, line)), or a dead letter saying why it cannot be
    archived (with where it was read, but neither its raw text nor its author)."""

    DEAD_LETTER = "dead_letter"

    def __init__(self, what: str, fmt: str, writers: int):
        self._what, self._fmt, self._writers = what, fmt, writers
        self._bad = Metrics.counter("archive", f"unarchivable_{what}")

    def process(self, record):
        try:
            archived = archive_record(self._what, record)
            at = event_ms(self._what, archived)
            row = parquet_row(self._what, archived) if self._fmt == "parquet" else archived
            line = json.dumps(row, ensure_ascii=False, sort_keys=True).encode("utf-8")
        except Exception as err:  # whatever is wrong with it, the stream goes on and says so
            self._bad.inc()
            safe = (
                {k: v for k, v in dict(record).items() if k not in ("text", "author")}
                if isinstance(record, Mapping)
                else json_text(record)
            )
            yield pvalue.TaggedOutput(
                self.DEAD_LETTER, dead_letter(safe, stage="archive", reason="unarchivable", error=str(err))
            )
            return
        origin = record.get("origin") if isinstance(record, Mapping) else None
        yield zlib.crc32(line) % self._writers, (at, origin or "", line)


_FLUSH_SPEC = userstate.TimerSpec("archive_flush", userstate.TimeDomain.WATERMARK)
_FLUSH = beam.DoFn.TimerParam(_FLUSH_SPEC)
_BUFFER = beam.DoFn.StateParam(userstate.BagStateSpec("archive_buffer", BytesCoder()))
_HELD = beam.DoFn.StateParam(userstate.ReadModifyWriteStateSpec("archive_held", VarIntCoder()))
_DUE_AT = beam.DoFn.StateParam(userstate.ReadModifyWriteStateSpec("archive_due_at", VarIntCoder()))


class ArchiveWriterFn(beam.DoFn):
    """(writer, (event ms, line)) -> ArchivedFile for each file written (see module docstring)."""

    def __init__(
        self,
        directory: str,
        what: str,
        fmt: str,
        run: str,
        flush_ms: int,
        max_records: int,
        ledger: str | None,
    ):
        self._dir, self._what, self._fmt, self._run = directory, what, fmt, run
        self._flush_ms, self._max, self._ledger = flush_ms, max_records, ledger
        self._records = Metrics.counter("archive", f"archived_{what}")
        self._files = Metrics.counter("archive", f"files_{what}")

    def process(
        self,
        element,
        buffer=_BUFFER,
        held=_HELD,
        due_at=_DUE_AT,
        flush=_FLUSH,
    ):
        writer, (at, origin, line) = element
        where = origin.encode("utf-8")
        buffer.add(_HEADER.pack(at, len(where)) + where + line)
        count = (held.read() or 0) + 1
        held.write(count)
        if count >= self._max:
            yield from self._write(writer, buffer, held, due_at)
            return
        due = (at // self._flush_ms + 1) * self._flush_ms
        current = due_at.read()
        if current is None or due < current:
            flush.set(Timestamp(micros=due * 1000))
            due_at.write(due)

    @userstate.on_timer(_FLUSH_SPEC)
    def on_flush(self, key=beam.DoFn.KeyParam, buffer=_BUFFER, held=_HELD, due_at=_DUE_AT):
        yield from self._write(key, buffer, held, due_at)

    def _write(self, writer: int, buffer, held, due_at):
        items, origins = [], []
        for data in buffer.read():
            at, size = _HEADER.unpack_from(data)
            start = _HEADER.size + size
            items.append((at, data[start:]))
            origins.append(data[_HEADER.size : start].decode("utf-8"))
        buffer.clear()
        held.clear()
        due_at.clear()
        if not items:
            return
        for path, n, first, last in write_files(
            self._dir, self._what, self._fmt, self._run, f"w{writer}", items
        ):
            self._records.inc(n)
            self._files.inc()
            yield ArchivedFile(self._what, path, n, first, last)
        if self._ledger:  # every file is in place: their records' offsets may be committed
            acknowledge(self._ledger, [o for o in map(parse_origin, origins) if o is not None])


class WriteArchive(beam.PTransform):
    """Posts, trends or sales -> files under `directory` (archive/layout.py); returns
    ArchiveOutputs(files, dead_letters).

    flush_s: how much event time a writer gathers before it writes (the lag of commits behind
    the stream, and the number of files: one per writer, event hour and flush). max_records:
    a writer writes as soon as it holds this many. writers: parallel writers (files per flush).
    ledger: acknowledge the records' origins to the Kafka readers' ledger once their files are
    in place (transforms/kafka/durable.py), so their offsets may be committed.
    """

    def __init__(
        self,
        directory: str,
        what: str,
        fmt: str = "jsonl",
        flush_s: float = 60.0,
        max_records: int = 20_000,
        writers: int = 1,
        ledger: str | None = None,
    ):
        super().__init__()
        if what not in WRITTEN:
            raise ValueError(f"the archive keeps {', '.join(WRITTEN)}, not {what!r}")
        if fmt not in FORMATS:
            raise ValueError(f"archive format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        if flush_s <= 0 or max_records < 1 or writers < 1:
            raise ValueError("flush_s must be positive, max_records and writers at least 1")
        self._dir, self._what, self._fmt = directory.rstrip("/"), what, fmt
        self._flush_ms, self._max, self._writers = int(flush_s * 1000), max_records, writers
        self._run = uuid.uuid4().hex[:8]  # one per job start: names never repeat across runs
        self._ledger = ledger

    def expand(self, records) -> ArchiveOutputs:
        encode = beam.ParDo(EncodeForArchiveFn(self._what, self._fmt, self._writers))
        encoded = records | "Encode" >> encode.with_output_types(_KEYED_LINE).with_outputs(
            EncodeForArchiveFn.DEAD_LETTER, main="lines"
        )
        writer = ArchiveWriterFn(
            self._dir, self._what, self._fmt, self._run, self._flush_ms, self._max, self._ledger
        )
        files = (
            encoded.lines
            | "InGlobalWindow" >> beam.WindowInto(beam.window.GlobalWindows())
            | "Write" >> beam.ParDo(writer)
        )
        return ArchiveOutputs(files, encoded[EncodeForArchiveFn.DEAD_LETTER])
