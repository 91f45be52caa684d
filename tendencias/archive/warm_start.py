"""Warm start: which archived posts and sales rebuild the trend state of a restarting job.

A job on a runner that keeps no state (Prism, DirectRunner) starts with empty windows and
baselines: without help it could not alert for `--warmup` and would count the windows open at
the restart from the records it reads again only. So, before the live read, the trend stage
is fed the archive's last `span` of enriched posts (and sales): by default the warm-up, the
longest window and the allowed lateness, so every horizon is warm and whole at once.

An archived record is taken unless this run will read it again from Kafka: its `origin` is a
partition this run reads, at or past the offset the run starts from (it was archived, but its
offset not yet committed). Copies of one record (an at-least-once archive may hold two) count
once. The records are already redacted, tokenised and scored for sentiment, so they join the
stream at the trend stage (transforms/warm_start.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from tendencias.archive.files import archive_files, hour_of, read_file
from tendencias.archive.layout import HOUR_MS
from tendencias.archive.records import parse_origin
from tendencias.records import parse_time_ms

WARM_KINDS = ("posts", "sales")


class WarmStartPlan(NamedTuple):
    """Made before the job starts: what to read, and what not to take from it."""

    files: tuple[tuple[str, str], ...]  # (posts | sales, path), oldest hour first
    since_ms: int  # records older than this are not taken
    until_ms: int  # the end of the newest hour archived
    newest_ms: int | None  # the newest archived post's event time
    starts: tuple[tuple[str, int, int], ...]  # (topic, partition, first offset this run reads)

    def start_of(self) -> dict[tuple[str, int], int]:
        return {(topic, partition): offset for topic, partition, offset in self.starts}


def plan_warm_start(
    directory: str | Path, span_ms: int, starts: dict[tuple[str, int], int]
) -> WarmStartPlan | None:
    """The files of the archive's last `span_ms` (by their hour folders; files outside the
    layout are all read and filtered by time); None when the archive holds no posts."""
    found = {what: archive_files(directory, what, (".jsonl", ".parquet")) for what in WARM_KINDS}
    hours = [hour for path in found["posts"] if (hour := hour_of(path)) is not None]
    if not found["posts"]:
        return None
    if hours:
        until = max(hours) + HOUR_MS
    else:  # an archive of the older layout: its newest post is found as it is read
        until = 2**62
    since = until - span_ms
    files = []
    for what in WARM_KINDS:
        for path in found[what]:
            hour = hour_of(path)
            if hour is None or hour + HOUR_MS > since:
                files.append((hour or 0, what, str(path)))
    files.sort()
    newest_hour = [path for path in found["posts"] if hours and hour_of(path) == max(hours)]
    return WarmStartPlan(
        tuple((what, path) for _, what, path in files),
        since if hours else 0,
        until,
        newest_event_ms(newest_hour),
        tuple(sorted((topic, partition, offset) for (topic, partition), offset in starts.items())),
    )


def newest_event_ms(paths: Iterable[Path]) -> int | None:
    """The latest `created_at` of the posts in these files."""
    newest = None
    for path in paths:
        for record in read_file(path):
            try:
                at = parse_time_ms(record["created_at"], "created_at")
            except (KeyError, ValueError):
                continue
            newest = at if newest is None else max(newest, at)
    return newest


def taken(record: dict, event_ms: int, plan: WarmStartPlan, start_of: dict[tuple[str, int], int]) -> bool:
    """Whether an archived record joins the warm start (see module docstring)."""
    if event_ms < plan.since_ms:
        return False
    origin = parse_origin(record.get("origin"))
    if origin is None:
        return True
    start = start_of.get((origin.topic, origin.partition))
    return start is None or origin.offset < start
