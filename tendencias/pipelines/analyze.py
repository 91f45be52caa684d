"""`tendencias analyze`: learn the features of the latest window of history into a new version.

    tendencias analyze --history PATH --window 7d [--as_of T] --output DIR [--sales PATH]
                       [--min_posts 50] [--every 6h] [--runner ...]

Two batch Beam jobs:
1. select: reads the JSONL history (a file, glob, folder or comma-separated list: the stream's
   archive or any JSONL of the contracts), sends malformed lines to DIR/dead_letter/ with their
   reason, keeps the posts and sales whose event time is in [as_of - window, as_of), tokenises
   posts exactly as the stream does, and counts them;
2. analyse: TF-Transform's AnalyzeDataset over that window, writing DIR/<version>/posts and
   DIR/<version>/sales (transform_fns) and DIR/<version>/metadata.json;
3. meaning: a topic model (NMF over the version's vocabulary and TF-IDF, its size chosen by
   coherence; ids matched to the previous version's topics) and a segment model of the window,
   DIR/<version>/topics and DIR/<version>/segments (models/topics/analysis.py).
Then DIR/LATEST is replaced atomically, so the running stream switches to the new version.

as_of defaults to just after the latest event time found in the history (not the wall clock), so
re-analysing an archive or a replay gives the window that ends with its data. A window with fewer
than --min_posts posts fails with exit status 2 and leaves LATEST as it was. `--every 6h` repeats
the analysis on the newest window until interrupted (or run the command from cron).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from tendencias.models.features import keys as fk
from tendencias.models.features import store as transform_store
from tendencias.pipelines.config import (
    AnalysisConfig,
    AnalyzeOptions,
    OutputHelp,
    UsageError,
    analysis_config,
    history_pattern,
    parse_pipeline_options,
)
from tendencias.pipelines.runner import choose_runner
from tendencias.records import iso_utc
from tendencias.transforms.features.history import SelectWindow
from tendencias.transforms.file_io import ReadJsonlRecords

EXIT_OK, EXIT_FAILED, EXIT_USAGE_OR_SHORT_WINDOW = 0, 1, 2


class WindowTooShort(RuntimeError):
    """The window holds too few posts to learn from; the previous version stays in use."""


def _progress(message: str) -> None:
    print(f"[analyze {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _select(config: AnalysisConfig, options: PipelineOptions, work: Path, dead_prefix: str) -> dict:
    patterns = ",".join(filter(None, [history_pattern(config.history), history_pattern(config.sales)]))
    with beam.Pipeline(options=options) as p:
        _ = (
            p
            | "ReadHistory" >> ReadJsonlRecords(patterns)
            | "SelectWindow" >> SelectWindow(config.window_seconds, config.as_of_ms, str(work), dead_prefix)
        )
    return json.loads((work / "summary.json").read_text(encoding="utf-8"))


def _analyse(
    config: AnalysisConfig, options: PipelineOptions, work: Path, version_dir: Path, summary: dict
) -> None:
    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam

    from tendencias.models.features import preprocessing as pp

    kinds = [
        ("posts", pp.POST_FEATURE_SPEC, pp.make_posts_preprocessing_fn(config.top_k, config.min_frequency))
    ]
    if summary["sales"]:
        kinds.append(("sales", pp.SALE_FEATURE_SPEC, pp.sales_preprocessing_fn))
    with beam.Pipeline(options=options) as p, tft_beam.Context(temp_dir=str(work / "tft")):
        for kind, spec, preprocessing_fn in kinds:
            name = kind.capitalize()
            metadata = tft.DatasetMetadata.from_feature_spec(spec)
            instances = (
                p
                | f"Read{name}" >> beam.io.ReadFromText(str(work / kind) + "-*.jsonl")
                | f"Decode{name}" >> beam.Map(json.loads)
            )
            transform_fn = (instances, metadata) | f"Analyze{name}" >> tft_beam.AnalyzeDataset(
                preprocessing_fn
            )
            _ = transform_fn | f"Write{name}TransformFn" >> tft_beam.WriteTransformFn(str(version_dir / kind))


def _vocabulary_sizes(version_dir: Path) -> dict[str, int]:
    import tensorflow_transform as tft

    sizes = {}
    for kind, keys in (
        ("posts", (fk.TOKENS, *fk.CATEGORICAL_POST_KEYS)),
        ("sales", fk.CATEGORICAL_SALE_KEYS),
    ):
        if (version_dir / kind).is_dir():
            output = tft.TFTransformOutput(str(version_dir / kind))
            sizes.update({f"{kind}.{k}": output.vocabulary_size_by_name(fk.vocab_name(k)) for k in keys})
    return sizes


def _fit_meaning(config: AnalysisConfig, work: Path, version_dir: Path, output: Path) -> dict:
    """Topic and segment models of the window, beside the transform_fn (models/topics/analysis.py);
    topics keep the ids of the version LATEST names, when they match."""
    if not config.topics:
        return {"topics": None, "segments": None}
    import tensorflow_transform as tft

    from tendencias.models.topics.analysis import fit_meaning

    _progress("fitting the topic and segment models")
    posts = tft.TFTransformOutput(str(version_dir / fk.POSTS_DIR))
    vocabulary = [t.decode("utf-8") for t in posts.vocabulary_by_name(fk.vocab_name(fk.TOKENS))]
    previous = transform_store.read_latest(str(output))
    return fit_meaning(
        work,
        version_dir,
        vocabulary,
        output / previous if previous else None,
        config.topic_method,
        None if config.topics == "auto" else int(config.topics),
    )


def run_analysis(config: AnalysisConfig, options: PipelineOptions | None = None) -> str:
    """Analyses the window and points LATEST at the new version; returns the version.

    Raises WindowTooShort (nothing written but dead letters) when the window is too small.
    """
    options = options or PipelineOptions([])
    output = Path(config.output)
    output.mkdir(parents=True, exist_ok=True)
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    work = output / f".work-{run_id}"
    started = time.monotonic()
    try:
        _progress(
            f"selecting the window from {config.history}{' and ' + config.sales if config.sales else ''}"
        )
        summary = _select(config, options, work, str(output / "dead_letter" / run_id))
        window_start = summary["as_of_ms"] - int(config.window_seconds * 1000)
        _progress(
            f"window [{iso_utc(window_start)}, {iso_utc(summary['as_of_ms'])}): {summary['posts']} posts, "
            f"{summary['sales']} sales; {summary['dead_letters']} malformed lines in dead_letter/{run_id}*"
            f" ({time.monotonic() - started:.1f}s)"
        )
        if summary["posts"] < config.min_posts:
            raise WindowTooShort(
                f"the window [{iso_utc(window_start)}, {iso_utc(summary['as_of_ms'])}) holds {summary['posts']} "
                f"posts, fewer than --min_posts {config.min_posts}: widen --window, move --as_of, or wait for more "
                f"history; LATEST still names {transform_store.read_latest(str(output))}"
            )
        version = transform_store.new_version(window_start, summary["as_of_ms"])
        version_dir = output / version
        if version_dir.exists():
            raise RuntimeError(
                f"{version_dir} already exists: another analysis of this window ran this second"
            )
        _progress(f"analysing into {version_dir} (TF-Transform)")
        try:
            _analyse(config, options, work, version_dir, summary)
            meaning = _fit_meaning(config, work, version_dir, output)
            transform_store.write_metadata(
                str(version_dir),
                {
                    "version": version,
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                    "window": {
                        "start": iso_utc(window_start),
                        "end": iso_utc(summary["as_of_ms"]),
                        "seconds": config.window_seconds,
                        "as_of_from": summary["as_of_from"],
                    },
                    "counts": {k: summary[k] for k in ("posts", "sales", "dead_letters", "lines")},
                    "vocabulary_sizes": _vocabulary_sizes(version_dir),
                    **meaning,
                    "params": {"top_k": config.top_k, "min_frequency": config.min_frequency},
                    "history": config.history,
                    "sales_history": config.sales or None,
                },
            )
        except BaseException:
            shutil.rmtree(version_dir, ignore_errors=True)
            raise
        transform_store.write_latest(str(output), version)
        removed = transform_store.prune_versions(str(output), config.keep_versions)
        _progress(
            f"LATEST -> {version} in {time.monotonic() - started:.1f}s"
            + (f"; removed {len(removed)} old versions" if removed else "")
        )
        return version
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str]) -> int:
    os.environ.setdefault(
        "TF_CPP_MIN_LOG_LEVEL", "2"
    )  # TensorFlow's start-up chatter hides the progress lines
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        options = parse_pipeline_options(
            argv,
            prog="tendencias analyze",
            description=__doc__.splitlines()[0],
            option_classes=(AnalyzeOptions, OutputHelp),
        )
        config = analysis_config(options)
        interval = config.every_s
        choose_runner(options, "DirectRunner")
    except (UsageError, ValueError) as err:
        print(f"tendencias analyze: {err}", file=sys.stderr)
        return EXIT_USAGE_OR_SHORT_WINDOW
    while True:
        status = _run_once(config, options)
        if interval is None:
            return status
        _progress(f"next analysis in {interval:g} s (Ctrl-C to stop)")
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            return status


def _run_once(config: AnalysisConfig, options: PipelineOptions) -> int:
    try:
        run_analysis(config, options)
        return EXIT_OK
    except WindowTooShort as err:
        print(f"tendencias analyze: {err}", file=sys.stderr)
        return EXIT_USAGE_OR_SHORT_WINDOW
    except Exception as err:
        logging.exception("analysis failed")
        print(
            f"tendencias analyze: analysis failed, LATEST unchanged: {type(err).__name__}: {err}",
            file=sys.stderr,
        )
        return EXIT_FAILED
