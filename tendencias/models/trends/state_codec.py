"""KeyState as compact bytes: what a key keeps in the runner's state between periods.

A key's state is written back every time it is scored, and a stream has millions of keys, so
its size is the trend stage's memory (Prism's state store, Flink's state backend and
checkpoints). The bytes hold exactly what the objects hold, and decode to states that score
exactly alike (tests/unit/models/trends/test_state_codec.py). Most keys are seen once or twice,
so what is packed away is mostly what such a key repeats or leaves empty:
- each horizon's KeyHistory as `KeyHistory.encode()` packs it, its float32 bins sparse (a
  64-bit mask of the non-zero ones) and byte-shuffled (all first bytes, then all second ...:
  bins of a key have like exponents, so the shuffled bytes repeat);
- each recent period's WindowStats as its `__getstate__` tuple, without the sketch when it is
  just the examples' hashes, without an example's hash when it is the crc32 of its post id,
  and as a back-reference when another horizon's period holds the very same counts;
- the latest period's window volumes (whole posts as floats, period ends) as integer arrays,
  the ends as one step when they are evenly spaced;
- period ends as offsets from the history's latest period;
- all of it pickled as plain tuples (no class names, no memo) and raw-deflated.
Format 1 (the first codec: whole histories, absolute ends, zlib) is still read, so a job upgraded
on live state keeps it.
"""

from __future__ import annotations

import io
import pickle
import zlib
from array import array

import numpy as np

from tendencias.models.trends.baseline import BINS_BYTES, KeyHistory
from tendencias.models.trends.key_scorer import KeyState, Recent
from tendencias.models.trends.stats import WindowStats

FORMAT = 2  # the first byte: a state written by an unknown format is refused, not misread
_READS = (1, 2)
_SKETCH = WindowStats.__slots__.index("sketch")
_EXAMPLES = WindowStats.__slots__.index("examples")
_LEVEL = 6  # deflate: level 1 is ~1% bigger here, 9 no smaller


def encode_key_state(state: KeyState) -> bytes:
    seen: list[bytes] = []  # every recent period's stats as pickled, for the back-references
    payload = tuple(
        (
            horizon,
            _packed_history(history.encode()),
            tuple(_recent(r, history.last_end, seen) for r in kept),
        )
        for horizon, (history, kept) in state.horizons.items()
    )
    deflate = zlib.compressobj(_LEVEL, zlib.DEFLATED, -15)
    return bytes((FORMAT,)) + deflate.compress(_pickled(payload)) + deflate.flush()


