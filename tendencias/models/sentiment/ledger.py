"""The cost ledger of the sentiment stage: requests, tokens in and out, cache hits, retries,
failures and estimated spend.

Every entry is a Beam counter in the "sentiment" namespace (visible live in the runner's UI
and in `PipelineResult.metrics()`), and is also totalled in the process for commands that run
without a pipeline (`tendencias sentiment`, the benchmark). `summary_from_result` turns a
finished job's counters into the dict the job prints at the end.
"""

from __future__ import annotations

import threading

from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

NAMESPACE = "sentiment"
COUNTERS = (
    "requests",
    "posts_sent",
    "tokens_in",
    "tokens_out",
    "cache_hits",
    "cache_misses",
    "retries",
    "failed_requests",
    "format_refusals",
    "invalid_answers",
    "spend_microusd",
    "posts_llm",
    "posts_cache",
    "posts_local",
    "fallbacks",
    "dead_letters",
    "suspected_injections",
    "sentiment_failure_alert",
)


class CostLedger:
    """Counts what the API costs; prices are per 1,000 tokens in the provider's currency (USD)."""

    def __init__(
        self, price_in_per_1k: float = 0.0, price_out_per_1k: float = 0.0, namespace: str = NAMESPACE
    ):
        self.price_in_per_1k = price_in_per_1k
        self.price_out_per_1k = price_out_per_1k
        self.namespace = namespace
        self._counters = {name: Metrics.counter(namespace, name) for name in COUNTERS}
        self._totals = dict.fromkeys(COUNTERS, 0)
        self._pending = dict.fromkeys(COUNTERS, 0)
        self._lock = threading.Lock()

    def add(self, name: str, amount: int = 1) -> None:
        """Count now; Beam sees it at the next `flush()` (from any thread)."""
        if amount:
            with self._lock:
                self._totals[name] += amount
                self._pending[name] += amount

    def flush(self) -> None:
        """Hand pending counts to Beam. Beam's metrics are per thread, so call this from the
        DoFn's own thread, not from helper threads that made the requests."""
        with self._lock:
            pending, self._pending = self._pending, dict.fromkeys(COUNTERS, 0)
        for name, amount in pending.items():
            if amount:
                self._counters[name].inc(amount)

    def request(self, tokens_in: int, tokens_out: int) -> None:
        self.add("requests")
        self.add("tokens_in", tokens_in)
        self.add("tokens_out", tokens_out)
        spend = tokens_in * self.price_in_per_1k / 1000 + tokens_out * self.price_out_per_1k / 1000
        self.add("spend_microusd", round(spend * 1_000_000))

    def totals(self) -> dict[str, int]:
        with self._lock:
            return dict(self._totals)

    def summary(self) -> dict:
        return summarise(self.totals())

    def __getstate__(self):  # Beam pickles handlers; counters and locks are made again on load
        return {
            "price_in_per_1k": self.price_in_per_1k,
            "price_out_per_1k": self.price_out_per_1k,
            "namespace": self.namespace,
        }

    def __setstate__(self, state):
        self.__init__(**state)


def summarise(totals: dict[str, int]) -> dict:
    """Totals plus the derived figures people ask for: spend, hit rate, posts per request."""
    out = {name: int(totals.get(name, 0)) for name in COUNTERS}
    looked_up = out["cache_hits"] + out["cache_misses"]
    out["spend_usd"] = round(out["spend_microusd"] / 1_000_000, 6)
    out["cache_hit_rate"] = round(out["cache_hits"] / looked_up, 4) if looked_up else 0.0
    out["posts_per_request"] = round(out["posts_sent"] / out["requests"], 2) if out["requests"] else 0.0
    return out


def summary_from_result(result) -> dict:
    """The ledger of a finished (or running) pipeline, from its committed counters."""
    query = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    totals: dict[str, int] = {}
    for counter in query["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[counter.key.metric.name] = totals.get(counter.key.metric.name, 0) + int(value or 0)
    return summarise(totals)
