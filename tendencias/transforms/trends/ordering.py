"""Event-time order for stateful DoFns: buffer elements, take them in time order once the
watermark has passed them.

Elements reach a stateful DoFn in any order (batch) or roughly in order (streaming). `hold`
buffers an element with the instant it describes; `release`, called from a timer, returns in
time order every buffered element the watermark has passed and keeps the rest. Two event-time
timers per key: one at the earliest buffered instant (elements are taken as soon as they are
complete, and the output watermark is held there) and one at the latest (in a bounded run the
watermark jumps to the end at once, so that one firing takes everything, instead of one
firing per element). Neither ever takes an element the watermark has not passed, so the order
holds on every runner (checked on DirectRunner and Prism).

While the watermark moves in small steps through a backlog, most buffered elements wait through
many firings. So a firing reads only what was held since the last one; the elements that still
wait are appended to a second bag, which this process keeps a copy of (checked by a generation
token, like transforms/stories/clusters_state.py) and which is rewritten only once most of it
has been released: each entry is read and written a bounded number of times, not once a firing.

A DoFn class makes its own `Ordering` (see there).
"""

from __future__ import annotations

import bisect
import inspect
import os
import pickle
import struct
from collections.abc import Callable
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.coders import BytesCoder, VarIntCoder
from apache_beam.transforms import userstate
from apache_beam.utils.timestamp import Timestamp


class Ordering:
    """The state and timers of one ordered DoFn class (named, as runners that fuse stateful
    DoFns into one stage may mix up same-named timers: DirectRunner's does).

    In the class body, `on_first, on_last = ORDER.timers()`; `process` is `ORDER.holding(...)`,
    or takes `.pending`, `.first_at`, `.last_at`, `.first`, `.last` (and `.state`, the DoFn's own
    pickled state) as parameter defaults and calls `hold`; the timers call the DoFn's
    `drain(key, due, state)` with the due (instant, element) pairs in time order. With
    `log=True` the DoFn also gets a bag of its own, `drain(key, due, state, log)`: a DoFn that
    keeps its value in worker memory writes its durable copy there (transforms/stories/assign.py)."""

    def __init__(self, name: str, log: bool = False):
        self.name = name
        self.first_spec = userstate.TimerSpec(f"{name}_first", userstate.TimeDomain.WATERMARK)
        self.last_spec = userstate.TimerSpec(f"{name}_last", userstate.TimeDomain.WATERMARK)
        # An entry is the instant (8 bytes) then the pickled element: a firing unpickles only the
        # entries it releases. `pending`: held since the last firing that released anything;
        # `kept`: those a firing found not yet due, appended and not read while this process's
        # copy of them is good (`Kept`); `mark`: the latest instant released (8 bytes; a kept
        # entry at or before it is gone) and the generation token of the firing that wrote it.
        self.pending = beam.DoFn.StateParam(userstate.BagStateSpec(f"{name}_pending", BytesCoder()))
        self.kept = beam.DoFn.StateParam(userstate.BagStateSpec(f"{name}_kept", BytesCoder()))
        self.mark = beam.DoFn.StateParam(userstate.ReadModifyWriteStateSpec(f"{name}_mark", BytesCoder()))
        self.first_at = beam.DoFn.StateParam(
            userstate.ReadModifyWriteStateSpec(f"{name}_first_at", VarIntCoder())
        )
        self.last_at = beam.DoFn.StateParam(
            userstate.ReadModifyWriteStateSpec(f"{name}_last_at", VarIntCoder())
        )
        self.first = beam.DoFn.TimerParam(self.first_spec)
        self.last = beam.DoFn.TimerParam(self.last_spec)
        self.state = beam.DoFn.StateParam(userstate.ReadModifyWriteStateSpec(f"{name}_state", BytesCoder()))
        self.log = beam.DoFn.StateParam(userstate.BagStateSpec(f"{name}_log", BytesCoder())) if log else None

    def timers(self):
        order = self

        # Beam finds what a callback takes in its parameters' defaults: built from this
        # Ordering's (the log only when it has one), the callback gets them by name
        wanted = {
            "key": beam.DoFn.KeyParam,
            "win": beam.DoFn.WindowParam,
            "fired": beam.DoFn.TimestampParam,
            **{name: getattr(order, name) for name in Held._fields},
            "state": order.state,
            **({} if order.log is None else {"log": order.log}),
        }
        signature = inspect.Signature(
            [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
            + [
                inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)
                for name, default in wanted.items()
            ]
        )

        def make(spec: userstate.TimerSpec, name: str):
            def callback(self, **got):
                held = Held(*(got[field] for field in Held._fields))
                due = release(got["fired"], held, (order.name, got["key"], got["win"]))
                if due:
                    yield from self.drain(got["key"], due, *(got[n] for n in ("state", "log") if n in got))

            callback.__signature__ = signature
            callback.__name__ = callback.__qualname__ = name  # Beam finds a timer's callback by name
            return userstate.on_timer(spec)(callback)

        return make(self.first_spec, "on_first"), make(self.last_spec, "on_last")

    def holding(self, instant: Callable[[Any], int]):
        """A `process` for a DoFn that only buffers: each (key, value) element's value is held
        until the watermark passes `instant(value)` (ms), then `drain` takes it in time order."""
        order = self

        def process(
            self,
            element,
            pending=order.pending,
            first_at=order.first_at,
            last_at=order.last_at,
            first=order.first,
            last=order.last,
        ):
            _, value = element
            hold(instant(value), value, pending, first_at, last_at, first, last)

        return process


