"""The data contracts (see README "Data contracts"): raw records, Posts, Sales, dead letters.

Pure code, no Beam: `parse_post` turns the bytes of one Kafka message or one JSONL line into a
`Post` (the typed record every stage of the graph passes on, see there), `parse_sale` into a
normalised Sale dict; both raise `RecordError` with a reason code that the dead-letter output
and its counters use.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import operator
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

POST_SOURCES = ("twitter", "instagram", "tiktok", "facebook", "review", "survey", "news", "other")
POST_OPTIONAL_TEXT = ("lang", "author", "brand", "product", "category", "region", "url")
SALE_REQUIRED_TEXT = ("sku", "product", "category", "region")
SALE_OPTIONAL_TEXT = ("brand", "channel")

MAX_RECORD_BYTES = 64 * 1024
MAX_TEXT_CHARS = 10_000
# Epoch numbers below this are read as seconds: as milliseconds they would fall before 1973-03.
_EPOCH_SECONDS_LIMIT = 100_000_000_000


class RawRecord(NamedTuple):
    """One message as read: from Kafka, or a line of a file (topic = path, offset = line)."""

    value: bytes
    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None = None
    key: bytes | None = None


@dataclass(slots=True, eq=False)
class Post(Mapping):
    """One post inside the graph: the contract's fields (parsed), then what the stages add.

    Stages read and set attributes and pass a new Post on (`replace`); the JSON dicts of the
    contract exist only where a post enters (`parse_post`) or leaves (the archive, dead letters).
    It also reads as a read-only mapping of its fields (`post["id"]`, `post.get("lang")`,
    `dict(post)`), so code written against the contract's dict (the Flink job, briefs, tests)
    reads a Post alike; equal to any mapping with the same items. Crossing a shuffle it is
    encoded by `transforms/coders.py` PostCoder (its field values only, no names).
    """

    id: str
    text: str
    event_time_ms: int
    source: str = "other"
    lang: str | None = None
    author: str | None = None
    brand: str | None = None
    product: str | None = None
    category: str | None = None
    region: str | None = None
    url: str | None = None
    rating: float | None = None
    # added by the stages: CleanPosts (text_clean, author, lang), ApplyFeatures, EnrichSentiment
    text_clean: str | None = None
    tokens: list[str] | None = None
    hashtags: list[str] | None = None
    features: dict | None = None
    features_version: str | None = None
    sentiment: dict | None = None  # the sentiment answer (models/sentiment/policy.py)
    origin: str | None = None  # where ParsePosts read it: "topic:partition:offset" (archive/records.py)
    # EmbedPosts and AssignClusters (transforms/stories), ApplyFeatures' topic model and segments
    embedding: bytes | None = None  # float32 sentence vector (models/stories/embedding.py), never archived
    clusters: list[str] | None = None  # story cluster keys (models/stories/clusters.py)
    topics: list[str] | None = None  # topic ids (models/topics)
    segments: list[str] | None = None  # consumer segments (models/segments)

    def __getitem__(self, name: str) -> Any:
        if name not in _FIELD_SET:
            raise KeyError(name)
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter(POST_FIELDS)

    def __len__(self) -> int:
        return len(POST_FIELDS)

    def __contains__(self, name: object) -> bool:
        return name in _FIELD_SET

    def replace(self, **changes: Any) -> Post:
        """A copy with `changes` (what dataclasses.replace does, a third of its time: every stage
        replaces each post it passes on)."""
        new = Post.from_values(self.values_tuple())
        for name, value in changes.items():
            if name not in _FIELD_SET:
                raise TypeError(f"Post has no field {name!r}")
            setattr(new, name, value)
        return new

    def values_tuple(self) -> tuple:
        return _ALL_FIELDS(self)

    @classmethod
    def from_values(cls, values: tuple) -> Post:
        return cls(*values)

    def to_dict(self) -> dict[str, Any]:
        """The contract's fields, and those the stages added so far."""
        return {
            name: value
            for name, value in zip(POST_FIELDS, self.values_tuple(), strict=True)
            if value is not None or name in _CONTRACT_FIELDS
        }

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Post:
        """A Post from a mapping of its fields (a Post is returned as it is; other keys are
        ignored; a missing id, text or event_time_ms raises KeyError)."""
        if isinstance(record, Post):
            return record
        required = [record[name] for name in POST_FIELDS[:3]]
        return cls(*required, **{name: record[name] for name in POST_FIELDS[3:] if name in record})


POST_FIELDS = tuple(f.name for f in dataclasses.fields(Post))
_ALL_FIELDS = operator.attrgetter(*POST_FIELDS)
_FIELD_SET = frozenset(POST_FIELDS)
_CONTRACT_FIELDS = frozenset(POST_FIELDS[: POST_FIELDS.index("rating") + 1])


