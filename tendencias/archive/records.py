"""Records as the archive keeps them, and back: sales, the origin of a record, and archived
posts restored into the shape the trend stage counts (for the warm start).

Archived posts are made by `models/trends/rows.archive_post` (a valid Post whose `text` is the
redacted text). Every archived post and sale also names where it was read (`origin`:
"topic:partition:offset" for Kafka, "path:0:line" for a file), so a restarted job can tell the
archived records it will read again from Kafka from those it will not.
"""

from __future__ import annotations

from typing import NamedTuple

from tendencias.records import Post, iso_utc, parse_time_ms

ARCHIVED_SALE_FIELDS = (
    "sku",
    "product",
    "category",
    "region",
    "units",
    "revenue",
    "currency",
    "brand",
    "channel",
)


class Origin(NamedTuple):
    topic: str
    partition: int
    offset: int


def origin_text(topic: str, partition: int, offset: int) -> str:
    return f"{topic}:{partition}:{offset}"


def parse_origin(text: object) -> Origin | None:
    """The Origin in an archived record's `origin`, or None if it has none (older archives)."""
    if not isinstance(text, str):
        return None
    topic, _, rest = text.rpartition(":")
    topic, _, partition = topic.rpartition(":")
    try:
        return Origin(topic, int(partition), int(rest)) if topic else None
    except ValueError:
        return None


def copy_key(what: str, record: dict) -> str | None:
    """What two copies of one archived post or sale share (an at-least-once archive may hold
    a record twice: read again after a restart); None for other records."""
    if what == "posts":
        return f"post:{record.get('id')}"
    if what == "sales":
        origin = record.get("origin")
        return f"sale:{origin}" if origin else f"sale:{sorted(record.items())}"
    return None


def archive_sale(sale: dict) -> dict:
    """A parsed Sale as archived: a valid Sale (`ts` as RFC 3339) with its origin."""
    if not isinstance(sale.get("event_time_ms"), (int, float)):
        raise ValueError("an archived sale needs its event_time_ms")
    out = {name: sale[name] for name in ARCHIVED_SALE_FIELDS if sale.get(name) is not None}
    out["ts"] = iso_utc(int(sale["event_time_ms"]))
    if sale.get("origin"):
        out["origin"] = sale["origin"]
    return out


def restore_post(archived: dict) -> Post:
    """An archived post as the trend stage counts it: `text_clean` is the archived (redacted)
    text, `event_time_ms` its `created_at`; tokens, sentiment and the rest as they were."""
    fields = dict(archived, text_clean=archived.get("text"))
    fields["event_time_ms"] = parse_time_ms(archived["created_at"], "created_at")
    return Post.of(fields)


def restore_sale(archived: dict) -> dict:
    sale = dict(archived)
    sale["event_time_ms"] = parse_time_ms(sale["ts"], "ts")
    return sale
