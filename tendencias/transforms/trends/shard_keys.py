"""One shard's keys' scoring state in the stream: durable in Beam state, cached in the worker.

Beam state holds the truth: a runner may move a shard to another worker, retry a bundle or
restore a job from a checkpoint, so a DoFn instance's memory can only be a cache of it. Reading
a shard's keys from Beam state at every firing would cost a round trip per key (per page, at
best) on runners that give the SDK no state cache (Prism gives no cache tokens); so the keys
live in this process (`ShardKeys`, shared by the DoFn's instances) and Beam state keeps:

- a log of the keys each firing changed (a bag of pickled lists of (pair, last period end
  seen, encoded KeyState or None once forgotten)): written, never read while the cache is
  good; rewritten with the live keys only once it holds more than twice as many entries;
- a generation token, written at each firing beside the shard's other state (one read per
  firing, which the scorer makes anyway). The cache carries the token of the firing that made
  it; a firing that reads another one (another worker moved the shard on, or the bundle that
  made the cache failed and was retried) rebuilds the cache from the log first.

Keys are kept encoded (`KeyState.encode`): decoding one for each of its periods costs a few
microseconds, and a million keys fit where their objects would not.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable

from tendencias.models.trends.key_scorer import KeyState
from tendencias.models.trends.shard_scorer import last_seen

Pair = tuple[str, str]
Entry = tuple[Pair, int, bytes | None]  # (pair, last period end seen, encoded KeyState | None)

COMPACT_AT_LEAST = 20_000  # log entries before a shard's log is ever rewritten
_CHUNK = 5_000  # entries per bag element when the log is rewritten
CHANGING = b"changing"  # the generation of a cache while a firing changes it


def _dumps(value) -> bytes:
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


class ShardKeys:
    """A shard's keys in this process: {pair: (last period end seen, encoded KeyState)}."""

    def __init__(self):
        self.generation: bytes | None = None
        self.keys: dict[Pair, tuple[int, bytes]] = {}
        self.logged = 0  # entries in the durable log
        self._changed: dict[Pair, Entry] = {}
        self.swept_at = 0  # event time of the last sweep for silent keys

    @classmethod
    def load(cls, log: Iterable[bytes]) -> ShardKeys:
        """The shard's keys as the durable log has them: later entries win, None forgets."""
        out = cls()
        for data in log:
            entries: list[Entry] = pickle.loads(data)
            out.logged += len(entries)
            for pair, seen, blob in entries:
                if blob is None:
                    out.keys.pop(pair, None)
                else:
                    out.keys[pair] = (seen, blob)
        return out

    def get(self, pair: Pair) -> KeyState:
        found = self.keys.get(pair)
        return KeyState() if found is None else KeyState.decode(found[1])

    def put(self, pair: Pair, state: KeyState) -> None:
        entry = (pair, last_seen(state), state.encode())
        self.keys[pair] = entry[1:]
        self._changed[pair] = entry

    def forget_silent(self, before: int) -> int:
        """Forgets the keys last seen before `before` (ms); returns how many."""
        silent = [pair for pair, (seen, _) in self.keys.items() if seen < before]
        for pair in silent:
            del self.keys[pair]
            self._changed[pair] = (pair, 0, None)
        return len(silent)

    def flush(self, log) -> None:
        """Writes what changed to the durable log (a BagState), or rewrites it when it has
        grown past twice the live keys."""
        if not self._changed:
            return
        if self.logged + len(self._changed) > max(COMPACT_AT_LEAST, 2 * len(self.keys)):
            log.clear()
            live = [(pair, seen, blob) for pair, (seen, blob) in self.keys.items()]
            for i in range(0, len(live), _CHUNK):
                log.add(_dumps(live[i : i + _CHUNK]))
            self.logged = len(live)
        else:
            log.add(_dumps(list(self._changed.values())))
            self.logged += len(self._changed)
        self._changed = {}
