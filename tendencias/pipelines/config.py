"""Every flag of the pipelines and the configuration built from them, in one place.

Each setting is a field of a typed, frozen dataclass that carries its flag's name, default and
help text (`flag`). The PipelineOptions classes Beam parses are generated from these
dataclasses, and `job_config` / `analysis_config` turn the parsed flags into configuration once,
before the job starts; a bad value raises UsageError naming its flag.

Beam parses the flags of every PipelineOptions subclass in one parser, so a flag name may be
defined once in the whole process. Secrets never travel in options: Kafka SASL passwords and
the OpenAI key are read from the environment by the stages that use them.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from apache_beam.options.pipeline_options import PipelineOptions

from tendencias.durations import parse_duration
from tendencias.errors import UsageError
from tendencias.models.features import keys as fk
from tendencias.models.trends.config import TrendScoringConfig

DEFAULT_BOOTSTRAP = "127.0.0.1:19092"


def flag(
    default: Any,
    help: str,
    *,
    name: str | None = None,
    choices: list[str] | None = None,
    parse: Callable[[Any], Any] | None = None,
    typed: Any = MISSING,
    aliases: tuple[str, ...] = (),
):
    """A dataclass field that is also the flag `--{name or the field's name}`. `default` is the
    flag's default as typed on a command line; `parse` turns the flag's value into the field's
    (a ValueError from it names the flag), and `typed` is the field's default when it differs."""
    metadata = {
        "flag": name,
        "help": help,
        "choices": choices,
        "parse": parse,
        "raw": default,
        "aliases": aliases,
    }
    value = default if typed is MISSING else typed
    if parse is not None and typed is MISSING:
        value = parse(default)
    return field(default=value, metadata=metadata)


def _flag_name(f) -> str:
    return f.metadata.get("flag") or f.name


def _flag_fields(config_class: type) -> list:
    return [f for f in fields(config_class) if "raw" in f.metadata]


def add_flags(config_class: type, parser) -> None:
    """The argparse flags of a config dataclass's fields."""
    for f in _flag_fields(config_class):
        raw = f.metadata["raw"]
        names = [f"--{_flag_name(f)}", *f.metadata["aliases"]]
        if isinstance(raw, bool):
            parser.add_argument(
                *names, dest=_flag_name(f), action="store_true", default=raw, help=f.metadata["help"]
            )
            continue
        parser.add_argument(
            *names,
            dest=_flag_name(f),
            type=type(raw),
            default=raw,
            choices=f.metadata["choices"],
            help=f.metadata["help"],
        )


def from_flags(config_class: type, values: dict[str, Any]):
    """An instance of a config dataclass from parsed flag values; UsageError names a bad flag."""
    kwargs = {}
    for f in _flag_fields(config_class):
        name = _flag_name(f)
        value = values.get(name, f.metadata["raw"])
        parse = f.metadata["parse"]
        if parse is not None:
            try:
                value = parse(value)
            except ValueError as err:
                joint = " " if str(err).startswith("must ") else ": "  # "--x must be ...", "--x: not a ..."
                raise UsageError(f"--{name}{joint}{err}") from None
        kwargs[f.name] = value
    try:
        return config_class(**kwargs)
    except ValueError as err:
        raise UsageError(str(err)) from None


def _optional_duration(text: str) -> float | None:
    return parse_duration(text) if str(text).strip() else None


def _zero_or_duration(text: str) -> float:
    return 0.0 if str(text).strip() in ("", "0", "0s") else parse_duration(text)


def _warm_start(text: str) -> float | None:
    """None for auto (the warm-up and the longest window), 0 for off, else seconds."""
    text = str(text).strip().lower()
    if text == "auto":
        return None
    return _zero_or_duration("0" if text == "off" else text)


def _or_none(text: str) -> str | None:
    return text or None


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in str(text).split(",") if part.strip())


def _at_least(minimum: int) -> Callable[[int], int]:
    def check(value: int) -> int:
        if value < minimum:
            raise ValueError(f"must be at least {minimum}")
        return value

    return check


