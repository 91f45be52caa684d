"""Token buckets and the request limiter, on a fake clock (and real threads for concurrency)."""

from __future__ import annotations

import threading
import time

import pytest

from tendencias.models.sentiment.openai_api import pack_by_tokens, retry_after_seconds
from tendencias.models.sentiment.rate_limit import CircuitBreaker, RequestLimiter, TokenBucket, shared_limiter


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_allows_a_burst_then_paces_at_the_rate():
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, capacity=3, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(3):
        assert bucket.take(1) == 0.0  # the burst
    for _ in range(4):
        bucket.take(1)
    assert clock.now - start == pytest.approx(2.0)  # 4 more at 2 per second


def test_bucket_refills_only_to_capacity():
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, capacity=2, clock=clock, sleep=clock.sleep)
    bucket.take(2)
    clock.now += 100
    assert bucket.try_take(2) and not bucket.try_take(1)


def test_debit_puts_the_bucket_in_debt():
    clock = FakeClock()
    bucket = TokenBucket(rate=10.0, capacity=10, clock=clock, sleep=clock.sleep)
    bucket.take(10)
    bucket.debit(20)  # used 20 more than estimated
    assert bucket.wait_time(1) == pytest.approx(2.1)


def test_a_request_bigger_than_the_bucket_waits_for_a_full_bucket():
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, capacity=5, clock=clock, sleep=clock.sleep)
    bucket.take(5)
    bucket.take(50)  # waits 5 s for a full bucket, then leaves it 45 in debt
    assert clock.now == pytest.approx(1005.0)
    bucket.take(1)
    assert clock.now == pytest.approx(1051.0)


def test_bad_rates_fail_fast():
    with pytest.raises(ValueError):
        TokenBucket(rate=0, capacity=1)
    with pytest.raises(ValueError):
        RequestLimiter(max_concurrent=0, requests_per_minute=60, tokens_per_minute=1000)


def test_limiter_paces_requests_per_minute():
    clock = FakeClock()
    limiter = RequestLimiter(
        max_concurrent=4, requests_per_minute=120, tokens_per_minute=10**9, clock=clock, sleep=clock.sleep
    )
    start = clock.now
    for _ in range(11):
        with limiter.slot(10):
            pass
    assert clock.now - start == pytest.approx(4.5)  # a one-second burst (2), then 2 per second


def test_limiter_paces_tokens_per_minute():
    clock = FakeClock()
    limiter = RequestLimiter(
        max_concurrent=4, requests_per_minute=10**6, tokens_per_minute=6000, clock=clock, sleep=clock.sleep
    )
    start = clock.now
    for _ in range(4):
        with limiter.slot(1000):  # bigger than the 600-token burst: waits for a full bucket
            pass
    assert clock.now - start == pytest.approx(30.0)  # each request's 1000 tokens refill in 10 s


def test_pause_holds_every_caller():
    clock = FakeClock()
    limiter = RequestLimiter(
        max_concurrent=2, requests_per_minute=6000, tokens_per_minute=10**9, clock=clock, sleep=clock.sleep
    )
    limiter.pause(3.0)
    with limiter.slot(1) as waited:
        assert waited == pytest.approx(3.0)


def test_limiter_caps_requests_in_flight():
    limiter = RequestLimiter(max_concurrent=3, requests_per_minute=10**6, tokens_per_minute=10**9)
    in_flight, peak, lock = 0, 0, threading.Lock()

    def call():
        nonlocal in_flight, peak
        with limiter.slot(1):
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            time.sleep(0.02)
            with lock:
                in_flight -= 1

    threads = [threading.Thread(target=call) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 3


def test_shared_limiter_is_one_per_key_and_config():
    a = shared_limiter(("url", "m"), max_concurrent=2, requests_per_minute=60, tokens_per_minute=600)
    b = shared_limiter(("url", "m"), max_concurrent=2, requests_per_minute=60, tokens_per_minute=600)
    c = shared_limiter(("url", "other"), max_concurrent=2, requests_per_minute=60, tokens_per_minute=600)
    assert a is b and a is not c


def test_retry_after_forms():
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 28 <= retry_after_seconds({"retry-after": http_date}) <= 31
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None and retry_after_seconds(None) is None


def test_pack_by_tokens_respects_budget_and_count():
    items = [5, 5, 5, 20, 1, 1, 1, 1]
    groups = pack_by_tokens(items, budget=12, max_items=3, weight=lambda x: x)
    assert groups == [[5, 5], [5], [20], [1, 1, 1], [1]]
    assert [x for g in groups for x in g] == items  # nothing lost, order kept


def test_breaker_opens_after_failures_in_a_row_and_lets_one_try_after_the_cooldown():
    clock = FakeClock()
    breaker = CircuitBreaker(failures=3, cooldown_s=30, clock=clock)
    breaker.failed()
    breaker.failed()
    breaker.succeeded()  # a success in between resets the run
    breaker.failed()
    breaker.failed()
    assert breaker.open_for() == 0
    breaker.failed()
    assert breaker.open_for() == pytest.approx(30)
    clock.now += 30
    assert breaker.open_for() == 0  # one request may try again...
    breaker.failed()
    assert breaker.open_for() == pytest.approx(30)  # ...and its failure reopens it
    breaker.succeeded()
    assert breaker.open_for() == 0
