"""Trend records as BigQuery rows, and enriched posts as archive records (pure functions).

`TREND_BQ_SCHEMA` declares every Trend field (examples as a REPEATED RECORD); the table is
partitioned by day of `window_start` and clustered by kind and key, so "this week's alerts
about one brand" reads little. `validate_trend_row` checks a row against the schema before it
is sent, so a bad record becomes a dead letter with a reason instead of a failed insert.

`archive_post` keeps what later analysis needs from an enriched post and stays a valid Post
(`records.parse_post`): the archive stores the REDACTED text as `text` (the raw text never
leaves the process, not even to a local disk) and no `url` (a post's link names its author).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from tendencias.models.trends.keys import KINDS

_FIELDS: list[tuple[str, str, str]] = [  # name, type, mode
    ("kind", "STRING", "REQUIRED"),
    ("key", "STRING", "REQUIRED"),
    ("horizon", "STRING", "NULLABLE"),
    ("window_start", "TIMESTAMP", "REQUIRED"),
    ("window_end", "TIMESTAMP", "REQUIRED"),
    ("revision", "INTEGER", "NULLABLE"),
    ("count", "INTEGER", "REQUIRED"),
    ("posts", "INTEGER", "NULLABLE"),
    ("authors", "INTEGER", "NULLABLE"),
    ("baseline", "FLOAT", "REQUIRED"),
    ("score", "FLOAT", "REQUIRED"),
    ("lift", "FLOAT", "NULLABLE"),
    ("growth", "FLOAT", "NULLABLE"),
    ("sentiment", "FLOAT", "NULLABLE"),
    ("sentiment_delta", "FLOAT", "NULLABLE"),
    ("severity", "STRING", "REQUIRED"),
    ("status", "STRING", "NULLABLE"),
    ("episode", "STRING", "NULLABLE"),
    ("sales_lift", "FLOAT", "NULLABLE"),
    ("sales_lag_days", "INTEGER", "NULLABLE"),
    ("segment", "STRING", "NULLABLE"),
    ("explanation", "STRING", "NULLABLE"),
    ("features_version", "STRING", "NULLABLE"),
    ("model_version", "STRING", "NULLABLE"),
    ("related_to", "STRING", "NULLABLE"),
    ("stage", "STRING", "NULLABLE"),
    ("story", "STRING", "NULLABLE"),
    ("title", "STRING", "NULLABLE"),
]
_EXAMPLE_FIELDS = [("id", "STRING", "REQUIRED"), ("text", "STRING", "NULLABLE")]
_BREAKDOWN_FIELDS = [
    ("by", "STRING", "REQUIRED"),
    ("value", "STRING", "REQUIRED"),
    ("posts", "INTEGER", "NULLABLE"),
]
_STORY_KEY_FIELDS = [
    ("kind", "STRING", "REQUIRED"),
    ("key", "STRING", "REQUIRED"),
    ("count", "INTEGER", "NULLABLE"),
]

TREND_BQ_SCHEMA: dict = {
    "fields": [{"name": n, "type": t, "mode": m} for n, t, m in _FIELDS]
    + [{"name": "related", "type": "STRING", "mode": "REPEATED"}]
    + [
        {
            "name": "examples",
            "type": "RECORD",
            "mode": "REPEATED",
            "fields": [{"name": n, "type": t, "mode": m} for n, t, m in _EXAMPLE_FIELDS],
        },
        {
            "name": "breakdown",
            "type": "RECORD",
            "mode": "REPEATED",
            "fields": [{"name": n, "type": t, "mode": m} for n, t, m in _BREAKDOWN_FIELDS],
        },
        {
            "name": "story_keys",
            "type": "RECORD",
            "mode": "REPEATED",
            "fields": [{"name": n, "type": t, "mode": m} for n, t, m in _STORY_KEY_FIELDS],
        },
    ]
}
TREND_BQ_PARTITIONING = {
    "timePartitioning": {"type": "DAY", "field": "window_start"},
    "clustering": {"fields": ["kind", "key"]},
}
SEVERITIES = ("info", "watch", "alert")
MAX_STRING = 10_000


def trend_to_bq_row(trend: dict) -> dict:
    """The BigQuery row of a Trend: schema fields only, examples as records."""
    row = {name: trend.get(name) for name, _, _ in _FIELDS}
    row["examples"] = [{"id": str(e.get("id")), "text": e.get("text")} for e in trend.get("examples") or ()]
    row["related"] = [str(k) for k in trend.get("related") or ()]
    row["breakdown"] = [
        {"by": by, "value": value, "posts": posts}
        for by, counts in (trend.get("breakdown") or {}).items()
        for value, posts in counts.items()
    ]
    row["story_keys"] = [
        {"kind": k.get("kind"), "key": k.get("key"), "count": k.get("count")}
        for k in trend.get("story_keys") or ()
    ]
    return row


def _type_problem(name: str, kind: str, value: Any) -> str | None:
    if kind == "STRING":
        if not isinstance(value, str):
            return f"{name} must be text, got {type(value).__name__}"
        if len(value) > MAX_STRING:
            return f"{name} is {len(value)} characters, over {MAX_STRING}"
    elif kind == "INTEGER":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{name} must be an integer, got {value!r}"
    elif kind == "FLOAT":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"{name} must be a finite number, got {value!r}"
    elif kind == "TIMESTAMP":
        try:
            datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return f"{name} must be an RFC 3339 time, got {str(value)[:40]!r}"
    return None


def validate_trend_row(row: dict) -> list[str]:
    """What is wrong with `row` for TREND_BQ_SCHEMA (empty: it would be accepted)."""
    problems = []
    for name, kind, mode in _FIELDS:
        value = row.get(name)
        if value is None:
            if mode == "REQUIRED":
                problems.append(f"{name} is required")
            continue
        problem = _type_problem(name, kind, value)
        if problem:
            problems.append(problem)
    if row.get("kind") is not None and row["kind"] not in KINDS:
        problems.append(f"kind must be one of {', '.join(KINDS)}, got {row['kind']!r}")
    if row.get("severity") is not None and row["severity"] not in SEVERITIES:
        problems.append(f"severity must be info, watch or alert, got {row['severity']!r}")
    for repeated, subfields in (
        ("examples", _EXAMPLE_FIELDS),
        ("breakdown", _BREAKDOWN_FIELDS),
        ("story_keys", _STORY_KEY_FIELDS),
    ):
        for i, item in enumerate(row.get(repeated) or ()):
            for name, kind, mode in subfields:
                value = item.get(name)
                if value is None and mode == "REQUIRED":
                    problems.append(f"{repeated}[{i}].{name} is required")
                elif value is not None and (problem := _type_problem(f"{repeated}[{i}].{name}", kind, value)):
                    problems.append(problem)
    return problems


ARCHIVED_POST_FIELDS = (
    "source",
    "lang",
    "author",
    "brand",
    "product",
    "category",
    "region",
    "rating",
    "tokens",
    "hashtags",
    "features",
    "features_version",
    "sentiment",
    "origin",  # where it was read (topic:partition:offset), see archive/records.py
)


def archive_post(post: dict) -> dict:
    """An enriched post as archived: a valid Post whose `text` is the redacted text."""
    if not post.get("id") or not isinstance(post.get("event_time_ms"), (int, float)):
        raise ValueError("an archived post needs its id and event_time_ms")
    text = post.get("text_clean")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("an archived post needs its redacted text (text_clean); raw text is never archived")
    created = datetime.fromtimestamp(int(post["event_time_ms"]) / 1000, UTC)
    out = {"id": str(post["id"]), "text": text, "created_at": created.isoformat(timespec="milliseconds")}
    out.update({name: post[name] for name in ARCHIVED_POST_FIELDS if post.get(name) is not None})
    return out
