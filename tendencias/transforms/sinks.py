"""Where trends go: Kafka (trends.scores, trends.alerts) and BigQuery (the archive: archive.py).

- `WriteTrendsToKafka`: every Trend to the scores topic, alerts also to the alerts topic, as
  JSON keyed by "kind:key" (one trend's updates stay in one partition, in order).
- `WriteTrendsToBigQuery`: Beam's WriteToBigQuery with the declared schema, partitioned by day
  of window_start; rows that break the schema, and rows BigQuery rejects (streaming inserts,
  Storage Write API), come out as dead letters instead of failing the job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.io.gcp.bigquery_tools import RetryStrategy
from apache_beam.metrics import Metrics

from tendencias.models.trends.rows import (
    TREND_BQ_PARTITIONING,
    TREND_BQ_SCHEMA,
    trend_to_bq_row,
    validate_trend_row,
)
from tendencias.records import dead_letter, is_alert, json_text
from tendencias.transforms.kafka.read import WriteToKafka

BQ_METHODS = ("STREAMING_INSERTS", "FILE_LOADS", "STORAGE_WRITE_API")


def trend_id(trend: dict) -> str:
    """Kafka key of a Trend: its kind and key."""
    return f"{trend['kind']}:{trend['key']}"


class WriteTrendsToKafka(beam.PTransform):
    """Trends -> `scores_topic` (all) and `alerts_topic` (severity alert)."""

    def __init__(
        self,
        bootstrap_servers: str,
        scores_topic: str = "trends.scores",
        alerts_topic: str = "trends.alerts",
        producer_config: dict | None = None,
    ):
        super().__init__()
        self._scores = WriteToKafka(
            bootstrap_servers, scores_topic, key_fn=trend_id, producer_config=producer_config
        )
        self._alerts = WriteToKafka(
            bootstrap_servers, alerts_topic, key_fn=trend_id, producer_config=producer_config
        )

    def expand(self, trends):
        """Returns what comes out of both writes (nothing; its watermark follows them)."""
        scores = trends | "Scores" >> self._scores
        alerts = trends | "OnlyAlerts" >> beam.Filter(is_alert) | "Alerts" >> self._alerts
        return [scores, alerts] | "Written" >> beam.Flatten()


class ToBigQueryRowFn(beam.DoFn):
    """Trend -> BigQuery row, or a dead letter saying which fields break the schema."""

    DEAD_LETTER = "dead_letter"

    def __init__(self):
        self._bad = Metrics.counter("sinks", "bigquery_rows_invalid")

    def process(self, trend):
        try:
            row = trend_to_bq_row(trend)
            problems = validate_trend_row(row)
        except Exception as err:  # not even a dict: still a dead letter, never a crash
            row, problems = None, [f"{type(err).__name__}: {err}"]
        if problems:
            self._bad.inc()
            yield pvalue.TaggedOutput(
                self.DEAD_LETTER,
                dead_letter(json_text(trend), stage="bigquery", reason="schema", error="; ".join(problems)),
            )
            return
        yield row


def rejected_row_to_dead_letter(failed) -> dict:
    """A row BigQuery refused: (table, row, errors) from streaming inserts, or
    {"failed_row", "error_message"} from the Storage Write API."""
    if isinstance(failed, dict) and "failed_row" in failed:
        row, error = failed["failed_row"], str(failed.get("error_message"))
    else:
        _, row, errors = failed
        error = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors or ())
    return dead_letter(
        json_text(row), stage="bigquery", reason="rejected", error=error or "rejected by BigQuery"
    )


class BigQueryOutputs(NamedTuple):
    dead_letters: pvalue.PCollection


class WriteTrendsToBigQuery(beam.PTransform):
    """Trends -> `table` ("PROJECT:DATASET.TABLE"); returns BigQueryOutputs(dead_letters)."""

    def __init__(
        self,
        table: str,
        write_method: str = "STREAMING_INSERTS",
        triggering_frequency_s: int = 60,
        create_if_needed: bool = True,
        write_fn: Callable[..., beam.PTransform] | None = None,
    ):
        super().__init__()
        if not table or ":" not in table and table.count(".") != 2:
            raise ValueError(f"BigQuery table must look like PROJECT:DATASET.TABLE, got {table!r}")
        if write_method not in BQ_METHODS:
            raise ValueError(
                f"BigQuery write method must be one of {', '.join(BQ_METHODS)}, got {write_method!r}"
            )
        self._table, self._method, self._frequency = table, write_method, triggering_frequency_s
        self._create = create_if_needed
        self._write_fn = write_fn or beam.io.WriteToBigQuery  # tests pass a stand-in: no BigQuery here

    def write_transform(self, streaming: bool) -> beam.PTransform:
        bq = beam.io.BigQueryDisposition
        return self._write_fn(
            table=self._table,
            schema=TREND_BQ_SCHEMA,
            method=self._method,
            additional_bq_parameters=TREND_BQ_PARTITIONING,
            create_disposition=bq.CREATE_IF_NEEDED if self._create else bq.CREATE_NEVER,
            write_disposition=bq.WRITE_APPEND,
            triggering_frequency=self._frequency
            if streaming and self._method != "STREAMING_INSERTS"
            else None,
            # Without this, streaming inserts retry a bad row for ever instead of reporting it.
            insert_retry_strategy=RetryStrategy.RETRY_ON_TRANSIENT_ERROR,
        )

    def expand(self, trends):
        rows = trends | "ToRows" >> beam.ParDo(ToBigQueryRowFn()).with_outputs(
            ToBigQueryRowFn.DEAD_LETTER, main="rows"
        )
        result = rows.rows | "WriteToBigQuery" >> self.write_transform(streaming=not trends.is_bounded)
        dead = [rows[ToBigQueryRowFn.DEAD_LETTER]]
        if self._method != "FILE_LOADS":  # failed load jobs fail the pipeline; inserts report rows
            failed = result.failed_rows_with_errors if hasattr(result, "failed_rows_with_errors") else result
            dead.append(failed | "RejectedRows" >> beam.Map(rejected_row_to_dead_letter))
        return BigQueryOutputs(dead | "BigQueryDeadLetters" >> beam.Flatten())
