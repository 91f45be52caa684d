"""Trend maths without a runner: windows, baselines, burst scores, severity and episodes."""

from __future__ import annotations

import math
import zlib

import pytest

from tendencias.models.trends.baseline import BaselineParams, KeyHistory
from tendencias.models.trends.groups import SKETCH_SIZE, AlertGrouper, Evidence, Scored, containment
from tendencias.models.trends.scoring import (
    SeverityParams,
    WindowInput,
    lift,
    revise_window,
    score_window,
    step_episode,
    tail_surprise,
)
from tendencias.models.trends.stats import PostMark, WindowStats
from tendencias.models.trends.windows import HOUR_MS, describe_time, local_bins, window_ends

MIN = 60_000
P = 5 * MIN  # period
S = 15 * MIN  # window size
# 2024-01-01 05:00 UTC is Monday 00:00 in Lima (UTC-5, no daylight saving time).
MONDAY = 1_704_085_200_000
PARAMS = BaselineParams(period_ms=P, half_life_ms=7 * 24 * HOUR_MS)


def stats(posts: int, authors: int | None = None, sentiment: float | None = None, texts: int | None = None):
    out = WindowStats(3)
    authors = posts if authors is None else authors
    texts = posts if texts is None else texts
    for i in range(posts):
        out.add(PostMark(f"p{i}", f"a{i % authors}", i, i % texts, sentiment, f"text {i}", None, "m", "v1"))
    return out


def expected_at(history: KeyHistory, end: int, window_volume: float) -> float:
    """Expected mentions in the 15-minute window ending at `end`, its posts spread evenly."""
    return history.expected([(e, window_volume * P / S) for e in range(end - S + P, end + 1, P)], PARAMS)


class Stream:
    """Feeds one key's periods to score_window, with the stream's volume per period."""

    def __init__(self, severity: SeverityParams | None = None, start: int = MONDAY, volume: float = 100.0):
        self.history, self.start, self.volume = KeyHistory(), start, volume
        self.severity = severity or SeverityParams()
        self.recent: list[int] = []

    def period(
        self,
        end: int,
        posts: int,
        authors: int | None = None,
        volume: float | None = None,
        sentiment: float | None = None,
    ):
        volume = self.volume if volume is None else volume
        previous = sum(n for e, n in self.recent if end - P - S < e <= end - P)
        self.recent = [(e, n) for e, n in self.recent if e > end - S] + [(end, posts)]
        window = stats(sum(n for _, n in self.recent), authors, sentiment)
        period = stats(posts, authors, sentiment)
        periods = tuple((e, volume) for e in range(end - S + P, end + 1, P))
        w = WindowInput(end, window, period, periods, volume, (volume,) * 24, self.start, previous)
        return score_window(self.history, w, PARAMS, self.severity)


def test_window_ends_follow_the_diagram():
    # minute   0    5    10   15   20   25
    #          [ end 15       )
    #               [ end 20       )
    #                    [ end 25       )
    assert window_ends(12 * MIN, S, P) == [15 * MIN, 20 * MIN, 25 * MIN]
    assert window_ends(15 * MIN, S, P) == [20 * MIN, 25 * MIN, 30 * MIN]  # a window excludes its end
    assert window_ends(0, S, P) == [5 * MIN, 10 * MIN, 15 * MIN]
    assert window_ends(7 * MIN, P, P) == [10 * MIN]  # tumbling when size == period


def test_local_calendar_is_lima_time():
    assert local_bins(MONDAY, "America/Lima") == (0, 0)
    assert local_bins(MONDAY - 1, "America/Lima") == (23, 6)  # Sunday 23:59 local
    assert local_bins(MONDAY, "UTC") == (5, 0)
    assert describe_time(MONDAY + 20 * HOUR_MS, "America/Lima") == "Monday evening"


def test_history_round_trips_in_a_few_hundred_bytes():
    history = KeyHistory()
    history.advance(MONDAY, (50.0,) * 24, PARAMS)
    history.observe(MONDAY, 3, 50.0, 1.5, 3, PARAMS)
    history.episode_start, history.quiet = MONDAY, 2
    data = history.encode()
    assert len(data) < 300
    again = KeyHistory.decode(data)
    assert (again.last_end, again.episode_start, again.quiet) == (MONDAY, MONDAY, 2)
    assert again.mentions == pytest.approx(3)
    assert KeyHistory.decode(None).last_end == 0


