"""BatchPerBundleFn: a DoFn that works on batches of a bundle's elements.

Models (sentence encoders, the local sentiment heads) are many times faster per text in
batches. Each element is kept with its timestamp and window, so what a batch yields goes out
where its element came from, and the last partial batch is flushed when the bundle ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import apache_beam as beam

Buffered = tuple[Any, Any, Any]  # (element, timestamp, window)


class BatchPerBundleFn(beam.DoFn):
    """Subclasses implement `flush(batch)`, yielding outputs (WindowedValues or tagged ones)."""

    def __init__(self, batch_size: int):
        self._batch_size = batch_size

    def start_bundle(self) -> None:
        self._buffer: list[Buffered] = []

    def process(self, element, timestamp=beam.DoFn.TimestampParam, window=beam.DoFn.WindowParam):
        self._buffer.append((self.accept(element), timestamp, window))
        if len(self._buffer) >= self._batch_size:
            yield from self._drain()

    def finish_bundle(self):
        yield from self._drain()

    def accept(self, element: Any) -> Any:
        """What is buffered for `element` (the element itself unless a subclass converts it)."""
        return element

    def flush(self, batch: list[Buffered]) -> Iterable:
        raise NotImplementedError

    def _drain(self) -> Iterable:
        batch, self._buffer = self._buffer, []
        if batch:
            yield from self.flush(batch)
