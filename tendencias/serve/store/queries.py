"""The one query layer: every question the app asks, as SQL with named parameters.

Queries are written once with `:name` placeholders and `{trends}`/`{briefs}` tables; a store
(DuckDB over the archive locally, BigQuery in production) turns them into its dialect and runs
them. Values always travel as parameters, never inside the SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Query:
    sql: str
    params: dict = field(default_factory=dict)


@dataclass
class TrendFilter:
    kind: str | None = None
    key: str | None = None
    horizon: str | None = None
    segment: str | None = None
    severity: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int = 50
    offset: int = 0


TREND_COLUMNS = (
    "kind, key, horizon, window_start, window_end, count, posts, authors, baseline, score, lift, growth, "
    "sentiment, sentiment_delta, severity, status, episode, related_to, segment, explanation, "
    "sales_lift, sales_lag_days, examples"
)


def _where(f: TrendFilter) -> tuple[str, dict]:
    clauses, params = [], {}
    for name in ("kind", "key", "horizon", "segment", "severity"):
        value = getattr(f, name)
        if value is not None:
            clauses.append(f"{name} = :{name}")
            params[name] = value
    if f.since:
        clauses.append("window_end >= :since")
        params["since"] = f.since
    if f.until:
        clauses.append("window_end < :until")
        params["until"] = f.until
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def trends(f: TrendFilter) -> Query:
    where, params = _where(f)
    sql = (
        f"SELECT {TREND_COLUMNS} FROM {{trends}}{where} "
        "ORDER BY window_end DESC, score DESC, kind, key LIMIT :limit OFFSET :offset"
    )
    return Query(sql, {**params, "limit": f.limit, "offset": f.offset})


def count_trends(f: TrendFilter) -> Query:
    where, params = _where(f)
    return Query(f"SELECT COUNT(*) AS n FROM {{trends}}{where}", params)


def story_members(episodes: list[str]) -> Query:
    return Query(
        f"SELECT {TREND_COLUMNS} FROM {{trends}} WHERE related_to IN UNNEST(:episodes) ORDER BY score DESC",
        {"episodes": episodes},
    )


def series(kind: str, key: str, horizon: str | None, segment: str | None) -> Query:
    """Volume against baseline and sentiment over time for one key."""
    f = TrendFilter(kind=kind, key=key, horizon=horizon, segment=segment)
    where, params = _where(f)
    return Query(
        "SELECT window_end, MAX(count) AS count, MAX(baseline) AS baseline, AVG(sentiment) AS sentiment, "
        f"MAX(score) AS score FROM {{trends}}{where} GROUP BY window_end ORDER BY window_end",
        params,
    )


def briefs(story: str | None, limit: int, offset: int) -> Query:
    where = " WHERE story = :story" if story else ""
    params = {"story": story} if story else {}
    return Query(
        f"SELECT id, body FROM {{briefs}}{where} ORDER BY window_end DESC, id LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )


def brief(brief_id: str) -> Query:
    return Query("SELECT id, body FROM {briefs} WHERE id = :id", {"id": brief_id})
