"""A RunInference model handler that labels posts through an OpenAI-compatible chat API.

Elements are post dicts with `text_clean` (already redacted; redacted again before sending).
Each result is a `PredictionResult` whose inference is a dict: `answer` (label, score,
confidence, aspects, lang) and `source` ("llm" or "cache"), or `error` (a reason code) and
`detail` (for people). The handler never raises for one bad answer or one failing endpoint:
failures come back per post, so the stage can fall back and dead-letter without stalling.

One retry layer: the `openai` client is built with `max_retries=0`; this handler retries 408,
409, 429, 5xx, connection errors and timeouts with jittered exponential backoff that honours
Retry-After, never another 4xx, and asks once more for posts whose answer broke the schema.
A server that refuses response_format "json_schema" (llama-cpp-python's answers HTTP 500) is
recognised by its first refusal, never retried with it, and asked with "json_object" and the
schema in the prompt from then on (see `response_format`); every answer is validated anyway. The API key is read
from the environment when the client is made on the worker; it is never stored on the
handler (which Beam pickles), and it is scrubbed from every message this module writes.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RemoteModelHandler

from tendencias.models.sentiment.backend import API_KEY_ENV, BASE_URL_ENV
from tendencias.models.sentiment.cache import SentimentCache, cache_key, open_cache
from tendencias.models.sentiment.ledger import CostLedger
from tendencias.models.sentiment.local_answer import post_text
from tendencias.models.sentiment.prompt import (
    PROMPT_VERSION,
    SYSTEM_PROMPT_TOKENS_BY_FORMAT,
    chat_request,
    estimate_tokens,
)
from tendencias.models.sentiment.rate_limit import (
    CircuitBreaker,
    RequestLimiter,
    shared_breaker,
    shared_limiter,
)
from tendencias.models.sentiment.response_format import (
    JSON_OBJECT,
    JSON_SCHEMA,
    FormatNegotiator,
    negotiator_for,
    refuses_json_schema,
)
from tendencias.models.sentiment.schema import parse_response

LOGGER = logging.getLogger(__name__)
_SECRET_SHAPES = re.compile(r"(?i)bearer\s+\S+|\bsk-[A-Za-z0-9_\-]{8,}")


class MissingAPIKey(RuntimeError):
    """No key in the environment: nothing can be sent."""


class SentimentAPIError(RuntimeError):
    """A request failed for good (not retryable, or out of attempts)."""


class _JsonSchemaRefused(SentimentAPIError):
    """The server does not take response_format json_schema."""


def scrub(text: str, env: str = API_KEY_ENV) -> str:
    """`text` without the API key or anything shaped like a bearer token."""
    key = os.environ.get(env)
    if key:
        text = text.replace(key, "***")
    return _SECRET_SHAPES.sub("***", text)


def post_weight(post: dict) -> int:
    """Estimated tokens of one post in a request: the weight Beam batches by."""
    return estimate_tokens(post_text(post))


def pack_by_tokens(
    items: Sequence[Any], budget: int, max_items: int, weight: Callable[[Any], int]
) -> list[list[Any]]:
    """Consecutive groups of `items`, each within `budget` weight and `max_items` items."""
    groups: list[list[Any]] = []
    current: list[Any] = []
    used = 0
    for item in items:
        w = weight(item)
        if current and (used + w > budget or len(current) >= max_items):
            groups.append(current)
            current, used = [], 0
        current.append(item)
        used += w
    if current:
        groups.append(current)
    return groups


def retry_after_seconds(headers: Any) -> float | None:
    """Retry-After (seconds or HTTP date) or retry-after-ms, as seconds; None when absent."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class SentimentClient:
    """What `create_client` returns: the API client, the cache, the limiter and a thread pool."""

    def __init__(
        self,
        api: openai.OpenAI,
        cache: SentimentCache,
        limiter: RequestLimiter,
        breaker: CircuitBreaker,
        threads: int,
    ):
        self.formats: FormatNegotiator = negotiator_for(str(api.base_url))
        self.api = api
        self.cache = cache
        self.limiter = limiter
        self.breaker = breaker
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sentiment-api")

    def __repr__(self) -> str:  # the default repr of the openai client is not ours to trust
        return f"<SentimentClient endpoint={str(self.api.base_url)!r}>"


