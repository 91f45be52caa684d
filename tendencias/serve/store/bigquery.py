"""The production store: the same queries against BigQuery tables (the job's WriteToBigQuery
table for trends, a briefs table with `id, story, period, window_end, body JSON`, sales as
their contract, and for the sentiment and sales pages a `post_hours` view over the posts:

    CREATE VIEW post_hours AS SELECT TIMESTAMP_TRUNC(created_at, HOUR) AS hour, brand, product,
      category, region, segment, COUNT(*) AS posts, SUM(sentiment.score) AS sentiment_sum,
      COUNT(sentiment.score) AS scored, COUNTIF(sentiment.score > 0.2) AS positive,
      COUNTIF(sentiment.score < -0.2) AS negative FROM posts GROUP BY 1, 2, 3, 4, 5, 6

The query layer's helpers become temporary functions of the query."""

from __future__ import annotations

from typing import Any

from tendencias.serve.store.base import bind, plain
from tendencias.serve.store.queries import Query


def _param(name: str, value: Any):
    from google.cloud import bigquery

    if isinstance(value, list):
        return bigquery.ArrayQueryParameter(name, "STRING", value)
    kind = "INT64" if isinstance(value, int) and not isinstance(value, bool) else "STRING"
    if name in ("since", "until"):
        kind = "TIMESTAMP"
    return bigquery.ScalarQueryParameter(name, kind, value)


HELPERS = {
    "trunc_day": "CREATE TEMP FUNCTION trunc_day(t TIMESTAMP) AS (TIMESTAMP_TRUNC(t, DAY));",
    "trunc_hour": "CREATE TEMP FUNCTION trunc_hour(t TIMESTAMP) AS (TIMESTAMP_TRUNC(t, HOUR));",
    "fold": r"CREATE TEMP FUNCTION fold(s STRING) AS (REGEXP_REPLACE(NORMALIZE(LOWER(s), NFD), r'\pM', ''));",
}


def _table(name: str) -> str:
    return f"`{name.replace(':', '.')}`" if name else "`unconfigured`"


class BigQueryStore:
    def __init__(
        self,
        trends_table: str,
        briefs_table: str,
        client=None,
        post_hours_table: str = "",
        sales_table: str = "",
    ):
        from google.cloud import bigquery

        self.tables = {
            "trends": _table(trends_table),
            "briefs": _table(briefs_table),
            "post_hours": _table(post_hours_table),
            "sales": _table(sales_table),
        }
        self._client = client or bigquery.Client()

    def prepare(self, query: Query) -> tuple[str, list]:
        """The SQL text and parameters sent: `@name` placeholders, typed parameters, and the
        helper functions the query calls defined before it."""
        sql = bind(query.sql.format(**self.tables), "@")
        used = [definition for name, definition in HELPERS.items() if f"{name}(" in sql]
        sql = "\n".join([*used, sql])
        return sql, [_param(name, value) for name, value in sorted(query.params.items())]

    def run(self, query: Query) -> list[dict]:
        from google.cloud import bigquery

        sql, params = self.prepare(query)
        job = self._client.query(sql, job_config=bigquery.QueryJobConfig(query_parameters=params))
        return [{k: plain(v) for k, v in dict(row).items()} for row in job.result()]

    def close(self) -> None:
        self._client.close()
