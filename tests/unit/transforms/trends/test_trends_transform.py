"""ScoreTrends on DirectRunner: a planted burst alerts once, late data, redacted examples,
sales lift, and the same records as the in-memory replay (and, with Prism, on Prism)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from tendencias.models.trends.config import TrendScoringConfig
from tendencias.models.trends.replay import replay
from tendencias.transforms.trends.score import ScoreTrends

MIN = 60_000
HOUR = 60 * MIN
T0 = 1_704_085_200_000  # Monday 2024-01-01 00:00 in Lima
WORDS = [f"palabra{i}" for i in range(40)]
CONFIG = dict(long_window=0, trend_slide="5m", warmup="1h", allowed_lateness="10m")  # 5-minute periods


def post(n: int, t_ms: int, words: list[str], author: str | None = None, **extra) -> dict:
    text = " ".join(words)
    return {
        "id": f"p{n}",
        "event_time_ms": t_ms,
        "text": extra.pop("text", text),
        "text_clean": text,
        "tokens": words,
        "hashtags": [],
        "author": author or f"a{n}",
        "sentiment": {"score": 0.2, "model": "test-model"},
        "features_version": "fv1",
        **extra,
    }


def background(hours: int, per_hour: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    return [
        post(i, T0 + int(rng.random() * hours * HOUR), rng.sample(WORDS, 3), author=f"u{rng.randrange(50)}")
        for i in range(hours * per_hour)
    ]


def burst(at_ms: int, size: int, word: str = "sinazucar") -> list[dict]:
    return [
        post(10_000 + i, at_ms + i * 20_000, [word, WORDS[i % 40]], author=f"fan{i}") for i in range(size)
    ]


def timestamped(posts: list[dict]):
    return [TimestampedValue(p, p["event_time_ms"] / 1000) for p in posts]


def streaming_pipeline() -> TestPipeline:
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    return TestPipeline(options=options)


def test_a_planted_burst_raises_exactly_one_alert():
    posts = sorted(background(4, 40) + burst(T0 + 3 * HOUR + MIN, 15), key=lambda p: p["event_time_ms"])
    stream = TestStream()
    for hour in range(4):  # an hour of posts, then the watermark moves past them
        stream.add_elements(
            timestamped([p for p in posts if hour * HOUR <= p["event_time_ms"] - T0 < (hour + 1) * HOUR])
        )
        stream.advance_watermark_to((T0 + (hour + 1) * HOUR) / 1000)
    stream.advance_watermark_to_infinity()
    with streaming_pipeline() as p:
        out = p | stream | ScoreTrends(**CONFIG)
        alerts = out.alerts | beam.Map(lambda t: (t["kind"], t["key"], t["severity"], t["status"]))
        assert_that(alerts, equal_to([("term", "sinazucar", "alert", "new")]), label="OneAlert")
        updates = (
            out.trends
            | beam.Filter(lambda t: t["key"] == "sinazucar" and t["status"] == "ongoing")
            | beam.Map(lambda t: t["severity"])
        )
        assert_that(updates, lambda got: _all_watch(got), label="ThenUpdates")


def _all_watch(severities):
    assert severities and set(severities) == {"watch"}, severities


def _brand_posts(minutes: list[float], first_id: int = 0) -> list[dict]:
    return [
        post(first_id + i, T0 + 2 * HOUR + int(m * MIN), ["bebida", WORDS[first_id + i]], brand="Andina Cola")
        for i, m in enumerate(minutes)
    ]


def _late_data_pipeline(late_minute: float, watermark_minute: float):
    """Two posts of the brand at 2:01 and 2:02, the watermark past their period (2:05), then a
    post from 2:03 arrives when the watermark is at `watermark_minute`."""
    warm = background(2, 10)
    stream = (
        TestStream()
        .add_elements(timestamped(warm))
        .advance_watermark_to((T0 + 2 * HOUR) / 1000)
        .add_elements(timestamped(_brand_posts([1, 2])))
        .advance_watermark_to((T0 + 2 * HOUR + 6 * MIN) / 1000)
        .advance_watermark_to((T0 + 2 * HOUR + watermark_minute * MIN) / 1000)
        .add_elements(timestamped(_brand_posts([late_minute], first_id=20)))
        .advance_watermark_to_infinity()
    )
    return stream


def _brand_counts(trends):
    return (
        trends
        | beam.Filter(lambda t: t["kind"] == "brand" and t["window_end"] == "2024-01-01T07:05:00Z")
        | beam.Map(lambda t: (t["count"], t["status"]))
    )


def test_late_post_within_allowed_lateness_revises_its_window():
    with streaming_pipeline() as p:
        out = p | _late_data_pipeline(late_minute=3, watermark_minute=8) | ScoreTrends(**CONFIG)
        assert_that(_brand_counts(out.trends), equal_to([(2, None), (3, "revised")]))


def test_post_later_than_allowed_lateness_is_dropped():
    with streaming_pipeline() as p:
        out = p | _late_data_pipeline(late_minute=3, watermark_minute=30) | ScoreTrends(**CONFIG)
        assert_that(_brand_counts(out.trends), equal_to([(2, None)]))


def test_examples_carry_redacted_text_only():
    raw = "escríbeme al 987 654 321 por sinazucar"
    posts = background(3, 20) + [
        post(900 + i, T0 + 2 * HOUR + i * MIN, ["sinazucar", "<phone>"], author=f"f{i}", text=raw)
        for i in range(8)
    ]
    for p_ in posts[-8:]:
        p_["text_clean"] = "escríbeme al <phone> por sinazucar"
    with TestPipeline() as p:
        out = (p | beam.Create(timestamped(posts)), None) | ScoreTrends(**CONFIG)  # (posts, no sales)
        dumped = out.trends | beam.Map(lambda t: json.dumps(t, ensure_ascii=False))
        assert_that(dumped, lambda lines: _redacted(lines, raw))


def _redacted(lines, raw):
    assert lines, "no trends"
    assert not any("987 654 321" in line or raw in line for line in lines)
    examples = [e for line in lines for e in json.loads(line)["examples"]]
    assert any(e["text"] == "escríbeme al <phone> por sinazucar" for e in examples)


def test_beam_stage_matches_the_in_memory_replay():
    posts = background(8, 30) + burst(T0 + 6 * HOUR, 12)
    config = TrendScoringConfig(**{**CONFIG, "long_window": "2h", "long_slide": "30m"})
    expected = sorted(json.dumps(t, sort_keys=True) for t in replay(posts, config))
    assert any('"severity": "alert"' in line for line in expected)
    with TestPipeline() as p:
        out = p | beam.Create(timestamped(posts)) | ScoreTrends(config)
        assert_that(out.trends | beam.Map(lambda t: json.dumps(t, sort_keys=True)), equal_to(expected))


def test_streaming_path_matches_the_in_memory_replay_too():
    """Unbounded input takes the stateful path (state and timers per shard), bounded input a
    GroupByKey: both must score alike."""
    posts = sorted(background(5, 30) + burst(T0 + 4 * HOUR, 12), key=lambda p: p["event_time_ms"])
    assert_streaming_matches_replay(
        posts, TrendScoringConfig(**{**CONFIG, "long_window": "2h", "long_slide": "30m"})
    )


def assert_streaming_matches_replay(posts: list[dict], config: TrendScoringConfig) -> None:
    """The posts as a stream (an hour at a time, then the watermark past them) through
    ScoreTrends on DirectRunner give the replay's records."""
    expected = sorted(json.dumps(t, sort_keys=True) for t in replay(posts, config))
    stream = TestStream()
    for hour in range(5):
        stream.add_elements(
            timestamped([p for p in posts if hour * HOUR <= p["event_time_ms"] - T0 < (hour + 1) * HOUR])
        )
        stream.advance_watermark_to((T0 + (hour + 1) * HOUR) / 1000)
    stream.advance_watermark_to_infinity()
    with streaming_pipeline() as p:
        out = p | stream | ScoreTrends(config)
        assert_that(out.trends | beam.Map(lambda t: json.dumps(t, sort_keys=True)), equal_to(expected))