@dataclass(frozen=True)
class KafkaConfig:
    """Where the streaming job reads and writes, and how long it runs."""

    bootstrap: str = flag(
        os.environ.get("TENDENCIAS_KAFKA_BOOTSTRAP", DEFAULT_BOOTSTRAP),
        "Kafka bootstrap servers, host:port[,host:port] (default $TENDENCIAS_KAFKA_BOOTSTRAP or "
        f"{DEFAULT_BOOTSTRAP}). SASL/SSL settings come from TENDENCIAS_KAFKA_* environment "
        "variables, see README.",
        name="kafka_bootstrap",
    )
    posts_topic: str = flag("consumer.posts", "topic of Posts")
    sales_topic: str = flag("sales.events", "topic of Sales; empty to run without sales")
    scores_topic: str = flag("trends.scores", "topic for every Trend")
    alerts_topic: str = flag("trends.alerts", "topic for alerts only")
    briefs_topic: str = flag(
        "trends.briefs", "topic for an innovation brief per alert story; empty: no briefs"
    )
    metrics_port: int = flag(0, "serve the job's metrics to Prometheus on this port of 127.0.0.1; 0: off")
    dead_letter_topic: str = flag(
        "tendencias.dead_letter", "topic for records that failed a stage, with the reason"
    )
    group_id: str = flag(
        "tendencias-trends", "consumer group whose committed offsets the job starts from and advances"
    )
    start_offset: str = flag(
        "committed",
        "committed, earliest, latest, or a time (RFC 3339 or epoch ms) to start from where the "
        "group has no committed offset",
    )
    bounded: bool = flag(False, "stop at the end offsets seen at start (replays, tests) instead of streaming")
    duration_s: float | None = flag(
        "",
        "drain a streaming run after this long (e.g. 10m), as SIGTERM does; empty runs until stopped",
        name="duration",
        parse=_optional_duration,
    )
    drain_timeout_s: float = flag(
        "5m",
        "on SIGTERM, Ctrl-C or the end of --duration, how long the job may drain (close its "
        "windows, flush its sinks, commit) before it is cancelled",
        name="drain_timeout",
        parse=parse_duration,
    )
    commit_policy: str = flag(
        "auto",
        "when Kafka offsets are committed: durable (after every sink has written what they "
        "cover, and their windows are out or archived; for runners without durable state), "
        "finalize (when the runner finalises a bundle; for Flink and Dataflow, whose checkpoints "
        "hold the state), auto (durable on Prism and DirectRunner, finalize elsewhere)",
        choices=["auto", "durable", "finalize"],
    )
    warm_start_s: float | None = flag(
        "auto",
        "with --archive_dir: rebuild the trend state from this much of the archive before the "
        "live read (auto: --warmup plus the longest window and --allowed_lateness; 0: off)",
        name="warm_start",
        parse=_warm_start,
        typed=None,
    )


@dataclass(frozen=True)
class FilesConfig:
    """Files in and out, for `tendencias backfill` (and --output for `tendencias analyze`)."""

    input: str = flag("", "JSONL file(s) of Posts: a path, a glob, or a comma-separated list")
    sales_input: str = flag("", "JSONL file(s) of Sales (optional)")
    output: str = flag("", "output folder")


@dataclass(frozen=True)
class CleaningConfig:
    keep_handles: tuple[str, ...] = flag(
        "",
        "comma-separated public @handles (brands) kept in redacted text; others become @usuario",
        parse=_names,
    )


@dataclass(frozen=True)
class FeaturesConfig:
    transform_dir: str | None = flag(
        "", "folder written by `tendencias analyze` (holds LATEST); empty: tokens only", parse=_or_none
    )
    refresh_seconds: float = flag(
        "30s",
        "how often the stream checks for a newer transform_fn",
        name="features_refresh",
        parse=parse_duration,
    )
    batch_size: int = flag(
        256,
        "posts per TF-Transform call in the features stage",
        name="features_batch_size",
        parse=_at_least(1),
    )


def _backend(name: str) -> str:
    from tendencias.models.sentiment.backend import resolve_backend

    return resolve_backend(name)  # "auto" is decided once, before the job starts


