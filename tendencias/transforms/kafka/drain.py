"""Asking the Kafka readers of this process to stop, so the job drains instead of dying.

`tendencias run` calls `request_drain()` on SIGTERM, Ctrl-C or the end of `--duration`. Each
partition's reader (read.py) sees it at its next poll, ends its offset range there and
returns; once every reader has returned, the watermark runs to the end of time, every open
window fires, the archive writers flush, the last offsets are committed (durable.py) and the
pipeline finishes by itself. It works where the SDK harness runs in the job's process
(Prism, DirectRunner); on Flink and Dataflow use the runner's own drain.
"""

from __future__ import annotations

import threading

_DRAIN = threading.Event()


def request_drain() -> None:
    _DRAIN.set()


def drain_requested() -> bool:
    return _DRAIN.is_set()


def reset_drain() -> None:
    """Before a job starts: a drain asked of an earlier job in this process is not for it."""
    _DRAIN.clear()