def test_product_trends_get_sales_lift_when_chatter_leads_sales():
    rng = random.Random(5)
    days = 24
    chatter = [rng.randint(2, 6) + (rng.random() < 0.25) * rng.randint(6, 12) for _ in range(days)]
    posts, sales = [], []
    for day, n in enumerate(chatter):
        for i in range(n):
            at = T0 + day * 24 * HOUR + 15 * HOUR + i * 7 * MIN
            posts.append(post(day * 100 + i, at, ["rico"], product="Selva Fresh", region="Lima"))
        units = 50 + 10 * (chatter[day - 2] if day >= 2 else 4) + rng.gauss(0, 2)
        sales.append(
            {
                "product": "Selva Fresh",
                "region": "Lima",
                "units": units,
                "revenue": units * 3,
                "event_time_ms": T0 + day * 24 * HOUR + 20 * HOUR,
            }
        )
    config = TrendScoringConfig(long_window=0, sales_min_days=12, sales_history_days=30)
    with TestPipeline() as p:
        post_pc = p | "Posts" >> beam.Create(timestamped(posts))
        sale_pc = p | "Sales" >> beam.Create(timestamped(sales))
        out = (post_pc, sale_pc) | ScoreTrends(config)
        lifted = (
            out.trends
            | beam.Filter(lambda t: t["kind"] == "product" and t["sales_lift"] is not None)
            | beam.Map(lambda t: (t["key"], t["sales_lag_days"]))
        )
        assert_that(lifted, lambda got: _linked(got, days))


