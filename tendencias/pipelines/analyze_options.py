"""Flags of `tendencias analyze` and the plain config the analysis runs from.

Beam parses the flags of every PipelineOptions subclass in one parser, so no flag here may share
a name with another class: --output is FileOptions' (shared with backfill).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from apache_beam.options.pipeline_options import PipelineOptions

from tendencias.durations import parse_duration
from tendencias.models.features import keys as fk
from tendencias.pipelines.options import FileOptions, UsageError
from tendencias.records import RecordError, parse_time_ms
from tendencias.transforms.file_io import pattern_matches


class AnalyzeOptions(PipelineOptions):
    """Flags of `tendencias analyze` (--output is FileOptions', shared with backfill)."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument(
            "--history",
            type=str,
            default="",
            help="JSONL of posts (and sales): a file, a glob, a folder (all *.jsonl under it) "
            "or a comma-separated list",
        )
        parser.add_argument(
            "--sales", type=str, default="", help="JSONL of sales, if not in --history (optional)"
        )
        parser.add_argument(
            "--window",
            type=str,
            default="7d",
            help="length of the window of history to analyse (default %(default)s)",
        )
        parser.add_argument(
            "--as_of",
            "--as-of",
            dest="as_of",
            type=str,
            default="",
            help="end of the window (RFC 3339 or epoch ms, exclusive); default: just after the "
            "latest event time in the history",
        )
        parser.add_argument(
            "--min_posts",
            type=int,
            default=50,
            help="fail (exit 2, LATEST untouched) when the window holds fewer posts (default %(default)s)",
        )
        parser.add_argument(
            "--top_k",
            type=int,
            default=fk.TOKENS_TOP_K,
            help="token vocabulary size cap (default %(default)s)",
        )
        parser.add_argument(
            "--min_frequency",
            type=int,
            default=fk.TOKENS_FREQUENCY_THRESHOLD,
            help="a token must occur this often in the window to enter the vocabulary (default %(default)s)",
        )
        parser.add_argument(
            "--keep_versions",
            type=int,
            default=5,
            help="analysed versions kept in --output, older ones are deleted (default %(default)s)",
        )
        parser.add_argument(
            "--every",
            type=str,
            default="",
            help="repeat the analysis at this interval (e.g. 6h) until interrupted; empty: once",
        )


class OutputHelp:
    """Only for --help: --output itself is parsed by FileOptions (one definition per process)."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument(
            "--output",
            type=str,
            default="",
            help="folder of versions; DIR/LATEST names the newest (required)",
        )


@dataclass
class AnalysisConfig:
    history: str
    output: str
    window_seconds: float
    as_of_ms: int | None = None
    sales: str = ""
    min_posts: int = 50
    top_k: int = fk.TOKENS_TOP_K
    min_frequency: int = fk.TOKENS_FREQUENCY_THRESHOLD
    keep_versions: int = 5


def history_pattern(path: str) -> str:
    parts = [p.strip() for p in path.split(",") if p.strip()]
    return ",".join(str(Path(p) / "**.jsonl") if Path(p).is_dir() else p for p in parts)


def config_from_options(options: PipelineOptions) -> AnalysisConfig:
    """An AnalysisConfig from the flags; raises UsageError saying which flag to fix."""
    flags = options.view_as(AnalyzeOptions)
    output = options.view_as(FileOptions).output
    if not flags.history or not output:
        raise UsageError("--history PATH and --output DIR are both required")
    try:
        window = parse_duration(flags.window)
    except ValueError as err:
        raise UsageError(f"--window: {err}") from None
    try:
        as_of = parse_time_ms(flags.as_of, "--as_of") if flags.as_of else None
    except RecordError as err:
        raise UsageError(str(err)) from None
    for name in ("min_posts", "top_k", "min_frequency", "keep_versions"):
        if getattr(flags, name) < 1:
            raise UsageError(f"--{name} must be at least 1")
    for flag, value in (("--history", flags.history), ("--sales", flags.sales)):
        for pattern in filter(None, history_pattern(value).split(",")):
            if not pattern_matches(pattern):
                raise UsageError(f"{flag}: no file matches {pattern!r}")
    return AnalysisConfig(
        history=flags.history,
        output=output,
        window_seconds=window,
        as_of_ms=as_of,
        sales=flags.sales,
        min_posts=flags.min_posts,
        top_k=flags.top_k,
        min_frequency=flags.min_frequency,
        keep_versions=flags.keep_versions,
    )
