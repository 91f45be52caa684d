"""The preprocessing_fns: windows that differ give different vocabularies; batch and stream agree."""

from __future__ import annotations

import json
import statistics
import tempfile

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline

from tendencias.models.features import keys as fk
from tendencias.models.features import preprocessing as pp
from tendencias.models.features.store import LoadedVersion
from tendencias.models.text.normalise import post_tokens
from tendencias.records import parse_post
from tendencias.transforms.features.apply import ApplyFeatures
from tests.unit import tft_versions

_OUT: dict[str, list] = {}


def _keep(values: list, name: str) -> None:
    _OUT[name] = values


@pytest.fixture(scope="module")
def versions() -> tft_versions.Versions:
    return tft_versions.analysed()


@pytest.fixture(scope="module")
def loaded(versions) -> tuple[LoadedVersion, LoadedVersion]:
    return (
        LoadedVersion(str(versions.directory), versions.first),
        LoadedVersion(str(versions.directory), versions.second),
    )


def test_windows_with_different_content_give_different_vocabularies(loaded):
    first, second = (set(v.vocabulary) for v in loaded)
    assert {"limonada coco", "#verano", "playa", "🥥"} <= first
    assert {"sin azucar", "#sinazucar", "chicha morada", "💚"} <= second
    assert not {"limonada coco", "#verano", "🥥"} & second
    assert not {"sin azucar", "#sinazucar", "💚"} & first
    assert "sin" not in second  # a modifier is never a term of its own


def test_metadata_describes_the_window(versions, loaded):
    first, second = loaded
    assert first.metadata["window"]["end"] == "2026-03-02T00:00:00Z"
    assert second.metadata["window"]["start"] == "2026-03-02T00:00:00Z"
    assert first.metadata["counts"]["posts"] == tft_versions.POSTS_PER_DAY
    assert first.metadata["vocabulary_sizes"]["posts.tokens"] == len(first.vocabulary)


def _stream_record(post: dict) -> dict:
    record = parse_post(json.dumps(post).encode())
    return dict(record, text_clean=record["text"])


def test_same_record_same_features_in_batch_and_stream(versions, loaded):
    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam

    second = loaded[1]
    at = tft_versions.START_MS + tft_versions.DAY_MS + 1000
    posts = [
        tft_versions.make_post(
            "x1",
            "Chicha morada sin azúcar 💚 #SinAzucar, bien helada",
            at,
            "Chicha Real",
            "Cusco",
            "review",
            4,
        ),
        tft_versions.make_post("x2", "palabras jamás vistas: quinua maracumango", at, "Marca Nueva", "Tacna"),
        tft_versions.make_post("x3", "😶", at),
    ]
    records = [_stream_record(p) for p in posts]
    instances = [pp.post_instance(dict(r, **post_tokens(r["text_clean"]))) for r in records]
    _OUT.clear()
    with BeamTestPipeline() as p, tft_beam.Context(temp_dir=tempfile.mkdtemp()):
        transform_fn = p | tft_beam.ReadTransformFn(str(versions.directory / versions.second / fk.POSTS_DIR))
        metadata = tft.DatasetMetadata.from_feature_spec(pp.POST_FEATURE_SPEC)
        (rows, _) = (
            (p | "Instances" >> beam.Create(instances), metadata),
            transform_fn,
        ) | tft_beam.TransformDataset()
        _ = rows | "Rows" >> beam.combiners.ToList() | "KeepRows" >> beam.Map(_keep, "batch")
        stream = (
            p | "Records" >> beam.Create(records) | ApplyFeatures(str(versions.directory), refresh_seconds=0)
        )
        _ = stream.posts | "Stream" >> beam.combiners.ToList() | "KeepStream" >> beam.Map(_keep, "stream")
    batch = sorted(
        (pp.post_features_from_row(row, second.vocabulary) for row in _OUT["batch"]),
        key=lambda f: f["token_ids"],
    )
    streamed = {r["id"]: r for r in _OUT["stream"]}
    assert {r["features_version"] for r in streamed.values()} == {versions.second}
    assert sorted((r["features"] for r in streamed.values()), key=lambda f: f["token_ids"]) == batch
    x1, x2, x3 = (streamed[i]["features"] for i in ("x1", "x2", "x3"))
    assert second.vocabulary.index("sin azucar") in x1["token_ids"]
    assert x1["top_terms"] and all(term in second.vocabulary for term, _ in x1["top_terms"])
    # "bien", "helada" and "bien helada" belong to day 1's talk: 3 of x1's 10 tokens are new to day 2
    assert x1["oov_share"] == 0.3 and x1["rating_bucket"] == 3 and x1["brand_id"] >= 0
    assert x2["oov_share"] == 1.0 and x2["top_terms"] == [] and x2["brand_id"] == fk.MISSING_ID
    assert x3 == dict(x3, token_ids=[fk.MISSING_ID], top_terms=[], oov_share=1.0)


def test_rating_buckets_and_missing_categories(loaded):
    second = loaded[1]
    instances = [
        pp.post_instance({"tokens": ["chicha"], "rating": r, "source": "review"})
        for r in (None, 1, 2, 3, 4, 5)
    ]
    no_tokens = pp.post_instance({"tokens": [], "rating": 5})
    features = second.apply_posts([*instances, no_tokens])
    assert features.pop() == dict(features[-1], token_ids=[], top_terms=[], oov_share=0.0, source_id=-1)
    assert [f["rating_bucket"] for f in features] == [0, 1, 1, 2, 3, 3]
    assert all(f["brand_id"] == fk.MISSING_ID and f["region_id"] == fk.MISSING_ID for f in features)
    assert all(f["source_id"] >= 0 for f in features)


def test_sales_z_scores_per_product(loaded):
    first, second = loaded
    assert first.apply_sales([{}]) == [None]  # the first window was analysed without sales
    _, sales = tft_versions.history()
    day_two = [s for s in sales if s["ts"].startswith("2026-03-02")]
    features = second.apply_sales([pp.sale_instance(s) for s in day_two])
    by_product: dict[str, list[float]] = {}
    for sale, feature in zip(day_two, features, strict=True):
        by_product.setdefault(sale["product"], []).append(feature["units_z"])
    for values in by_product.values():
        assert abs(statistics.fmean(values)) < 1e-3
        assert statistics.pstdev(values) == pytest.approx(1.0, abs=1e-3)
    [unseen] = second.apply_sales(
        [pp.sale_instance({"product": "Otra", "category": "x", "region": "Lima", "units": 3, "revenue": 9})]
    )
    assert unseen["product_id"] == fk.MISSING_ID and unseen["units_z"] is None


def test_instances_refuse_records_missing_what_the_features_need():
    with pytest.raises(pp.RecordError, match="tokens"):
        pp.post_instance({"text": "no tokens here"})
    with pytest.raises(pp.RecordError) as err:
        pp.sale_instance({"product": "a", "category": "b", "region": "c", "units": "many", "revenue": 1})
    assert err.value.reason == "missing_units"
