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
            "--briefs_topic",
            type=str,
            default="trends.briefs",
            help="topic for an innovation brief per alert story; empty: no briefs",
        )
        parser.add_argument(
            "--metrics_port",
            type=int,
            default=0,
            help="serve the job's metrics to Prometheus on this port of 127.0.0.1; 0: off",
        )
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


# (flag, type, default, help) of TrendJobOptions; choices, where a flag has them, in _CHOICES.
_JOB_FLAGS = [
    ("transform_dir", str, "", "folder written by `tendencias analyze` (holds LATEST); empty: tokens only"),
    ("features_refresh", str, "30s", "how often the stream checks for a newer transform_fn"),
    ("features_batch_size", int, 256, "posts per TF-Transform call in the features stage"),
    (
        "keep_handles",
        str,
        "",
        "comma-separated public @handles (brands) kept in redacted text; others become @usuario",
    ),
    (
        "sentiment_backend",
        str,
        "auto",
        "auto uses the OpenAI-compatible API when OPENAI_API_KEY is set, else local",
    ),
    ("sentiment_model", str, "gpt-4o-mini", "model name for the OpenAI-compatible API"),
    ("sentiment_base_url", str, "", "OpenAI-compatible endpoint; empty: $OPENAI_BASE_URL, else OpenAI's"),
    (
        "sentiment_cache",
        str,
        "",
        "answer cache: empty = ~/.cache/tendencias/sentiment.sqlite ($TENDENCIAS_CACHE_DIR), "
        "a SQLite path or sqlite:///PATH, redis://HOST:PORT/DB (needs tendencias[redis]), or none",
    ),
    ("sentiment_local_model", str, "", "folder of the local model artifact; empty: the shipped one"),
    (
        "sentiment_local_tier",
        str,
        "standard",
        "local model: standard (USE multilingual + fast, calibrated; ~600 posts/s per core, also the "
        "first pass), fast (TF-IDF; thousands of posts/s) or accurate (e5, ~25 posts/s per core; "
        "final local answers only, the first pass stays fast)",
    ),
    (
        "sentiment_local_threshold",
        float,
        0.9,
        "local answers at least this confident skip the API; above 1 sends every post to the API",
    ),
    ("sentiment_token_budget", int, 3000, "estimated prompt tokens of posts per API request"),
    ("sentiment_max_posts_per_request", int, 40, "posts per API request at most"),
    ("sentiment_rpm", float, 500.0, "API requests per minute, per worker process"),
    ("sentiment_tpm", float, 200000.0, "API tokens per minute, per worker process"),
    ("sentiment_max_concurrent", int, 4, "API requests in flight per worker process"),
    ("sentiment_timeout", float, 30.0, "seconds per API request"),
    ("sentiment_max_attempts", int, 4, "attempts per request on 429, 5xx and timeouts"),
    ("sentiment_price_in_per_1k", float, 0.00015, "USD per 1,000 prompt tokens, for the spend estimate"),
    ("sentiment_price_out_per_1k", float, 0.0006, "USD per 1,000 completion tokens"),
    (
        "sentiment_failure_alert",
        float,
        0.2,
        "share of recent posts falling back to local above which sentiment_failure_alert fires",
    ),
    (
        "sentiment_batch_seconds",
        float,
        0.0,
        "streaming: buffer posts across bundles up to this long before asking the API; 0: per bundle",
    ),
    ("archive_dir", str, "", "local folder for JSONL archives of enriched posts and trends; empty: off"),
    ("bigquery_table", str, "", "PROJECT:DATASET.TABLE for trends; empty: no BigQuery sink"),
    ("bigquery_write_method", str, "STREAMING_INSERTS", "how trends are written to BigQuery"),
    (
        "bigquery_triggering_frequency",
        str,
        "60s",
        "FILE_LOADS/STORAGE_WRITE_API in streaming: how often rows load",
    ),
]
_CHOICES = {
    "sentiment_backend": ["auto", "local", "openai"],
    "sentiment_local_tier": ["standard", "fast", "accurate"],
    "bigquery_write_method": ["STREAMING_INSERTS", "FILE_LOADS", "STORAGE_WRITE_API"],
}


