"""The batch path's scorer (numpy across a shard's keys) gives exactly the records of scoring
each key on its own with `HorizonScorers`, as the stream does: same records, same order, every
float to the last bit.

The posts are random but made to reach every branch: keys seen once, keys back after more than
a week (missed periods older than a week), bursts that open, continue and end episodes (a day's
burst related to the short horizon's), always-emitted kinds (brand, region), a short-only kind
(cluster), periods with more authors and texts than WindowStats tracks, posts without sentiment,
and a last period in which nearly every key is busy, so that its record shows the history the
key built up (most of it learned by the array path) to the last bit.
"""

from __future__ import annotations

import json
import random
import struct

import numpy as np
import pytest

from tendencias.models.trends.baseline import KeyHistory
from tendencias.models.trends.config import TrendScoringConfig
from tendencias.models.trends.scoring import SeverityParams
from tendencias.models.trends.shard_scorer import _counted, _expected, score_shard, score_shard_key_by_key
from tendencias.models.trends.stats import MAX_AUTHORS, MAX_TEXTS, PostMark, WindowStats
from tendencias.transforms.trends.batch import ScoreShardFn, count_in_memory
from tendencias.transforms.trends.join import SHARDS

MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000
MONDAY = 1_704_085_200_000  # 2024-01-01 00:00 in Lima
WORDS = [f"w{i}" for i in range(120)]


def post(rng: random.Random, n: int, t: int, words: list[str], author: str | None = None, **extra) -> dict:
    score = rng.choice([None, -0.8, -0.2, 0.0, 0.35, 0.9, rng.uniform(-1, 1)])
    return {
        "id": f"p{n}",
        "event_time_ms": t,
        "author": author or f"a{rng.randrange(60)}",
        "tokens": words,
        "text_clean": " ".join(words),
        "sentiment": {"score": score, "model": "m"} if score is not None else {},
        "region": rng.choice(["Lima", "Cusco", "Arequipa", None]),
        **extra,
    }


def stream(seed: int) -> list[dict]:
    rng = random.Random(seed)
    posts: list[dict] = []

    def add(t: int, words: list[str], **kw) -> None:
        posts.append(post(rng, len(posts), t, words, **kw))

    t = MONDAY
    while t < MONDAY + 10 * DAY:  # a daily rhythm, Zipf-ish words
        hour = (t - MONDAY) // HOUR % 24
        rate = 2 + (10 if 8 <= hour <= 22 else 0)
        t += int(rng.expovariate(rate / HOUR)) + 1
        words = sorted({WORDS[min(int(rng.paretovariate(1.1)) - 1, 119)] for _ in range(rng.randint(1, 6))})
        extra = {"brand": rng.choice(["Inca Kola", "Coca-Cola"])} if rng.random() < 0.2 else {}
        if rng.random() < 0.1:
            extra["clusters"] = [f"c{rng.randrange(4)}"]
        add(t, words, **extra)
    add(MONDAY + 3 * HOUR, ["once"])
    add(MONDAY + 5 * MIN, ["gap"])  # back after more than a week
    add(MONDAY + 9 * DAY + 7 * HOUR, ["gap"])
    for day, minutes in ((2, 15), (2, 40), (4, 9), (6, 200)):  # bursts: episodes open, go on, end
        start = MONDAY + day * DAY + 15 * HOUR
        for i in range(rng.randint(25, 60)):
            add(start + rng.randrange(minutes * MIN), ["burst", f"w{i % 7}"], clusters=["c9"])
        for i in range(20):  # then a trickle, so the episode ends in windows of its own
            add(start + minutes * MIN + i * 4 * MIN, ["burst"])
    crowd = MONDAY + 5 * DAY + 12 * HOUR  # more authors and texts than WindowStats tracks
    for i in range(MAX_AUTHORS + 40):
        add(crowd + i * 300, ["crowd", f"x{i % (MAX_TEXTS + 10)}"], author=f"crowd{i}")
    for i in range(8):  # one author repeating one text: capped to nothing worth a record
        add(crowd + i * 1000, ["spam"], author="spammer")
    last = MONDAY + 10 * DAY + 12 * HOUR  # nearly every key busy: its history on show
    keys = [*WORDS, "once", "gap", "burst", "crowd", "spam"]
    for i in range(30):
        add(last + i * 3000, rng.sample(keys, 40), author=f"probe{i}", brand="Inca Kola")
    return sorted(posts, key=lambda p: p["event_time_ms"])


def exactly(history: KeyHistory) -> tuple:
    """A history's fields, its floats as their bytes (so 0.0 and -0.0 differ too)."""
    return (
        *(getattr(history, name) for name in KeyHistory.__slots__ if name not in ("bins", "sent_n")),
        struct.pack("<64d", history.sent_n, *history.bins),
    )


