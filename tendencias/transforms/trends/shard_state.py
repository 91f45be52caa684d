"""A shard's key states in the stream: durable in Beam state, cached in the worker.

The streaming scorer (`ScoreStreamShardFn`, key_state.py) is keyed by shard, not by trend key: a
period's keys of one shard come as one element, so Beam moves a few elements a period instead
of one per key, and reads and writes state once a firing instead of once a key. A shard holds
a day's worth of keys (hundreds of thousands in a busy stream), far too many to load and store
at every firing, so as with the story clusters (transforms/stories/clusters_state.py) Beam state
holds the truth and this process a copy (`CachedShard`, shared by the DoFn's instances):

- a log (a bag): a snapshot of the shard's keys, each as (latest period end, its KeyState as
  models/trends/state_codec.py encodes it), then one entry per firing since, of the keys it
  changed (None: forgotten), each deflated as a whole. Rewritten as a new snapshot once the
  changes since the last one reach a quarter of it, so the log is at most 1.25 times the keys'
  state and each key's bytes are written a bounded number of times; keys silent for
  `forget_after` are left out of it.
- a generation token, written at each firing (one small read per firing). A firing that reads
  another token than its copy's (another worker moved the shard on, or the bundle that made the
  copy failed and was retried) rebuilds the copy from the log first.
The copy keeps each key's encoded bytes, not its objects: a million keys take about 0.6 GiB
(bench_trends_throughput.py), and a firing decodes only the keys it scores.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Iterable

from tendencias.models.trends.key_scorer import KeyState
from tendencias.models.trends.state_codec import decode_key_state, encode_key_state

Pair = tuple[str, str]  # (kind, key)
Entry = tuple[int, bytes]  # (latest period end ms, encoded KeyState)

CHANGING = b"changing"  # the generation of a copy while a firing changes it
LOGGED_SHARE = 0.25  # the changes logged since a snapshot, as a share of it, that rewrite it
MIN_SNAPSHOT_BYTES = 1 << 16  # changes logged before a small snapshot is rewritten
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
    """One shard's keys in this process, with the changes of the firing under way."""

    def __init__(self, keys: dict[Pair, Entry] | None = None, sequence: int = 0, snapshot_bytes: int = 0):
        self.generation: bytes | None = None
        self.keys: dict[Pair, Entry] = keys if keys is not None else {}
        self.sequence = sequence  # of the latest log entry (bags need not keep their order)
        self.snapshot_bytes = snapshot_bytes
        self.logged = 0  # bytes in the log after the snapshot
        self._open: dict[Pair, KeyState] = {}  # the keys this firing scores, decoded
        self._changed: dict[Pair, Entry | None] = {}

    @classmethod
    def load(cls, log: Iterable[bytes]) -> CachedShard:
        """The shard as the durable log has it: its snapshot, then the changes since, in order."""
        snapshot, changes = None, []
        for data in log:
            if data[:1] == _SNAPSHOT:
                snapshot = (_unpacked(data), len(data))
            else:
                changes.append((_unpacked(data), len(data)))
        (sequence, keys), size = snapshot or ((0, {}), 0)
        out = cls(keys, sequence, size)
        for (number, changed), size in sorted(changes, key=lambda change: change[0][0]):
            if number > sequence:  # not in the snapshot already
                for pair, entry in changed.items():
                    if entry is None:
                        out.keys.pop(pair, None)
                    else:
                        out.keys[pair] = entry
                out.sequence, out.logged = number, out.logged + size
        return out

    def get(self, pair: Pair) -> KeyState:
        """The key's state, decoded once a firing: `flush` writes back every state it gave."""
        state = self._open.get(pair)
        if state is None:
            entry = self.keys.get(pair)
            state = self._open[pair] = KeyState() if entry is None else decode_key_state(entry[1])
        return state

    def last_end(self, pair: Pair) -> int | None:
        if pair in self._open:
            return latest_end(self._open[pair])
        entry = self.keys.get(pair)
        return None if entry is None else entry[0]

    def forget(self, pair: Pair) -> None:
        self._open.pop(pair, None)
        if self.keys.pop(pair, None) is not None:
            self._changed[pair] = None

    def flush(self, log, forget_before: int) -> int:
        """Writes this firing's changes to the durable log (a BagState), or a new snapshot in its
        place, without the keys last counted before `forget_before` (ms), once the changes since
        the last one reach LOGGED_SHARE of it. Returns the number of keys forgotten."""
        for pair, state in self._open.items():
            self.keys[pair] = self._changed[pair] = (latest_end(state), encode_key_state(state))
        self._open = {}
        if not self._changed:
            return 0
        self.sequence += 1
        changes = _packed(_CHANGES, (self.sequence, self._changed))
        self._changed = {}
        if self.logged + len(changes) < max(self.snapshot_bytes * LOGGED_SHARE, MIN_SNAPSHOT_BYTES):
            log.add(changes)
            self.logged += len(changes)
            return 0
        silent = [pair for pair, (end, _) in self.keys.items() if end < forget_before]
        for pair in silent:
            del self.keys[pair]
        snapshot = _packed(_SNAPSHOT, (self.sequence, self.keys))
        log.clear()
        log.add(snapshot)
        self.snapshot_bytes, self.logged = len(snapshot), 0
        return len(silent)
