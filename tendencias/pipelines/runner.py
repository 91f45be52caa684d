"""Choosing a runner, running a pipeline for a while, and printing what it counted."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from tendencias.pipelines.config import UsageError

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_JOB_SERVER_TIMEOUT = 300  # Beam's default for --job_server_timeout
LONG_RUNNING_TIMEOUT = 365 * 24 * 3600


def prism_binary() -> str | None:
    """The Prism binary built by scripts/prism.sh, or $TENDENCIAS_PRISM."""
    explicit = os.environ.get("TENDENCIAS_PRISM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    built = sorted((ROOT / ".scratch" / "prism").glob("v*/prism"))
    return str(built[-1]) if built else None


def choose_runner(options: PipelineOptions, default_runner: str) -> None:
    """Fills in the runner, and Prism's binary, when the user did not name them."""
    standard = options.view_as(StandardOptions)
    if not standard.runner:
        standard.runner = default_runner
    if "prism" in str(standard.runner).lower():
        # Beam shares one Prism server per process; a DirectRunner pipeline run earlier in the
        # process (it tries Prism first) would leave one without our binary behind.
        debug = options.view_as(beam.options.pipeline_options.DebugOptions)
        debug.add_experiment("disable_prism_server_singleton")
        # The portable runner uses job_server_timeout as the deadline of the job's state stream,
        # so a job outliving it (300 s by default) would die in wait_until_finish.
        portable = options.view_as(beam.options.pipeline_options.PortableOptions)
        if portable.job_server_timeout == DEFAULT_JOB_SERVER_TIMEOUT:
            portable.job_server_timeout = LONG_RUNNING_TIMEOUT
        flags = options.get_all_options()
        if not flags.get("prism_location"):
            binary = prism_binary()
            if binary is None:
                raise UsageError(
                    "the Prism runner binary was not found: build it with scripts/prism.sh "
                    "(or set TENDENCIAS_PRISM, or pass --prism_location, or --runner=DirectRunner --bounded)"
                )
            options.view_as(beam.options.pipeline_options.PrismRunnerOptions).prism_location = binary


def run_pipeline(
    options: PipelineOptions,
    build: Callable[[beam.Pipeline, PipelineOptions], object],
    *,
    default_runner: str,
    duration_s: float | None = None,
    metrics_port: int = 0,
) -> int:
    """Builds with `build`, runs, stops after `duration_s` seconds if given, prints a metrics
    summary. `metrics_port`: serve the job's Beam metrics to Prometheus on 127.0.0.1 while it runs."""
    choose_runner(options, default_runner)
    seconds = duration_s
    pipeline = beam.Pipeline(options=options)
    build(pipeline, options)
    result = pipeline.run()
    if metrics_port:
        from tendencias.monitoring.job_metrics import serve_job_metrics

        serve_job_metrics(result, metrics_port)
    try:
        if seconds is None:
            result.wait_until_finish()
        else:
            state = result.wait_until_finish(duration=int(seconds * 1000))
            if state is None or not beam.runners.runner.PipelineState.is_terminal(state):
                result.cancel()
    except KeyboardInterrupt:
        print("stopping: cancelling the job", file=sys.stderr)
        try:
            result.cancel()
        except Exception as err:  # Ctrl-C reaches the runner's own process too; it may be gone
            print(f"the runner had already stopped ({type(err).__name__})", file=sys.stderr)
    print(json.dumps({"metrics": counters(result)}, sort_keys=True), file=sys.stderr)
    summary = sentiment_summary(result)
    if summary:
        print(json.dumps({"sentiment": summary}, sort_keys=True), file=sys.stderr)
    return 0


def sentiment_summary(result) -> dict:
    """The sentiment cost ledger (requests, tokens, cache hits, spend), when the job ran that stage."""
    from tendencias.models.sentiment.ledger import summary_from_result

    try:
        return summary_from_result(result)
    except Exception:  # a job without the sentiment stage, or a runner without metrics
        return {}


def counters(result) -> dict[str, int]:
    """Every Beam counter of the job as {"namespace.name": value}, summed over steps."""
    try:
        query = result.metrics().query(MetricsFilter())
    except Exception:  # some runners cannot report metrics after a cancel
        return {}
    totals: dict[str, int] = {}
    for counter in query.get("counters", []):
        name = f"{counter.key.metric.namespace}.{counter.key.metric.name}"
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[name] = totals.get(name, 0) + int(value or 0)
    return totals
