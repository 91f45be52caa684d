"""A key's state between periods (models/trends/key_scorer.py `KeyState`): stored as bytes
after every window, as the stream's shard keeps it, it scores the next periods, late posts
included, exactly as the state a backfill keeps in memory."""

from __future__ import annotations

from tendencias.models.trends.cells import BundleCounter, shard_of
from tendencias.models.trends.config import TrendScoringConfig
from tendencias.models.trends.key_scorer import KeyState
from tendencias.models.trends.shard_scorer import ShardScorer
from tendencias.models.trends.stats import PackedStats

MIN = 60_000
T0 = 1_704_085_200_000  # Monday 2024-01-01 00:00 in Lima
CONFIG = TrendScoringConfig(
    trend_window="15m",
    trend_slide="3m",
    long_window="1h",
    long_slide="15m",
    warmup="1s",
    always_emit_kinds=("term",),
)
AGUA = ("term", "agua")


def post(n: int, t: int) -> dict:
    words = ["agua"] if n % 4 else ["agua", "limon"]
    return {
        "id": f"p{n}",
        "event_time_ms": t,
        "text_clean": f"agua {n}",
        "tokens": words,
        "author": f"a{n % 7}",
    }


def windows(posts: list[dict]) -> list:
    """The shard of `agua`'s parts, one per window of the short period, in window order."""
    counter = BundleCounter([(h, CONFIG.kinds) for h in CONFIG.horizons()], CONFIG.horizons()[0].period_ms)
    for p in posts:
        counter.add(p)
    return [
        part
        for _, _, part in sorted(
            (w, i, part) for i, (shard, w, part) in enumerate(counter.parts()) if shard == shard_of(AGUA)
        )
    ]


def scored(parts: list, stored: bool) -> list[dict]:
    scorer, state, out = ShardScorer(CONFIG), KeyState(), []
    volumes = scorer.volumes()
    for part in parts:
        volumes.add(part.volumes)
        if AGUA in part.cells:
            records = scorer.score_key(*AGUA, state, part.cells[AGUA], part.marks, volumes)
            out += [s.record for s in records if s is not None]
        if stored:
            state = KeyState.decode(state.encode())
    return out


def test_a_state_stored_after_every_window_scores_as_one_kept_in_memory():
    quiet = [post(i, T0 + i * 50_000) for i in range(80)]  # about one post a minute
    burst = [post(100 + i, T0 + 70 * MIN + i * 2_000) for i in range(40)]
    late = [post(200 + i, T0 + 68 * MIN + i * 1_000) for i in range(6)]  # a window already scored
    parts = windows(quiet + burst) + windows(late)
    in_memory, stored = scored(parts, stored=False), scored(parts, stored=True)
    assert in_memory == stored
    assert any(r.get("revision") for r in stored)  # the late posts revised a window
    assert {r["horizon"] for r in stored} == {"15m", "1h"}
    restored = KeyState.decode(KeyState().encode())
    assert restored.horizons == {}


def test_stored_recent_periods_stay_packed_until_a_window_needs_them():
    parts = windows([post(i, T0 + i * 50_000) for i in range(20)])
    scorer, state = ShardScorer(CONFIG), KeyState()
    volumes = scorer.volumes()
    for part in parts:
        volumes.add(part.volumes)
        list(scorer.score_key(*AGUA, state, part.cells.get(AGUA, {}), part.marks, volumes))
    restored = KeyState.decode(state.encode())
    _, kept = restored.horizons["15m"]
    assert kept and all(isinstance(r.stats, PackedStats) for r in kept)
    original = state.horizons["15m"][1]
    assert [r.stats.posts for r in kept] == [r.stats.posts for r in original]
    assert [r.stats.unpack().__getstate__() for r in kept] == [r.stats.__getstate__() for r in original]