@dataclass(frozen=True)
class SentimentConfig:
    """EnrichSentiment's settings; the field names are its keyword arguments."""

    backend: str = flag(
        "auto",
        "auto uses the OpenAI-compatible API when OPENAI_API_KEY is set, else local",
        name="sentiment_backend",
        choices=["auto", "local", "openai"],
        typed="auto",  # resolved against the environment by job_config, not at import
    )
    model: str = flag("gpt-4o-mini", "model name for the OpenAI-compatible API", name="sentiment_model")
    base_url: str | None = flag(
        "",
        "OpenAI-compatible endpoint; empty: $OPENAI_BASE_URL, else OpenAI's",
        name="sentiment_base_url",
        parse=_or_none,
    )
    cache_url: str | None = flag(
        "",
        "answer cache: empty = ~/.cache/tendencias/sentiment.sqlite ($TENDENCIAS_CACHE_DIR), "
        "a SQLite path or sqlite:///PATH, redis://HOST:PORT/DB (needs tendencias[redis]), or none",
        name="sentiment_cache",
        parse=_or_none,
    )
    local_model_path: str | None = flag(
        "",
        "folder of the local model artifact; empty: the shipped one",
        name="sentiment_local_model",
        parse=_or_none,
    )
    local_tier: str = flag(
        "standard",
        "local model: standard (USE multilingual + lexicon, calibrated; ~550 posts/s per core, also the "
        "first pass), fast (TF-IDF; thousands of posts/s) or accurate (e5, ~25 posts/s per core; "
        "final local answers only, the first pass stays fast)",
        name="sentiment_local_tier",
        choices=["standard", "fast", "accurate"],
    )
    local_confidence_threshold: float | None = flag(
        0.9,
        "local answers at least this confident skip the API; above 1 sends every post to the API",
        name="sentiment_local_threshold",
        parse=lambda value: None if value > 1 else value,
    )
    token_budget: int = flag(
        3000, "estimated prompt tokens of posts per API request", name="sentiment_token_budget"
    )
    max_posts_per_request: int = flag(
        40, "posts per API request at most", name="sentiment_max_posts_per_request"
    )
    requests_per_minute: float = flag(
        500.0, "API requests per minute, per worker process", name="sentiment_rpm"
    )
    tokens_per_minute: float = flag(
        200000.0, "API tokens per minute, per worker process", name="sentiment_tpm"
    )
    max_concurrent: int = flag(
        4, "API requests in flight per worker process", name="sentiment_max_concurrent"
    )
    timeout_s: float = flag(30.0, "seconds per API request", name="sentiment_timeout")
    max_attempts: int = flag(
        4, "attempts per request on 429, 5xx and timeouts", name="sentiment_max_attempts"
    )
    price_in_per_1k: float = flag(
        0.00015, "USD per 1,000 prompt tokens, for the spend estimate", name="sentiment_price_in_per_1k"
    )
    price_out_per_1k: float = flag(
        0.0006, "USD per 1,000 completion tokens", name="sentiment_price_out_per_1k"
    )
    failure_ratio_alert: float = flag(
        0.2,
        "share of recent posts falling back to local above which sentiment_failure_alert fires",
        name="sentiment_failure_alert",
    )
    max_batch_duration_secs: float | None = flag(
        0.0,
        "streaming: buffer posts across bundles up to this long before asking the API; 0: per bundle",
        name="sentiment_batch_seconds",
        parse=lambda value: value or None,
    )


def _similarity(value: float) -> float:
    if not 0 <= value < 1:
        raise ValueError("must be from 0 (story clusters off) to below 1")
    return value


