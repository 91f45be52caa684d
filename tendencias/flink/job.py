"""The DataStream graph and its two entry points: `run` (Kafka, streaming, checkpointed) and
`backfill` (a JSONL file, bounded, DIR/trends.jsonl as `tendencias backfill` writes it)."""

from __future__ import annotations

import glob
import json
import logging
import os
import sys
from pathlib import Path
from typing import NamedTuple

from pyflink.common import Configuration, Duration, Row, Types, WatermarkStrategy
from pyflink.common.watermark_strategy import TimestampAssigner
from pyflink.datastream import CheckpointingMode, DataStream, StreamExecutionEnvironment

from tendencias.flink.dead_letters import DEAD_LETTERS
from tendencias.flink.grouping import GroupAlertsFn, is_episode
from tendencias.flink.kafka import (
    KEYED_BYTES,
    RAW_RECORD,
    keyed_json,
    posts_source,
    transactional_sink,
    trend_key,
)
from tendencias.flink.options import FlinkJobConfig, latest_checkpoint, parse
from tendencias.flink.scoring import VOLUMES, ScoreKeysFn, key_posts
from tendencias.flink.stages import EnrichPostFn, ParsePostFn
from tendencias.flink.stories import AssignClustersFn
from tendencias.flink.volumes import StreamVolumesFn
from tendencias.pipelines.config import StoriesConfig, UsageError
from tendencias.pipelines.trend_files import finish, to_json
from tendencias.records import parse_post

PICKLED = Types.PICKLED_BYTE_ARRAY()
JARS_ENV = "TENDENCIAS_FLINK_JARS"  # the folder scripts/flink.sh fetched the connector jars into
_LOG = logging.getLogger(__name__)


class TrendStreams(NamedTuple):
    trends: DataStream
    alerts: DataStream
    dead_letters: DataStream


class PostTime(TimestampAssigner):
    def extract_timestamp(self, value, record_timestamp) -> int:
        return int(value["event_time_ms"])


def build_graph(raw: DataStream, config: FlinkJobConfig, strategy: WatermarkStrategy) -> TrendStreams:
    """Raw records (RAW_RECORD rows) -> trends, alerts and dead letters."""
    scoring = config.scoring
    parsed = raw.process(ParsePostFn(), output_type=PICKLED).name("ParsePosts")
    local_model = getattr(config.args, "sentiment_local_model", "") or None
    enriched = parsed.process(EnrichPostFn(config.keep_handles, local_model), output_type=PICKLED).name(
        "CleanTokensSentiment"
    )
    dead = parsed.get_side_output(DEAD_LETTERS).union(enriched.get_side_output(DEAD_LETTERS))
    timed = enriched.assign_timestamps_and_watermarks(strategy.with_timestamp_assigner(PostTime()))
    stories = StoriesConfig()
    if stories.on:  # one sequence of clusters over the whole stream: one key
        timed = (
            timed.key_by(lambda _: 0, key_type=Types.INT())
            .process(AssignClustersFn(stories.params(scoring.trend_window)), output_type=PICKLED)
            .name("StoryClusters")
        )
    volumes = (
        timed.key_by(lambda _: 0, key_type=Types.INT())
        .process(StreamVolumesFn(scoring), output_type=PICKLED)
        .name("StreamVolumes")
        .broadcast(VOLUMES)
    )
    kinds = scoring.kinds
    scored = (
        timed.flat_map(lambda post: key_posts(post, kinds), output_type=PICKLED)
        .name("KeyPosts")
        .key_by(lambda value: value[0], key_type=Types.STRING())
        .connect(volumes)
        .process(ScoreKeysFn(scoring), output_type=PICKLED)
        .name("ScoreKeys")
    )
    grouped = (
        scored.filter(is_episode)
        .key_by(lambda _: 0, key_type=Types.INT())
        .process(GroupAlertsFn(scoring.grouper()), output_type=PICKLED)
        .name("GroupAlerts")
    )
    records = scored.filter(lambda s: not is_episode(s)).map(lambda s: s.record, output_type=PICKLED)
    trends = records.union(grouped)
    alerts = trends.filter(lambda record: record.get("severity") == "alert")
    return TrendStreams(trends, alerts, dead)


