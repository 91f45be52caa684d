"""What a store is: something that runs the query layer's SQL (see queries.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Protocol

from tendencias.serve.store.queries import Query

_PARAM = re.compile(r":([a-z_]+)\b")


class Store(Protocol):
    def run(self, query: Query) -> list[dict]: ...
    def close(self) -> None: ...


def plain(value):
    """A database value as JSON-ready Python: times as RFC 3339 UTC text."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def bind(sql: str, mark: str) -> str:
    """`:name` placeholders in the dialect's form (`$name` for DuckDB, `@name` for BigQuery)."""
    return _PARAM.sub(lambda m: mark + m.group(1), sql)
