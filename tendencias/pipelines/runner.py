"""Choosing a runner, running a pipeline for a while, and printing what it counted."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from tendencias.pipelines.config import UsageError
from tendencias.transforms.kafka.drain import request_drain, reset_drain

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
        # Prism splits a slow bundle in two, and a split of a bundle that runs timers loses the
        # timers it moves (apache/beam#35771): an ordered stage's buffered posts would wait for
        # a timer that never fires. No dynamic splits, then: our reads checkpoint themselves.
        debug.add_experiment("prism_disable_sdf_split")
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
    drain_timeout_s: float = 120.0,
    metrics_port: int = 0,
) -> int:
    """Builds with `build`, runs, prints a metrics summary. `duration_s`: drain after that long.
    SIGTERM and Ctrl-C drain too (transforms/kafka/drain.py); the job is cancelled when it has
    not finished `drain_timeout_s` after the drain began, or at a second signal. Returns 0, or 1
    when the job had to be cancelled. `metrics_port`: serve the job's Beam metrics to
    Prometheus on 127.0.0.1 while it runs."""
    choose_runner(options, default_runner)
    pipeline = beam.Pipeline(options=options)
    build(pipeline, options)
    reset_drain()
    result = pipeline.run()
    if metrics_port:
        from tendencias.monitoring.job_metrics import serve_job_metrics

        serve_job_metrics(result, metrics_port)
    finished = _wait(result, duration_s, drain_timeout_s)
    _status(json.dumps({"metrics": counters(result)}, sort_keys=True))
    summary = sentiment_summary(result)
    if summary:
        _status(json.dumps({"sentiment": summary}, sort_keys=True))
    return 0 if finished else 1


class _Signals:
    """SIGTERM and SIGINT while a job runs: the first asks for a drain, the next for a cancel."""

    def __init__(self):
        self.count = 0
        self._previous: dict[int, object] = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGTERM, signal.SIGINT):
                self._previous[number] = signal.signal(number, self._caught)
        return self

    def _caught(self, number, _frame):
        self.count += 1
        name = signal.Signals(number).name
        _status(f"{name}: {'draining the job' if self.count == 1 else 'cancelling the job'}")

    def __exit__(self, *_):
        for number, handler in self._previous.items():
            signal.signal(number, handler)


def _wait(result, duration_s: float | None, drain_timeout_s: float) -> bool:
    """Waits for the job, draining and cancelling it as `run_pipeline` says; True if it
    finished by itself (or drained), False if it was cancelled."""
    failure: list[BaseException] = []

    def wait() -> None:
        try:
            result.wait_until_finish()
        except BaseException as err:  # re-raised in the caller's thread
            failure.append(err)

    waiter = threading.Thread(target=wait, name="tendencias-wait", daemon=True)
    waiter.start()
    started = time.monotonic()
    drain_started = None
    with _Signals() as signals:
        while waiter.is_alive():
            waiter.join(0.2)
            now = time.monotonic()
            expired = duration_s is not None and now - started >= duration_s
            if drain_started is None and (signals.count or expired) and waiter.is_alive():
                why = "a signal" if signals.count else f"--duration {duration_s:g}s"
                _status(f"draining the job ({why}): readers stop, windows close, sinks flush")
                request_drain()
                drain_started = now
            late = drain_started is not None and now - drain_started > drain_timeout_s
            if waiter.is_alive() and (signals.count > 1 or late):
                _status("the job did not drain in time: cancelling it" if late else "cancelling")
                _cancel(result)
                waiter.join(30)
                return False
    if failure:
        raise failure[0]
    if drain_started is not None:
        _status(f"drained in {time.monotonic() - drain_started:.1f}s")
    return True


def _status(line: str) -> None:
    """A line to stderr in one write: print() writes the text and its newline apart, so a log
    line of another thread could land between them (and a test missed "drained in")."""
    sys.stderr.write(line + "\n")


def _cancel(result) -> None:
    try:
        result.cancel()
    except Exception as err:  # Ctrl-C reaches the runner's own process too; it may be gone
        _status(f"the runner had already stopped ({type(err).__name__})")


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
