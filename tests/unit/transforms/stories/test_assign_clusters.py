"""AssignClusters on DirectRunner: the batch path and the streaming path (posts arriving out of
order, the watermark moving in steps) assign every post as the in-memory sequence does."""

from __future__ import annotations

import apache_beam as beam
import numpy as np
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from tendencias.models.stories.clusters import StoryClusters, assign_posts
from tendencias.models.stories.embedding import pack
from tendencias.records import Post
from tendencias.transforms.stories.assign import AssignClusters

T0 = 1_767_225_600_000
MIN = 60_000


def posts() -> list[Post]:
    rng = np.random.default_rng(9)
    common, theme = rng.standard_normal(512), rng.standard_normal(512)
    out = []
    for i in range(120):
        story = 100 <= i < 110
        v = (theme if story else common) + rng.standard_normal(512) * (2.0 if story else 1.5)
        v = (v / np.linalg.norm(v)).astype(np.float32)
        out.append(Post(f"p{i:03d}", "texto", T0 + i * 2 * MIN, text_clean="texto", embedding=pack(v)))
    return out


def expected() -> list[tuple[str, tuple[str, ...]]]:
    done = assign_posts(posts(), StoryClusters())
    assert len({tuple(p.clusters) for p in done[100:110]}) <= 3  # the story mostly in one cluster
    return [(p.id, tuple(p.clusters)) for p in done]


def _pairs(pcoll):
    return pcoll | beam.Map(lambda p: (p.id, tuple(p.clusters)))


def test_batch_assigns_as_the_sequence_does():
    with TestPipeline() as p:
        out = (
            p
            | beam.Create(posts())
            | beam.Map(lambda post: TimestampedValue(post, post.event_time_ms / 1000))
            | AssignClusters()
        )
        assert_that(_pairs(out), equal_to(expected()))
        assert_that(out | beam.Map(lambda p: p.embedding), equal_to([None] * 120), label="NoEmbedding")


def test_streaming_out_of_order_assigns_as_the_sequence_does():
    items = posts()
    stream = TestStream()
    for chunk in range(4):  # each chunk's posts arrive newest first, then the watermark passes them
        part = items[chunk * 30 : (chunk + 1) * 30][::-1]
        stream.add_elements([TimestampedValue(p, p.event_time_ms / 1000) for p in part])
        stream.advance_watermark_to((part[0].event_time_ms + 1) / 1000)
    stream.advance_watermark_to_infinity()
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    with TestPipeline(options=options) as p:
        out = p | stream | AssignClusters()
        assert_that(_pairs(out), equal_to(expected()))
