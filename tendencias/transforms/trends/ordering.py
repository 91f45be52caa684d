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

A DoFn class makes its own `Ordering` (see there).
"""

from __future__ import annotations

import pickle
import struct
from collections.abc import Callable
from typing import Any

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
        self.first_spec = userstate.TimerSpec(f"{name}_first", userstate.TimeDomain.WATERMARK)
        self.last_spec = userstate.TimerSpec(f"{name}_last", userstate.TimeDomain.WATERMARK)
        # the instant (8 bytes) then the pickled element: a firing reads every buffered entry,
        # but unpickles only those due and writes the rest back as they were
        self.pending = beam.DoFn.StateParam(userstate.BagStateSpec(f"{name}_pending", BytesCoder()))
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

        def make(spec: userstate.TimerSpec, name: str):
            def fire(self, key, fired, pending, first_at, last_at, first, last, *states):
                due = release(fired, pending, first_at, last_at, first, last)
                if due:
                    yield from self.drain(key, due, *states)

            # Beam finds a callback's state in its parameters' defaults: one signature per kind
            if order.log is None:

                def callback(
                    self,
                    key=beam.DoFn.KeyParam,
                    fired=beam.DoFn.TimestampParam,
                    pending=order.pending,
                    first_at=order.first_at,
                    last_at=order.last_at,
                    first=order.first,
                    last=order.last,
                    state=order.state,
                ):
                    return fire(self, key, fired, pending, first_at, last_at, first, last, state)

            else:

                def callback(
                    self,
                    key=beam.DoFn.KeyParam,
                    fired=beam.DoFn.TimestampParam,
                    pending=order.pending,
                    first_at=order.first_at,
                    last_at=order.last_at,
                    first=order.first,
                    last=order.last,
                    state=order.state,
                    log=order.log,
                ):
                    return fire(self, key, fired, pending, first_at, last_at, first, last, state, log)

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


def release(fired: Timestamp, pending, first_at, last_at, first, last) -> list[tuple[int, Any]]:
    """The buffered (instant, element) pairs up to `fired` (a timer's time), in time order."""
    limit = fired.micros // 1000
    due, rest = [], []
    for data in pending.read():
        at = _AT.unpack_from(data)[0]
        (due if at <= limit else rest).append((at, data))
    if not due:
        return []
    pending.clear()
    for _, data in rest:
        pending.add(data)
    if rest:
        earliest, latest = min(at for at, _ in rest), max(at for at, _ in rest)
        first.set(to_timestamp(earliest))
        last.set(to_timestamp(latest))
        first_at.write(earliest)
        last_at.write(latest)
    else:
        first_at.clear()
        last_at.clear()
    due.sort(key=lambda item: item[0])
    return [(at, pickle.loads(data[_AT.size :])) for at, data in due]
