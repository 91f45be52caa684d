"""The story clusters kept in worker memory behind Beam state (transforms/stories/clusters_state.py):
a run that keeps its cache and one rebuilt from state at every firing assign every post alike, on
DirectRunner and in the DoFn itself; a cache whose token is not the state's (a retried bundle,
another worker) is never used."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from tendencias.models.stories.clusters import ClusterParams
from tendencias.transforms.stories import assign as assign_module
from tendencias.transforms.stories import clusters_state
from tendencias.transforms.stories.assign import AssignClusters, AssignClustersFn
from tests.unit.transforms.fake_state import Bag, NeverKept, Value, count_loads
from tests.unit.transforms.stories.test_assign_clusters import expected, posts


@pytest.fixture
def loads(monkeypatch):
    """Small snapshots (so a 120-post stream has several) and a count of rebuilds."""
    monkeypatch.setattr(clusters_state, "SNAPSHOT_POSTS", 25)
    return count_loads(monkeypatch, clusters_state.CachedClusters)


def _stream() -> TestStream:
    items = posts()
    stream = TestStream()
    for chunk in range(12):  # ten posts a step, newest first, then the watermark passes them
        part = items[chunk * 10 : (chunk + 1) * 10][::-1]
        stream.add_elements([TimestampedValue(p, p.event_time_ms / 1000) for p in part])
        stream.advance_watermark_to((part[0].event_time_ms + 1) / 1000)
    return stream.advance_watermark_to_infinity()


def _run_streaming() -> None:
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    with TestPipeline(options=options) as p:
        out = p | _stream() | AssignClusters()
        assert_that(out | beam.Map(lambda p: (p.id, tuple(p.clusters))), equal_to(expected()))


def test_cached_and_rebuilt_at_every_firing_assign_alike_on_direct_runner(loads, monkeypatch):
    monkeypatch.setattr(assign_module, "_CACHE", {})
    _run_streaming()
    cached_loads = len(loads)
    monkeypatch.setattr(assign_module, "_CACHE", NeverKept())
    _run_streaming()
    assert cached_loads == 1  # once, at the first firing (state empty)
    assert len(loads) - cached_loads >= 12  # then at every firing, snapshots and logs replayed


def _fire(fn, state, log, batch) -> list[tuple[str, tuple[str, ...]]]:
    out = fn.drain("stories", [(p.event_time_ms, p) for p in batch], state, log)
    return [(tv.value.id, tuple(tv.value.clusters)) for tv in out]


def _copy(state: Value, log: Bag) -> tuple[Value, Bag]:
    state2, log2 = Value(), Bag()
    state2.value, log2.items = state.value, list(log.items)
    return state2, log2


def _batches():
    items = posts()
    return [items[i : i + 10] for i in range(0, len(items), 10)]


def test_retried_firing_rebuilds_instead_of_using_the_copy_it_changed(loads, monkeypatch):
    monkeypatch.setattr(assign_module, "_CACHE", {})
    fn, state, log = AssignClustersFn(ClusterParams()), Value(), Bag()
    batches = _batches()
    out = []
    for batch in batches[:5]:
        out += _fire(fn, state, log, batch)
    before = _copy(state, log)
    first_try = _fire(fn, state, log, batches[5])
    state, log = before  # the bundle failed: the runner kept none of its state writes
    assert len(loads) == 1
    retried = _fire(fn, state, log, batches[5])
    assert len(loads) == 2  # the copy carried the failed firing's token: rebuilt from state
    assert retried == first_try
    out += retried
    for batch in batches[6:]:
        out += _fire(fn, state, log, batch)
    assert len(loads) == 2
    assert out == expected()


def test_copy_left_behind_by_another_worker_is_not_used(loads, monkeypatch):
    cache: dict = {}
    monkeypatch.setattr(assign_module, "_CACHE", cache)
    fn, state, log = AssignClustersFn(ClusterParams()), Value(), Bag()
    out = []
    batches = _batches()
    for batch in batches[:4]:
        out += _fire(fn, state, log, batch)
    ours = dict(cache)
    cache.clear()  # the key moves to another worker, which takes three firings
    for batch in batches[4:7]:
        out += _fire(fn, state, log, batch)
    cache.clear()
    cache.update(ours)  # and comes back here, where the copy is three firings old
    loaded = len(loads)
    for batch in batches[7:]:
        out += _fire(fn, state, log, batch)
    assert len(loads) == loaded + 1
    assert out == expected()


def test_a_rebuilt_copy_is_the_cached_one(loads, monkeypatch):
    """After every firing (snapshots included), the clusters rebuilt from state equal the copy."""
    monkeypatch.setattr(assign_module, "_CACHE", {})
    fn, state, log = AssignClustersFn(ClusterParams()), Value(), Bag()
    snapshots = 0
    for batch in _batches():
        _fire(fn, state, log, batch)
        cached = next(iter(assign_module._CACHE.values())).clusters
        rebuilt = clusters_state.CachedClusters.load(log.read(), ClusterParams()).clusters
        snapshots += log.items[0][:1] == b"S" and len(log.items) == 1
        for name, value in vars(cached).items():
            other = getattr(rebuilt, name)
            if hasattr(value, "shape"):
                assert value.dtype == other.dtype and (value == other).all(), name
            elif name == "recent":
                assert [(t, v.tobytes()) for t, v in value] == [(t, v.tobytes()) for t, v in other]
            else:
                assert value == other, name
    assert snapshots >= 3