def test_unseen_key_expects_almost_nothing_and_a_few_people_are_surprising():
    stream = Stream(start=MONDAY - 24 * HOUR_MS)
    first = stream.period(MONDAY, posts=6)
    assert first.new_key
    assert first.expected < 0.2  # one day of stream volume with zero mentions, plus the prior
    assert first.score > 6 and first.lift > 5


def test_missed_periods_count_as_exposure_so_the_share_falls():
    stream = Stream()
    stream.period(MONDAY + 6 * HOUR_MS, posts=5)  # 6 hours after the stream started
    exposure = stream.history.exposure
    assert exposure == pytest.approx(72 * 100, rel=0.02)  # 71 missed periods + its own, 100 posts each
    right_after = expected_at(stream.history, MONDAY + 6 * HOUR_MS + P, 300)
    stream.history.advance(
        MONDAY + 30 * HOUR_MS, (100.0,) * 24, PARAMS
    )  # a day of silence: 287 missed periods
    r = PARAMS.window_decay  # history fades: a week's half-life, per period
    assert stream.history.exposure == pytest.approx(
        exposure * r**288 + 100 * sum(r**i for i in range(1, 288))
    )
    a_day_later = expected_at(stream.history, MONDAY + 30 * HOUR_MS, 300)
    assert a_day_later < right_after / 3


