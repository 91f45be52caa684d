"""ScoreKeyFn's bag (transforms/trends/key_state.py): the key's state is stored as the codec's
bytes, and a bag an earlier version wrote (the state pickled inside an entry) still scores."""

from __future__ import annotations

import pickle

from apache_beam.utils.timestamp import Timestamp

from tendencias.models.trends.config import TrendScoringConfig
from tendencias.models.trends.key_scorer import KeyState, PeriodCounts
from tendencias.models.trends.replay import replay
from tendencias.models.trends.state_codec import FORMAT, decode_key_state, encode_key_state
from tendencias.models.trends.stats import WindowStats, post_mark
from tendencias.transforms.trends.key_state import ScoreKeyFn, key_state_entry
from tests.unit.transforms.fake_state import Bag, Timer

MIN = 60_000
T0 = 1_704_085_200_000  # Monday 2024-01-01 00:00 in Lima
CONFIG = TrendScoringConfig(trend_slide="5m", trend_window="15m", long_window="2h", warmup="30m")


def _post(i: int, at: int, authors: int = 9) -> dict:
    words = ["chicha", f"w{i % 7}"] + (["maracuya"] if i % 30 == 0 or i >= 1000 else [])
    return {
        "id": f"p{i}",
        "event_time_ms": at,
        "text_clean": " ".join(words),
        "tokens": words,
        "hashtags": [],
        "author": f"u{i % authors}",
        "region": "lima",
        "sentiment": {"score": 0.5, "model": "m1"},
    }


def _state_of_maracuya() -> KeyState:
    states: dict = {}
    replay([_post(i, T0 + i * 20_000) for i in range(300)], CONFIG, states=states)
    state = KeyState()
    for (horizon, kind, key), pair in states.items():
        if (kind, key) == ("term", "maracuya"):
            state.horizons[horizon] = pair
    assert len(state.horizons) == 2
    return state


def _fire(entries: list[bytes], counts: PeriodCounts):
    fn = ScoreKeyFn(CONFIG.horizon_scorers(), 28 * 24 * 60 * MIN)
    bag = Bag()
    bag.items = list(entries)
    fn.process((("term", "maracuya"), ("15m", counts)), bag=bag, short=Timer(), long=Timer(), forget=Timer())
    fired = Timestamp(micros=counts.end * 1000)
    out = list(fn._fire(("term", "maracuya"), fired, bag, (Timer(), Timer())))
    return [v.value.record for v in out], bag.items


def test_a_bag_written_by_an_earlier_version_scores_like_one_of_codec_bytes():
    state = _state_of_maracuya()
    last_end = state.horizons["15m"][0].last_end
    stats = WindowStats(CONFIG.examples)
    for i in range(40):
        stats.add(post_mark(_post(1000 + i, last_end + i * 1000, authors=1000)))  # a burst
    end = last_end + 5 * MIN
    counts = PeriodCounts(end, stats, 60.0, ((end - 5 * MIN, 15.0), (end, 60.0)), (15.0,) * 24, T0)

    records, bag = _fire([key_state_entry(state)], counts)
    assert key_state_entry(state)[0] == FORMAT  # not pickled: the codec's bytes as they are
    for earlier in (
        pickle.dumps((0, encode_key_state(state)), pickle.HIGHEST_PROTOCOL),  # the codec's, inside a pickle
        pickle.dumps((0, state), pickle.HIGHEST_PROTOCOL),  # the KeyState object, before the codec
    ):
        records_then, bag_then = _fire([earlier], counts)
        assert records_then == records
        assert bag_then == bag
    assert len(bag) == 1 and bag[0][0] == FORMAT
    after = decode_key_state(bag[0])
    assert after.horizons["15m"][0].last_end == end  # the period was scored on the decoded state
    assert records and records[0]["key"] == "maracuya"