@dataclass(frozen=True)
class StoriesConfig:
    """Story clusters (models/stories/clusters.py): posts that mean the same, as trend keys."""

    similarity: float = flag(
        0.22,
        "cosine (of centred post embeddings) to a cluster's centroid needed to join it; 0 turns "
        "story clusters off (and the job embeds no post but for sentiment)",
        name="story_similarity",
        parse=_similarity,
    )
    cluster_half_life_s: float = flag(
        "2h",
        "how fast a story cluster's centroid forgets old posts",
        name="story_half_life",
        parse=parse_duration,
    )
    singleton_ttl_s: float = flag(
        "1h",
        "a cluster still of one post is dropped after this",
        name="story_singleton_ttl",
        parse=parse_duration,
    )
    idle_ttl_s: float = flag(
        "6h", "a cluster without a new post this long is dropped", name="story_idle_ttl", parse=parse_duration
    )
    novel_expected: float = flag(
        1.0,
        "a cluster counts while a usual --trend_window of posts would hold at most this many like "
        "its posts (its share of the stream's past posts x the mean volume): new stories only",
        name="story_novel_expected",
    )

    @property
    def on(self) -> bool:
        return self.similarity > 0

    def params(self, window_s: float):
        """The clusters' parameters; `window_s`: the trend stage's short window."""
        from tendencias.models.stories.clusters import ClusterParams

        return ClusterParams(
            similarity=self.similarity,
            novel_expected=self.novel_expected,
            window_ms=int(window_s * 1000),
            cluster_half_life_ms=int(self.cluster_half_life_s * 1000),
            singleton_ttl_ms=int(self.singleton_ttl_s * 1000),
            idle_ttl_ms=int(self.idle_ttl_s * 1000),
        )


@dataclass(frozen=True)
class SinksConfig:
    archive_dir: str = flag(
        "",
        "folder for the archive of enriched posts, trends and sales (DIR/<what>/<day>/<hour>/...); empty: off",
    )
    archive_format: str = flag("jsonl", "format of the archive's files", choices=["jsonl", "parquet"])
    archive_flush_s: float = flag(
        "1m",
        "event time an archive writer gathers before it writes a file (with --archive_dir, also "
        "about how far Kafka commits trail the stream)",
        name="archive_flush",
        parse=parse_duration,
    )
    bigquery_table: str = flag("", "PROJECT:DATASET.TABLE for trends; empty: no BigQuery sink")
    bigquery_write_method: str = flag(
        "STREAMING_INSERTS",
        "how trends are written to BigQuery",
        choices=["STREAMING_INSERTS", "FILE_LOADS", "STORAGE_WRITE_API"],
    )
    bigquery_triggering_frequency_s: int = flag(
        "60s",
        "FILE_LOADS/STORAGE_WRITE_API in streaming: how often rows load",
        name="bigquery_triggering_frequency",
        parse=lambda text: int(parse_duration(text)),
    )


# The trend stage's flags are TrendScoringConfig's fields (models/trends/config.py), under
# these names where the field name alone would be ambiguous on a command line.
_TREND_FLAG_NAMES = {
    "kinds": "trend_kinds",
    "timezone": "trend_timezone",
    "examples": "trend_examples",
    "always_emit_kinds": "trend_always_emit_kinds",
    "short_only_kinds": "trend_short_only_kinds",
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
    "story_meaning": "cosine of example-post embeddings at which a new alert joins an active story",
    "forget_after": "streaming: a key silent this long is forgotten (state cleared)",
    "end_after": "windows under continue_score that end an episode",
    "warmup": "no alerts before the stream has this much history",
    "dispersion": "negative binomial size of the baseline (0: Poisson)",
    "examples": "example posts per trend record",
    "allowed_lateness": "late posts within this revise their windows; later ones are dropped",
    "always_emit_kinds": "comma-separated kinds that get a record every window they occur",
    "short_only_kinds": "comma-separated kinds only the short horizon scores (story clusters: minutes to hours)",
    "sales_max_lag_days": "longest lead of chatter over sales tested, in days",
    "sales_min_days": "days of overlapping history needed before a sales link is claimed",
    "sales_alpha": "significance level of the sales link",
    "sales_history_days": "days of daily series kept for the sales link",
}


def trend_flag(field_name: str) -> str:
    return _TREND_FLAG_NAMES.get(field_name, field_name)


def add_trend_flags(parser) -> None:
    for f in fields(TrendScoringConfig):
        default = f.default
        if isinstance(default, tuple):
            kind, default = str, ",".join(default)
        elif isinstance(default, bool) or not isinstance(default, (int, float)):
            kind = str
        else:
            kind = type(default)
        parser.add_argument(
            f"--{trend_flag(f.name)}",
            type=kind,
            default=default,
            help=_TREND_HELP.get(f.name, f.name.replace("_", " ")),
        )


