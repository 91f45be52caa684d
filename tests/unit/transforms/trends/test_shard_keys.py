"""A shard's keys in the stream (transforms/trends/shard_keys.py): what the durable log holds
rebuilds the copy a worker had, through appends, forgetting and rewrites."""

from __future__ import annotations

import pickle

from tendencias.models.trends.key_scorer import KeyState
from tendencias.transforms.trends import shard_keys
from tendencias.transforms.trends.shard_keys import ShardKeys


class Bag:
    """A BagState as the DoFn sees it."""

    def __init__(self):
        self.items: list[bytes] = []

    def add(self, value: bytes) -> None:
        self.items.append(value)

    def clear(self) -> None:
        self.items = []

    def read(self):
        return list(self.items)


def state_seen_at(end: int) -> KeyState:
    state = KeyState()
    state.of("15m")[0].last_end = end
    return state


def test_the_log_rebuilds_the_keys_through_appends_forgetting_and_rewrites(monkeypatch):
    monkeypatch.setattr(shard_keys, "COMPACT_AT_LEAST", 6)
    log, keys = Bag(), ShardKeys()
    for firing in range(1, 8):
        for n in range(firing % 3 + 1):
            keys.put(("term", f"w{n}"), state_seen_at(firing * 1000 + n))
        if firing == 4:
            assert keys.forget_silent(3000) == 1  # w2, last seen in firing 2
        keys.flush(log)
        rebuilt = ShardKeys.load(log.read())
        assert rebuilt.keys == keys.keys
        assert rebuilt.logged == keys.logged == sum(len(pickle.loads(item)) for item in log.items)
    assert keys.logged <= max(6, 2 * len(keys.keys)) + 3  # rewritten: not one entry per put
    assert keys.get(("term", "w0")).of("15m")[0].last_end == 7000
    assert keys.get(("term", "unknown")).horizons == {}
