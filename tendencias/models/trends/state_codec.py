"""KeyState as compact bytes: what a key keeps in the runner's state between periods.

A key's state is written back every time it is scored, and a stream has millions of keys, so
its size is the trend stage's memory (Prism's state store, Flink's state backend and
checkpoints). The bytes hold exactly what the objects hold, and decode to states that score
exactly alike (tests/unit/models/trends/test_state_codec.py):
- each horizon's KeyHistory as `KeyHistory.encode()` packs it (~300 bytes, float32 bins);
- each recent period's WindowStats as its `__getstate__` tuple, without the sketch when it is
  just the examples' hashes (a period of a key with few posts);
- the latest period's window volumes (whole posts as floats, period ends) as integer arrays;
- all of it pickled as plain tuples (no class names) and zlib-compressed: a key seen a few
  times has mostly zero bins, and its examples' texts repeat across the horizons.
"""

from __future__ import annotations

import pickle
import zlib
from array import array

from tendencias.models.trends.baseline import KeyHistory
from tendencias.models.trends.key_scorer import KeyState, Recent
from tendencias.models.trends.stats import WindowStats

FORMAT = 1  # the first byte: a state written by another format is refused, not misread
_SKETCH = WindowStats.__slots__.index("sketch")
_EXAMPLES = WindowStats.__slots__.index("examples")


def encode_key_state(state: KeyState) -> bytes:
    payload = tuple(
        (horizon, history.encode(), tuple(_recent(r) for r in kept))
        for horizon, (history, kept) in state.horizons.items()
    )
    return bytes((FORMAT,)) + zlib.compress(pickle.dumps(payload, pickle.HIGHEST_PROTOCOL), 1)


def decode_key_state(data: bytes) -> KeyState:
    if not data or data[0] != FORMAT:
        raise ValueError(f"not a key state of format {FORMAT} (first byte {data[:1]!r})")
    state = KeyState()
    for horizon, history, kept in pickle.loads(zlib.decompress(data[1:])):
        state.horizons[horizon] = (
            KeyHistory.decode(history),
            [_unrecent(r) for r in kept],
        )
    return state


def _recent(r: Recent) -> tuple:
    stats = r.stats.__getstate__()
    if stats[_SKETCH] == [example[0] for example in stats[_EXAMPLES]]:
        stats = stats[:_SKETCH] + (None,) + stats[_SKETCH + 1 :]
    return r.end, r.revision, stats, _packed_periods(r.window_periods)


def _unrecent(packed: tuple) -> Recent:
    end, revision, stats_state, periods = packed
    if stats_state[_SKETCH] is None:
        sketch = [example[0] for example in stats_state[_EXAMPLES]]
        stats_state = stats_state[:_SKETCH] + (sketch,) + stats_state[_SKETCH + 1 :]
    stats = WindowStats.__new__(WindowStats)
    stats.__setstate__(stats_state)
    return Recent(end, stats, _unpacked_periods(periods), revision)


def _packed_periods(periods: tuple[tuple[int, float], ...]) -> tuple:
    """(period end, posts) pairs as two uint32 arrays (ends as steps from the first, posts as
    whole numbers) when they are exactly that; otherwise as they are."""
    if len(periods) < 2:
        return periods
    ends = [end for end, _ in periods]
    volumes = [volume for _, volume in periods]
    try:
        steps = array("I", [b - a for a, b in zip(ends, ends[1:], strict=False)])
        posts = array("I", [int(v) for v in volumes])
    except (OverflowError, TypeError, ValueError):
        return periods
    if any(type(v) is not float for v in volumes) or (
        array("d", map(float, posts)).tobytes() != array("d", volumes).tobytes()  # bit for bit: not -0.0
    ):
        return periods
    return ends[0], steps.tobytes(), posts.tobytes()


def _unpacked_periods(packed: tuple) -> tuple[tuple[int, float], ...]:
    if not packed or isinstance(packed[0], tuple):
        return packed
    first, steps_bytes, posts_bytes = packed
    steps, posts = array("I"), array("I")
    steps.frombytes(steps_bytes)
    posts.frombytes(posts_bytes)
    ends = [first]
    for step in steps:
        ends.append(ends[-1] + step)
    return tuple(zip(ends, map(float, posts), strict=True))
