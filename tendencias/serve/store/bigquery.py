"""The production store: the same queries against BigQuery tables (the job's WriteToBigQuery
table for trends, a briefs table with `id, story, window_end, body JSON`)."""

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


class BigQueryStore:
    def __init__(self, trends_table: str, briefs_table: str, client=None):
        from google.cloud import bigquery

        self.tables = {
            "trends": f"`{trends_table.replace(':', '.')}`",
            "briefs": f"`{briefs_table.replace(':', '.')}`",
        }
        self._client = client or bigquery.Client()

    def prepare(self, query: Query) -> tuple[str, list]:
        """The SQL text and parameters sent: `@name` placeholders, typed parameters."""
        sql = bind(query.sql.format(**self.tables), "@")
        return sql, [_param(name, value) for name, value in sorted(query.params.items())]

    def run(self, query: Query) -> list[dict]:
        from google.cloud import bigquery

        sql, params = self.prepare(query)
        job = self._client.query(sql, job_config=bigquery.QueryJobConfig(query_parameters=params))
        return [{k: plain(v) for k, v in dict(row).items()} for row in job.result()]

    def close(self) -> None:
        self._client.close()
