"""The trends graph shared by `tendencias run` (Kafka) and `tendencias backfill` (files).

`build_trends_graph` takes raw records, whatever their source, and returns what the sinks
write. Sources and sinks are attached by the entry points, so the same stages run on
DirectRunner in tests, on Prism locally, and on Flink or Dataflow.

A restarted streaming job also passes its warm start (archived posts and sales, which join
at the trend stage and are not archived again) and the end of what an earlier run already
wrote: trend records of windows ending at or before it are not sent again (late revisions of
them are).
"""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam
from apache_beam import pvalue

from tendencias.pipelines.config import JobConfig, SinksConfig, sentiment_kwargs
from tendencias.records import is_alert, window_end_ms
from tendencias.transforms.archive import WriteArchive
from tendencias.transforms.features.apply import ApplyFeatures
from tendencias.transforms.features.topic_labels import LabelTopics
from tendencias.transforms.parse import ParsePosts, ParseSales
from tendencias.transforms.sentiment import EnrichSentiment
from tendencias.transforms.sinks import WriteTrendsToBigQuery
from tendencias.transforms.stories.assign import AssignClusters
from tendencias.transforms.stories.embed import EmbedPosts
from tendencias.transforms.text import CleanPosts
from tendencias.transforms.trends.score import ScoreTrends
from tendencias.transforms.warm_start import WarmStartOutputs


class GraphOutputs(NamedTuple):
    posts: pvalue.PCollection  # enriched posts (redacted text, features, sentiment)
    trends: pvalue.PCollection  # every Trend record
    alerts: pvalue.PCollection  # the Trend records that open an alert episode
    dead_letters: pvalue.PCollection  # failures of every stage, with the reason
    sales: pvalue.PCollection | None = None  # parsed sales, when there is a sales input


class SinkOutputs(NamedTuple):
    """What the optional sinks give back: dead letters, and PCollections downstream of their
    writes (their watermark says what is written), of posts and sales, and of trends."""

    record_dead_letters: list[pvalue.PCollection]
    trend_dead_letters: list[pvalue.PCollection]
    records_written: list[pvalue.PCollection]
    trends_written: list[pvalue.PCollection]

    @property
    def dead_letters(self) -> list[pvalue.PCollection]:
        return [*self.record_dead_letters, *self.trend_dead_letters]


def not_yet_written(emitted_through_ms: int):
    """A filter of trend records: False for the first record of a window an earlier run wrote."""

    def keep(trend: dict) -> bool:
        return trend.get("revision", 0) > 0 or window_end_ms(trend) > emitted_through_ms

    return keep


def build_trends_graph(
    raw_posts,
    raw_sales,
    config: JobConfig,
    warm_start: WarmStartOutputs | None = None,
    emitted_through_ms: int | None = None,
) -> GraphOutputs:
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
    counted_posts, counted_sales = posts, sales
    if warm_start is not None:
        counted_posts = [warm_start.posts, posts] | "WithWarmStartPosts" >> beam.Flatten()
        if sales is not None:
            counted_sales = [warm_start.sales, sales] | "WithWarmStartSales" >> beam.Flatten()
    scored = (counted_posts, counted_sales) | "ScoreTrends" >> ScoreTrends(config.scoring)
    trends = scored.trends
    if config.features.transform_dir:  # topic trends named after their topic
        labels = LabelTopics(config.features.transform_dir, config.features.refresh_seconds)
        trends = trends | "LabelTopics" >> labels
    if emitted_through_ms is not None:
        trends = trends | "NotWrittenBefore" >> beam.Filter(not_yet_written(emitted_through_ms))
    alerts = trends | "Alerts" >> beam.Filter(is_alert)
    dead_letters = dead | "CollectDeadLetters" >> beam.Flatten()
    return GraphOutputs(posts, trends, alerts, dead_letters, sales)


def write_optional_sinks(outputs: GraphOutputs, sinks: SinksConfig, ledger: str | None = None) -> SinkOutputs:
    """The BigQuery table and the archive when their flags are set. `ledger`: the archive
    acknowledges the posts and sales it has written to the Kafka readers' (kafka/durable.py)."""
    out = SinkOutputs([], [], [], [])
    if sinks.bigquery_table:
        bigquery = outputs.trends | "WriteTrendsToBigQuery" >> WriteTrendsToBigQuery(
            sinks.bigquery_table,
            write_method=sinks.bigquery_write_method,
            triggering_frequency_s=sinks.bigquery_triggering_frequency_s,
        )
        out.trend_dead_letters.append(bigquery.dead_letters)
    if sinks.archive_dir:
        kinds = [("Posts", outputs.posts, "posts"), ("Trends", outputs.trends, "trends")]
        if outputs.sales is not None:
            kinds.append(("Sales", outputs.sales, "sales"))
        for label, records, what in kinds:
            trends = what == "trends"
            archived = records | f"Archive{label}" >> WriteArchive(
                sinks.archive_dir,
                what,
                sinks.archive_format,
                sinks.archive_flush_s,
                ledger=None if trends else ledger,
            )
            (out.trend_dead_letters if trends else out.record_dead_letters).append(archived.dead_letters)
            (out.trends_written if trends else out.records_written).append(archived.files)
    return out
