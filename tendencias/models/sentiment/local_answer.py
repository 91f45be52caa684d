"""The local model's answer for a post, as the sentiment stage records it (no Beam, no client).

Shared by the Beam stage (transforms/sentiment.py, LocalFirstPassFn) and the Flink job, so a
post gets the same `sentiment` on both.
"""

from __future__ import annotations

from collections.abc import Sequence

from tendencias.models.sentiment.policy import local_answer
from tendencias.models.text.redaction import redact


def post_text(post: dict) -> str:
    """The text of a post that may be sent: `text_clean`; raw `text` only ever redacted."""
    text = post.get("text_clean")
    return text if text is not None else redact(post.get("text") or "")


def text_to_send(post: dict) -> str:
    """The only text of a post that may leave the process: `text_clean`, redacted once more."""
    return redact(post_text(post))


def local_answers(model, posts: Sequence[dict]) -> list[tuple[str, dict]]:
    """(text the model read, its answer) per post: one `model.predict` call for the batch."""
    texts = [text_to_send(post) for post in posts]
    predictions = model.predict(texts)
    return [
        (text, local_answer(prediction, text, post.get("lang"), model.version))
        for post, text, prediction in zip(posts, texts, predictions, strict=True)
    ]