def as_bytes(records: list) -> list[str]:
    return [json.dumps([s.record, s.evidence], sort_keys=True, ensure_ascii=False) for s in records]


CONFIGS = {
    "default": {},
    "sensitive": {"alert_score": 3.0, "watch_score": 2.0, "min_lift": 2.0, "warmup": "1h", "end_after": 2},
    "poisson, no always-emitted kinds": {"dispersion": 0.0, "always_emit_kinds": ()},
}


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_shard_scorer_gives_the_records_of_scoring_key_by_key(seed, name):
    config = TrendScoringConfig(**CONFIGS[name])
    marks, cells, volumes = count_in_memory(stream(seed), config)
    horizons = sorted(config.horizons(), key=lambda h: h.size_ms)
    names = [h.name for h in horizons]
    fn = ScoreShardFn(horizons, config, config.horizon_scorers())

    def volumes_at(rank: int, end: int):
        return fn.volumes_at(volumes, rank, end)

    statuses: dict[str, int] = {}
    key_periods = 0
    for shard in range(SHARDS):
        inputs = (names, config.examples, marks, cells[shard], volumes_at)
        histories: dict = {}
        expected, _ = score_shard_key_by_key(config.horizon_scorers(), *inputs, histories)
        got_histories: dict = {}
        got, scored = score_shard(config.horizon_scorers(), *inputs, got_histories)
        assert scored == sum(len(by_period) for by_period in cells[shard].values())
        assert as_bytes(got) == as_bytes(expected)
        assert got == expected
        assert got_histories.keys() == histories.keys()
        for k, history in histories.items():  # every float to the last bit
            assert exactly(got_histories[k]) == exactly(history), k
        key_periods += scored
        for s in expected:
            statuses[s.record["status"]] = statuses.get(s.record["status"], 0) + 1
    # the inputs reached what they are meant to
    assert key_periods > 5_000
    assert all(statuses.get(status, 0) >= 1 for status in ("new", "ongoing", "ended", "related"))
    assert sum(statuses.values()) > 200


def test_an_empty_shard_scores_nothing():
    config = TrendScoringConfig()
    names = [h.name for h in sorted(config.horizons(), key=lambda h: h.size_ms)]
    assert score_shard(config.horizon_scorers(), names, config.examples, [], {}, None) == ([], 0)


def test_expected_over_rows_is_key_history_expected_to_the_last_bit():
    """The array path decides which windows could matter from this; a sum in another order
    (numpy's pairwise np.sum) would move last bits and, now and then, a decision."""
    rng = random.Random(5)
    config = TrendScoringConfig()
    params = config.baseline(sorted(config.horizons(), key=lambda h: h.size_ms)[1])
    histories = []
    for _ in range(300):
        history = KeyHistory()
        scale = 10 ** rng.uniform(-3, 6)
        history.bins = [rng.random() * scale * 10 ** rng.uniform(-4, 4) for _ in range(63)]
        histories.append(history)
    window = tuple((MONDAY + i * HOUR, rng.uniform(0, 500)) for i in range(1, 25))
    got = _expected(np.array([h.bins for h in histories]), window, params)
    assert got.tolist() == [h.expected(window, params) for h in histories]


@pytest.mark.parametrize("caps", [(2, 2), (1, 3), (3, None)])
def test_counted_over_entries_is_window_stats_counted(caps):
    """What the array path learns from a period, beyond MAX_AUTHORS authors and MAX_TEXTS texts too."""
    rng = random.Random(7)
    marks, indices_of = [], []
    for size in [1, 2, 3, 5, 40, MAX_TEXTS + 30, MAX_AUTHORS + 50, 600, *rng.sample(range(1, 300), 30)]:
        authors, texts = rng.randint(1, size), rng.randint(1, size)
        start = len(marks)
        for _ in range(size):
            marks.append(
                PostMark(
                    f"p{len(marks)}",
                    f"a{rng.randrange(authors)}",
                    len(marks),
                    rng.randrange(texts),
                    None,
                    "t",
                    None,
                    None,
                    None,
                )
            )
        indices_of.append(rng.sample(range(start, len(marks)), size))
    posts = np.array([len(ix) for ix in indices_of])
    flat = np.array([i for ix in indices_of for i in ix])
    starts = np.concatenate(([0], np.cumsum(posts)[:-1]))
    severity = SeverityParams(per_author_cap=caps[0], per_text_cap=caps[1])
    got = _counted(marks, indices_of, flat, starts, posts, np.zeros(len(posts), dtype=np.int64), [severity])
    expected = []
    for ix in indices_of:
        stats = WindowStats()
        for i in ix:
            stats.add(marks[i])
        expected.append(stats.counted(*caps))
    assert got.tolist() == expected