_AT = struct.Struct(">q")  # a pending entry's instant, in ms


def load(state, default: Any = None) -> Any:
    """The value a DoFn keeps in its `Ordering.state` (pickled), or `default`."""
    data = state.read()
    return pickle.loads(data) if data else default


def store(state, value: Any) -> None:
    state.write(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))


def to_timestamp(ms: int) -> Timestamp:
    return Timestamp(micros=ms * 1000)


def hold(at_ms: int, element: Any, pending, first_at, last_at, first, last) -> None:
    """Buffers `element`, complete once the watermark passes `at_ms`."""
    pending.add(_AT.pack(at_ms) + pickle.dumps(element, pickle.HIGHEST_PROTOCOL))
    earliest, latest = first_at.read(), last_at.read()
    if earliest is None or at_ms < earliest:
        first.set(to_timestamp(at_ms))
        first_at.write(at_ms)
    if latest is None or at_ms > latest:
        last.set(to_timestamp(at_ms))
        last_at.write(at_ms)


class Held(NamedTuple):
    """One key's ordering state and timers, as a timer callback gets them."""

    pending: Any
    kept: Any
    mark: Any
    first_at: Any
    last_at: Any
    first: Any
    last: Any


COMPACT_AT_LEAST = 256  # gone entries in `kept` before it is ever rewritten
CHANGING = b"changing"  # the generation of a copy while a firing changes it
_NEVER = -(2**63)


class Kept:
    """This process's copy of a key's kept entries: (instant, entry) in time order, and how many
    entries of the durable bag are gone (released since it was last rewritten)."""

    def __init__(self, live: list[tuple[int, bytes]], gone: int = 0):
        self.generation: bytes | None = None
        self.live = live
        self.gone = gone

    @classmethod
    def load(cls, bag, mark: int) -> Kept:
        live, gone = [], 0
        for data in bag.read():
            at = _AT.unpack_from(data)[0]
            if at > mark:
                live.append((at, data))
            else:
                gone += 1
        live.sort(key=_instant)
        return cls(live, gone)

    def take(self, limit: int) -> list[tuple[int, bytes]]:
        """The entries up to `limit`, now gone."""
        n = bisect.bisect_right(self.live, limit, key=_instant)
        taken = self.live[:n]
        del self.live[:n]
        self.gone += n
        return taken

    def keep(self, entries: list[tuple[int, bytes]], bag) -> None:
        for entry in entries:
            bisect.insort_right(self.live, entry, key=_instant)
            bag.add(entry[1])

    def compact(self, bag) -> None:
        """Rewrites the bag with the live entries once most of it is gone (or all of it)."""
        if self.gone and (not self.live or self.gone >= max(COMPACT_AT_LEAST, len(self.live))):
            bag.clear()
            for _, data in self.live:
                bag.add(data)
            self.gone = 0


# This process's copies: {(Ordering name, key, window): Kept}. Beam runs one bundle of a key at a
# time, so a copy is never used by two threads at once; another pipeline in the process with the
# same names reads another token, so it rebuilds instead of taking this one.
_KEPT: dict[tuple[str, Any, Any], Kept] = {}


def _instant(entry: tuple[int, bytes]) -> int:
    return entry[0]


def release(fired: Timestamp, held: Held, copy_key: tuple = ("", None, None)) -> list[tuple[int, Any]]:
    """The buffered (instant, element) pairs up to `fired` (a timer's time), in time order.

    Also those up to the latest instant a firing released: the watermark has passed it, so they
    are late, and keeping them would put them where a rebuilt copy takes them for gone."""
    data = held.mark.read()
    mark, generation = (_AT.unpack_from(data)[0], data[_AT.size :]) if data else (_NEVER, None)
    limit = max(fired.micros // 1000, mark)
    kept = _KEPT.get(copy_key)
    if generation is None:  # nothing released yet, so nothing kept
        kept = _KEPT[copy_key] = Kept([])
    elif kept is None or kept.generation != generation:
        kept = _KEPT[copy_key] = Kept.load(held.kept, mark)
    new = [(_AT.unpack_from(entry)[0], entry) for entry in held.pending.read()]
    if not any(at <= limit for at, _ in new) and not (kept.live and kept.live[0][0] <= limit):
        kept.generation = generation
        return []
    kept.generation = CHANGING  # until this firing is written, the copy is ahead of Beam state
    due = kept.take(limit) + [entry for entry in new if entry[0] <= limit]
    held.pending.clear()
    kept.keep([entry for entry in new if entry[0] > limit], held.kept)
    kept.compact(held.kept)
    if kept.live:
        earliest, latest = kept.live[0][0], kept.live[-1][0]
        held.first.set(to_timestamp(earliest))
        held.last.set(to_timestamp(latest))
        held.first_at.write(earliest)
        held.last_at.write(latest)
    else:
        held.first_at.clear()
        held.last_at.clear()
    generation = os.urandom(8)
    held.mark.write(_AT.pack(limit) + generation)
    kept.generation = generation
    due.sort(key=_instant)
    return [(at, pickle.loads(entry[_AT.size :])) for at, entry in due]
