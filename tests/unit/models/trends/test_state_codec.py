"""KeyState's compact bytes decode to states that hold, and score, exactly what they held."""

from __future__ import annotations

import copyreg
import pickle
import random
import zlib
from pathlib import Path

import pytest

from tendencias.models.trends.config import TrendScoringConfig
from tendencias.models.trends.key_scorer import KeyState, Recent
from tendencias.models.trends.replay import replay
from tendencias.models.trends.state_codec import FORMAT, decode_key_state, encode_key_state
from tendencias.models.trends.stats import WindowStats

DATA = Path(__file__).parents[3] / "data"
MIN = 60_000
T0 = 1_704_085_200_000  # Monday 2024-01-01 00:00 in Lima
WORDS = [f"palabra{i}" for i in range(200)]
WEIGHTS = [1 / (i + 1) for i in range(200)]  # a few busy words, many rare ones
CONFIG = TrendScoringConfig(trend_slide="5m", trend_window="15m", long_window="2h", warmup="30m")


def _posts(n: int, hours: float, seed: int) -> list[dict]:
    rng = random.Random(seed)
    posts = []
    for i in range(n):
        words = list(dict.fromkeys(rng.choices(WORDS, WEIGHTS, k=3)))
        posts.append(
            {
                "id": f"p{i}",
                "event_time_ms": T0 + int(rng.random() * hours * 60 * MIN),
                "text": " ".join(words) + f" número {i}",
                "text_clean": " ".join(words),
                "tokens": words,
                "hashtags": [],
                "author": f"u{rng.randrange(40)}",
                "region": rng.choice(["lima", "cusco", None]),
                "sentiment": {"score": rng.uniform(-1, 1), "model": "m1"},
                "features_version": "fv1",
            }
        )
    return sorted(posts, key=lambda p: p["event_time_ms"])


def _key_states(posts: list[dict]) -> dict[tuple[str, str], KeyState]:
    states: dict = {}
    replay(posts, CONFIG, states=states)
    out: dict[tuple[str, str], KeyState] = {}
    for (horizon, kind, key), (history, kept) in states.items():
        out.setdefault((kind, key), KeyState()).horizons[horizon] = (history, kept)
    return out


def _plain(state: KeyState) -> dict:
    """Everything a KeyState holds, as comparable values (floats by their bits, via the histories'
    own encoding and repr of the periods)."""
    return {
        horizon: (
            history.encode(),
            history.opened_min,
            [(r.end, r.revision, r.stats.__getstate__(), repr(r.window_periods)) for r in kept],
        )
        for horizon, (history, kept) in state.horizons.items()
    }


def test_every_key_of_a_replayed_stream_decodes_to_what_it_held_and_is_smaller():
    keys = _key_states(_posts(3000, 6, seed=5))
    assert len(keys) > 100
    horizons = {h for state in keys.values() for h in state.horizons}
    assert len(horizons) == 2, "the stream must exercise both horizons"
    with_sketch = with_volumes = 0
    for state in keys.values():
        data = encode_key_state(state)
        assert data[0] == FORMAT
        back = decode_key_state(data)
        assert _plain(back) == _plain(state)
        assert encode_key_state(back) == data  # stable: a state read and written back is the same bytes
        before = pickle.dumps({h: (hist.encode(), kept) for h, (hist, kept) in state.horizons.items()})
        assert len(data) < len(before)
        for _, kept in state.horizons.values():
            with_sketch += sum(r.stats.sketch != [e[0] for e in r.stats.examples] for r in kept)
            with_volumes += sum(len(r.window_periods) > 1 for r in kept)
    assert with_sketch and with_volumes, "the stream must have busy periods and multi-period windows"


