"""The Flink job's flags: the Beam job's own Kafka and trend flags (pipelines/options.py, the
same names and defaults, so a threshold tuned on either runner means the same), plus the few
that only Flink has (checkpoints, parallelism, watermarks)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from apache_beam.options.pipeline_options import PipelineOptions

from tendencias.durations import parse_duration
from tendencias.models.trends.config import TrendScoringConfig
from tendencias.pipelines.config import (
    FileOptions,
    KafkaOptions,
    TrendScoringOptions,
    UsageError,
    trend_scoring_config,
)

DEFAULT_CHECKPOINTS = Path(os.environ.get("TENDENCIAS_SCRATCH", ".scratch")) / "flink" / "checkpoints"


@dataclass
class FlinkJobConfig:
    command: str  # run | backfill
    args: argparse.Namespace
    scoring: TrendScoringConfig
    keep_handles: frozenset[str]
    checkpoint_dir: Path
    checkpoint_interval_ms: int
    out_of_orderness_ms: int
    idleness_ms: int
    restore: str  # a checkpoint folder, "latest" (the newest under checkpoint_dir) or ""


def _flink_flags(parser: argparse.ArgumentParser) -> None:
    flink = parser.add_argument_group("Flink")
    flink.add_argument("--parallelism", type=int, default=1, help="parallelism of every operator")
    flink.add_argument(
        "--checkpoint_dir",
        type=str,
        default="",
        help=f"local folder for checkpoints (default {DEFAULT_CHECKPOINTS}/GROUP_ID)",
    )
    flink.add_argument(
        "--checkpoint_interval", type=str, default="5s", help="how often to checkpoint (and commit to Kafka)"
    )
    flink.add_argument(
        "--restore",
        type=str,
        default="",
        help="checkpoint folder (chk-N) to restore from, or 'latest' under --checkpoint_dir",
    )
    flink.add_argument(
        "--out_of_orderness",
        type=str,
        default="0s",
        help="watermark: how far behind the newest post it trails",
    )
    flink.add_argument(
        "--idleness",
        type=str,
        default="0s",
        help="an input idle this long stops holding the watermark (0: never)",
    )
    flink.add_argument("--at_least_once", action="store_true", help="sinks without Kafka transactions")
    flink.add_argument(
        "--keep_handles", type=str, default="", help="comma-separated public @handles kept in redacted text"
    )
    flink.add_argument(
        "--sentiment_local_model", type=str, default="", help="local sentiment model folder; empty: shipped"
    )


def parse(argv: list[str]) -> FlinkJobConfig:
    parser = argparse.ArgumentParser(prog="scripts/flink.sh", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="streaming: Kafka in, Kafka out")
    KafkaOptions._add_argparse_args(run)
    backfill = commands.add_parser("backfill", help="bounded: FILE.jsonl in, DIR/trends.jsonl out")
    FileOptions._add_argparse_args(backfill)
    for sub in (run, backfill):
        TrendScoringOptions._add_argparse_args(sub.add_argument_group("trend scoring"))
        _flink_flags(sub)
    args = parser.parse_args(argv)
    trend_argv = [f"--{a.dest}={getattr(args, a.dest)}" for a in _trend_actions()]
    scoring = trend_scoring_config(PipelineOptions(trend_argv))
    durations = {}
    for flag in ("checkpoint_interval", "out_of_orderness", "idleness"):
        value = getattr(args, flag)
        try:
            durations[flag] = 0 if value.strip() in ("0", "0s") else int(parse_duration(value) * 1000)
        except ValueError as err:
            raise UsageError(f"--{flag}: {err}") from None
    if args.parallelism < 1:
        raise UsageError("--parallelism must be at least 1")
    if durations["checkpoint_interval"] < 100:
        raise UsageError("--checkpoint_interval must be at least 100ms")
    if args.command == "backfill" and (not args.input or not args.output):
        raise UsageError("--input FILE.jsonl and --output DIR are both required")
    name = args.group_id if args.command == "run" else "backfill"
    return FlinkJobConfig(
        command=args.command,
        args=args,
        scoring=scoring,
        keep_handles=frozenset(h.strip() for h in args.keep_handles.split(",") if h.strip()),
        checkpoint_dir=Path(args.checkpoint_dir or DEFAULT_CHECKPOINTS / name).resolve(),
        checkpoint_interval_ms=durations["checkpoint_interval"],
        out_of_orderness_ms=durations["out_of_orderness"],
        idleness_ms=durations["idleness"],
        restore=args.restore,
    )


def _trend_actions() -> list[argparse.Action]:
    parser = argparse.ArgumentParser()
    TrendScoringOptions._add_argparse_args(parser)
    return [a for a in parser._actions if a.dest != "help"]


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint (a chk-N with _metadata) under `folder`, any job id."""
    found = [p.parent for p in folder.glob("*/chk-*/_metadata")]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None