def _linked(got, days):
    assert got and set(got) == {("selva fresh", 2)}, got[:5]


@pytest.mark.integration
def test_prism_runner_emits_the_same_records(prism_location, tmp_path):
    posts = background(6, 30) + burst(T0 + 5 * HOUR, 12)
    config = TrendScoringConfig(**{**CONFIG, "long_window": "2h", "long_slide": "30m"})
    expected = sorted(json.dumps(t, sort_keys=True) for t in replay(posts, config))
    # Beam shares one Prism job server per process, and DirectRunner may have made it without our binary.
    options = PipelineOptions(
        [
            "--runner=PrismRunner",
            f"--prism_location={prism_location}",
            "--experiments=disable_prism_server_singleton",
        ]
    )
    with beam.Pipeline(options=options) as p:
        out = p | beam.Create(timestamped(posts)) | ScoreTrends(config)
        _ = (
            out.trends
            | beam.Map(lambda t: json.dumps(t, sort_keys=True))
            | beam.io.WriteToText(str(tmp_path / "trends"), shard_name_template="")
        )
    got = sorted((tmp_path / "trends").read_text().splitlines())
    assert got == expected


def _second_baseline(forget_after: str, out: Path) -> float:
    config = TrendScoringConfig(long_window=0, warmup="1h", half_life="6h", forget_after=forget_after)
    early = [post(i, T0 + 10 * MIN + i * MIN, ["bebida", WORDS[i]], brand="Andina Cola") for i in range(10)]
    later = [
        post(100 + i, T0 + 8 * HOUR + i * MIN, ["bebida", WORDS[i]], brand="Andina Cola") for i in range(3)
    ]
    stream = (
        TestStream()
        .add_elements(timestamped(early))
        .advance_watermark_to((T0 + HOUR) / 1000)
        .advance_watermark_to((T0 + 8 * HOUR) / 1000)
        .add_elements(timestamped(later))
        .advance_watermark_to((T0 + 9 * HOUR) / 1000)  # timers fire before the end of the stream
        .advance_watermark_to_infinity()
    )
    with streaming_pipeline() as p:
        trends = (p | stream | ScoreTrends(config)).trends
        second = trends | beam.Filter(lambda t: t["kind"] == "brand" and t["window_end"] > "2024-01-01T12:")
        assert_that(second | beam.Map(lambda t: t["baseline"]), lambda got: out.write_text(json.dumps(got)))
    return json.loads(out.read_text())[0]


def test_a_silent_key_is_forgotten_in_streaming(tmp_path):
    """A key silent for longer than forget_after starts again from the prior: its 10 early
    posts no longer raise its baseline."""
    remembered = _second_baseline("28d", tmp_path / "remembered")
    forgotten = _second_baseline("6h", tmp_path / "forgotten")
    assert forgotten < remembered / 2
