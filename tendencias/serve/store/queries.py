"""The one query layer: every question the app asks, as SQL with named parameters.

Queries are written once with `:name` placeholders and `{trends}`, `{briefs}`, `{sales}` and
`{post_hours}` (posts counted per hour, brand, product, category, region, segment: `posts`,
`sentiment_sum`, `scored`, `positive`, `negative`) tables; a store (DuckDB over the archive locally, BigQuery in production) turns them
into its dialect and runs them. Values always travel as parameters, never inside the SQL text.
Three helpers each store defines: `trunc_day(t)`, `trunc_hour(t)` (a timestamp's day or hour,
UTC) and `fold(s)` (lower case without accents: "Clásica" and "clasica" meet).
"""

from __future__ import annotations

from dataclasses import dataclass, field

BUCKETS = {"day": "trunc_day", "hour": "trunc_hour"}


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
    stage: str | None = None
    overall: bool = False  # only the records over all segments (segment IS NULL)
    order: str = "recent"  # "recent": newest window first; "score": strongest first


TREND_COLUMNS = (
    "kind, key, horizon, window_start, window_end, count, posts, authors, baseline, score, lift, growth, "
    "sentiment, sentiment_delta, severity, status, episode, related_to, segment, explanation, "
    "sales_lift, sales_lag_days, examples, stage, story, label, words, title, story_keys, revision"
)


def _time_range(column: str, since: str | None, until: str | None, clauses: list, params: dict) -> None:
    if since:
        clauses.append(f"{column} >= :since")
        params["since"] = since
    if until:
        clauses.append(f"{column} < :until")
        params["until"] = until


def _where(f: TrendFilter) -> tuple[str, dict]:
    clauses, params = [], {}
    for name in ("kind", "key", "horizon", "segment", "severity", "stage"):
        value = getattr(f, name)
        if value is not None:
            clauses.append(f"{name} = :{name}")
            params[name] = value
    if f.overall and f.segment is None:
        clauses.append("segment IS NULL")
    _time_range("window_end", f.since, f.until, clauses, params)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def trends(f: TrendFilter) -> Query:
    where, params = _where(f)
    order = "score DESC, window_end DESC" if f.order == "score" else "window_end DESC, score DESC"
    sql = f"SELECT {TREND_COLUMNS} FROM {{trends}}{where} ORDER BY {order}, kind, key LIMIT :limit OFFSET :offset"
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
    """Volume against baseline and sentiment over time for one key: over all segments unless
    `segment` names one (a segment's breakdown records would otherwise mix into the mean)."""
    f = TrendFilter(kind=kind, key=key, horizon=horizon, segment=segment, overall=True)
    where, params = _where(f)
    return Query(
        "SELECT window_end, MAX(count) AS count, MAX(baseline) AS baseline, ROUND(AVG(sentiment), 3) AS sentiment, "
        f"MAX(score) AS score FROM {{trends}}{where} GROUP BY window_end ORDER BY window_end",
        params,
    )


def key_segments(kind: str, key: str, horizon: str | None) -> Query:
    """The segments one key has records in, the busiest first (NULL: over all segments)."""
    f = TrendFilter(kind=kind, key=key, horizon=horizon)
    where, params = _where(f)
    return Query(
        f"SELECT segment, COUNT(*) AS n FROM {{trends}}{where} GROUP BY segment ORDER BY (segment IS NULL) DESC, n DESC, segment",
        params,
    )


def facets() -> Query:
    """The values the filters offer: what the archive holds."""
    return Query(
        "SELECT 'kind' AS facet, kind AS value, COUNT(*) AS n FROM {trends} GROUP BY kind "
        "UNION ALL SELECT 'horizon', horizon, COUNT(*) FROM {trends} GROUP BY horizon "
        "UNION ALL SELECT 'segment', segment, COUNT(*) FROM {trends} WHERE segment IS NOT NULL GROUP BY segment "
        "UNION ALL SELECT 'stage', stage, COUNT(*) FROM {trends} WHERE stage IS NOT NULL GROUP BY stage "
        "ORDER BY facet, value"
    )