class RecordError(ValueError):
    """A record that breaks its contract. `reason` is a short code; str() is for people."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def parse_time_ms(value: Any, field: str) -> int:
    """RFC 3339 text or epoch milliseconds (epoch seconds accepted) to epoch milliseconds."""
    if isinstance(value, bool):
        raise RecordError("bad_time", f"{field} must be RFC 3339 text or epoch milliseconds, not a boolean")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value <= 0:
            raise RecordError("bad_time", f"{field} must be a positive epoch time, got {value!r}")
        return int(value * 1000) if value < _EPOCH_SECONDS_LIMIT else int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return parse_time_ms(int(text), field)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise RecordError(
                "bad_time", f"{field} is not RFC 3339 or epoch milliseconds: {text[:40]!r}"
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return int(parsed.timestamp() * 1000)
    if value is None:
        raise RecordError("missing_time", f"{field} is required")
    raise RecordError("bad_time", f"{field} must be text or a number, got {type(value).__name__}")


def _decode_object(raw: bytes) -> dict:
    if len(raw) > MAX_RECORD_BYTES:
        raise RecordError("oversize", f"record is {len(raw)} bytes, over the {MAX_RECORD_BYTES} byte limit")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RecordError("not_utf8", f"record is not UTF-8: {err.reason} at byte {err.start}") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        raise RecordError("not_json", f"record is not JSON: {err.msg} at char {err.pos}") from None
    if not isinstance(obj, dict):
        raise RecordError("not_object", f"record must be a JSON object, got {type(obj).__name__}")
    return obj


def _optional_text(obj: dict, field: str) -> str | None:
    value = obj.get(field)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise RecordError("wrong_type", f"{field} must be text, got {type(value).__name__}")
    return value.strip() or None


def _required_text(obj: dict, field: str) -> str:
    if obj.get(field) is None:
        raise RecordError("missing_" + field, f"{field} is required")
    value = _optional_text(obj, field)
    if value is None:
        raise RecordError("missing_" + field, f"{field} is empty")
    return value


def _number(obj: dict, field: str, *, required: bool, minimum: float | None = None) -> float | None:
    value = obj.get(field)
    if value is None:
        if required:
            raise RecordError("missing_" + field, f"{field} is required")
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise RecordError("wrong_type", f"{field} must be a number, got {value[:20]!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RecordError("wrong_type", f"{field} must be a finite number, got {value!r}")
    if minimum is not None and value < minimum:
        raise RecordError("out_of_range", f"{field} must be at least {minimum}, got {value}")
    return value


def parse_post(raw: bytes) -> Post:
    """Validate one Post; returns it normalised, with `event_time_ms` (epoch ms of `created_at`)."""
    obj = _decode_object(raw)
    post_id = obj.get("id")
    if isinstance(post_id, int) and not isinstance(post_id, bool):
        post_id = str(post_id)
    if post_id is None or post_id == "":
        raise RecordError("missing_id", "id is required")
    if not isinstance(post_id, str):
        raise RecordError("wrong_type", f"id must be text, got {type(post_id).__name__}")
    text = obj.get("text")
    if text is None:
        raise RecordError("missing_text", "text is required")
    if not isinstance(text, str):
        raise RecordError("wrong_type", f"text must be text, got {type(text).__name__}")
    if not text.strip():
        raise RecordError("missing_text", "text is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise RecordError("oversize", f"text has {len(text)} characters, over the {MAX_TEXT_CHARS} limit")
    created = obj.get("created_at")
    if created is None:
        raise RecordError("missing_time", "created_at is required")
    event_time_ms = parse_time_ms(created, "created_at")
    source = _optional_text(obj, "source")
    source = source.lower() if source and source.lower() in POST_SOURCES else "other"
    optional = {name: _optional_text(obj, name) for name in POST_OPTIONAL_TEXT}
    rating = _number(obj, "rating", required=False)
    if rating is not None and not (1 <= rating <= 5):
        raise RecordError("out_of_range", f"rating must be from 1 to 5, got {rating}")
    return Post(post_id, text, event_time_ms, source, rating=rating, **optional)


def parse_sale(raw: bytes) -> dict:
    """Validate one Sale; returns the normalised dict with `event_time_ms` added."""
    obj = _decode_object(raw)
    sale = {field: _required_text(obj, field) for field in SALE_REQUIRED_TEXT}
    sale["units"] = _number(obj, "units", required=True, minimum=0)
    sale["revenue"] = _number(obj, "revenue", required=True)
    currency = _optional_text(obj, "currency") or "PEN"
    if len(currency) != 3 or not currency.isalpha():
        raise RecordError("wrong_type", f"currency must be an ISO 4217 code like PEN, got {currency[:10]!r}")
    sale["currency"] = currency.upper()
    if obj.get("ts") is None:
        raise RecordError("missing_time", "ts is required")
    sale["event_time_ms"] = parse_time_ms(obj["ts"], "ts")
    for field in SALE_OPTIONAL_TEXT:
        sale[field] = _optional_text(obj, field)
    return sale


def dead_letter(
    raw: bytes | str | Mapping, *, stage: str, reason: str, error: str, source: RawRecord | None = None
) -> dict:
    """A dead-letter record: the original bytes (base64), why, where, and when. Without a
    `source`, a record's `origin` ("topic:partition:offset") says where it was read."""
    where = (source.topic, source.partition, source.offset) if source else (None, None, None)
    if isinstance(raw, Mapping):
        raw = raw.to_dict() if isinstance(raw, Post) else dict(raw)
        if source is None and isinstance(raw.get("origin"), str):
            topic, _, rest = raw["origin"].rpartition(":")
            topic, _, partition = topic.rpartition(":")
            if topic and partition.isdigit() and rest.isdigit():
                where = (topic, int(partition), int(rest))
        raw = json.dumps(raw, ensure_ascii=False, sort_keys=True)
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    return {
        "raw_b64": base64.b64encode(raw).decode("ascii"),
        "reason": reason,
        "error": error,
        "stage": stage,
        "topic": where[0],
        "partition": where[1],
        "offset": where[2],
        "time": datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds"),
    }


def json_text(value: Any) -> str:
    """Any value as JSON text for a dead letter (repr when it is not even that)."""
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def iso_utc(epoch_ms: int) -> str:
    """Epoch milliseconds as RFC 3339 UTC text, the form every output record uses."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def is_alert(trend: dict) -> bool:
    """A Trend record that is an alert (the alerts topic carries only these)."""
    return trend.get("severity") == "alert"


def window_end_ms(trend: dict) -> int:
    """A Trend record's window end, epoch ms."""
    return parse_time_ms(trend["window_end"], "window_end")
