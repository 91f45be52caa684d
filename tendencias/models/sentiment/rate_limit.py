"""Client-side limits for a remote API: token buckets for requests and tokens per minute, a
cap on requests in flight, and a circuit breaker. One `RequestLimiter` (and breaker) is shared by every thread of a worker
process that calls the same endpoint and model (see `shared_limiter`), so the limits hold per
process: divide the provider's quota by the number of worker processes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class TokenBucket:
    """`rate` units per second, bursts up to `capacity`. Taking more than is there waits."""

    def __init__(
        self,
        rate: float,
        capacity: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate <= 0 or capacity <= 0:
            raise ValueError(f"rate and capacity must be positive, got rate={rate} capacity={capacity}")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._level = capacity
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._level = min(self.capacity, self._level + (now - self._stamp) * self.rate)
        self._stamp = now

    def wait_time(self, amount: float) -> float:
        """Seconds until `amount` could be taken (0 when it can be taken now)."""
        amount = min(amount, self.capacity)  # a request larger than a burst waits for a full bucket
        with self._lock:
            self._refill()
            return max(0.0, (amount - self._level) / self.rate)

    def try_take(self, amount: float) -> bool:
        """Take `amount` if there; more than `capacity` is taken from a full bucket, into debt."""
        with self._lock:
            self._refill()
            if self._level >= min(amount, self.capacity):
                self._level -= amount
                return True
            return False

    def take(self, amount: float = 1.0) -> float:
        """Take `amount`, waiting as long as needed; returns the seconds waited."""
        waited = 0.0
        while not self.try_take(amount):
            pause = max(self.wait_time(amount), 0.001)
            self._sleep(pause)
            waited += pause
        return waited

    def debit(self, amount: float) -> None:
        """Take `amount` now even if that leaves the bucket in debt (actual use above an estimate)."""
        with self._lock:
            self._refill()
            self._level -= amount


class RequestLimiter:
    """Requests per minute, tokens per minute, requests in flight, and a shared pause.

    `pause(seconds)` is how one thread's 429 with Retry-After holds back the others too.
    """

    def __init__(
        self,
        *,
        max_concurrent: int,
        requests_per_minute: float,
        tokens_per_minute: float,
        burst_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be at least 1, got {max_concurrent}")
        rps, tps = requests_per_minute / 60.0, tokens_per_minute / 60.0
        self.requests = TokenBucket(rps, max(1.0, rps * burst_seconds), clock=clock, sleep=sleep)
        # A token burst must hold at least one large request, so its floor is a tenth of a minute.
        self.tokens = TokenBucket(
            tps, max(tokens_per_minute / 10.0, tps * burst_seconds), clock=clock, sleep=sleep
        )
        self._in_flight = threading.BoundedSemaphore(max_concurrent)
        self._clock = clock
        self._sleep = sleep
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _wait_pause(self) -> float:
        waited = 0.0
        while True:
            with self._lock:
                remaining = self._paused_until - self._clock()
            if remaining <= 0:
                return waited
            self._sleep(remaining)
            waited += remaining

    @contextmanager
    def slot(self, estimated_tokens: int) -> Iterator[float]:
        """Hold one request slot for the body of the `with`; yields the seconds spent waiting."""
        waited = self._wait_pause()
        waited += self.requests.take(1)
        waited += self.tokens.take(estimated_tokens)
        with self._in_flight:
            yield waited

    def settle(self, estimated_tokens: int, actual_tokens: int) -> None:
        """Charge the difference once the real usage is known."""
        if actual_tokens > estimated_tokens:
            self.tokens.debit(actual_tokens - estimated_tokens)


class CircuitBreaker:
    """Stops calling an endpoint that keeps failing, so the stream falls back at once instead of
    waiting out timeouts and retries for every batch. After `failures` failed requests in a row
    it stays open for `cooldown_s`; then one request may try again (and reopens it if it fails).
    """

    def __init__(
        self, failures: int = 5, cooldown_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ):
        if failures < 1 or cooldown_s < 0:
            raise ValueError(f"breaker needs failures >= 1 and cooldown_s >= 0, got {failures}, {cooldown_s}")
        self.failures = failures
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._in_a_row = 0
        self._open_until = 0.0
        self._lock = threading.Lock()

    def open_for(self) -> float:
        """Seconds until the endpoint may be tried again; 0 when it may be tried now."""
        with self._lock:
            return max(0.0, self._open_until - self._clock())

    def failed(self) -> None:
        with self._lock:
            self._in_a_row += 1
            if self._in_a_row >= self.failures:
                self._open_until = self._clock() + self.cooldown_s

    def succeeded(self) -> None:
        with self._lock:
            self._in_a_row = 0
            self._open_until = 0.0


_SHARED: dict[tuple, object] = {}
_SHARED_LOCK = threading.Lock()


def _shared(factory: Callable[..., object], key: tuple, config: dict) -> object:
    full_key = (factory.__name__, key, tuple(sorted(config.items())))
    with _SHARED_LOCK:
        if full_key not in _SHARED:
            _SHARED[full_key] = factory(**config)
        return _SHARED[full_key]


def shared_limiter(key: tuple, **config) -> RequestLimiter:
    """The process-wide limiter for `key` (e.g. endpoint and model), made on first use."""
    return _shared(RequestLimiter, key, config)


def shared_breaker(key: tuple, **config) -> CircuitBreaker:
    """The process-wide circuit breaker for `key`, made on first use."""
    return _shared(CircuitBreaker, key, config)