def environment(config: FlinkJobConfig, streaming: bool) -> StreamExecutionEnvironment:
    conf = Configuration()
    conf.set_string("python.executable", sys.executable)
    jars = Path(os.environ.get(JARS_ENV, ".scratch/flink/jars")).resolve()
    found = sorted(glob.glob(str(jars / "*.jar")))
    if streaming and not any("flink-connector-kafka" in j for j in found):
        raise UsageError(f"no Kafka connector jar in {jars}: run scripts/flink.sh setup (or set {JARS_ENV})")
    conf.set_string("pipeline.jars", ";".join("file://" + j for j in found))
    conf.set_string("python.fn-execution.bundle.time", "100")  # ms: a live post is not held back
    if streaming:
        conf.set_string("state.backend.type", "hashmap")
        conf.set_string("execution.checkpointing.dir", config.checkpoint_dir.as_uri())
        conf.set_string("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION")
        conf.set_string("execution.checkpointing.num-retained", "3")
        conf.set_string("restart-strategy.type", "fixed-delay")
        conf.set_string("restart-strategy.fixed-delay.attempts", "3")
        conf.set_string("restart-strategy.fixed-delay.delay", "2s")
        restore = latest_checkpoint(config.checkpoint_dir) if config.restore == "latest" else config.restore
        if restore:
            _LOG.warning("restoring from checkpoint %s", restore)
            print(f"[flink] restoring from {restore}", file=sys.stderr, flush=True)
            conf.set_string("execution.state-recovery.path", str(restore))
        elif config.restore == "latest":
            print(f"[flink] no checkpoint under {config.checkpoint_dir}: starting fresh", file=sys.stderr)
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.set_parallelism(config.args.parallelism)
    if streaming:
        env.enable_checkpointing(config.checkpoint_interval_ms, CheckpointingMode.EXACTLY_ONCE)
    return env


def run(config: FlinkJobConfig) -> None:
    args = config.args
    env = environment(config, streaming=True)
    source = posts_source(args.kafka_bootstrap, args.posts_topic, args.group_id, bounded=args.bounded)
    raw = env.from_source(source, WatermarkStrategy.no_watermarks(), "ReadPosts", RAW_RECORD)
    strategy = WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_millis(config.out_of_orderness_ms))
    if config.idleness_ms:
        strategy = strategy.with_idleness(Duration.of_millis(config.idleness_ms))
    streams = build_graph(raw, config, strategy)
    exactly_once = not args.at_least_once
    prefix = f"tendencias-flink-{args.group_id}"
    for stream, topic, role, key in (
        (streams.trends, args.scores_topic, "scores", trend_key),
        (streams.alerts, args.alerts_topic, "alerts", trend_key),
        (streams.dead_letters, args.dead_letter_topic, "dead", None),
    ):
        if not topic:
            continue
        rows = stream.map(lambda r, key=key: keyed_json(r, key(r) if key else None), output_type=KEYED_BYTES)
        rows.sink_to(transactional_sink(args.kafka_bootstrap, topic, f"{prefix}-{role}", exactly_once)).name(
            f"Write{role.title()}"
        )
    env.execute(f"tendencias-flink {args.group_id}")


def _event_time(value: bytes) -> int:
    """A line's event time for the ordering; lines that do not parse (dead letters) go first."""
    try:
        return parse_post(value)["event_time_ms"]
    except Exception:
        return -1


def backfill(config: FlinkJobConfig) -> dict:
    args = config.args
    output = Path(args.output)
    paths = sorted(
        {p for pattern in args.input.split(",") if pattern.strip() for p in glob.glob(pattern.strip())}
    )
    if not paths:
        raise UsageError(f"no file matches {args.input!r}")
    env = environment(config, streaming=False)
    # Each line as a raw record, as `tendencias backfill` reads it (topic = path, offset = line).
    rows = [
        Row(line.rstrip(b"\r\n"), path, 0, number, 0)
        for path in paths
        for number, line in enumerate(open(path, "rb"))
        if line.strip()
    ]
    # In event-time order with a watermark right behind: no post is late, as in a bounded Beam
    # run, and state holds only the open periods (without a watermark until the end of the
    # input, every key would hold all of its periods, and each post would rewrite them).
    rows.sort(key=lambda row: _event_time(row[0]))
    raw = env.from_collection(rows, type_info=RAW_RECORD)
    streams = build_graph(raw, config, WatermarkStrategy.for_monotonous_timestamps())
    tagged = streams.trends.map(lambda r: ("trends", r), output_type=PICKLED).union(
        streams.dead_letters.map(lambda d: ("dead", d), output_type=PICKLED)
    )
    work = output / "_work"
    work.mkdir(parents=True, exist_ok=True)
    with (
        open(work / "trends-flink.part", "w", encoding="utf-8") as trends,
        open(work / "dead-flink.part", "w", encoding="utf-8") as dead,
    ):
        with tagged.execute_and_collect("tendencias-flink backfill") as results:
            for what, record in results:
                (trends if what == "trends" else dead).write(to_json(record) + "\n")
    return finish(output)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = parse(sys.argv[1:] if argv is None else argv)
        if config.command == "run":
            run(config)
            return 0
        summary = backfill(config)
    except UsageError as err:
        print(f"tendencias flink: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary), file=sys.stderr)
    print(f"wrote {summary['trends']} trend records ({summary['alerts']} alerts)", file=sys.stderr)
    return 0
