"""The streaming scorer's shards kept in worker memory behind Beam state (transforms/trends/
shard_state.py, ScoreStreamShardFn in key_state.py): a run that keeps its copies and one rebuilt from
state at every firing score alike, on DirectRunner and in the DoFn itself; a copy whose token is
not the state's (a retried bundle, another worker) is never used; the log reloads to the copy."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from tendencias.models.trends.config import TrendScoringConfig
from tendencias.models.trends.keys import trend_keys
from tendencias.models.trends.replay import _volumes
from tendencias.models.trends.state_codec import encode_key_state
from tendencias.models.trends.stats import WindowStats, post_mark
from tendencias.transforms.trends import key_state, shard_state
from tendencias.transforms.trends.key_state import ScoreStreamShardFn
from tests.unit.transforms.fake_state import Bag, NeverKept, Value, count_loads
from tests.unit.transforms.trends.test_trends_transform import (
    CONFIG,
    HOUR,
    T0,
    assert_streaming_matches_replay,
    background,
    burst,
)

FORGET_MS = 28 * 24 * HOUR


@pytest.fixture
def loads(monkeypatch):
    """Small snapshots (so a short stream has several) and a count of rebuilds."""
    monkeypatch.setattr(shard_state, "MIN_SNAPSHOT_BYTES", 2_000)
    return count_loads(monkeypatch, shard_state.CachedShard)


def _config() -> TrendScoringConfig:
    return TrendScoringConfig(**{**CONFIG, "long_window": "2h", "long_slide": "30m"})


def _posts() -> list[dict]:
    return sorted(background(5, 30) + burst(T0 + 4 * HOUR, 12), key=lambda p: p["event_time_ms"])


def test_cached_and_rebuilt_at_every_firing_score_alike_on_direct_runner(loads, monkeypatch):
    posts, config = _posts(), _config()
    monkeypatch.setattr(key_state, "_SHARDS", {})
    assert_streaming_matches_replay(posts, config)
    cached_loads = len(loads)
    monkeypatch.setattr(key_state, "_SHARDS", NeverKept())
    assert_streaming_matches_replay(posts, config)
    assert cached_loads <= 8  # once a shard, at its first firing (state empty)
    assert len(loads) - cached_loads > 3 * cached_loads  # then at every firing


def _periods(posts, config) -> list[tuple[int, tuple]]:
    """(instant, (horizon, period end, [(pair, PeriodCounts)])) of every key, as one shard gets
    them from the join, in time order."""
    out = []
    for h in config.horizons():
        volumes = _volumes(posts, h, config.baseline(h))
        cells: dict[int, dict] = defaultdict(dict)
        for post in posts:
            end = (post["event_time_ms"] // h.period_ms + 1) * h.period_ms
            for pair in trend_keys(post, config.horizon_kinds(h)):
                cells[end].setdefault(pair, WindowStats(config.examples)).add(post_mark(post))
        for end, keys in cells.items():
            out.append((end - 1, (h.name, end, [(pair, volumes[end].counts(s)) for pair, s in keys.items()])))
    return sorted(out, key=lambda item: item[0])


def _firings(posts, config, per_firing: int = 7) -> list[list]:
    periods = _periods(posts, config)
    return [periods[i : i + per_firing] for i in range(0, len(periods), per_firing)]


def _fire(fn, state, log, due) -> list[str]:
    return [json.dumps(tv.value.record, sort_keys=True) for tv in fn.drain(0, due, state, log)]


def _copy(state: Value, log: Bag) -> tuple[Value, Bag]:
    state2, log2 = Value(), Bag()
    state2.value, log2.items = state.value, list(log.items)
    return state2, log2


def _encoded(states: dict) -> dict:
    return {pair: encode_key_state(state) for pair, state in states.items()}


def _fn(config) -> ScoreStreamShardFn:
    return ScoreStreamShardFn(config.horizon_scorers(), FORGET_MS)


def test_retried_firing_rebuilds_instead_of_using_the_copy_it_changed(loads, monkeypatch):
    monkeypatch.setattr(key_state, "_SHARDS", {})
    posts, config = _posts(), _config()
    firings = _firings(posts, config)
    straight_fn, straight_state, straight_log = _fn(config), Value(), Bag()
    straight = [r for due in firings for r in _fire(straight_fn, straight_state, straight_log, due)]
    assert any('"severity": "alert"' in r for r in straight)

    fn, state, log = _fn(config), Value(), Bag()
    out, loaded = [], len(loads)
    for due in firings[:5]:
        out += _fire(fn, state, log, due)
    before = _copy(state, log)
    first_try = _fire(fn, state, log, firings[5])
    state, log = before  # the bundle failed: the runner kept none of its state writes
    retried = _fire(fn, state, log, firings[5])
    assert len(loads) == loaded + 2  # the copy carried the failed firing's token: rebuilt from state
    assert retried == first_try
    out += retried
    for due in firings[6:]:
        out += _fire(fn, state, log, due)
    assert len(loads) == loaded + 2
    assert out == straight


def test_copy_left_behind_by_another_worker_is_not_used(loads, monkeypatch):
    cache: dict = {}
    monkeypatch.setattr(key_state, "_SHARDS", cache)
    posts, config = _posts(), _config()
    firings = _firings(posts, config)
    fn, state, log = _fn(config), Value(), Bag()
    out = []
    for due in firings[:4]:
        out += _fire(fn, state, log, due)
    ours = dict(cache)
    cache.clear()  # the shard moves to another worker, which takes three firings
    for due in firings[4:7]:
        out += _fire(fn, state, log, due)
    cache.clear()
    cache.update(ours)  # and comes back here, where the copy is three firings old
    loaded = len(loads)
    for due in firings[7:]:
        out += _fire(fn, state, log, due)
    assert len(loads) == loaded + 1
    cache.clear()
    again_fn, again_state, again_log = _fn(config), Value(), Bag()
    assert out == [r for due in firings for r in _fire(again_fn, again_state, again_log, due)]


@pytest.mark.parametrize(
    "min_bytes, max_changed, spilling",
    [(3_000, shard_state.MAX_CHANGED, False), (6_000, 10, True)],  # 10: keys spilled between snapshots
)
def test_the_log_reloads_to_the_copy_and_snapshots_leave_silent_keys_out(
    monkeypatch, min_bytes, max_changed, spilling
):
    monkeypatch.setattr(shard_state, "MIN_SNAPSHOT_BYTES", min_bytes)
    monkeypatch.setattr(shard_state, "MAX_CHANGED", max_changed)
    cache: dict = {}
    monkeypatch.setattr(key_state, "_SHARDS", cache)
    posts, config = _posts(), _config()
    forget = 40 * 60_000  # a key silent for 40 minutes is forgotten
    fn, state, log = ScoreStreamShardFn(config.horizon_scorers(), forget), Value(), Bag()
    snapshots, spills, dropped, previous = 0, 0, set(), set()
    for due in _firings(posts, config):
        _fire(fn, state, log, due)
        copy = cache[(fn._id, 0)]
        loaded = shard_state.CachedShard.load(log.items, fn._rescore)
        assert loaded.keys == copy.keys
        assert _encoded(loaded.changed) == _encoded(copy.changed)
        assert len(copy.changed) <= max_changed  # more, and the firing encoded them into the copy
        if len(log.items) == 1 and log.items[0][:1] == b"S":  # this firing wrote a snapshot
            snapshots += 1
            assert not copy.changed
            assert min(end for end, _ in copy.keys.values()) >= max(at for at, _ in due) - forget
            dropped |= previous - set(copy.keys)
        elif not copy.changed:
            spills += 1
        previous = set(copy.keys) | set(copy.changed)
    assert snapshots >= 3
    # between snapshots the scored keys stay decoded, unless more than MAX_CHANGED wait
    assert (spills > 0) == spilling
    assert dropped, "the stream must leave some keys silent for longer than forget_after"


def test_a_log_of_changed_keys_written_before_firings_were_logged_still_loads(monkeypatch):
    """The previous version logged the keys each firing changed, {pair: (end, bytes) or None}; a
    job restarted on such a log goes on from the very keys its copy had."""
    cache: dict = {}
    monkeypatch.setattr(key_state, "_SHARDS", cache)
    config = _config()
    firings = _firings(_posts(), config)
    fn, state, log = _fn(config), Value(), Bag()
    for due in firings[:3]:
        _fire(fn, state, log, due)
    ours = cache[(fn._id, 0)]
    ours.snapshot(log, forget_before=0)
    snapshot, before = log.items[0], dict(ours.keys)
    _fire(fn, state, log, firings[3])
    ours._spill()  # the previous version encoded every changed key at every firing
    changed = {pair: entry for pair, entry in ours.keys.items() if before.get(pair) != entry}
    changed |= {pair: None for pair in before.keys() - ours.keys.keys()}
    assert changed
    old_log = [snapshot, shard_state._packed(shard_state._CHANGES, (ours.sequence, changed))]

    loaded = shard_state.CachedShard.load(old_log, fn._rescore)
    assert loaded.keys == ours.keys and not loaded.changed and loaded.sequence == ours.sequence

    def go_on(copy) -> list[str]:
        copy.generation = state.value
        cache[(fn._id, 0)] = copy
        own_state, own_log = Value(), Bag()
        own_state.value, own_log.items = state.value, list(old_log)
        return [r for due in firings[4:] for r in _fire(fn, own_state, own_log, due)]

    from_old_log = go_on(loaded)
    assert from_old_log and from_old_log == go_on(ours)
