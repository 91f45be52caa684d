"""The Flink job's flags (tendencias/flink/options.py, Beam-free, so it runs here): the trend
flags are the Beam job's, with its defaults; bad values name their flag."""

from __future__ import annotations

import dataclasses

import pytest

from tendencias.flink.options import parse
from tendencias.models.trends.config import TrendScoringConfig
from tendencias.pipelines.config import UsageError


def test_trend_flags_have_the_beam_jobs_names_and_defaults():
    config = parse(["run"])
    assert dataclasses.asdict(config.scoring) == dataclasses.asdict(TrendScoringConfig())
    tuned = parse(
        ["run", "--trend_window=10m", "--trend_slide=5m", "--alert_score=7", "--trend_kinds=brand,term"]
    )
    assert [h.name for h in tuned.scoring.horizons()] == ["10m", "1d"]
    assert tuned.scoring.alert_score == 7.0 and tuned.scoring.kinds == ("brand", "term")


def test_kafka_and_file_flags_are_the_beam_jobs():
    run = parse(["run", "--posts_topic=p", "--scores_topic=s", "--dead_letter_topic=d", "--group_id=g"])
    assert (run.args.posts_topic, run.args.scores_topic, run.args.dead_letter_topic) == ("p", "s", "d")
    assert run.checkpoint_dir.name == "g"
    backfill = parse(["backfill", "--input", "posts.jsonl", "--output", "out"])
    assert (backfill.args.input, backfill.args.output) == ("posts.jsonl", "out")


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["run", "--trend_window=7m", "--trend_slide=2m"], "trend_window"),
        (["run", "--checkpoint_interval=soon"], "--checkpoint_interval"),
        (["run", "--out_of_orderness=-3"], "--out_of_orderness"),
        (["run", "--parallelism=0"], "--parallelism"),
        (["backfill", "--input", "x.jsonl"], "--output"),
    ],
)
def test_bad_values_name_their_flag(argv, flag):
    with pytest.raises(UsageError, match=flag):
        parse(argv)