def trend_scoring_config(values: dict[str, Any] | PipelineOptions) -> TrendScoringConfig:
    """TrendScoringConfig from the flags; a bad value raises UsageError naming the flag."""
    if isinstance(values, PipelineOptions):
        values = values.get_all_options()
    kwargs = {}
    for f in fields(TrendScoringConfig):
        value = values.get(trend_flag(f.name), f.default)
        if isinstance(f.default, tuple):
            value = _names(value) if isinstance(value, str) else tuple(value)
        kwargs[f.name] = value
    try:
        return TrendScoringConfig(**kwargs)
    except ValueError as err:
        raise UsageError(f"trend scoring flags: {err}") from None


@dataclass(frozen=True)
class JobConfig:
    """Everything `tendencias run` and `tendencias backfill` compute from, built by job_config."""

    cleaning: CleaningConfig
    features: FeaturesConfig
    sentiment: SentimentConfig
    sinks: SinksConfig
    scoring: TrendScoringConfig
    stories: StoriesConfig = StoriesConfig()
    kafka: KafkaConfig = KafkaConfig()
    files: FilesConfig = FilesConfig()


def job_config(options: PipelineOptions | dict[str, Any]) -> JobConfig:
    """The job's configuration from its flags, validated once; UsageError names a bad flag."""
    values = options.get_all_options() if isinstance(options, PipelineOptions) else options
    sentiment = from_flags(SentimentConfig, values)
    try:
        sentiment = _replace(sentiment, backend=_backend(sentiment.backend))
    except ValueError as err:
        raise UsageError(f"--sentiment_backend: {err}") from None
    config = JobConfig(
        cleaning=from_flags(CleaningConfig, values),
        features=from_flags(FeaturesConfig, values),
        sentiment=sentiment,
        sinks=from_flags(SinksConfig, values),
        scoring=trend_scoring_config(values),
        stories=from_flags(StoriesConfig, values),
        kafka=from_flags(KafkaConfig, values),
        files=from_flags(FilesConfig, values),
    )
    from tendencias.transforms.sentiment import EnrichSentiment

    try:  # validates backend, key and limits before the job starts
        EnrichSentiment(**sentiment_kwargs(config))
    except ValueError as err:
        raise UsageError(f"sentiment: {err}") from None
    return config


def sentiment_kwargs(config: JobConfig) -> dict[str, Any]:
    """EnrichSentiment's keyword arguments."""
    values = {f.name: getattr(config.sentiment, f.name) for f in fields(SentimentConfig)}
    return dict(values, keep_handles=config.cleaning.keep_handles)


def _replace(instance, **changes):
    from dataclasses import replace

    return replace(instance, **changes)


def _topics(value: str) -> str:
    text = str(value).strip().lower()
    if text == "auto" or (text.isdigit() and int(text) < 200):
        return "" if text == "0" else text
    raise ValueError("must be auto, 0 (no topics) or a number of topics below 200")


def _as_of(text: str) -> int | None:
    from tendencias.records import RecordError, parse_time_ms

    if not text:
        return None
    try:
        return parse_time_ms(text, "--as_of")
    except RecordError as err:
        raise ValueError(str(err)) from None


@dataclass(frozen=True)
class AnalysisConfig:
    """`tendencias analyze`: the window of history to learn features from (--output is
    FilesConfig's, shared with backfill)."""

    history: str = flag(
        "",
        "JSONL of posts (and sales): a file, a glob, a folder (all *.jsonl under it) or a comma-separated list",
    )
    sales: str = flag("", "JSONL of sales, if not in --history (optional)")
    window_seconds: float = flag(
        "7d",
        "length of the window of history to analyse (default %(default)s)",
        name="window",
        parse=parse_duration,
    )
    as_of_ms: int | None = flag(
        "",
        "end of the window (RFC 3339 or epoch ms, exclusive); default: just after the latest event "
        "time in the history",
        name="as_of",
        parse=_as_of,
        aliases=("--as-of",),
    )
    min_posts: int = flag(
        50,
        "fail (exit 2, LATEST untouched) when the window holds fewer posts (default %(default)s)",
        parse=_at_least(1),
    )
    top_k: int = flag(fk.TOKENS_TOP_K, "token vocabulary size cap (default %(default)s)", parse=_at_least(1))
    min_frequency: int = flag(
        fk.TOKENS_FREQUENCY_THRESHOLD,
        "a token must occur this often in the window to enter the vocabulary (default %(default)s)",
        parse=_at_least(1),
    )
    keep_versions: int = flag(
        5,
        "analysed versions kept in --output, older ones are deleted (default %(default)s)",
        parse=_at_least(1),
    )
    topics: str = flag(
        "auto",
        "topics of the topic model: a number, auto (8, 12 or 20, by coherence), or 0 for no topic "
        "and segment models (default %(default)s)",
        parse=lambda value: _topics(value),
    )
    topic_method: str = flag(
        "nmf", "topic model: nmf, lda or kmeans (default %(default)s)", choices=["nmf", "lda", "kmeans"]
    )
    every_s: float | None = flag(
        "",
        "repeat the analysis at this interval (e.g. 6h) until interrupted; empty: once",
        name="every",
        parse=_optional_duration,
    )
    output: str = ""  # FilesConfig's --output; not a flag of its own


