"""Where a restarted `tendencias run` resumes, decided before it starts (pipelines/resume.py,
archive/warm_start.py): the commit policy per runner, the hold of commits, the warm start's
files and which archived records it takes, and the new flags failing fast."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from tendencias.archive.warm_start import plan_warm_start, taken
from tendencias.pipelines.config import UsageError, job_config
from tendencias.pipelines.resume import commit_policy, in_process, longest_open_ms, plan_resume

HOUR = 3_600_000
T0 = 1_788_220_800_000  # 2026-09-01T00:00:00Z


def options(*flags: str) -> PipelineOptions:
    return PipelineOptions(list(flags))


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--runner=PrismRunner"], True),
        (["--runner=DirectRunner"], True),
        (["--runner=PrismRunner", "--environment_type=DOCKER"], False),
        (["--runner=DirectRunner", "--direct_running_mode=multi_processing"], False),
        (["--runner=FlinkRunner"], False),
        (["--runner=DataflowRunner"], False),
    ],
)
def test_durable_commits_where_the_harness_runs_in_this_process(flags, expected):
    assert in_process(options(*flags)) is expected
    config = job_config({})
    assert commit_policy(options(*flags), config) == ("durable" if expected else "finalize")


def test_durable_commits_are_refused_where_they_cannot_hold():
    config = job_config({"commit_policy": "durable"})
    with pytest.raises(UsageError, match="--commit_policy durable"):
        commit_policy(options("--runner=FlinkRunner"), config)


def test_without_an_archive_commits_wait_for_the_longest_window_and_the_lateness():
    config = job_config({})  # default flags: 15m/3m and 1d/1h, 10m allowed lateness
    assert longest_open_ms(config) == 24 * HOUR + 10 * 60_000
    resume = plan_resume(options("--runner=FlinkRunner"), config)
    assert (resume.commit, resume.hold_s, resume.warm_start) == ("finalize", 86_400 + 600, None)


@pytest.mark.parametrize("value, seconds", [("auto", None), ("0", 0.0), ("off", 0.0), ("30h", 108_000.0)])
def test_warm_start_flag(value, seconds):
    assert job_config({"warm_start": value}).kafka.warm_start_s == seconds


@pytest.mark.parametrize(
    "flag, value", [("warm_start", "soon"), ("drain_timeout", "-1m"), ("archive_flush", "0")]
)
def test_bad_values_of_the_new_flags_name_them(flag, value):
    with pytest.raises(UsageError, match=f"--{flag}"):
        job_config({flag: value})


def archived(directory: Path, what: str, hour_ms: int, records: list[dict]) -> None:
    from datetime import UTC, datetime

    at = datetime.fromtimestamp(hour_ms / 1000, UTC)
    folder = directory / what / f"{at:%Y-%m-%d}" / f"{at:%H}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{what}-x.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_the_warm_start_reads_the_last_span_and_leaves_what_kafka_gives_again(tmp_path):
    for hour in range(40):  # 40 hours of archive, one post and one sale an hour
        at = f"2026-09-{1 + hour // 24:02d}T{hour % 24:02d}:20:00Z"
        archived(
            tmp_path,
            "posts",
            T0 + hour * HOUR,
            [{"id": f"p{hour}", "origin": f"posts:0:{hour}", "created_at": at}],
        )
        archived(tmp_path, "sales", T0 + hour * HOUR, [{"sku": "s", "origin": f"sales:0:{hour}"}])
    plan = plan_warm_start(tmp_path, 31 * HOUR, {("posts", 0): 38, ("sales", 0): 40})
    assert plan.until_ms == T0 + 40 * HOUR and plan.since_ms == T0 + 9 * HOUR
    assert plan.newest_ms == T0 + 39 * HOUR + 20 * 60_000  # the newest post, read from its hour
    hours = {Path(path).parent for _, path in plan.files if "/posts/" in path}
    assert len(hours) == 31  # the folders of the span, not the older ones
    start_of = plan.start_of()
    at = T0 + 37 * HOUR
    assert taken({"origin": "posts:0:37"}, at, plan, start_of)  # committed: not read again
    assert not taken({"origin": "posts:0:38"}, at, plan, start_of)  # Kafka gives it again
    assert taken({"origin": "/data/backfill.jsonl:0:5"}, at, plan, start_of)  # from a file
    assert taken({}, at, plan, start_of)  # an archive older than origins
    assert not taken({"origin": "posts:0:3"}, T0 + 3 * HOUR, plan, start_of)  # before the span


def test_no_warm_start_without_archived_posts(tmp_path):
    assert plan_warm_start(tmp_path, HOUR, {}) is None