def test_a_decoded_state_scores_the_rest_of_the_stream_exactly_as_the_one_kept_in_memory():
    posts = _posts(2500, 5, seed=9)
    cut = posts[len(posts) // 2]["event_time_ms"]
    first, rest = (
        [p for p in posts if p["event_time_ms"] < cut],
        [p for p in posts if p["event_time_ms"] >= cut],
    )
    states: dict = {}
    replay(first, CONFIG, states=states)
    encoded = {}
    for name, pair in states.items():
        state = KeyState()
        state.horizons[name[0]] = pair
        encoded[name] = encode_key_state(state)
    kept_in_memory = replay(rest, CONFIG, states=states)
    round_tripped = {name: decode_key_state(data).horizons[name[0]] for name, data in encoded.items()}
    records = replay(rest, CONFIG, states=round_tripped)
    assert records and records == kept_in_memory


def test_window_volumes_that_are_not_whole_posts_or_in_order_are_kept_as_they_are():
    stats = WindowStats(3)
    odd = (
        ((T0, 2.5), (T0 + MIN, 3.0)),  # a fraction
        ((T0 + MIN, 2.0), (T0, 3.0)),  # ends going back
        ((T0, -0.0), (T0 + MIN, 1.0)),  # a negative zero
        ((T0, 4), (T0 + MIN, 1)),  # ints, not floats
        ((T0, 1.0), (T0 + MIN, 2.0), (T0 + 3 * MIN, 1.0)),  # ends not evenly spaced
        ((T0, 70_000.0), (T0 + MIN, 2.0)),  # more posts than two bytes hold
        ((T0 - 9 * MIN, 1.0), (T0 - 8 * MIN, 0.0)),  # ends long before the period's
        ((T0, 1.0),),
        (),
    )
    for periods in odd:
        state = KeyState()
        state.of("15m")[1].append(Recent(T0, stats, periods, 2))
        back = decode_key_state(encode_key_state(state)).horizons["15m"][1][0]
        assert repr(back.window_periods) == repr(periods)
        assert back.revision == 2


def test_a_key_state_pickles_through_its_compact_bytes():
    keys = _key_states(_posts(800, 3, seed=2))
    state = max(keys.values(), key=lambda s: sum(len(k) for _, k in s.horizons.values()))
    pickled = pickle.dumps(state, pickle.HIGHEST_PROTOCOL)
    assert encode_key_state(state) in pickled
    assert _plain(pickle.loads(pickled)) == _plain(state)


class _PickledBeforeTheCodec:
    """Pickles as a KeyState did before state_codec.py: a new KeyState, then its state (a dict of
    packed histories and recent periods) given to `__setstate__`."""

    def __init__(self, state: KeyState):
        self.state = state

    def __reduce__(self):
        packed = {h: (history.encode(), kept) for h, (history, kept) in self.state.horizons.items()}
        return copyreg._reconstructor, (KeyState, object, None), packed


def test_a_key_state_pickled_before_the_codec_still_loads():
    keys = _key_states(_posts(800, 3, seed=4))
    state = max(keys.values(), key=lambda s: sum(len(k) for _, k in s.horizons.values()))
    loaded = pickle.loads(pickle.dumps(_PickledBeforeTheCodec(state), pickle.HIGHEST_PROTOCOL))
    assert isinstance(loaded, KeyState)
    assert _plain(loaded) == _plain(state)


def test_a_state_written_by_the_first_format_still_decodes():
    """tests/data/key_state_format1.bin: this key's state as format 1 (commit 00ebc51) wrote it."""
    state = _key_states(_posts(3000, 6, seed=5))[("term", "palabra0")]
    data = (DATA / "key_state_format1.bin").read_bytes()
    assert data[0] == 1 != FORMAT
    assert _plain(decode_key_state(data)) == _plain(state)


def test_periods_with_the_same_counts_in_two_horizons_decode_to_counts_of_their_own():
    stats = WindowStats(3)
    stats.examples = [(zlib.crc32(b"p1"), "p1", "uno"), (7, "p2", "hash not from its id")]
    stats.authors, stats.posts = {11: 2}, 2
    state = KeyState()
    state.of("15m")[1].append(Recent(T0, stats, ()))
    state.of("1d")[1].append(Recent(T0, stats, ()))
    one_horizon = KeyState()
    one_horizon.of("15m")[1].append(Recent(T0, stats, ()))
    data = encode_key_state(state)
    assert len(data) < 2 * len(encode_key_state(one_horizon)) - 20  # the second is a reference
    back = decode_key_state(data)
    short, long = back.horizons["15m"][1][0].stats, back.horizons["1d"][1][0].stats
    assert short.__getstate__() == long.__getstate__() == stats.__getstate__()
    short.authors[12] = 1
    short.examples.append((1, "p3", "tres"))
    assert long.authors == {11: 2} and len(long.examples) == 2


def test_bytes_of_another_format_are_refused():
    data = encode_key_state(KeyState())
    with pytest.raises(ValueError, match="format"):
        decode_key_state(bytes((FORMAT + 1,)) + data[1:])
    with pytest.raises(ValueError, match="format"):
        decode_key_state(b"")


def test_a_state_larger_than_a_pickle_frame_round_trips():
    stats = WindowStats(3)
    stats.texts = {i * 7919: i for i in range(20_000)}  # ~200 KB pickled: several 64 KB frames
    state = KeyState()
    state.of("15m")[1].append(Recent(T0, stats, ((T0, 1.0), (T0 + MIN, 2.0))))
    back = decode_key_state(encode_key_state(state))
    assert _plain(back) == _plain(state)