class OpenAISentimentHandler(RemoteModelHandler[dict, PredictionResult, SentimentClient]):
    def __init__(
        self,
        model: str = "gpt-4o-mini",
        *,
        base_url: str | None = None,
        cache_url: str | None = None,
        token_budget: int = 3000,
        max_posts_per_request: int = 40,
        timeout_s: float = 30.0,
        max_attempts: int = 4,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_concurrent: int = 4,
        requests_per_minute: float = 500,
        tokens_per_minute: float = 200_000,
        price_in_per_1k: float = 0.00015,
        price_out_per_1k: float = 0.0006,
        max_batch_duration_secs: float | None = None,
        isolate: bool = False,
        keep_handles: Iterable[str] = (),
        breaker_failures: int = 5,
        breaker_cooldown_s: float = 30.0,
        api_key_env: str = API_KEY_ENV,
        ledger_namespace: str = "sentiment",
    ):
        """`isolate`: one post per request (for posts that look like prompt injection).
        `max_batch_duration_secs`: batch across bundles in streaming (counts posts, not tokens).
        `breaker_failures` failed requests in a row stop API calls for `breaker_cooldown_s`.
        `ledger_namespace`: the Beam namespace of the cost counters (briefs use "briefs")."""
        if token_budget < 100 or max_posts_per_request < 1 or max_attempts < 1:
            raise ValueError("token_budget must be >= 100, max_posts_per_request and max_attempts >= 1")
        if isolate:
            batching = {"min_batch_size": 1, "max_batch_size": 1}
        elif max_batch_duration_secs:
            batching = {
                "max_batch_size": max_posts_per_request * max_concurrent,
                "max_batch_duration_secs": max_batch_duration_secs,
            }
        else:  # Beam's batch sizes are in weight units here: estimated tokens
            size = token_budget * max_concurrent
            batching = {"min_batch_size": size, "max_batch_size": size, "element_size_fn": post_weight}
        ModelHandler.__init__(self, **batching)
        RemoteModelHandler.__init__(
            self, namespace="OpenAISentimentHandler", num_retries=0, retry_filter=_never
        )
        self.model = model
        self.base_url = base_url
        self.cache_url = cache_url
        self.token_budget = token_budget
        self.max_posts_per_request = 1 if isolate else max_posts_per_request
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.max_concurrent = max_concurrent
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.keep_handles = frozenset(keep_handles)
        self.api_key_env = api_key_env
        self.breaker_config = {"failures": breaker_failures, "cooldown_s": breaker_cooldown_s}
        CircuitBreaker(**self.breaker_config)  # fail fast on a bad configuration
        self.ledger = CostLedger(price_in_per_1k, price_out_per_1k, namespace=ledger_namespace)

    def __repr__(self) -> str:
        return f"OpenAISentimentHandler(model={self.model!r}, base_url={self.base_url!r})"

    def create_client(self) -> SentimentClient:
        key = os.environ.get(self.api_key_env)
        if not key:
            raise MissingAPIKey(
                f"{self.api_key_env} is not set in the environment of this process: set it "
                "(on every worker) to use the OpenAI-compatible API, or choose the local backend"
            )
        base_url = self.base_url or os.environ.get(BASE_URL_ENV) or None
        api = openai.OpenAI(api_key=key, base_url=base_url, max_retries=0, timeout=self.timeout_s)
        endpoint = (str(api.base_url), self.model)
        limiter = shared_limiter(
            endpoint,
            max_concurrent=self.max_concurrent,
            requests_per_minute=self.requests_per_minute,
            tokens_per_minute=self.tokens_per_minute,
        )
        breaker = shared_breaker(endpoint, **self.breaker_config)
        return SentimentClient(api, open_cache(self.cache_url), limiter, breaker, self.max_concurrent)

    def request(
        self, batch: Sequence[dict], model: SentimentClient, inference_args: dict[str, Any] | None = None
    ) -> Iterable[PredictionResult]:
        try:
            return self._label(batch, model)
        finally:
            self.ledger.flush()

    def _label(self, batch: Sequence[dict], client: SentimentClient) -> list[PredictionResult]:
        keys = [cache_key(post_text(post), PROMPT_VERSION, self.model) for post in batch]
        first: dict[str, dict] = {}
        for key, post in zip(keys, batch, strict=True):
            first.setdefault(key, post)
        cached = client.cache.get_many(list(first))
        to_ask = [(key, post) for key, post in first.items() if key not in cached]
        self.ledger.add("cache_hits", len(batch) - len(to_ask))
        self.ledger.add("cache_misses", len(to_ask))
        groups = pack_by_tokens(
            to_ask, self.token_budget, self.max_posts_per_request, lambda kp: post_weight(kp[1])
        )
        outcomes: dict[str, dict] = {}
        for found in client.pool.map(lambda group: self._ask_group(group, client), groups):
            outcomes.update(found)
        client.cache.put_many({k: o["answer"] for k, o in outcomes.items() if o.get("answer")})
        results, asked = [], set()
        for key, post in zip(keys, batch, strict=True):
            if key in cached:
                inference = {"answer": cached[key], "source": "cache"}
            elif key in asked:  # a duplicate inside this batch: asked once, free for the rest
                inference = (
                    dict(outcomes[key], source="cache") if outcomes[key].get("answer") else outcomes[key]
                )
            else:
                inference = outcomes[key]
                asked.add(key)
            results.append(PredictionResult(post, inference, self.model))
        return results

    def _ask_group(self, group: list[tuple[str, dict]], client: SentimentClient) -> dict[str, dict]:
        """Answers for one request's posts: valid ones kept, broken ones asked once more."""
        pending = {str(n): key_post for n, key_post in enumerate(group, 1)}
        outcomes: dict[str, dict] = {}
        problems: dict[str, str] = {}
        for _ in range(2):
            posts = [{"id": n, "text": post_text(post)} for n, (_, post) in pending.items()]
            try:
                content = self._send(posts, client)
            except SentimentAPIError as err:
                return outcomes | {
                    key: {"error": "api_error", "detail": str(err)} for key, _ in pending.values()
                }
            answers, problems = parse_response(content, list(pending))
            outcomes.update({pending[n][0]: {"answer": a, "source": "llm"} for n, a in answers.items()})
            if not problems:
                return outcomes
            self.ledger.add("invalid_answers", len(problems))
            LOGGER.warning(
                "sentiment answer invalid for %d of %d posts: %s",
                len(problems),
                len(pending),
                scrub(next(iter(problems.values())), self.api_key_env),
            )
            pending = {n: pending[n] for n in problems}
        return outcomes | {
            pending[n][0]: {"error": "invalid_answer", "detail": reason} for n, reason in problems.items()
        }

    def _send(self, posts: list[dict], client: SentimentClient) -> str | None:
        """One request in the format the endpoint takes; the answer's text."""
        sent = client.formats.acquire()
        try:
            content = self._send_as(posts, client, sent)
        except _JsonSchemaRefused as refusal:
            client.formats.settle(sent, refused=True, answered=False)
            self.ledger.add("format_refusals")
            LOGGER.warning(
                "%s refuses response_format json_schema (%s): asking with json_object and the "
                "schema in the prompt from now on",
                client.api.base_url,
                refusal,
            )
            return self._send_as(posts, client, JSON_OBJECT)
        except BaseException:
            client.formats.settle(sent, refused=False, answered=False)
            raise
        client.formats.settle(sent, refused=False, answered=True)
        return content

    def _send_as(self, posts: list[dict], client: SentimentClient, response_format: str) -> str | None:
        """One request, retried on 408, 409, 429, 5xx, connection errors and timeouts."""
        body = chat_request(self.model, posts, self.keep_handles, response_format)
        estimate = (
            SYSTEM_PROMPT_TOKENS_BY_FORMAT[response_format]
            + sum(estimate_tokens(p["text"]) for p in posts)
            + body["max_completion_tokens"]
        )
        text = self.send_chat(body, estimate, client, response_format)
        self.ledger.add("posts_sent", len(posts))
        return text

    def send_chat(
        self, body: dict, estimate: int, client: SentimentClient, response_format: str | None = None
    ) -> str | None:
        """One chat request (any prompt: briefs use it too), within the limits and the circuit
        breaker, retried on 408, 409, 429, 5xx, connection errors and timeouts, its tokens and
        spend in the ledger; the answer's text. `estimate`: tokens in plus the most tokens out;
        `response_format`: the sentiment format sent, so a json_schema refusal is recognised."""
        closed_in = client.breaker.open_for()
        if closed_in > 0:
            raise SentimentAPIError(
                f"the API failed {client.breaker.failures} requests in a row; calls resume in {closed_in:.0f}s"
            )
        for attempt in range(1, self.max_attempts + 1):
            with client.limiter.slot(estimate):
                try:
                    response = client.api.chat.completions.create(**body)
                except Exception as err:  # sorted out below: retry, or fail these posts
                    failure = err
                else:
                    failure = None
            if failure is None:
                usage = response.usage
                tokens_in = usage.prompt_tokens if usage else estimate - body["max_completion_tokens"]
                tokens_out = usage.completion_tokens if usage else 0
                self.ledger.request(tokens_in, tokens_out)
                client.limiter.settle(estimate, tokens_in + tokens_out)
                client.breaker.succeeded()
                return response.choices[0].message.content if response.choices else None
            self.ledger.add("failed_requests")
            described = scrub(_describe(failure), self.api_key_env)
            if response_format == JSON_SCHEMA and refuses_json_schema(failure):
                raise _JsonSchemaRefused(described)  # a refusal is not retried, nor a breaker failure
            delay = self._retry_delay(failure, attempt, client.limiter)
            if delay is None or attempt == self.max_attempts:
                why = "not retryable" if delay is None else f"gave up after {attempt} attempts"
                client.breaker.failed()
                raise SentimentAPIError(f"{described} ({why})")
            self.ledger.add("retries")
            LOGGER.warning(
                "sentiment API attempt %d/%d failed, retrying in %.2fs: %s",
                attempt,
                self.max_attempts,
                delay,
                described,
            )
            time.sleep(delay)
        raise AssertionError("unreachable")

    def _retry_delay(self, err: Exception, attempt: int, limiter: RequestLimiter) -> float | None:
        """Seconds to wait before the next attempt, or None when `err` must not be retried."""
        waited = None
        if isinstance(err, openai.APIStatusError):
            if err.status_code not in _RETRYABLE_4XX and err.status_code < 500:
                return None
            waited = retry_after_seconds(err.response.headers)
        elif not isinstance(err, openai.APIConnectionError):  # includes APITimeoutError
            return None
        backoff = random.uniform(0, min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1)))
        if waited is None:
            return backoff
        if waited > self.backoff_max_s:
            return None  # the server asks for longer than this stage may stall: fail over now
        limiter.pause(waited)  # the other threads calling this endpoint wait too
        return waited + backoff * 0.1


_RETRYABLE_4XX = (408, 409, 429)  # timeout, conflict, rate limit: the same request may pass later


def _never(_: Exception) -> bool:
    return False


def _describe(err: Exception) -> str:
    if isinstance(err, openai.APIStatusError):
        return f"HTTP {err.status_code} {type(err).__name__}: {str(err.message)[:200]}"
    if isinstance(err, openai.APITimeoutError):
        return "request timed out"
    if isinstance(err, openai.APIConnectionError):
        return f"connection error: {str(err)[:200]}"
    return f"{type(err).__name__}: {str(err)[:200]}"