def _pickled(value: tuple) -> bytes:
    """Plain values pickled without a memo (nothing in them is shared, so its opcodes are
    noise) and without the protocol and frame header, which `pickle.loads` does not need."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(value)
    data = out.getbuffer()
    return bytes(data[11:] if data[2] == pickle.FRAME[0] else data[2:])


def decode_key_state(data: bytes) -> KeyState:
    version = data[0] if data else None
    if version not in _READS:
        raise ValueError(f"not a key state of format {_READS} (first byte {data[:1]!r})")
    payload = pickle.loads(zlib.decompress(data[1:], 15 if version == 1 else -15))
    state, seen = KeyState(), []
    for horizon, history, kept in payload:
        if version == 1:
            state.horizons[horizon] = (KeyHistory.decode(history), [_unrecent_v1(r) for r in kept])
            continue
        history = KeyHistory.decode(_unpacked_history(history))
        state.horizons[horizon] = (history, [_unrecent(r, history.last_end, seen) for r in kept])
    return state


def _packed_history(encoded: bytes) -> tuple[bytes, bytes, bytes]:
    head, bins = encoded[:-BINS_BYTES], np.frombuffer(encoded[-BINS_BYTES:], "<u4")
    nonzero = bins != 0
    shuffled = bins[nonzero].view(np.uint8).reshape(-1, 4).T
    return head, np.packbits(nonzero, bitorder="little").tobytes(), shuffled.tobytes()


def _unpacked_history(packed: tuple[bytes, bytes, bytes]) -> bytes:
    head, mask, shuffled = packed
    nonzero = np.unpackbits(np.frombuffer(mask, np.uint8), bitorder="little")[: BINS_BYTES // 4]
    bins = np.zeros(BINS_BYTES // 4, "<u4")
    bins[nonzero.astype(bool)] = np.frombuffer(shuffled, np.uint8).reshape(4, -1).T.copy().view("<u4").ravel()
    return head + bins.tobytes()


def _recent(r: Recent, last_end: int, seen: list[bytes]) -> tuple:
    stats = r.stats.__getstate__()
    if stats[_SKETCH] == [example[0] for example in stats[_EXAMPLES]]:
        stats = stats[:_SKETCH] + (None,) + stats[_SKETCH + 1 :]
    examples = [e[1:] if len(e) == 3 and e[0] == _sample_hash(e[1]) else e for e in stats[_EXAMPLES]]
    stats = stats[:_EXAMPLES] + (examples,) + stats[_EXAMPLES + 1 :]
    pickled = _pickled(stats)
    if pickled in seen:
        stats = seen.index(pickled)
    else:
        seen.append(pickled)
    return last_end - r.end, r.revision, stats, _packed_periods(r.end, r.window_periods)


def _unrecent(packed: tuple, last_end: int, seen: list[tuple]) -> Recent:
    offset, revision, stats_state, periods = packed
    if isinstance(stats_state, int):  # another period's counts: copied, never shared
        stats_state = tuple(v.copy() if isinstance(v, (dict, list)) else v for v in seen[stats_state])
    else:
        examples = [(_sample_hash(e[0]), *e) if len(e) == 2 else e for e in stats_state[_EXAMPLES]]
        stats_state = stats_state[:_EXAMPLES] + (examples,) + stats_state[_EXAMPLES + 1 :]
        seen.append(stats_state)
    end = last_end - offset
    return _stats_recent(end, revision, stats_state, _unpacked_periods(end, periods))


def _unrecent_v1(packed: tuple) -> Recent:
    end, revision, stats_state, periods = packed
    if periods and not isinstance(periods[0], tuple):
        first, steps, posts = periods
        periods = _unpacked_periods(end, (end - first, steps, "I", posts))
    return _stats_recent(end, revision, stats_state, periods)


def _stats_recent(end: int, revision: int, stats_state: tuple, periods: tuple) -> Recent:
    if stats_state[_SKETCH] is None:
        sketch = [example[0] for example in stats_state[_EXAMPLES]]
        stats_state = stats_state[:_SKETCH] + (sketch,) + stats_state[_SKETCH + 1 :]
    stats = WindowStats.__new__(WindowStats)
    stats.__setstate__(stats_state)
    return Recent(end, stats, periods, revision)


def _sample_hash(post_id) -> int | None:
    """An example's hash as `stats.post_mark` makes it, from its post id."""
    return zlib.crc32(post_id.encode("utf-8")) if isinstance(post_id, str) else None


def _packed_periods(end: int, periods: tuple[tuple[int, float], ...]) -> tuple:
    """(period end, posts) pairs as (first end's offset from `end`, the steps between ends, the
    posts' array type, the posts as whole numbers) when they are exactly that; otherwise as they
    are. The steps are one number when they are all the same, else a uint32 array."""
    if len(periods) < 2:
        return periods
    ends = [e for e, _ in periods]
    volumes = [volume for _, volume in periods]
    try:
        steps = array("I", [b - a for a, b in zip(ends, ends[1:], strict=False)])
        posts = array("H" if max(volumes) < 2**16 else "I", [int(v) for v in volumes])
    except (OverflowError, TypeError, ValueError):
        return periods
    if any(type(v) is not float for v in volumes) or (
        array("d", map(float, posts)).tobytes() != array("d", volumes).tobytes()  # bit for bit: not -0.0
    ):
        return periods
    step = steps[0] if steps.count(steps[0]) == len(steps) else steps.tobytes()
    return end - ends[0], step, posts.typecode, posts.tobytes()


def _unpacked_periods(end: int, packed: tuple) -> tuple[tuple[int, float], ...]:
    if not packed or isinstance(packed[0], tuple):
        return packed
    offset, step, typecode, posts_bytes = packed
    posts = array(typecode)
    posts.frombytes(posts_bytes)
    if isinstance(step, int):
        steps = [step] * (len(posts) - 1)
    else:
        steps = array("I")
        steps.frombytes(step)
    ends = [end - offset]
    for s in steps:
        ends.append(ends[-1] + s)
    return tuple(zip(ends, map(float, posts), strict=True))
