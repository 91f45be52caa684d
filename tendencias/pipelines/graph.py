"""The trends graph shared by `tendencias run` (Kafka) and `tendencias backfill` (files).

`build_trends_graph` takes raw records, whatever their source, and returns what the sinks
write. Sources and sinks are attached by the entry points, so the same stages run on
DirectRunner in tests, on Prism locally, and on Flink or Dataflow.
"""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam
from apache_beam import pvalue

from tendencias.pipelines.config import JobConfig, SinksConfig, sentiment_kwargs
from tendencias.records import is_alert
from tendencias.transforms.features.apply import ApplyFeatures
from tendencias.transforms.features.topic_labels import LabelTopics
from tendencias.transforms.parse import ParsePosts, ParseSales
from tendencias.transforms.sentiment import EnrichSentiment
from tendencias.transforms.sinks import WriteJsonl, WriteTrendsToBigQuery
from tendencias.transforms.stories.assign import AssignClusters
from tendencias.transforms.stories.embed import EmbedPosts
from tendencias.transforms.text import CleanPosts
from tendencias.transforms.trends.score import ScoreTrends


class GraphOutputs(NamedTuple):
    posts: pvalue.PCollection  # enriched posts (redacted text, features, sentiment)
    trends: pvalue.PCollection  # every Trend record
    alerts: pvalue.PCollection  # the Trend records that open an alert episode
    dead_letters: pvalue.PCollection  # failures of every stage, with the reason


def build_trends_graph(raw_posts, raw_sales, config: JobConfig) -> GraphOutputs:
    """Parse, clean and redact, features, embeddings, sentiment, story clusters, trend scoring;
    dead letters collected."""
    features = dict(
        transform_dir=config.features.transform_dir,
        refresh_seconds=config.features.refresh_seconds,
        batch_size=config.features.batch_size,
    )
    parsed = raw_posts | "ParsePosts" >> ParsePosts()
    cleaned = parsed.posts | "CleanPosts" >> CleanPosts(keep_handles=config.cleaning.keep_handles)
    featured = cleaned.posts | "ApplyFeatures" >> ApplyFeatures(**features)
    posts = featured.posts
    if config.stories.on:  # one embedding per post, which the sentiment first pass reuses
        posts = posts | "EmbedPosts" >> EmbedPosts()
    enriched = posts | "EnrichSentiment" >> EnrichSentiment(**sentiment_kwargs(config))
    posts = enriched.posts
    if config.stories.on:
        posts = posts | "StoryClusters" >> AssignClusters(config.stories.params(config.scoring.trend_window))
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
    scored = (posts, sales) | "ScoreTrends" >> ScoreTrends(config.scoring)
    trends, alerts = scored.trends, scored.alerts
    if config.features.transform_dir:  # topic trends named after their topic
        labels = LabelTopics(config.features.transform_dir, config.features.refresh_seconds)
        trends = trends | "LabelTopics" >> labels
        alerts = trends | "Alerts" >> beam.Filter(is_alert)
    dead_letters = dead | "CollectDeadLetters" >> beam.Flatten()
    return GraphOutputs(posts, trends, alerts, dead_letters)


def write_optional_sinks(outputs: GraphOutputs, sinks: SinksConfig) -> list[pvalue.PCollection]:
    """The BigQuery table and the JSONL archive when their flags are set; returns their dead letters."""
    dead = []
    if sinks.bigquery_table:
        written = outputs.trends | "WriteTrendsToBigQuery" >> WriteTrendsToBigQuery(
            sinks.bigquery_table,
            write_method=sinks.bigquery_write_method,
            triggering_frequency_s=sinks.bigquery_triggering_frequency_s,
        )
        dead.append(written.dead_letters)
    if sinks.archive_dir:
        dead.append(outputs.posts | "ArchivePosts" >> WriteJsonl(f"{sinks.archive_dir}/posts", "posts"))
        dead.append(outputs.trends | "ArchiveTrends" >> WriteJsonl(f"{sinks.archive_dir}/trends", "trends"))
    return dead
