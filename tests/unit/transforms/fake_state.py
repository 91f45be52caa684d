"""Beam state and timers as a DoFn's code uses them, in memory, for tests that call a stateful
DoFn's pieces directly (to roll state back as a failed bundle would, or count what is read)."""

from __future__ import annotations


class Value:
    """A ReadModifyWriteState."""

    def __init__(self):
        self.value = None

    def read(self):
        return self.value

    def write(self, value):
        self.value = value

    def clear(self):
        self.value = None


class Bag:
    """A BagState that counts its reads and adds."""

    def __init__(self):
        self.items: list = []
        self.adds = self.reads = 0

    def read(self):
        self.reads += 1
        return list(self.items)

    def add(self, value):
        self.adds += 1
        self.items.append(value)

    def clear(self):
        self.items = []


class Timer:
    def __init__(self):
        self.at = None

    def set(self, timestamp):
        self.at = timestamp


class NeverKept(dict):
    """A process cache of worker copies that keeps nothing: every firing rebuilds from state."""

    def __setitem__(self, key, value):
        pass

    def get(self, key, default=None):
        return default


def count_loads(monkeypatch, cached_class) -> list:
    """Counts the rebuilds of a worker copy from Beam state: one item per `cached_class.load`."""
    count: list = []
    real = cached_class.load.__func__

    def counted(cls, *args):
        count.append(1)
        return real(cls, *args)

    monkeypatch.setattr(cached_class, "load", classmethod(counted))
    return count
