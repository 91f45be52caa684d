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

A DoFn class uses the parameters of its own `Ordering` as defaults of `process` and of both
timer callbacks.
"""

from __future__ import annotations

import pickle
from typing import Any

import apache_beam as beam
from apache_beam.coders import BytesCoder, VarIntCoder
from apache_beam.transforms import userstate
from apache_beam.utils.timestamp import Timestamp


class Ordering:
    """The state and timers one DoFn class needs (a TimerSpec serves a single callback, so each
    class makes its own): use `.pending`, `.first_at`, `.last_at`, `.first`, `.last` as
    parameter defaults and `@userstate.on_timer(o.first_spec)` / `(o.last_spec)`."""

    def __init__(self):
        self.first_spec = userstate.TimerSpec("first", userstate.TimeDomain.WATERMARK)
        self.last_spec = userstate.TimerSpec("last", userstate.TimeDomain.WATERMARK)
        # (ms, pickled element): state the runner caches as bytes is cheap for it to size up
        self.pending = beam.DoFn.StateParam(userstate.BagStateSpec("pending", BytesCoder()))
        self.first_at = beam.DoFn.StateParam(userstate.ReadModifyWriteStateSpec("first_at", VarIntCoder()))
        self.last_at = beam.DoFn.StateParam(userstate.ReadModifyWriteStateSpec("last_at", VarIntCoder()))
        self.first = beam.DoFn.TimerParam(self.first_spec)
        self.last = beam.DoFn.TimerParam(self.last_spec)


def to_timestamp(ms: int) -> Timestamp:
    return Timestamp(micros=ms * 1000)


def hold(at_ms: int, element: Any, pending, first_at, last_at, first, last) -> None:
    """Buffers `element`, complete once the watermark passes `at_ms`."""
    pending.add(pickle.dumps((at_ms, element), pickle.HIGHEST_PROTOCOL))
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
    buffered = [pickle.loads(data) for data in pending.read()]
    due = sorted((item for item in buffered if item[0] <= limit), key=lambda item: item[0])
    if not due:
        return []
    rest = [item for item in buffered if item[0] > limit]
    pending.clear()
    for item in rest:
        pending.add(pickle.dumps(item, pickle.HIGHEST_PROTOCOL))
    if rest:
        earliest, latest = min(at for at, _ in rest), max(at for at, _ in rest)
        first.set(to_timestamp(earliest))
        last.set(to_timestamp(latest))
        first_at.write(earliest)
        last_at.write(latest)
    else:
        first_at.clear()
        last_at.clear()
    return due
