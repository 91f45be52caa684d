"""The baseline of one key: how many posts it should have in a window, from its own history.

Model: the count of key k in a window is about  N x share_k x hour_k(h) x weekday_k(d),  where
N (all posts in the window) carries the stream's own daily and weekly rhythm, share_k is the
key's smoothed share of posts, and hour_k / weekday_k say how much more (or less) the key is
used at that local hour and weekday than the stream as a whole, shrunk towards 1 while there is
little evidence. History is kept per period (the non-overlapping step of the sliding windows:
mentions, and exposure = all posts of the period) and decays exponentially (a half-life), so
the baseline follows slow changes and forgets old ones.

Periods in which a key was not mentioned never reach its state (nothing to count), so when it
is seen again the periods it missed are added as exposure with zero mentions, each worth the
stream's recent mean volume per period. A key never seen before starts with one day (at most)
of such exposure and a small prior share, so a genuinely new word is expected near zero times
and a handful of mentions by different people is surprising, as it should be.

`KeyHistory` is the per-key state the Beam stage keeps; it packs into ~300 bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from tendencias.models.trends.windows import DAY_MS, HOUR_MS, local_bins, midpoint

# last_end, stream_start, episode_start, quiet, last episode's start (minutes), spare, sent_n
_HEAD = struct.Struct("<qqqiiff")
_BINS = struct.Struct("<63f")  # c_hod[24], x_hod[24], c_dow[7], x_dow[7], sent_sum
C_HOD, X_HOD, C_DOW, X_DOW, SENT = 0, 24, 48, 55, 62
BINS_BYTES = _BINS.size  # the tail of `KeyHistory.encode()`


@dataclass(frozen=True)
class BaselineParams:
    period_ms: int
    half_life_ms: int
    tz: str = "America/Lima"
    prior_count: float = 0.5  # pseudo-mentions of a key never seen ...
    prior_posts: float = 2000.0  # ... over this many pseudo-posts (the prior share is their ratio)
    seasonal_prior: float = 5.0  # pseudo-mentions that pull the hour and weekday factors to 1
    size_ms: int = 0  # the sliding window's length (0: one period)

    @property
    def window_decay(self) -> float:
        return 0.5 ** (self.period_ms / self.half_life_ms)


class KeyHistory:
    """Decayed mentions (c) and exposure in posts (x) per local hour and weekday, and more."""

    __slots__ = ("last_end", "stream_start", "episode_start", "quiet", "opened_min", "sent_n", "bins")

    def __init__(self):
        self.last_end = 0  # end of the last period counted (0: never)
        self.stream_start = 0  # earliest post time this key's scorer has heard of
        self.episode_start = 0  # window end that opened the current episode (0: none)
        self.opened_min = 0  # minute (since the epoch) that opened the latest episode, ended or not
        self.quiet = 0  # consecutive windows below the episode's continue threshold
        self.sent_n = 0.0
        self.bins = [0.0] * 63

    def encode(self) -> bytes:
        head = _HEAD.pack(
            self.last_end,
            self.stream_start,
            self.episode_start,
            self.quiet,
            self.opened_min,
            0.0,
            self.sent_n,
        )
        return head + _BINS.pack(*self.bins)

    @classmethod
    def decode(cls, data: bytes | None) -> KeyHistory:
        history = cls()
        if data:
            (
                history.last_end,
                history.stream_start,
                history.episode_start,
                history.quiet,
                history.opened_min,
                _,
                history.sent_n,
            ) = _HEAD.unpack_from(data)
            history.bins = list(_BINS.unpack_from(data, _HEAD.size))
        return history

    def open_episode(self, end: int) -> None:
        self.episode_start, self.quiet, self.opened_min = end, 0, end // 60_000

    @property
    def mentions(self) -> float:
        return sum(self.bins[C_HOD:X_HOD])

    @property
    def exposure(self) -> float:
        return sum(self.bins[X_HOD:C_DOW])

    def share(self, params: BaselineParams) -> float:
        return (self.mentions + params.prior_count) / (self.exposure + params.prior_posts)

    def advance(self, end: int, hourly_volume: Sequence[float], params: BaselineParams) -> None:
        """Decays history to period `end` and adds the periods missed since the last one seen,
        each worth the stream's recent volume per period at its local hour (`hourly_volume`)."""
        period = params.period_ms
        if self.last_end == 0:
            first_end = (self.stream_start // period + 1) * period if self.stream_start else end
            self.last_end = min(first_end, end) - period
        gap = (end - self.last_end) // period
        if gap <= 0:
            return
        factor = params.window_decay**gap
        self.bins = [value * factor for value in self.bins]
        self.sent_n *= factor
        self._add_missed(end, gap - 1, hourly_volume, params)

    def _add_missed(self, end: int, missed: int, hourly: Sequence[float], params: BaselineParams) -> None:
        if missed <= 0:
            return
        by_hour, by_day = missed_exposure(end, missed, tuple(hourly), params)
        bins = self.bins
        bins[X_HOD:C_DOW] = [a + b for a, b in zip(bins[X_HOD:C_DOW], by_hour, strict=True)]
        bins[X_DOW:SENT] = [a + b for a, b in zip(bins[X_DOW:SENT], by_day, strict=True)]

    def seasonal_factors(
        self, end: int, params: BaselineParams, share: float | None = None
    ) -> tuple[float, float]:
        """(hour factor, weekday factor) of period `end`, each 1 when the key has no rhythm."""
        hour, day = local_bins(midpoint(end, params.period_ms), params.tz)
        share = self.share(params) if share is None else share
        prior = params.seasonal_prior
        by_hour = (self.bins[C_HOD + hour] + prior) / (share * self.bins[X_HOD + hour] + prior)
        by_day = (self.bins[C_DOW + day] + prior) / (share * self.bins[X_DOW + day] + prior)
        return by_hour, by_day

    def expected(self, periods: Iterable[tuple[int, float]], params: BaselineParams) -> float:
        """Mentions expected in a window made of `periods`: (period end, all posts in it) pairs.

        Each period brings its own hour and weekday, so a one-day window of a breakfast word
        expects breakfast only once."""
        share, total = self.share(params), 0.0
        for end, volume in periods:
            by_hour, by_day = self.seasonal_factors(end, params, share)
            total += volume * by_hour * by_day
        return share * total

    def observe(
        self,
        end: int,
        count: float,
        period_volume: float,
        sentiment_sum: float,
        sentiment_n: float,
        params: BaselineParams,
    ) -> None:
        """Adds period `end` (after `advance`) to the history: its mentions and all its posts."""
        hour, day = local_bins(midpoint(end, params.period_ms), params.tz)
        self.bins[C_HOD + hour] += count
        self.bins[C_DOW + day] += count
        self.bins[X_HOD + hour] += period_volume
        self.bins[X_DOW + day] += period_volume
        self.bins[SENT] += sentiment_sum
        self.sent_n += sentiment_n
        self.last_end = end

    def revise(self, end: int, extra_count: float, params: BaselineParams) -> None:
        """Late posts for a period already counted: add them to the mentions and exposure."""
        hour, day = local_bins(midpoint(end, params.period_ms), params.tz)
        self.bins[C_HOD + hour] += extra_count
        self.bins[C_DOW + day] += extra_count
        self.bins[X_HOD + hour] += extra_count
        self.bins[X_DOW + day] += extra_count

    def usual_sentiment(self, min_posts: float = 3.0) -> float | None:
        """The key's decayed mean sentiment, or None with too few scored posts to say."""
        return self.bins[SENT] / self.sent_n if self.sent_n >= min_posts else None


def hourly_volume(
    volumes: Mapping[int, float], slot_ms: int, end: int, span_ms: int, params: BaselineParams
) -> tuple[float, ...]:
    """The stream's mean posts per period at each local hour, over the `span_ms` up to `end`.

    `volumes`: posts per slot (an hour, or the period when longer), keyed by slot end; a slot
    without posts counts as zero. Hours the span does not cover yet take the overall mean."""
    totals, slots = [0.0] * 24, [0] * 24
    at = end // slot_ms * slot_ms
    while at > end - max(span_ms, slot_ms):
        hour = local_bins(midpoint(at, slot_ms), params.tz)[0]
        totals[hour] += volumes.get(at, 0.0)
        slots[hour] += 1
        at -= slot_ms
    mean = sum(totals) / max(1, sum(slots))
    scale = params.period_ms / slot_ms
    return tuple((totals[h] / slots[h] if slots[h] else mean) * scale for h in range(24))


@lru_cache(maxsize=4096)
def missed_exposure(
    end: int, missed: int, hourly: tuple[float, ...], params: BaselineParams
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Exposure (posts, decayed to `end`) of the `missed` periods before period `end`, by local
    hour and by weekday. Many keys miss the same periods (every new key misses all since the
    stream started), hence the cache."""
    r, period = params.window_decay, params.period_ms
    by_hour, by_day = [0.0] * 24, [0.0] * 7

    def weight(first: int, n: int) -> float:  # sum of r**i for i in first .. first+n-1
        return r**first * (1 - r**n) / (1 - r) if r < 1 else float(n)

    per_day = max(1, DAY_MS // period)
    recent = min(missed, per_day)
    i = 1
    while i <= recent:  # the last day, one step per local hour (its periods share a bin)
        mid = midpoint(end - i * period, period)
        n = min((mid % HOUR_MS) // period + 1, recent - i + 1)
        hour, day = local_bins(mid, params.tz)
        exposure = hourly[hour] * weight(i, n)
        by_hour[hour] += exposure
        by_day[day] += exposure
        i += n
    if missed > recent:
        total = sum(hourly)
        mean, older = total / 24, 0.0
        for _ in range(7):  # older days, a day at a time, shaped like the recent day
            if i > missed:
                break
            n = min(per_day, missed - i + 1)
            exposure = mean * weight(i, n)
            by_day[local_bins(midpoint(end - (i + n // 2) * period, period), params.tz)[1]] += exposure
            older += exposure
            i += n
        if i <= missed:  # older than a week: spread evenly over the weekdays
            exposure = mean * weight(i, missed - i + 1)
            for day in range(7):
                by_day[day] += exposure / 7
            older += exposure
        for hour in range(24):
            by_hour[hour] += older * (hourly[hour] / total if total else 1 / 24)
    return tuple(by_hour), tuple(by_day)
