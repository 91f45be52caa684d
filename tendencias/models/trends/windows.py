"""Sliding-window arithmetic and the local calendar the baselines use. Times are epoch ms.

Windows of `size` every `period` are aligned to the epoch, as Beam's SlidingWindows with
offset 0, and named by their end. With size 15 min and period 5 min:

    minute   0    5    10   15   20   25
             |----|----|----|----|----|
             [ end 15       )
                  [ end 20       )
                       [ end 25       )
    a post at minute 12 counts in the windows ending at 15, 20 and 25.

The hour of day and day of week of a window are those of its midpoint in the configured
time zone (Peru by default), so "Tuesday evening" means the evening people lived through.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def window_ends(t_ms: int, size_ms: int, period_ms: int) -> list[int]:
    """Ends of the windows holding instant `t_ms` (a window [end - size, end) holds its start)."""
    first = (t_ms // period_ms + 1) * period_ms
    return list(range(first, t_ms + size_ms + 1, period_ms))


def window_start(end_ms: int, size_ms: int) -> int:
    return end_ms - size_ms


def midpoint(end_ms: int, size_ms: int) -> int:
    return end_ms - size_ms // 2


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=65_536)
def _bins_of_quarter(quarter: int, tz: str) -> tuple[int, int]:
    local = datetime.fromtimestamp(quarter * 900, UTC).astimezone(_zone(tz))
    return local.hour, local.weekday()


def local_bins(t_ms: int, tz: str) -> tuple[int, int]:
    """(hour of day 0-23, day of week 0=Monday) of instant `t_ms` in time zone `tz`."""
    return _bins_of_quarter(t_ms // 900_000, tz)


def check_timezone(tz: str) -> None:
    """Raises ValueError naming the zone when `tz` is not an IANA time zone."""
    try:
        _zone(tz)
    except Exception:
        raise ValueError(f"unknown time zone {tz!r}: use an IANA name such as America/Lima") from None


def part_of_day(hour: int) -> str:
    if hour < 6:
        return "night"
    if hour < 12:
        return "morning"
    if hour < 19:
        return "afternoon"
    return "evening"


def describe_time(t_ms: int, tz: str) -> str:
    """ "Tuesday evening" for a local instant."""
    hour, dow = local_bins(t_ms, tz)
    return f"{DAY_NAMES[dow]} {part_of_day(hour)}"


def utc_offset_ms(tz: str, at_ms: int) -> int:
    """The zone's offset from UTC at `at_ms` (negative west of Greenwich)."""
    local = datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(_zone(tz))
    offset = local.utcoffset()
    return int(offset.total_seconds() * 1000) if offset else 0
