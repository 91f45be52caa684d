"""A shard's key states in the stream: durable in Beam state, cached in the worker.

The streaming scorer (`ScoreStreamShardFn`, key_state.py) is keyed by shard, not by trend key: a
period's keys of one shard come as one element, so Beam moves a few elements a period instead
of one per key, and reads and writes state once a firing instead of once a key. A shard holds
a day's worth of keys (hundreds of thousands in a busy stream), far too many to load and store
at every firing, so as with the story clusters (transforms/stories/clusters_state.py) Beam state
holds the truth and this process a copy (`CachedShard`, shared by the DoFn's instances):

- a log (a bag): a snapshot of the shard's keys, each as (latest period end, its KeyState as
  models/trends/state_codec.py encodes it), then one entry per firing since: what the firing
  scored (its periods' keys and counts), each deflated as a whole. A rebuilt copy scores them
  again, as the firings did: the scoring is deterministic. Rewritten as a new snapshot once the
  firings since the last one reach a quarter of it (or MIN_SNAPSHOT_BYTES), so the log is at
  most 1.25 times the keys' state; keys silent for `forget_after` are left out. Entries of
  the log as it was before (the keys a firing changed) still load.
- the keys scored since they were last encoded stay decoded in the worker, and are encoded into
  its copy at the next snapshot, or once more than MAX_CHANGED wait: a key in every period (a
  region, a brand, a common word) was decoded and encoded at every firing, about 130 us a key
  and period, the largest part of the live job's scoring CPU.
- a generation token, written at each firing (one small read per firing). A firing that reads
  another token than its copy's (another worker moved the shard on, or the bundle that made the
  copy failed and was retried) rebuilds the copy from the log first.
Other keys are kept as their encoded bytes, not objects: a million keys take about 0.6 GiB
(bench_trends_throughput.py), and a firing decodes only the keys it scores.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from tendencias.models.trends.key_scorer import KeyState
from tendencias.models.trends.state_codec import decode_key_state, encode_key_state

Pair = tuple[str, str]  # (kind, key)
Entry = tuple[int, bytes]  # (latest period end ms, encoded KeyState)
Due = list[tuple[int, Any]]  # a firing's (instant, (horizon, period end, [(pair, PeriodCounts)]))

CHANGING = b"changing"  # the generation of a copy while a firing changes it
LOGGED_SHARE = 0.25  # the firings logged since a snapshot, as a share of it, that rewrite it
MAX_CHANGED = 4096  # keys kept decoded (changed since they were last encoded), a few KB each
MIN_SNAPSHOT_BYTES = 1 << 20  # firings logged before a small snapshot is rewritten
_SNAPSHOT, _CHANGES = b"S", b"C"


def _packed(kind: bytes, value) -> bytes:
    # deflated as a whole: the keys' deflated states still share much (their blocks' code
    # tables, the same field values), so a snapshot is about half its keys' bytes one by one
    return kind + zlib.compress(pickle.dumps(value, pickle.HIGHEST_PROTOCOL), 1)


def _unpacked(data: bytes):
    return pickle.loads(zlib.decompress(data[1:]))


def latest_end(state: KeyState) -> int:
    """The end of the latest period a key's state has counted, over its horizons."""
    return max((history.last_end for history, _ in state.horizons.values()), default=0)


class CachedShard:
    """One shard's keys in this process: encoded as of the snapshot, decoded since."""

    def __init__(self, keys: dict[Pair, Entry] | None = None, sequence: int = 0, snapshot_bytes: int = 0):
        self.generation: bytes | None = None
        self.keys: dict[Pair, Entry] = keys if keys is not None else {}
        self.changed: dict[Pair, KeyState] = {}  # the keys scored since the snapshot, decoded
        self.sequence = sequence  # of the latest log entry (bags need not keep their order)
        self.snapshot_bytes = snapshot_bytes
        self.logged = 0  # bytes in the log after the snapshot

    @classmethod
    def load(cls, log: Iterable[bytes], rescore: Callable[[CachedShard, Due], None]) -> CachedShard:
        """The shard as the durable log has it: its snapshot, then the firings since scored
        again in order by `rescore(shard, due)`."""
        snapshot, firings = None, []
        for data in log:
            if data[:1] == _SNAPSHOT:
                snapshot = (_unpacked(data), len(data))
            else:
                firings.append((_unpacked(data), len(data)))
        (sequence, keys), size = snapshot or ((0, {}), 0)
        out = cls(keys, sequence, size)
        for entry, size in sorted(firings, key=lambda firing: firing[0][0]):
            if entry[0] <= sequence:  # in the snapshot already
                continue
            if len(entry) == 2:  # (number, {pair: Entry or None}): the keys a firing changed,
                out._changes(entry[1])  # as the log held them before it held firings
            else:
                _, due, spilled = entry
                rescore(out, due)
                if spilled:
                    out._spill()
            out.sequence, out.logged = entry[0], out.logged + size
        return out

    def _changes(self, changed: dict[Pair, Entry | None]) -> None:
        for pair, entry in changed.items():
            self.changed.pop(pair, None)
            if entry is None:
                self.keys.pop(pair, None)
            else:
                self.keys[pair] = entry

    def get(self, pair: Pair) -> KeyState:
        """The key's state, to be scored: decoded once, kept until the next snapshot."""
        state = self.changed.get(pair)
        if state is None:
            entry = self.keys.get(pair)
            state = self.changed[pair] = KeyState() if entry is None else decode_key_state(entry[1])
        return state

    def last_end(self, pair: Pair) -> int | None:
        if pair in self.changed:
            return latest_end(self.changed[pair])
        entry = self.keys.get(pair)
        return None if entry is None else entry[0]

    def forget(self, pair: Pair) -> None:
        self.changed.pop(pair, None)
        self.keys.pop(pair, None)

    def flush(self, log, due: Due, forget_before: int) -> int:
        """Logs this firing's `due` in the durable log (a BagState), or writes a new snapshot in
        its place once the firings since the last one reach LOGGED_SHARE of it. Returns the
        number of keys forgotten (silent since `forget_before`)."""
        self.sequence += 1
        spilled = len(self.changed) > MAX_CHANGED
        if spilled:
            self._spill()
        firing = _packed(_CHANGES, (self.sequence, due, spilled))
        if self.logged + len(firing) < max(self.snapshot_bytes * LOGGED_SHARE, MIN_SNAPSHOT_BYTES):
            log.add(firing)
            self.logged += len(firing)
            return 0
        return self.snapshot(log, forget_before)

    def _spill(self) -> None:
        """The changed keys encoded into the copy. Encoding rounds a key's float64 history to
        float32, so a rebuilt copy spills where this one did (the log says where) and both
        score on from the same bits."""
        for pair, state in self.changed.items():
            self.keys[pair] = (latest_end(state), encode_key_state(state))
        self.changed = {}

    def snapshot(self, log, forget_before: int) -> int:
        """Replaces the log with a snapshot of the keys, without those silent since
        `forget_before` (ms). Returns how many were left out."""
        self._spill()
        silent = [pair for pair, (end, _) in self.keys.items() if end < forget_before]
        for pair in silent:
            del self.keys[pair]
        snapshot = _packed(_SNAPSHOT, (self.sequence, self.keys))
        log.clear()
        log.add(snapshot)
        self.snapshot_bytes, self.logged = len(snapshot), 0
        return len(silent)
