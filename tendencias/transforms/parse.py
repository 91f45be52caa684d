"""Parse and validate: `RawRecord`s in, typed Posts (Sale dicts) out, timestamped with their event time.

Each record also carries where it was read (`origin`, "topic:partition:offset"), which the
archive keeps so that a restarted job knows which archived records it reads again.

Every record that breaks its contract goes to the `dead_letter` output with its raw bytes, the
reason code, the error text and its source (topic, partition, offset); one counter per reason in
the "parse" namespace. Unexpected failures are dead-lettered too, with reason "internal".
"""

from __future__ import annotations

from collections.abc import Callable

import apache_beam as beam
from apache_beam.metrics import Metrics

from tendencias.archive.records import origin_text
from tendencias.records import Post, RawRecord, RecordError, dead_letter, parse_post, parse_sale
from tendencias.transforms import coders  # noqa: F401  (registers PostCoder)


class ParseRecordFn(beam.DoFn):
    DEAD_LETTER = "dead_letter"

    def __init__(self, parse: Callable[[bytes], Post | dict]):
        self._parse = parse
        self._ok = Metrics.counter("parse", "ok")
        self._counters: dict = {}

    def _count(self, reason: str) -> None:
        if reason not in self._counters:
            self._counters[reason] = Metrics.counter("parse", reason)
        self._counters[reason].inc()

    def process(self, raw: RawRecord):
        try:
            record = self._parse(raw.value)
        except RecordError as err:
            self._count(err.reason)
            yield beam.pvalue.TaggedOutput(
                self.DEAD_LETTER,
                dead_letter(raw.value, stage="parse", reason=err.reason, error=str(err), source=raw),
            )
            return
        except Exception as err:  # a bug or an unexpected input type: still never dropped silently
            self._count("internal")
            is_raw = isinstance(raw, RawRecord) and isinstance(raw.value, bytes)
            yield beam.pvalue.TaggedOutput(
                self.DEAD_LETTER,
                dead_letter(
                    raw.value if is_raw else repr(raw),
                    stage="parse",
                    reason="internal",
                    error=f"{type(err).__name__}: {err}",
                    source=raw if is_raw else None,
                ),
            )
            return
        self._ok.inc()
        origin = origin_text(raw.topic, raw.partition, raw.offset)
        if isinstance(record, Post):
            record = record.replace(origin=origin)
        else:
            record["origin"] = origin
        yield beam.window.TimestampedValue(record, record["event_time_ms"] / 1000)


class _ParseRecords(beam.PTransform):
    DEAD_LETTER = ParseRecordFn.DEAD_LETTER
    MAIN = "parsed"

    def __init__(self, parse: Callable[[bytes], Post | dict], output_type=dict):
        super().__init__()
        self._parse, self._type = parse, output_type

    def expand(self, raw_records):
        fn = beam.ParDo(ParseRecordFn(self._parse)).with_output_types(self._type)
        return raw_records | "Validate" >> fn.with_outputs(self.DEAD_LETTER, main=self.MAIN)


class ParsePosts(_ParseRecords):
    """RawRecord -> Posts (`records.parse_post`); outputs `.posts` and `[ParsePosts.DEAD_LETTER]`."""

    MAIN = "posts"

    def __init__(self):
        super().__init__(parse_post, Post)


class ParseSales(_ParseRecords):
    """RawRecord -> Sale dicts (`records.parse_sale`); outputs `.sales` and `[ParseSales.DEAD_LETTER]`."""

    MAIN = "sales"

    def __init__(self):
        super().__init__(parse_sale)