def test_baseline_learns_the_hour_a_key_is_used():
    """'desayuno' (breakfast) takes 10% of posts from 7 to 9 am and 1% otherwise, for 2 weeks."""
    stream = Stream()
    end = MONDAY + P
    while end < MONDAY + 14 * 24 * HOUR_MS:
        hour = local_bins(end - P // 2, "America/Lima")[0]
        stream.period(end, posts=10 if 7 <= hour < 9 else 1)
        end += P
    morning = expected_at(stream.history, MONDAY + 15 * 24 * HOUR_MS + 8 * HOUR_MS, 300)
    night = expected_at(stream.history, MONDAY + 15 * 24 * HOUR_MS + 2 * HOUR_MS, 300)
    assert morning / night == pytest.approx(10, rel=0.25)
    assert morning == pytest.approx(30, rel=0.25)  # 10% of a window of 300 posts
    # The stream's own rhythm comes in through the window volume: half the posts, half expected.
    quieter = expected_at(stream.history, MONDAY + 15 * 24 * HOUR_MS + 8 * HOUR_MS, 150)
    assert quieter == pytest.approx(morning / 2)


def test_weekday_factor_is_shrunk_towards_one_without_evidence():
    history = KeyHistory()
    history.advance(MONDAY + P, (100.0,) * 24, PARAMS)
    history.observe(MONDAY + P, 1, 100.0, 0.0, 0, PARAMS)  # one mention, on a Monday
    by_hour, by_day = history.seasonal_factors(MONDAY + P, PARAMS)
    assert 1 <= by_day < 1.3 and 1 <= by_hour < 1.3


@pytest.mark.parametrize("count,expected", [(1, 0.001), (2, 0.05), (4, 0.5), (7, 2.0)])
def test_poisson_surprise_matches_the_exact_tail_at_low_counts(count, expected):
    tail = 1 - sum(math.exp(-expected) * expected**k / math.factorial(k) for k in range(count))
    assert tail_surprise(count, expected) == pytest.approx(-math.log10(tail), rel=1e-6)


def test_surprise_is_zero_for_no_posts_and_grows_with_the_count():
    assert tail_surprise(0, 3.0) == 0
    scores = [tail_surprise(c, 1.0, 20) for c in range(1, 12)]
    assert scores == sorted(scores) and scores[-1] > 6


def test_negative_binomial_forgives_popular_keys_their_noise():
    poisson = tail_surprise(140, 100.0)
    overdispersed = tail_surprise(140, 100.0, dispersion=20)
    assert poisson > 4 and overdispersed < 2
    # at low counts the two agree: the dispersion only matters when the baseline is large
    assert tail_surprise(5, 0.2, 20) == pytest.approx(tail_surprise(5, 0.2), rel=0.05)


def test_novelty_beats_popularity():
    severity = SeverityParams()
    novel_score, novel_lift = tail_surprise(6, 0.1, 20), lift(6, 0.1)
    popular_score, popular_lift = tail_surprise(180, 100, 20), lift(180, 100)
    assert novel_score > severity.alert_score and novel_lift > severity.min_lift
    assert popular_score < novel_score
    assert popular_lift < severity.min_lift  # +80% on a popular key is news, not a trend


def test_min_support_one_account_cannot_make_a_trend():
    stream = Stream(start=MONDAY - 24 * HOUR_MS)
    alone = stream.period(MONDAY, posts=12, authors=1)
    assert alone.count == 2  # at most per_author_cap posts per author count
    assert alone.severity != "alert"
    crowd = Stream(start=MONDAY - 24 * HOUR_MS).period(MONDAY, posts=12, authors=12)
    assert crowd.severity == "alert"


def test_an_episode_alerts_once_then_updates_then_ends():
    stream = Stream(start=MONDAY - 24 * HOUR_MS)
    for i in range(12):  # two quiet hours: one mention a period
        stream.period(MONDAY + (i + 1) * P, posts=1)
    end = MONDAY + 13 * P
    burst = [stream.period(end + i * P, posts=20) for i in range(4)]
    assert [s.severity for s in burst] == ["alert", "watch", "watch", "watch"]
    assert [s.status for s in burst] == ["new", "ongoing", "ongoing", "ongoing"]
    assert len({s.episode_start for s in burst}) == 1
    calm = [stream.period(end + (4 + i) * P, posts=1) for i in range(6)]
    statuses = [s.status for s in calm]
    assert "ended" in statuses and statuses.count("ended") == 1
    assert all(s.severity != "alert" for s in calm)
    later = stream.period(end + 40 * P, posts=40)  # a fresh burst later is a new episode
    assert later.status == "new" and later.episode_start != burst[0].episode_start


def test_silent_periods_count_towards_ending_an_episode():
    history = KeyHistory()
    severity = SeverityParams(end_after=3)
    assert step_episode(history, MONDAY, P, True, True, severity) == ("new", MONDAY)
    history.last_end = MONDAY
    # four periods without any post, then a weak one: the episode is over, no alert from it
    assert step_episode(history, MONDAY + 5 * P, P, False, False, severity) == (None, 0)
    assert history.episode_start == 0


def test_warm_up_holds_alerts_until_the_stream_has_history():
    cold = Stream(severity=SeverityParams(warmup_ms=6 * HOUR_MS), start=MONDAY)
    early = cold.period(MONDAY + HOUR_MS, posts=20)
    assert early.severity == "watch" and not early.warm and early.status is None
    warm = cold.period(MONDAY + 7 * HOUR_MS, posts=40)
    assert warm.severity == "alert" and warm.warm


def test_sentiment_delta_against_the_key_history():
    stream = Stream(start=MONDAY - 24 * HOUR_MS)
    for i in range(10):
        stream.period(MONDAY + (i + 1) * P, posts=2, sentiment=0.5)
    turned = stream.period(MONDAY + 11 * P, posts=2, sentiment=-0.5)
    assert turned.sentiment == pytest.approx(-0.5)
    assert turned.sentiment_delta == pytest.approx(-1.0, abs=0.05)  # the key is usually at +0.5


WINDOW = ((MONDAY - 2 * P, 100.0), (MONDAY - P, 100.0), (MONDAY, 100.0))


def test_late_posts_may_open_an_episode_once():
    stream = Stream(start=MONDAY - 24 * HOUR_MS)
    quiet = stream.period(MONDAY, posts=2)
    assert quiet.severity != "alert"
    history = stream.history
    revised = revise_window(history, stats(15), MONDAY, WINDOW, PARAMS, SeverityParams())
    assert (revised.severity, revised.status) == ("alert", "new")
    again = revise_window(history, stats(16), MONDAY, WINDOW, PARAMS, SeverityParams())
    assert (again.severity, again.status) == ("watch", "revised")


def episode_record(key: str, end: int, posts: range, status: str = "new", score: float = 10.0) -> Scored:
    sketch = sorted(zlib.crc32(f"p{i}".encode()) for i in posts)[:SKETCH_SIZE]
    record = {
        "kind": "term",
        "key": key,
        "horizon": "15m",
        "score": score,
        "status": status,
        "severity": "alert" if status == "new" else "watch",
        "episode": f"15m:term:{key}@{end}",
        "explanation": f"'{key}' up",
    }
    return Scored(record, Evidence(len(posts), tuple(sketch)))


def test_containment_of_post_sketches():
    def sketch(posts):
        return sorted(zlib.crc32(f"p{i}".encode()) for i in posts)[:SKETCH_SIZE]

    assert containment(sketch(range(40)), 40, sketch(range(200)), 200) == pytest.approx(1.0, abs=0.25)
    assert containment(sketch(range(40)), 40, sketch(range(1000, 1200)), 200) == 0.0


def test_keys_bursting_on_the_same_posts_make_one_alert():
    grouper = AlertGrouper(0.5, {"15m": S + 3 * P})
    out = grouper.window(
        MONDAY,
        [
            episode_record("sismo", MONDAY, range(50), score=30),
            episode_record("temblor", MONDAY, range(10, 40), score=20),
            episode_record("aguaymanto", MONDAY, range(500, 520), score=9),
        ],
    )
    by_key = {r["key"]: r for r in out}
    assert [r["key"] for r in out if r["severity"] == "alert"] == ["sismo", "aguaymanto"]
    assert (
        by_key["temblor"]["status"] == "related"
        and by_key["temblor"]["related_to"] == by_key["sismo"]["episode"]
    )
    assert (
        by_key["sismo"]["related"] == ["term:temblor"] and "(with temblor)" in by_key["sismo"]["explanation"]
    )
    assert all(not any(name.startswith("_") for name in r) for r in out)
    # next window: the lead goes on, a new key on its posts joins the story, not a new alert
    later = grouper.window(
        MONDAY + P,
        [
            episode_record("sismo", MONDAY, range(60, 120), status="ongoing"),
            episode_record("costa rica", MONDAY + P, range(70, 110)),
        ],
    )
    assert [r["status"] for r in later] == ["ongoing", "related"]
    # long after the story went quiet, the same posts' key alerts on its own again
    again = grouper.window(MONDAY + 40 * P, [episode_record("replica", MONDAY + 40 * P, range(60, 120))])
    assert again[0]["severity"] == "alert"


def test_grouping_can_be_turned_off():
    grouper = AlertGrouper(0.0, {"15m": S})
    out = grouper.window(
        MONDAY, [episode_record("a", MONDAY, range(50)), episode_record("b", MONDAY, range(50))]
    )
    assert [r["severity"] for r in out] == ["alert", "alert"]


def test_a_long_horizon_warms_up_over_its_whole_window():
    from tendencias.models.trends.config import TrendScoringConfig

    config = TrendScoringConfig(warmup="6h", trend_window="15m", long_window="1d")
    short, long_ = config.horizons()
    assert config.severity(short).warmup_ms == (6 * 3600 + 15 * 60) * 1000
    assert config.severity(long_).warmup_ms == (6 * 3600 + 86400) * 1000


def test_the_explanation_counts_posts_and_says_when_copies_were_capped():
    from tendencias.models.trends.explain import explain
    from tendencias.models.trends.scoring import ScoredWindow

    end = 1_763_996_400_000  # 2025-11-24T15:00Z, a Monday morning in Lima
    scored = ScoredWindow(end, 50.0, 2.0, 30.0, 17.0, 5.0, 40, 3, 0.3, None, "alert", None, end, True, False)
    text = explain(
        "phrase", "sin azucar", scored, horizon="15m", size_ms=900_000, tz="America/Lima", posts=90
    )
    assert "'sin azucar' mentions ×17 over the usual Monday morning" in text
    assert "90 posts by 40 people in 15m" in text
    assert "50 counted after capping" in text
    plain = explain(
        "phrase",
        "sin azucar",
        scored._replace(count=90.0),
        horizon="15m",
        size_ms=900_000,
        tz="America/Lima",
        posts=90,
    )
    assert "capping" not in plain
