"""Typed pipeline options for `tendencias run` and `tendencias backfill`.

Beam parses the flags of every PipelineOptions subclass in one parser, so a flag name may be
defined once in the whole process: all of Tendencias' pipeline flags live in this module.

Every flag has a type, a default and a help text; `validate_options` fails fast with a
message that says what to fix. Secrets never travel in options: Kafka SASL passwords and the
OpenAI key are read from the environment by the stages that use them.
"""

from __future__ import annotations

import os

from apache_beam.options.pipeline_options import PipelineOptions

from tendencias.durations import parse_duration

DEFAULT_BOOTSTRAP = "127.0.0.1:19092"


class KafkaOptions(PipelineOptions):
    """Where the streaming job reads and writes."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument(
            "--kafka_bootstrap",
            type=str,
            default=os.environ.get("TENDENCIAS_KAFKA_BOOTSTRAP", DEFAULT_BOOTSTRAP),
            help="Kafka bootstrap servers, host:port[,host:port] "
            "(default $TENDENCIAS_KAFKA_BOOTSTRAP or %(default)s). SASL/SSL settings "
            "come from TENDENCIAS_KAFKA_* environment variables, see README.",
        )
        parser.add_argument("--posts_topic", type=str, default="consumer.posts", help="topic of Posts")
        parser.add_argument(
            "--sales_topic",
            type=str,
            default="sales.events",
            help="topic of Sales; empty to run without sales",
        )
        parser.add_argument("--scores_topic", type=str, default="trends.scores", help="topic for every Trend")
        parser.add_argument("--alerts_topic", type=str, default="trends.alerts", help="topic for alerts only")
        parser.add_argument(
            "--dead_letter_topic",
            type=str,
            default="tendencias.dead_letter",
            help="topic for records that failed a stage, with the reason",
        )
        parser.add_argument(
            "--group_id",
            type=str,
            default="tendencias-trends",
            help="consumer group whose committed offsets the job starts from and advances",
        )
        parser.add_argument(
            "--start_offset",
            type=str,
            default="committed",
            help="committed, earliest, latest, or a time (RFC 3339 or epoch ms) to start from "
            "where the group has no committed offset",
        )
        parser.add_argument(
            "--bounded",
            action="store_true",
            default=False,
            help="stop at the end offsets seen at start (replays, tests) instead of streaming",
        )
        parser.add_argument(
            "--duration",
            type=str,
            default="",
            help="stop a streaming run after this long (e.g. 10m); empty runs until cancelled",
        )


class TrendJobOptions(PipelineOptions):
    """What the job computes and where, beyond Kafka; shared by run and backfill."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--trend_window", type=str, default="15m", help="short sliding window length")
        parser.add_argument("--trend_slide", type=str, default="5m", help="short sliding window period")
        parser.add_argument("--long_window", type=str, default="1d", help="long sliding window length")
        parser.add_argument("--long_slide", type=str, default="1h", help="long sliding window period")
        parser.add_argument(
            "--transform_dir",
            type=str,
            default="",
            help="folder written by `tendencias analyze` (holds LATEST); empty: tokens only",
        )
        parser.add_argument(
            "--features_refresh",
            type=str,
            default="30s",
            help="how often the stream checks for a newer transform_fn",
        )
        parser.add_argument(
            "--sentiment_backend",
            type=str,
            default="auto",
            choices=["auto", "local", "openai"],
            help="auto uses the OpenAI-compatible API when OPENAI_API_KEY is set, else local",
        )
        parser.add_argument(
            "--sentiment_model",
            type=str,
            default="gpt-4o-mini",
            help="model name for the OpenAI-compatible API (endpoint from OPENAI_BASE_URL)",
        )
        parser.add_argument(
            "--archive_dir",
            type=str,
            default="",
            help="local folder for JSONL archives of enriched posts and trends; empty: off",
        )
        parser.add_argument(
            "--bigquery_table",
            type=str,
            default="",
            help="PROJECT:DATASET.TABLE for trends; empty: no BigQuery sink",
        )
        parser.add_argument(
            "--bigquery_write_method",
            type=str,
            default="STREAMING_INSERTS",
            choices=["STREAMING_INSERTS", "FILE_LOADS", "STORAGE_WRITE_API"],
            help="how trends are written to BigQuery",
        )


class FileOptions(PipelineOptions):
    """Files in and out, for `tendencias backfill` (and --output for `tendencias analyze`)."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument(
            "--input",
            type=str,
            default="",
            help="JSONL file(s) of Posts: a path, a glob, or a comma-separated list",
        )
        parser.add_argument("--sales_input", type=str, default="", help="JSONL file(s) of Sales (optional)")
        parser.add_argument("--output", type=str, default="", help="output folder")


def durations(options: PipelineOptions) -> dict[str, float]:
    """The duration flags in seconds; raises ValueError naming the flag that is wrong."""
    job = options.view_as(TrendJobOptions)
    out = {}
    for name in ("trend_window", "trend_slide", "long_window", "long_slide", "features_refresh"):
        try:
            out[name] = parse_duration(getattr(job, name))
        except ValueError as err:
            raise ValueError(f"--{name}: {err}") from None
    if out["trend_window"] % out["trend_slide"] or out["long_window"] % out["long_slide"]:
        raise ValueError(
            "--trend_window must be a multiple of --trend_slide, and --long_window of --long_slide"
        )
    return out


class UsageError(ValueError):
    """A flag or value the user must fix; entry points print it and exit with status 2."""


def parse_pipeline_options(
    argv: list[str], *, prog: str, description: str, option_classes: tuple[type[PipelineOptions], ...]
) -> PipelineOptions:
    """PipelineOptions from `argv`, refusing flags no option class knows (Beam only warns).

    `--help` lists this command's own flags; any Beam pipeline option (--runner, --project,
    --flink_master, ...) is accepted too.
    """
    import argparse

    from apache_beam.options.pipeline_options import _BeamArgumentParser

    if "-h" in argv or "--help" in argv:
        parser = argparse.ArgumentParser(
            prog=prog,
            description=description,
            epilog="Any Apache Beam pipeline option is accepted as well, e.g. --runner=PrismRunner, "
            "--runner=FlinkRunner --flink_master=HOST:8081, --runner=DataflowRunner --project=P.",
        )
        for cls in option_classes:
            cls._add_argparse_args(parser)
        parser.print_help()
        raise SystemExit(0)
    every = _BeamArgumentParser(allow_abbrev=False, prog=prog)
    seen: dict[str, type] = {}
    for cls in PipelineOptions.__subclasses__():
        seen.setdefault(str(cls), cls)
    for cls in seen.values():
        cls._add_argparse_args(every)
    _, unknown = every.parse_known_args(argv)
    if unknown:
        raise UsageError(f"unknown argument(s): {' '.join(unknown)} (see {prog} --help)")
    return PipelineOptions(argv)
