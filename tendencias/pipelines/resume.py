"""Where `tendencias run` resumes, decided before the job starts.

- The commit policy (transforms/kafka/durable.py): "durable" where the SDK harness runs in this
  process and nothing survives a restart (Prism, DirectRunner, with the LOOPBACK environment
  they use by default), "finalize" elsewhere (Flink and Dataflow checkpoint the job's state).
- The first offset of each partition and `durable_ms`, read from the consumer group's commits:
  windows ending at or before it were written by an earlier run, so this run does not emit
  them again (the revisions late posts make pass). A group without it (a first start on an
  archive a backfill wrote, or a runner that commits on finalisation) takes the newest
  archived post's time instead: the windows the warm start alone makes are not sent.
- The warm start (archive/warm_start.py): the archived posts and sales of the last span, minus
  those this run reads again from Kafka.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from apache_beam.options.pipeline_options import (
    DirectOptions,
    PipelineOptions,
    PortableOptions,
    StandardOptions,
)

from tendencias.archive.warm_start import WarmStartPlan, plan_warm_start
from tendencias.errors import UsageError
from tendencias.pipelines.config import JobConfig

LOG = logging.getLogger(__name__)


class Resume(NamedTuple):
    commit: str  # durable | finalize
    hold_s: float  # durable commits: how far a batch trails the watermark after the sinks
    emitted_through_ms: int | None  # windows ending at or before this were already written
    warm_start: WarmStartPlan | None


def in_process(options: PipelineOptions) -> bool:
    """Whether the job's SDK harness runs in this process (Prism or DirectRunner, LOOPBACK)."""
    runner = str(options.view_as(StandardOptions).runner or "").lower()
    if "prism" not in runner and "direct" not in runner:
        return False
    if options.view_as(DirectOptions).direct_running_mode == "multi_processing":
        return False
    return (options.view_as(PortableOptions).environment_type or "LOOPBACK").upper() == "LOOPBACK"


def commit_policy(options: PipelineOptions, config: JobConfig) -> str:
    policy = config.kafka.commit_policy
    if policy == "auto":
        return "durable" if in_process(options) else "finalize"
    if policy == "durable" and not in_process(options):
        raise UsageError(
            "--commit_policy durable needs the SDK harness in this process (Prism or DirectRunner "
            "with the LOOPBACK environment); on other runners use finalize (their checkpoints hold state)"
        )
    return policy


def longest_open_ms(config: JobConfig) -> int:
    """The longest window plus the allowed lateness: how long a record can still change output."""
    longest = max(h.size_ms for h in config.scoring.horizons())
    return longest + int(config.scoring.allowed_lateness * 1000)


def group_position(config: JobConfig) -> tuple[dict[tuple[str, int], int], int | None]:
    """Where this run's readers start in each partition (as they will resolve it) and the
    latest `durable_ms` of the group's commits (None: none, or not starting from commits)."""
    from kafka import TopicPartition

    from tendencias.transforms.kafka.config import new_consumer
    from tendencias.transforms.kafka.offsets import read_durable, resolve_start_offsets

    kafka = config.kafka
    topics = [t for t in (kafka.posts_topic, kafka.sales_topic) if t]
    consumer = new_consumer(kafka.bootstrap, kafka.group_id, {})
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return {}, None
        starts = resolve_start_offsets(consumer, partitions, kafka.start_offset)
        durable = None
        if kafka.start_offset == "committed":
            marks = [
                read_durable(getattr(consumer.committed(tp, metadata=True), "metadata", None))
                for tp in partitions
            ]
            durable = max((m for m in marks if m is not None), default=None)
    finally:
        consumer.close(autocommit=False)
    return {(tp.topic, tp.partition): start for tp, (start, _) in starts.items()}, durable


def plan_resume(options: PipelineOptions, config: JobConfig) -> Resume:
    commit = commit_policy(options, config)
    archive = config.sinks.archive_dir
    hold_s = 0.0 if archive else longest_open_ms(config) / 1000
    span_s = config.kafka.warm_start_s
    if span_s is None:  # auto: the warm-up, the longest window and the allowed lateness
        span_s = config.scoring.warmup + longest_open_ms(config) / 1000
    wants_warm_start = bool(archive and span_s and "://" not in archive)
    if commit != "durable" and not wants_warm_start:
        return Resume(commit, hold_s, None, None)
    try:
        starts, durable_ms = group_position(config)
    except Exception as err:  # the broker is down or the group unreadable: say so before starting
        raise UsageError(
            f"could not read the position of group {config.kafka.group_id!r} on {config.kafka.bootstrap}: "
            f"{err} (the warm start and the durable commits need it; --warm_start off and "
            "--commit_policy finalize start without it)"
        ) from None
    plan = plan_warm_start(archive, int(span_s * 1000), starts) if wants_warm_start else None
    written = durable_ms if commit == "durable" else None
    if plan is not None:
        LOG.info("warm start: %d archive files from %s", len(plan.files), plan.since_ms)
        if written is None:  # no earlier run of this group said how far it wrote: the windows
            written = plan.newest_ms  # the warm start alone makes are not sent again
    return Resume(commit, hold_s, written, plan)
