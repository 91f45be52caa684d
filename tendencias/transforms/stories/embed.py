"""EmbedPosts: every post gets its sentence embedding, once (models/stories/embedding.py).

Posts are buffered per bundle and embedded in batches (the encoder is much faster per text in
batches); each keeps its timestamp and window. A batch the encoder refuses is embedded post by
post, and a post it still refuses goes on without an embedding (it simply joins no story
cluster), counted, never dropped.
"""

from __future__ import annotations

import logging

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils.windowed_value import WindowedValue

from tendencias.models.stories.embedding import embed_texts, embedding_text, encoder, pack

STAGE = "stories"
_LOG = logging.getLogger(__name__)


class EmbedPostsFn(beam.DoFn):
    def __init__(self, batch_size: int = 256):
        self._batch_size = batch_size
        self._embedded = Metrics.counter(STAGE, "posts_embedded")
        self._failed = Metrics.counter(STAGE, "posts_not_embedded")

    def setup(self):
        encoder()  # load the weights once per process, before the first bundle

    def start_bundle(self):
        self._buffer: list[tuple[dict, object, object]] = []

    def process(self, post, timestamp=beam.DoFn.TimestampParam, window=beam.DoFn.WindowParam):
        self._buffer.append((post, timestamp, window))
        if len(self._buffer) >= self._batch_size:
            yield from self._flush()

    def finish_bundle(self):
        yield from self._flush()

    def _flush(self):
        buffer, self._buffer = self._buffer, []
        if not buffer:
            return
        texts = [embedding_text(post) for post, _, _ in buffer]
        try:
            vectors = list(embed_texts(texts))
        except Exception:  # one text the encoder refuses must not cost the batch its vectors
            vectors = [self._one(text) for text in texts]
        for (post, timestamp, window), vector in zip(buffer, vectors, strict=True):
            if vector is None:
                self._failed.inc()
                out = post
            else:
                self._embedded.inc()
                out = post.replace(embedding=pack(vector))
            yield WindowedValue(out, timestamp, (window,))

    def _one(self, text: str):
        try:
            return embed_texts([text])[0]
        except Exception as err:
            _LOG.warning("cannot embed a post (%s: %s); it joins no story cluster", type(err).__name__, err)
            return None


class EmbedPosts(beam.PTransform):
    """Posts with `text_clean` -> the same posts with `embedding` (float32 bytes)."""

    def __init__(self, batch_size: int = 256):
        super().__init__()
        self._batch_size = batch_size

    def expand(self, posts):
        return posts | "Embed" >> beam.ParDo(EmbedPostsFn(self._batch_size))
