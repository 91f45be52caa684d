"""`tendencias backfill --input FILE.jsonl --output DIR`: the trends graph over files, bounded.

Writes DIR/trends.jsonl (every Trend record, ordered by window end; alerts are the records
with severity "alert"), DIR/dead_letters.txt (one JSON dead letter per line) and
DIR/summary.json. The flags of this command are a stable contract.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from tendencias.pipelines.config import (
    FileOptions,
    TrendJobOptions,
    TrendScoringOptions,
    UsageError,
    job_config,
    parse_pipeline_options,
)
from tendencias.pipelines.graph import GraphOutputs, build_trends_graph, write_optional_sinks
from tendencias.pipelines.runner import run_pipeline
from tendencias.pipelines.trend_files import finish, to_json
from tendencias.transforms.file_io import ReadJsonlRecords, pattern_matches


def build_pipeline(p: beam.Pipeline, options: PipelineOptions) -> GraphOutputs:
    config = job_config(options)
    files = config.files
    work = Path(files.output) / "_work"
    raw_posts = p | "ReadPosts" >> ReadJsonlRecords(files.input)
    raw_sales = p | "ReadSales" >> ReadJsonlRecords(files.sales_input) if files.sales_input else None
    outputs = build_trends_graph(raw_posts, raw_sales, config)
    dead = [
        outputs.dead_letters,
        *write_optional_sinks(outputs, config.sinks).dead_letters,
    ] | "AllDeadLetters" >> beam.Flatten()
    for label, pcoll, name in (("Trends", outputs.trends, "trends"), ("DeadLetters", dead, "dead")):
        (
            pcoll
            | f"Encode{label}" >> beam.Map(to_json)
            | f"Write{label}" >> beam.io.WriteToText(str(work / name), file_name_suffix=".part")
        )
    return outputs


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        options = parse_pipeline_options(
            argv,
            prog="tendencias backfill",
            description=__doc__.splitlines()[0],
            option_classes=(FileOptions, TrendJobOptions, TrendScoringOptions),
        )
        files = job_config(options).files  # every flag checked before the runner starts
        if not files.input or not files.output:
            raise UsageError("--input FILE.jsonl and --output DIR are both required")
        for pattern in filter(None, [*files.input.split(","), *files.sales_input.split(",")]):
            if not pattern_matches(pattern.strip()):
                raise UsageError(f"no file matches {pattern.strip()!r}")
        output = Path(files.output)
        output.mkdir(parents=True, exist_ok=True)
        if (output / "_work").exists():
            shutil.rmtree(output / "_work")
        run_pipeline(options, build_pipeline, default_runner="DirectRunner")
    except UsageError as err:
        print(f"tendencias backfill: {err}", file=sys.stderr)
        return 2
    summary = finish(output)
    print(json.dumps(summary), file=sys.stderr)
    print(
        f"wrote {summary['trends']} trend records ({summary['alerts']} alerts) to {output / 'trends.jsonl'}",
        file=sys.stderr,
    )
    return 0
