"""`tendencias run`: the streaming trends job, Kafka in and Kafka out.

By default it runs on Beam's Prism runner (true streaming: windows fire while the job runs);
any Beam runner can be chosen with --runner (DirectRunner with --bounded for tests, FlinkRunner
or DataflowRunner in production). SIGTERM, Ctrl-C or the end of --duration drain it: the
readers stop, every open window fires, the sinks flush, the offsets are committed, then it
exits (a second signal, or --drain_timeout, cancels it).
"""

from __future__ import annotations

import logging
import sys
import uuid

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from tendencias.pipelines.config import (
    KafkaOptions,
    TrendJobOptions,
    TrendScoringOptions,
    UsageError,
    job_config,
    parse_pipeline_options,
)
from tendencias.pipelines.graph import GraphOutputs, build_trends_graph, write_optional_sinks
from tendencias.pipelines.resume import plan_resume
from tendencias.pipelines.runner import run_pipeline
from tendencias.transforms.briefs import BriefAlerts
from tendencias.transforms.kafka.config import kafka_security_config_from_env
from tendencias.transforms.kafka.durable import AcknowledgeDeadLetters, CommitWhenDurable
from tendencias.transforms.kafka.read import ReadFromKafka, WriteToKafka
from tendencias.transforms.sinks import WriteTrendsToKafka
from tendencias.transforms.warm_start import ReadWarmStart


def build_pipeline(p: beam.Pipeline, options: PipelineOptions) -> GraphOutputs:
    """Kafka sources (and the warm start) → the trends graph → Kafka sinks (and BigQuery,
    archive when asked) → the commits, once every sink has written (pipelines/resume.py)."""
    config = job_config(options)
    kafka = config.kafka
    kafka_security_config_from_env()  # fails fast on bad settings; workers read them from env again
    resume = plan_resume(options, config)
    ledger = uuid.uuid4().hex
    # With an archive, a record's offset is committed once the archive (or the dead letters)
    # acknowledges it: the windows still open at a restart are rebuilt from the archive.
    acknowledged = resume.commit == "durable" and bool(config.sinks.archive_dir)

    def read(label: str, topic: str, time_field: str):
        return p | label >> ReadFromKafka(
            bootstrap_servers=kafka.bootstrap,
            topics=[topic],
            group_id=kafka.group_id,
            start=kafka.start_offset,
            bounded=kafka.bounded,
            event_time_field=time_field,
            commit=resume.commit,
            ledger=ledger,
            hold_s=resume.hold_s,
            acknowledged=acknowledged,
        )

    raw_posts = read("ReadPosts", kafka.posts_topic, "created_at")
    raw_sales = read("ReadSales", kafka.sales_topic, "ts") if kafka.sales_topic else None
    warm = p | "WarmStart" >> ReadWarmStart(resume.warm_start) if resume.warm_start else None
    outputs = build_trends_graph(raw_posts, raw_sales, config, warm, resume.emitted_through_ms)
    sinks = write_optional_sinks(outputs, config.sinks, ledger if acknowledged else None)
    trends_written = [
        outputs.trends
        | "WriteTrends" >> WriteTrendsToKafka(kafka.bootstrap, kafka.scores_topic, kafka.alerts_topic),
        *sinks.trends_written,
    ]
    trend_dead = list(sinks.trend_dead_letters)
    if kafka.briefs_topic:
        trend_dead.append(outputs.alerts | "Briefs" >> BriefAlerts(kafka.bootstrap, kafka.briefs_topic))
    # Two writers of dead letters: the records' acknowledge their offsets once delivered.
    acknowledge = AcknowledgeDeadLetters(ledger) if acknowledged else None
    records_written = [
        write_dead_letters("Records", [outputs.dead_letters, *sinks.record_dead_letters], kafka, acknowledge),
        *sinks.records_written,
    ]
    if trend_dead:  # no briefs topic, BigQuery table or archive: nothing of the trends can fail
        trends_written.append(write_dead_letters("Trends", trend_dead, kafka))
    if resume.commit != "durable":
        return outputs
    if acknowledged:  # the commits follow acknowledgements; durable_ms follows the trend sinks
        _ = flatten("TrendsWritten", trends_written) | "MarkTrendsWritten" >> CommitWhenDurable(
            ledger, commits=False, marks_written=True
        )
    else:  # offsets once every sink is past them and their windows (resume.hold_s)
        _ = flatten("AllWritten", [*records_written, *trends_written]) | "CommitWhenDurable" >> (
            CommitWhenDurable(ledger)
        )
    return outputs


def flatten(label: str, pcolls: list):
    return pcolls | label >> beam.Flatten()


def write_dead_letters(label: str, dead: list, kafka, on_delivered=None):
    return (
        dead
        | f"{label}DeadLetters" >> beam.Flatten()
        | f"Write{label}DeadLetters"
        >> WriteToKafka(kafka.bootstrap, kafka.dead_letter_topic, on_delivered=on_delivered)
    )


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        options = parse_pipeline_options(
            argv,
            prog="tendencias run",
            description=__doc__.splitlines()[0],
            option_classes=(KafkaOptions, TrendJobOptions, TrendScoringOptions),
        )
        kafka = job_config(options).kafka  # every flag checked before the runner starts
        options.view_as(StandardOptions).streaming = not kafka.bounded
        return run_pipeline(
            options,
            build_pipeline,
            default_runner="PrismRunner",
            duration_s=kafka.duration_s,
            drain_timeout_s=kafka.drain_timeout_s,
            metrics_port=kafka.metrics_port,
        )
    except UsageError as err:
        print(f"tendencias run: {err}", file=sys.stderr)
        return 2