def history_pattern(path: str) -> str:
    """Files of a --history value: a folder stands for its JSONL files (and Parquet files,
    when it holds any: a Parquet archive) at any depth."""
    out = []
    for part in (p.strip() for p in path.split(",") if p.strip()):
        if not Path(part).is_dir():
            out.append(part)
            continue
        found = [ext for ext in ("jsonl", "parquet") if next(Path(part).rglob(f"*.{ext}"), None) is not None]
        out += [str(Path(part) / f"**.{ext}") for ext in found or ["jsonl"]]
    return ",".join(out)


def analysis_config(options: PipelineOptions | dict[str, Any]) -> AnalysisConfig:
    """An AnalysisConfig from the flags; raises UsageError saying which flag to fix."""
    from tendencias.transforms.file_io import pattern_matches

    values = options.get_all_options() if isinstance(options, PipelineOptions) else options
    if not values.get("history") or not values.get("output"):
        raise UsageError("--history PATH and --output DIR are both required")
    config = _replace(from_flags(AnalysisConfig, values), output=values["output"])
    for name, value in (("--history", config.history), ("--sales", config.sales)):
        for pattern in filter(None, history_pattern(value).split(",")):
            if not pattern_matches(pattern):
                raise UsageError(f"{name}: no file matches {pattern!r}")
    return config


def _options_class(name: str, doc: str, *config_classes: type, extra: Callable | None = None):
    """A PipelineOptions subclass whose flags are those of `config_classes` (and `extra`'s)."""

    def _add_argparse_args(cls, parser):
        for config_class in config_classes:
            add_flags(config_class, parser)
        if extra is not None:
            extra(parser)

    return type(
        name, (PipelineOptions,), {"__doc__": doc, "_add_argparse_args": classmethod(_add_argparse_args)}
    )


KafkaOptions = _options_class("KafkaOptions", "Where the streaming job reads and writes.", KafkaConfig)
FileOptions = _options_class(
    "FileOptions", "Files in and out: backfill's, and analyze's --output.", FilesConfig
)
TrendJobOptions = _options_class(
    "TrendJobOptions",
    "Features, sentiment and sinks: what the job computes and where, beyond Kafka.",
    CleaningConfig,
    FeaturesConfig,
    SentimentConfig,
    StoriesConfig,
    SinksConfig,
)
TrendScoringOptions = _options_class(
    "TrendScoringOptions", "Every knob of the trend stage (TrendScoringConfig).", extra=add_trend_flags
)
AnalyzeOptions = _options_class("AnalyzeOptions", "Flags of `tendencias analyze`.", AnalysisConfig)


class OutputHelp:
    """Only for analyze's --help: --output itself is parsed by FileOptions (one definition per
    process)."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument(
            "--output",
            type=str,
            default="",
            help="folder of versions; DIR/LATEST names the newest (required)",
        )


def parse_pipeline_options(
    argv: list[str], *, prog: str, description: str, option_classes: tuple[type, ...]
) -> PipelineOptions:
    """PipelineOptions from `argv`, refusing flags no option class knows (Beam only warns).

    `--help` lists this command's own flags; any Beam pipeline option (--runner, --project,
    --flink_master, ...) is accepted too.
    """
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