class TrendJobOptions(PipelineOptions):
    """Features, sentiment and sinks: what the job computes and where, beyond Kafka."""

    @classmethod
    def _add_argparse_args(cls, parser):
        for name, kind, default, text in _JOB_FLAGS:
            parser.add_argument(
                f"--{name}", type=kind, default=default, choices=_CHOICES.get(name), help=text
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


# Flags of the trend stage: TrendScoringConfig's fields, under these names where the field
# name alone would be ambiguous on a command line.
_TREND_FLAG_NAMES = {
    "kinds": "trend_kinds",
    "timezone": "trend_timezone",
    "examples": "trend_examples",
    "always_emit_kinds": "trend_always_emit_kinds",
}
_TREND_HELP = {
    "trend_window": "short sliding window length (e.g. 15m)",
    "trend_slide": "how often a short window starts (e.g. 5m)",
    "long_window": "long sliding window length for slow trends (e.g. 1d; 0 turns it off)",
    "long_slide": "how often a long window starts (e.g. 1h)",
    "kinds": "comma-separated trend kinds to score",
    "timezone": "time zone of the baseline's hours and weekdays and of explanations",
    "half_life": "how fast a key's history fades in its baseline",
    "prior_count": "pseudo-mentions a never-seen key starts with ...",
    "prior_posts": "... over this many pseudo-posts (the baseline of new keys)",
    "seasonal_prior": "pseudo-mentions pulling hour and weekday factors towards 1",
    "alert_score": "score (-log10 chance under the baseline) needed to alert",
    "watch_score": "score needed for severity watch",
    "continue_score": "an alert episode goes on while the score stays at least this",
    "min_lift": "(count + 1) / (baseline + 1) needed to alert: novelty over popularity",
    "min_count": "posts needed to alert",
    "min_authors": "distinct authors needed to alert",
    "min_texts": "distinct texts needed to alert (copies of one text count once)",
    "per_author_cap": "at most this many posts per author count in a window",
    "per_text_cap": "at most this many posts per distinct text count in a window (retweet cascades count ~2)",
    "episode_learning_cap": "during an episode a period teaches the baseline at most this x usual + 1 (0: all)",
    "group_threshold": "share of posts shared with an active alert that makes a new alert 'related' (0: off)",
    "forget_after": "streaming: a key silent this long is forgotten (state cleared)",
    "end_after": "windows under continue_score that end an episode",
    "warmup": "no alerts before the stream has this much history",
    "dispersion": "negative binomial size of the baseline (0: Poisson)",
    "examples": "example posts per trend record",
    "allowed_lateness": "late posts within this revise their windows; later ones are dropped",
    "always_emit_kinds": "comma-separated kinds that get a record every window they occur",
    "sales_max_lag_days": "longest lead of chatter over sales tested, in days",
    "sales_min_days": "days of overlapping history needed before a sales link is claimed",
    "sales_alpha": "significance level of the sales link",
    "sales_history_days": "days of daily series kept for the sales link",
}


def trend_flag(field_name: str) -> str:
    return _TREND_FLAG_NAMES.get(field_name, field_name)


class TrendScoringOptions(PipelineOptions):
    """Every knob of the trend stage (tendencias.models.trends.config.TrendScoringConfig)."""

    @classmethod
    def _add_argparse_args(cls, parser):
        from dataclasses import fields

        from tendencias.models.trends.config import TrendScoringConfig

        for field in fields(TrendScoringConfig):
            default = field.default
            if isinstance(default, tuple):
                kind, default = str, ",".join(default)
            elif isinstance(default, bool) or not isinstance(default, (int, float)):
                kind = str
            else:
                kind = type(default)
            parser.add_argument(
                f"--{trend_flag(field.name)}",
                type=kind,
                default=default,
                help=_TREND_HELP.get(field.name, field.name.replace("_", " ")),
            )


def trend_scoring_config(options: PipelineOptions):
    """TrendScoringConfig from the flags; a bad value raises UsageError naming the flag."""
    from dataclasses import fields

    from tendencias.models.trends.config import TrendScoringConfig

    values = options.view_as(TrendScoringOptions).get_all_options()
    kwargs = {}
    for field in fields(TrendScoringConfig):
        value = values[trend_flag(field.name)]
        if isinstance(field.default, tuple):
            value = tuple(part.strip() for part in str(value).split(",") if part.strip())
        kwargs[field.name] = value
    try:
        return TrendScoringConfig(**kwargs)
    except ValueError as err:
        raise UsageError(f"trend scoring flags: {err}") from None


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