def _latest_topics(segment: str | None, stage: str | None, horizon: str | None) -> tuple[str, dict]:
    """Each topic's latest record (over all segments unless `segment`), with its peak score and
    whether it ever alerted; `stage` keeps those whose latest record is at that stage."""
    clauses, params = ["kind = 'topic'"], {}
    if segment is None:
        clauses.append("segment IS NULL")
    else:
        clauses.append("segment = :segment")
        params["segment"] = segment
    if horizon:
        clauses.append("horizon = :horizon")
        params["horizon"] = horizon
    outer = ""
    if stage:
        outer = " AND stage = :stage"
        params["stage"] = stage
    sql = (
        f"SELECT * FROM (SELECT {TREND_COLUMNS}, "
        "ROW_NUMBER() OVER (PARTITION BY key ORDER BY window_end DESC, horizon) AS latest, "
        "MAX(score) OVER (PARTITION BY key) AS peak_score, "
        "MAX(CASE WHEN severity = 'alert' THEN 1 ELSE 0 END) OVER (PARTITION BY key) AS alerted "
        f"FROM {{trends}} WHERE {' AND '.join(clauses)}) AS t WHERE latest = 1{outer}"
    )
    return sql, params


def topics(segment: str | None, stage: str | None, horizon: str | None, limit: int, offset: int) -> Query:
    """The topics, the strongest now first."""
    sql, params = _latest_topics(segment, stage, horizon)
    return Query(
        f"{sql} ORDER BY score DESC, key LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )


def count_topics(segment: str | None, stage: str | None, horizon: str | None) -> Query:
    sql, params = _latest_topics(segment, stage, horizon)
    return Query(f"SELECT COUNT(*) AS n FROM ({sql}) AS topics", params)


def topic_series(keys: list[str], horizon: str, segment: str | None) -> Query:
    clauses = ["kind = 'topic'", "key IN UNNEST(:keys)", "horizon = :horizon"]
    params: dict = {"keys": keys, "horizon": horizon}
    if segment is None:
        clauses.append("segment IS NULL")
    else:
        clauses.append("segment = :segment")
        params["segment"] = segment
    return Query(
        f"SELECT key, window_end, count, baseline, sentiment FROM {{trends}} WHERE {' AND '.join(clauses)} "
        "ORDER BY key, window_end",
        params,
    )


@dataclass
class PostFilter:
    kind: str = "brand"  # brand or product: the post field the series is per
    keys: list[str] | None = None
    region: str | None = None
    since: str | None = None
    until: str | None = None
    bucket: str = "day"


def _post_where(f: PostFilter, time_column: str, key_column: str) -> tuple[list[str], dict]:
    clauses, params = [f"{key_column} IS NOT NULL", f"{time_column} IS NOT NULL"], {}
    if f.keys:
        clauses.append(f"fold({key_column}) IN UNNEST(:keys)")
        params["keys"] = [fold(k) for k in f.keys]
    if f.region:
        clauses.append("fold(region) = :region")
        params["region"] = fold(f.region)
    _time_range(time_column, f.since, f.until, clauses, params)
    return clauses, params


_MEAN = "ROUND(SUM(sentiment_sum) / NULLIF(SUM(scored), 0), 3)"


def sentiment_over_time(f: PostFilter, limit: int, offset: int) -> Query:
    """Per brand (or product) and day (or hour): posts, mean sentiment, positive and negative
    shares, from the archived posts (every post, not only the windows that became trends)."""
    column = "brand" if f.kind == "brand" else "product"
    clauses, params = _post_where(f, "hour", column)
    trunc = BUCKETS[f.bucket]
    return Query(
        f"SELECT {trunc}(hour) AS bucket, {column} AS key, SUM(posts) AS posts, {_MEAN} AS sentiment, "
        "ROUND(SUM(positive) / NULLIF(SUM(scored), 0), 3) AS positive, "
        "ROUND(SUM(negative) / NULLIF(SUM(scored), 0), 3) AS negative "
        f"FROM {{post_hours}} WHERE {' AND '.join(clauses)} GROUP BY 1, 2 ORDER BY 1, 2 "
        "LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )


def count_sentiment_over_time(f: PostFilter) -> Query:
    column = "brand" if f.kind == "brand" else "product"
    clauses, params = _post_where(f, "hour", column)
    trunc = BUCKETS[f.bucket]
    return Query(
        f"SELECT COUNT(*) AS n FROM (SELECT {trunc}(hour), {column} FROM {{post_hours}} "
        f"WHERE {' AND '.join(clauses)} GROUP BY 1, 2) AS g",
        params,
    )


def regions(of: str) -> Query:
    """The regions posts ("posts") or sales ("sales") name, as written."""
    table = "{post_hours}" if of == "posts" else "{sales}"
    return Query(f"SELECT DISTINCT region FROM {table} WHERE region IS NOT NULL ORDER BY region")


def chatter_and_sales(product: str, region: str | None, since: str | None, until: str | None) -> Query:
    """Per day: posts about `product` and units of it sold (and revenue), side by side."""
    f = PostFilter(kind="product", keys=[product], region=region, since=since, until=until)
    post_clauses, params = _post_where(f, "hour", "product")
    sale_clauses, _ = _post_where(f, "ts", "product")
    return Query(
        "SELECT COALESCE(c.day, s.day) AS day, COALESCE(c.posts, 0) AS posts, c.sentiment, "
        "COALESCE(s.units, 0) AS units, COALESCE(s.revenue, 0) AS revenue FROM "
        f"(SELECT trunc_day(hour) AS day, SUM(posts) AS posts, {_MEAN} AS sentiment "
        f"FROM {{post_hours}} WHERE {' AND '.join(post_clauses)} GROUP BY 1) AS c "
        "FULL OUTER JOIN "
        "(SELECT trunc_day(ts) AS day, SUM(units) AS units, SUM(revenue) AS revenue "
        f"FROM {{sales}} WHERE {' AND '.join(sale_clauses)} GROUP BY 1) AS s ON c.day = s.day "
        "ORDER BY 1",
        params,
    )


def sold_products() -> Query:
    """Products with sales, and what they sold and how much was said about them."""
    return Query(
        "SELECT s.product, s.units, s.revenue, COALESCE(c.posts, 0) AS posts FROM "
        "(SELECT product, SUM(units) AS units, SUM(revenue) AS revenue FROM {sales} "
        "WHERE product IS NOT NULL GROUP BY 1) AS s LEFT JOIN "
        "(SELECT fold(product) AS folded, SUM(posts) AS posts FROM {post_hours} WHERE product IS NOT NULL "
        "GROUP BY 1) AS c "
        "ON fold(s.product) = c.folded ORDER BY s.units DESC, s.product"
    )


def sales_links(product: str | None, limit: int, offset: int) -> Query:
    """Product trends the job linked to sales (`sales_lift`, `sales_lag_days`), newest first."""
    clauses, params = ["kind = 'product'", "sales_lift IS NOT NULL"], {}
    if product:
        clauses.append("fold(key) = :product")
        params["product"] = fold(product)
    return Query(
        f"SELECT {TREND_COLUMNS} FROM {{trends}} WHERE {' AND '.join(clauses)} "
        "ORDER BY window_end DESC, score DESC LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )


def briefs(story: str | None, limit: int, offset: int) -> Query:
    where = " WHERE story = :story" if story else ""
    params = {"story": story} if story else {}
    return Query(
        f"SELECT id, body FROM {{briefs}}{where} ORDER BY window_end DESC, id LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )


def count_briefs(story: str | None) -> Query:
    where = " WHERE story = :story" if story else ""
    return Query(f"SELECT COUNT(*) AS n FROM {{briefs}}{where}", {"story": story} if story else {})


def brief(brief_id: str) -> Query:
    return Query("SELECT id, body FROM {briefs} WHERE id = :id", {"id": brief_id})


def fold(text: str) -> str:
    """What the stores' fold(s) does, for parameters: lower case without accents."""
    import unicodedata

    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
