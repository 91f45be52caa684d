"""The TF-Transform `preprocessing_fn`s for posts and sales, and how records map to and from them.

Posts and sales are different record kinds, so each has its own feature spec, instance builder
and preprocessing_fn, analysed into its own transform_fn (DIR/<version>/posts and .../sales).

The batch analysis and the stream share everything here: `post_instance` turns an enriched post
(with `tokens` from `text_normalise.post_tokens`) into the raw features, and
`post_features_from_row` turns one transformed row into the small `features` dict that records
carry, so one record gets the same features in both paths for the same version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import tensorflow as tf
import tensorflow_transform as tft

from tendencias.models.features import keys as fk
from tendencias.records import RecordError

POST_FEATURE_SPEC: dict[str, Any] = {
    fk.TOKENS: tf.io.VarLenFeature(tf.string),
    **{key: tf.io.FixedLenFeature([], tf.string) for key in fk.CATEGORICAL_POST_KEYS},
    fk.RATING: tf.io.FixedLenFeature([], tf.float32),
}
SALE_FEATURE_SPEC: dict[str, Any] = {
    **{key: tf.io.FixedLenFeature([], tf.string) for key in fk.CATEGORICAL_SALE_KEYS},
    **{key: tf.io.FixedLenFeature([], tf.float32) for key in fk.SALE_VALUES},
}


def _category(value: Any) -> str:
    # The same form as the trend keys (spaces squeezed, case folded): "Inca  Kola" is "inca kola".
    return " ".join(str(value).split()).casefold() if value is not None else ""


def post_instance(post: Mapping[str, Any]) -> dict[str, Any]:
    """Raw features of an enriched post; raises RecordError when `tokens` is missing."""
    tokens = post.get(fk.TOKENS)
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise RecordError("missing_tokens", "post has no `tokens` list (text_clean is required)")
    rating = post.get(fk.RATING)
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, (int, float))):
        raise RecordError("wrong_type", f"rating must be a number, got {type(rating).__name__}")
    instance: dict[str, Any] = {fk.TOKENS: tokens, fk.RATING: float(rating or 0.0)}
    for key in fk.CATEGORICAL_POST_KEYS:
        instance[key] = _category(post.get(key))
    return instance


def sale_instance(sale: Mapping[str, Any]) -> dict[str, Any]:
    """Raw features of a parsed sale; raises RecordError naming a missing field."""
    instance: dict[str, Any] = {}
    for key in fk.CATEGORICAL_SALE_KEYS:
        instance[key] = _category(sale.get(key))
        if not instance[key]:
            raise RecordError("missing_" + key, f"sale has no {key}")
    for key in fk.SALE_VALUES:
        value = sale.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecordError("missing_" + key, f"sale has no numeric {key}")
        instance[key] = float(value)
    return instance


def _categorical_ids(value: tf.Tensor, key: str) -> tf.Tensor:
    # The vocabulary learns only present values, so "" (missing) and unseen values share MISSING_ID.
    present = tf.boolean_mask(value, tf.not_equal(value, ""))
    vocabulary = tft.vocabulary(present, top_k=fk.CATEGORICAL_TOP_K, vocab_filename=fk.vocab_name(key))
    return tft.apply_vocabulary(value, vocabulary, default_value=fk.MISSING_ID)


def make_posts_preprocessing_fn(
    top_k: int = fk.TOKENS_TOP_K, frequency_threshold: int = fk.TOKENS_FREQUENCY_THRESHOLD
) -> Callable:
    """preprocessing_fn for posts: token vocabulary ids, TF-IDF, categorical ids, rating bucket."""

    def preprocessing_fn(inputs: dict[str, Any]) -> dict[str, Any]:
        # One out-of-vocabulary bucket: unseen tokens get id == vocabulary size.
        ids = tft.compute_and_apply_vocabulary(
            inputs[fk.TOKENS],
            top_k=top_k,
            frequency_threshold=frequency_threshold,
            num_oov_buckets=1,
            vocab_filename=fk.vocab_name(fk.TOKENS),
        )
        index, weight = tft.tfidf(ids, tft.get_num_buckets_for_transformed_feature(ids))
        outputs = {fk.TOKEN_IDS: ids, fk.TFIDF_INDEX: index, fk.TFIDF_WEIGHT: weight}
        for key in fk.CATEGORICAL_POST_KEYS:
            outputs[fk.id_name(key)] = _categorical_ids(inputs[key], key)
        outputs[fk.RATING_BUCKET] = tft.apply_buckets(inputs[fk.RATING], [list(fk.RATING_BOUNDARIES)])
        return outputs

    return preprocessing_fn


def sales_preprocessing_fn(inputs: dict[str, Any]) -> dict[str, Any]:
    """preprocessing_fn for sales: categorical ids and z-scores of units and revenue per product."""
    outputs = {fk.id_name(key): _categorical_ids(inputs[key], key) for key in fk.CATEGORICAL_SALE_KEYS}
    for key in fk.SALE_VALUES:
        outputs[fk.z_name(key)] = tft.scale_to_z_score_per_key(inputs[key], key=inputs[fk.SALE_KEY])
    return outputs


def post_features_from_row(row: Mapping[str, Any], vocabulary: Sequence[str]) -> dict[str, Any]:
    """The `features` dict of one transformed post row (numpy values, as TransformDataset gives)."""
    ids = [int(i) for i in row[fk.TOKEN_IDS]]
    size = len(vocabulary)
    weighted = [
        (float(w), vocabulary[int(i)])
        for i, w in zip(row[fk.TFIDF_INDEX], row[fk.TFIDF_WEIGHT], strict=True)
        if int(i) < size
    ]
    weighted.sort(key=lambda item: (-item[0], item[1]))
    features: dict[str, Any] = {
        "token_ids": [i if i < size else fk.MISSING_ID for i in ids],
        "top_terms": [[term, round(weight, 4)] for weight, term in weighted[: fk.TOP_TERMS]],
        # Share of this post's tokens the window has not seen often enough: new words.
        "oov_share": round(sum(1 for i in ids if i >= size) / len(ids), 4) if ids else 0.0,
    }
    for key in fk.CATEGORICAL_POST_KEYS:
        features[fk.id_name(key)] = int(_scalar(row[fk.id_name(key)]))
    features[fk.RATING_BUCKET] = int(_scalar(row[fk.RATING_BUCKET]))
    return features


def sale_features_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The `features` dict of one transformed sale row; z-scores are None for a product the
    window did not see (TF-Transform would return the raw value there)."""
    features: dict[str, Any] = {
        fk.id_name(k): int(_scalar(row[fk.id_name(k)])) for k in fk.CATEGORICAL_SALE_KEYS
    }
    known = features[fk.id_name(fk.SALE_KEY)] != fk.MISSING_ID
    for key in fk.SALE_VALUES:
        features[fk.z_name(key)] = round(float(_scalar(row[fk.z_name(key)])), 4) if known else None
    return features


def _scalar(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
