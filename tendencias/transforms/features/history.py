"""SelectWindow: lines of history -> the raw feature instances of one window, for `analyze`.

History is JSONL of the contracts or the stream's archive of enriched posts: a line with `sku`
is a Sale, any other a Post. Archived posts may hold only `text_clean` and `event_time_ms`;
they are read as `text` and `created_at`. Posts are tokenised exactly as the stream does
(`post_tokens` of the redacted text), so both paths count the same keys.

Writes under `work_dir`: posts-*.jsonl and sales-*.jsonl (instances in the window),
meaning-*.jsonl (each post's tokens and redacted text, for the topic and segment models) and
summary.json (counts and the window's end); malformed lines go to `dead_prefix`*.jsonl.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics

from tendencias.models.features.preprocessing import post_instance, sale_instance
from tendencias.models.text.normalise import post_tokens
from tendencias.models.text.redaction import redact
from tendencias.records import RawRecord, RecordError, dead_letter, parse_post, parse_sale

STAGE = "analyze"


def parse_history_line(value: bytes) -> tuple[str, dict]:
    """("posts" | "sales", record) for one line; raises RecordError with the reason."""
    try:
        obj = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        obj = None
    if not isinstance(obj, dict):
        parse_post(value)  # raises the contract's own reason (not_utf8, not_json, not_object)
        raise RecordError("not_object", "record must be a JSON object")
    if "sku" in obj:
        return "sales", parse_sale(value)
    text_clean = obj.get("text_clean") if isinstance(obj.get("text_clean"), str) else None
    adapted = dict(obj)
    if adapted.get("text") is None and text_clean:
        adapted["text"] = text_clean
    if adapted.get("created_at") is None and adapted.get("event_time_ms") is not None:
        adapted["created_at"] = adapted["event_time_ms"]
    post = parse_post(json.dumps(adapted, ensure_ascii=False).encode("utf-8") if adapted != obj else value)
    return "posts", post.replace(text_clean=text_clean)


def post_window_instance(post: dict) -> dict:
    """The raw features of a history post, tokenised as the stream tokenises `text_clean`."""
    text = post.get("text_clean") or redact(post["text"])
    return post_instance(dict(post, tokens=post_tokens(text)["tokens"]))


def post_meaning_doc(post: dict) -> dict:
    """What the topic and segment models learn from a history post: its tokens and redacted text."""
    text = post.get("text_clean") or redact(post["text"])
    return {"tokens": post_tokens(text)["tokens"], "text": text}


class ParseHistoryFn(beam.DoFn):
    DEAD_LETTER = "dead_letter"
    SALES = "sales"

    def __init__(self):
        self.bad = Metrics.counter(STAGE, "dead_letters")

    def process(self, raw: RawRecord) -> Iterable:
        try:
            kind, record = parse_history_line(raw.value)
        except RecordError as err:
            self.bad.inc()
            yield beam.pvalue.TaggedOutput(
                self.DEAD_LETTER,
                dead_letter(raw.value, stage=STAGE, reason=err.reason, error=str(err), source=raw),
            )
            return
        yield record if kind == "posts" else beam.pvalue.TaggedOutput(self.SALES, record)


def _in_window(record: dict, as_of_ms: int, window_ms: int) -> bool:
    return as_of_ms - window_ms <= record["event_time_ms"] < as_of_ms


def _summary(_, as_of_ms: int, as_of_from: str, posts: int, sales: int, dead: int, lines: int) -> str:
    return json.dumps(
        {
            "as_of_ms": as_of_ms,
            "as_of_from": as_of_from,
            "posts": posts,
            "sales": sales,
            "dead_letters": dead,
            "lines": lines,
        }
    )


class SelectWindow(beam.PTransform):
    def __init__(self, window_seconds: float, as_of_ms: int | None, work_dir: str, dead_prefix: str):
        super().__init__()
        self.window_ms = int(window_seconds * 1000)
        self.as_of_ms = as_of_ms
        self.work_dir = work_dir.rstrip("/")
        self.dead_prefix = dead_prefix

    def expand(self, records):
        parsed = records | "ParseHistory" >> beam.ParDo(ParseHistoryFn()).with_outputs(
            ParseHistoryFn.DEAD_LETTER, ParseHistoryFn.SALES, main="posts"
        )
        if self.as_of_ms is not None:
            as_of = records.pipeline | "AsOfFlag" >> beam.Create([self.as_of_ms])
        else:  # just after the latest event, so the newest record is inside [start, as_of)
            as_of = (
                (parsed.posts, parsed.sales)
                | "AllRecords" >> beam.Flatten()
                | "EventTimes" >> beam.Map(lambda r: r["event_time_ms"])
                | "Latest" >> beam.CombineGlobally(lambda times: max(times, default=-1))
                | "JustAfter" >> beam.Map(lambda latest: latest + 1)
            )
        as_of_view = beam.pvalue.AsSingleton(as_of)
        counts = {"lines": records, "dead": parsed.dead_letter}
        for kind, to_instance in (("posts", post_window_instance), ("sales", sale_instance)):
            label = kind.capitalize()
            selected = parsed[kind] | f"{label}InWindow" >> beam.Filter(
                _in_window, as_of_view, self.window_ms
            )
            _ = (
                selected
                | f"{label}Instances" >> beam.Map(to_instance)
                | f"Encode{label}" >> beam.Map(json.dumps, ensure_ascii=False)
                | f"Write{label}" >> beam.io.WriteToText(f"{self.work_dir}/{kind}", file_name_suffix=".jsonl")
            )
            counts[kind] = selected
        _ = (  # for the topic and segment models (models/topics, models/segments)
            counts["posts"]
            | "MeaningDocs" >> beam.Map(post_meaning_doc)
            | "EncodeMeaning" >> beam.Map(json.dumps, ensure_ascii=False)
            | "WriteMeaning" >> beam.io.WriteToText(f"{self.work_dir}/meaning", file_name_suffix=".jsonl")
        )
        _ = (
            parsed.dead_letter
            | "EncodeDeadLetters" >> beam.Map(json.dumps)
            | "WriteDeadLetters" >> beam.io.WriteToText(self.dead_prefix, file_name_suffix=".jsonl")
        )
        views = {
            name: beam.pvalue.AsSingleton(
                pcoll | f"Count{name.capitalize()}" >> beam.combiners.Count.Globally()
            )
            for name, pcoll in counts.items()
        }
        return (
            records.pipeline
            | "One" >> beam.Create([None])
            | "Summarise"
            >> beam.Map(
                _summary,
                as_of_view,
                "flag" if self.as_of_ms is not None else "latest_event",
                views["posts"],
                views["sales"],
                views["dead"],
                views["lines"],
            )
            | "WriteSummary" >> beam.io.WriteToText(f"{self.work_dir}/summary.json", shard_name_template="")
        )
