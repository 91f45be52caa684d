"""Command-line options of the pipelines: parsed through view_as, bad values fail fast."""

from __future__ import annotations

import pytest

from tendencias.pipelines.config import (
    FileOptions,
    KafkaOptions,
    TrendJobOptions,
    TrendScoringOptions,
    UsageError,
    job_config,
    parse_pipeline_options,
    trend_scoring_config,
)

CLASSES = (KafkaOptions, TrendJobOptions, TrendScoringOptions, FileOptions)


def parse(*argv: str):
    return parse_pipeline_options(list(argv), prog="test", description="d", option_classes=CLASSES)


def test_flags_reach_their_option_class():
    options = parse(
        "--kafka_bootstrap=b:9092",
        "--posts_topic=p",
        "--bounded",
        "--features_batch_size=64",
        "--input=a.jsonl",
        "--output=out",
    )
    kafka = options.view_as(KafkaOptions)
    assert (kafka.kafka_bootstrap, kafka.posts_topic, kafka.bounded) == ("b:9092", "p", True)
    assert options.view_as(TrendJobOptions).features_batch_size == 64
    assert options.view_as(FileOptions).input == "a.jsonl"


def test_an_unknown_flag_is_refused_not_ignored():
    with pytest.raises(UsageError, match="--trend_windw"):
        parse("--trend_windw=10m")


def test_a_bad_choice_stops_the_parser():
    with pytest.raises(SystemExit) as exit_:
        parse("--sentiment_backend=gpt")
    assert exit_.value.code == 2
    with pytest.raises(SystemExit):
        parse("--sentiment_local_tier=best")


def test_trend_flags_build_the_scoring_config():
    config = trend_scoring_config(
        parse(
            "--trend_window=10m",
            "--trend_slide=2m",
            "--trend_kinds=term,hashtag",
            "--alert_score=9",
            "--min_count=7",
        )
    )
    assert (config.trend_window, config.trend_slide) == (600.0, 120.0)
    assert config.kinds == ("term", "hashtag")
    assert (config.alert_score, config.min_count) == (9.0, 7)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--trend_window=10m", "--trend_slide=3m"], "multiple"),
        (["--trend_window=soon"], "trend_window"),
        (["--trend_kinds=term,mood"], "mood"),
    ],
)
def test_bad_trend_values_name_what_to_fix(argv, words):
    with pytest.raises(UsageError, match=words):
        trend_scoring_config(parse(*argv))


def test_job_config_checks_features_and_sentiment_before_the_job_starts(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UsageError, match="features_refresh"):
        job_config(parse("--features_refresh=often"))
    with pytest.raises(UsageError, match="OPENAI_API_KEY"):
        job_config(parse("--sentiment_backend=openai"))
    with pytest.raises(UsageError, match="--features_batch_size must be at least 1"):
        job_config(parse("--features_batch_size=0"))
    with pytest.raises(UsageError, match="--duration"):
        job_config(parse("--duration=forever"))
    config = job_config(parse("--keep_handles=@AndinaCola, @SelvaFresh", "--transform_dir="))
    assert config.cleaning.keep_handles == ("@AndinaCola", "@SelvaFresh")
    assert config.features.transform_dir is None
    assert config.sentiment.backend == "local"
    assert config.sentiment.local_tier == "standard"
    assert config.kafka.duration_s is None
    assert job_config(parse("--sentiment_local_tier=accurate")).sentiment.local_tier == "accurate"


def test_the_config_is_frozen_and_typed():
    import dataclasses

    config = job_config(parse("--duration=10m", "--sentiment_local_threshold=1.5", "--bounded"))
    assert (config.kafka.duration_s, config.kafka.bounded) == (600.0, True)
    assert config.sentiment.local_confidence_threshold is None  # above 1: every post to the API
    assert config.sinks.bigquery_triggering_frequency_s == 60
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.kafka.bounded = False


def test_backfill_refuses_missing_flags_and_files(tmp_path, capsys):
    from tendencias.pipelines import backfill

    assert backfill.main(["--output", str(tmp_path)]) == 2
    assert "--input" in capsys.readouterr().err
    assert backfill.main(["--input", str(tmp_path / "nope*.jsonl"), "--output", str(tmp_path / "o")]) == 2
    assert "no file matches" in capsys.readouterr().err


def test_run_without_a_prism_binary_says_how_to_get_one(monkeypatch, tmp_path, capsys):
    from tendencias.pipelines import streaming

    monkeypatch.setenv("TENDENCIAS_PRISM", str(tmp_path / "missing-prism"))
    assert streaming.main(["--sentiment_backend=local"]) == 2
    assert "scripts/prism.sh" in capsys.readouterr().err


def test_optional_sinks_join_the_graph_when_their_flags_are_set(tmp_path):
    import apache_beam as beam

    from tendencias.pipelines import backfill

    (tmp_path / "posts.jsonl").write_text('{"id": "1", "text": "hola", "created_at": 1700000000000}\n')
    options = parse(
        f"--input={tmp_path / 'posts.jsonl'}",
        f"--output={tmp_path / 'out'}",
        "--bigquery_table=proj:ds.trends",
        "--bigquery_write_method=FILE_LOADS",
        f"--archive_dir={tmp_path / 'archive'}",
        "--sentiment_backend=local",
    )
    pipeline = beam.Pipeline(options=options)
    backfill.build_pipeline(pipeline, options)
    labels = {t.full_label for t in pipeline._current_transform().parts}
    assert {"WriteTrendsToBigQuery", "ArchivePosts", "ArchiveTrends", "AllDeadLetters"} <= labels
    bad = parse(
        f"--input={tmp_path / 'posts.jsonl'}",
        f"--output={tmp_path / 'o2'}",
        "--bigquery_table=p:d.t",
        "--bigquery_triggering_frequency=x",
    )
    with pytest.raises(UsageError, match="bigquery_triggering_frequency"):
        backfill.build_pipeline(beam.Pipeline(options=bad), bad)


@pytest.mark.parametrize("briefs", ["", "briefs"])
def test_run_builds_with_or_without_the_trends_own_dead_letters(briefs):
    import apache_beam as beam

    from tendencias.pipelines import streaming

    options = parse(
        "--kafka_bootstrap=127.0.0.1:9",  # never contacted: the graph is only built
        f"--briefs_topic={briefs}",
        "--commit_policy=finalize",
        "--sentiment_backend=local",
    )
    pipeline = beam.Pipeline(options=options)
    streaming.build_pipeline(pipeline, options)
    labels = {t.full_label for t in pipeline._current_transform().parts}
    assert {"WriteTrends", "RecordsDeadLetters"} <= labels
    assert ("TrendsDeadLetters" in labels) == bool(briefs)  # the briefs' failures go there


def test_prism_never_splits_a_bundle_that_may_run_timers(tmp_path):
    # apache/beam#35771: a split of a bundle with timers loses them, and an ordered stage's
    # buffer then waits for good; a DirectRunner job is left as it is.
    from apache_beam.options.pipeline_options import DebugOptions, PipelineOptions

    from tendencias.pipelines.runner import choose_runner

    binary = tmp_path / "prism"
    binary.write_text("")
    prism = PipelineOptions([f"--prism_location={binary}"])
    choose_runner(prism, "PrismRunner")
    assert "prism_disable_sdf_split" in prism.view_as(DebugOptions).experiments
    direct = PipelineOptions([])
    choose_runner(direct, "DirectRunner")
    assert "prism_disable_sdf_split" not in (direct.view_as(DebugOptions).experiments or [])
