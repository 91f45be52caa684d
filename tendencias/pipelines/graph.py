"""The trends graph shared by `tendencias run` (Kafka) and `tendencias backfill` (files).

`build_trends_graph` takes raw records, whatever their source, and returns what the sinks
write. Sources and sinks are attached by the entry points, so the same stages run on
DirectRunner in tests, on Prism locally, and on Flink or Dataflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.options.pipeline_options import PipelineOptions

from tendencias.durations import parse_duration
from tendencias.models.trends.config import TrendScoringConfig
from tendencias.pipelines.options import TrendJobOptions, UsageError, trend_scoring_config
from tendencias.transforms.features.apply import ApplyFeatures
from tendencias.transforms.parse import ParsePosts, ParseSales
from tendencias.transforms.sentiment import EnrichSentiment, resolve_backend
from tendencias.transforms.sinks import WriteJsonl, WriteTrendsToBigQuery
from tendencias.transforms.text import CleanPosts
from tendencias.transforms.trends.score import ScoreTrends


@dataclass
class GraphConfig:
    """What the stages need, as plain values (built from PipelineOptions by `graph_config`)."""

    scoring: TrendScoringConfig = field(default_factory=TrendScoringConfig)
    transform_dir: str | None = None
    features_refresh_seconds: float = 30.0
    features_batch_size: int = 256
    keep_handles: tuple[str, ...] = ()
    sentiment: dict = field(default_factory=dict)  # EnrichSentiment's keyword arguments


class GraphOutputs(NamedTuple):
    posts: pvalue.PCollection  # enriched posts (redacted text, features, sentiment)
    trends: pvalue.PCollection  # every Trend record
    alerts: pvalue.PCollection  # the Trend records that open an alert episode
    dead_letters: pvalue.PCollection  # failures of every stage, with the reason


def graph_config(options: PipelineOptions) -> GraphConfig:
    """GraphConfig from the command line; a bad value raises UsageError naming the flag."""
    job = options.view_as(TrendJobOptions)
    try:
        refresh = parse_duration(job.features_refresh)
    except ValueError as err:
        raise UsageError(f"--features_refresh: {err}") from None
    if job.features_batch_size < 1:
        raise UsageError("--features_batch_size must be at least 1")
    handles = tuple(h.strip() for h in job.keep_handles.split(",") if h.strip())
    threshold = job.sentiment_local_threshold
    try:
        backend = resolve_backend(job.sentiment_backend)  # "auto" decided once, before the job starts
    except ValueError as err:
        raise UsageError(f"--sentiment_backend: {err}") from None
    sentiment = dict(
        backend=backend,
        model=job.sentiment_model,
        base_url=job.sentiment_base_url or None,
        cache_url=job.sentiment_cache or None,
        local_model_path=job.sentiment_local_model or None,
        local_tier=job.sentiment_local_tier,
        local_confidence_threshold=None if threshold > 1 else threshold,
        failure_ratio_alert=job.sentiment_failure_alert,
        token_budget=job.sentiment_token_budget,
        max_posts_per_request=job.sentiment_max_posts_per_request,
        requests_per_minute=job.sentiment_rpm,
        tokens_per_minute=job.sentiment_tpm,
        max_concurrent=job.sentiment_max_concurrent,
        timeout_s=job.sentiment_timeout,
        max_attempts=job.sentiment_max_attempts,
        price_in_per_1k=job.sentiment_price_in_per_1k,
        price_out_per_1k=job.sentiment_price_out_per_1k,
        max_batch_duration_secs=job.sentiment_batch_seconds or None,
        keep_handles=handles,
    )
    try:
        EnrichSentiment(**sentiment)  # validates backend, key and limits before the job starts
    except ValueError as err:
        raise UsageError(f"sentiment: {err}") from None
    return GraphConfig(
        scoring=trend_scoring_config(options),
        transform_dir=job.transform_dir or None,
        features_refresh_seconds=refresh,
        features_batch_size=job.features_batch_size,
        keep_handles=handles,
        sentiment=sentiment,
    )


def build_trends_graph(raw_posts, raw_sales, config: GraphConfig) -> GraphOutputs:
    """Parse, clean and redact, features, sentiment, trend scoring; dead letters collected."""
    features = dict(
        transform_dir=config.transform_dir,
        refresh_seconds=config.features_refresh_seconds,
        batch_size=config.features_batch_size,
    )
    parsed = raw_posts | "ParsePosts" >> ParsePosts()
    cleaned = parsed.posts | "CleanPosts" >> CleanPosts(keep_handles=config.keep_handles)
    featured = cleaned.posts | "ApplyFeatures" >> ApplyFeatures(**features)
    enriched = featured.posts | "EnrichSentiment" >> EnrichSentiment(**config.sentiment)
    dead = [
        parsed[ParsePosts.DEAD_LETTER],
        cleaned[CleanPosts.DEAD_LETTER],
        featured[ApplyFeatures.DEAD_LETTER],
        enriched.dead_letter,
    ]
    sales = None
    if raw_sales is not None:
        parsed_sales = raw_sales | "ParseSales" >> ParseSales()
        featured_sales = parsed_sales.sales | "ApplySalesFeatures" >> ApplyFeatures(kind="sales", **features)
        sales = featured_sales.sales
        dead += [parsed_sales[ParseSales.DEAD_LETTER], featured_sales[ApplyFeatures.DEAD_LETTER]]
    scored = (enriched.posts, sales) | "ScoreTrends" >> ScoreTrends(config.scoring)
    dead_letters = dead | "CollectDeadLetters" >> beam.Flatten()
    return GraphOutputs(enriched.posts, scored.trends, scored.alerts, dead_letters)


def write_optional_sinks(outputs: GraphOutputs, options: PipelineOptions) -> list[pvalue.PCollection]:
    """The BigQuery table and the JSONL archive when their flags are set; returns their dead letters."""
    job = options.view_as(TrendJobOptions)
    dead = []
    if job.bigquery_table:
        try:
            every = int(parse_duration(job.bigquery_triggering_frequency))
        except ValueError as err:
            raise UsageError(f"--bigquery_triggering_frequency: {err}") from None
        written = outputs.trends | "WriteTrendsToBigQuery" >> WriteTrendsToBigQuery(
            job.bigquery_table, write_method=job.bigquery_write_method, triggering_frequency_s=every
        )
        dead.append(written.dead_letters)
    if job.archive_dir:
        dead.append(outputs.posts | "ArchivePosts" >> WriteJsonl(f"{job.archive_dir}/posts", "posts"))
        dead.append(outputs.trends | "ArchiveTrends" >> WriteJsonl(f"{job.archive_dir}/trends", "trends"))
    return dead
