"""Analysed transform_fns on disk, and applying one to a batch of records.

Layout (written by `tendencias analyze`, read by the stream's ApplyFeatures):

    DIR/<version>/posts/           transform_fn + transformed_metadata of posts
    DIR/<version>/sales/           the same for sales (absent when the window had no sales)
    DIR/<version>/metadata.json    window, counts, vocabulary sizes, created_at, topic numbers
    DIR/<version>/topics/          the topic model (models/topics/model.py)
    DIR/<version>/segments/        the segment model (models/segments/model.py)
    DIR/LATEST                     the newest complete version's name, replaced atomically

A version is "<UTC creation time>-<hash of the window>", so names sort by age. The pointer is
written last, so a reader never sees a half-written version.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from apache_beam.io.filesystems import FileSystems

from tendencias.models.features import keys as fk


def new_version(window_start_ms: int, window_end_ms: int, created: datetime | None = None) -> str:
    created = created or datetime.now(UTC)
    digest = hashlib.sha256(f"{window_start_ms}:{window_end_ms}".encode()).hexdigest()[:8]
    return f"{created.astimezone(UTC):%Y%m%dT%H%M%SZ}-{digest}"


def _is_local(path: str) -> bool:
    return "://" not in path


def read_latest(transform_dir: str) -> str | None:
    """The version DIR/LATEST names, or None when there is no pointer yet."""
    path = FileSystems.join(transform_dir, fk.LATEST_FILE)
    if not FileSystems.exists(path):
        return None
    with FileSystems.open(path) as handle:
        return handle.read().decode("utf-8").strip() or None


def write_latest(transform_dir: str, version: str) -> None:
    """Points DIR/LATEST at `version` atomically (a temporary file, then os.replace)."""
    if not _is_local(transform_dir):  # object stores publish an object whole on close
        with FileSystems.create(FileSystems.join(transform_dir, fk.LATEST_FILE)) as handle:
            handle.write(version.encode("utf-8"))
        return
    temporary = os.path.join(transform_dir, f".{fk.LATEST_FILE}.{uuid.uuid4().hex}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(version + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, os.path.join(transform_dir, fk.LATEST_FILE))


def write_metadata(version_dir: str, metadata: Mapping[str, Any]) -> None:
    with FileSystems.create(FileSystems.join(version_dir, fk.METADATA_FILE)) as handle:
        handle.write(json.dumps(metadata, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8"))


def read_metadata(version_dir: str) -> dict[str, Any]:
    with FileSystems.open(FileSystems.join(version_dir, fk.METADATA_FILE)) as handle:
        return json.loads(handle.read().decode("utf-8"))


def list_versions(transform_dir: str) -> list[str]:
    """Complete versions (those with metadata.json), oldest first."""
    pattern = FileSystems.join(transform_dir, "*", fk.METADATA_FILE)
    found = FileSystems.match([pattern])[0].metadata_list
    return sorted(m.path.replace("\\", "/").rstrip("/").split("/")[-2] for m in found)


def prune_versions(transform_dir: str, keep: int) -> list[str]:
    """Deletes all but the `keep` newest local versions, never the one LATEST names."""
    if not _is_local(transform_dir) or keep < 1:
        return []
    latest = read_latest(transform_dir)
    removed = [v for v in list_versions(transform_dir)[:-keep] if v != latest]
    for version in removed:
        shutil.rmtree(os.path.join(transform_dir, version), ignore_errors=True)
    return removed


def _to_tensors(instances: Sequence[Mapping[str, Any]], spec: Mapping[str, Any]) -> dict[str, Any]:
    import numpy as np
    import tensorflow as tf

    tensors: dict[str, Any] = {}
    for key, feature in spec.items():
        values = [instance[key] for instance in instances]
        if isinstance(feature, tf.io.VarLenFeature):
            lengths = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))
            rows = np.repeat(np.arange(len(values), dtype=np.int64), lengths)
            columns = np.arange(len(rows), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            flat = [item for value in values for item in value]
            tensors[key] = tf.SparseTensor(
                indices=np.stack([rows, columns], axis=1).reshape(-1, 2),
                values=tf.constant(flat, dtype=feature.dtype, shape=[len(flat)]),
                dense_shape=[len(values), int(lengths.max(initial=0))],
            )
        else:
            tensors[key] = tf.constant(values, dtype=feature.dtype)
    return tensors


def _to_rows(outputs: Mapping[str, Any], count: int) -> list[dict[str, Any]]:
    """Batched outputs as one dict of numpy values per record (the shape TransformDataset gives)."""
    import numpy as np
    import tensorflow as tf

    rows: list[dict[str, Any]] = [{} for _ in range(count)]
    for key, value in outputs.items():
        if isinstance(value, tf.SparseTensor):  # row-major: split the values where the row changes
            row_of = value.indices.numpy()[:, 0]
            values = value.values.numpy()
            if np.any(np.diff(row_of) < 0):
                order = np.argsort(row_of, kind="stable")
                row_of, values = row_of[order], values[order]
            bounds = np.searchsorted(row_of, np.arange(count + 1))
            for index in range(count):
                rows[index][key] = values[bounds[index] : bounds[index + 1]]
        else:
            array = value.numpy()
            for index in range(count):
                rows[index][key] = array[index]
    return rows


class LoadedVersion:
    """One version's transform_fns, loaded and ready to apply to batches of instances."""

    def __init__(self, transform_dir: str, version: str):
        import tensorflow_transform as tft

        self.version = version
        self.path = FileSystems.join(transform_dir, version)
        self.metadata = read_metadata(self.path)
        self.posts = tft.TFTransformOutput(FileSystems.join(self.path, fk.POSTS_DIR))
        self.posts.transform_features_layer()  # load now, so a broken version fails here
        self.vocabulary = [t.decode("utf-8") for t in self.posts.vocabulary_by_name(fk.vocab_name(fk.TOKENS))]
        self.topics, self.segments = _meaning_models(self.path)
        self.sales = None
        if self.metadata.get("counts", {}).get("sales", 0):
            self.sales = tft.TFTransformOutput(FileSystems.join(self.path, fk.SALES_DIR))
            self.sales.transform_features_layer()

    def apply_posts(self, instances: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        from tendencias.models.features.preprocessing import POST_FEATURE_SPEC, post_features_from_row

        if not instances:
            return []
        outputs = self.posts.transform_raw_features(
            _to_tensors(instances, POST_FEATURE_SPEC), drop_unused_features=True
        )
        return [post_features_from_row(row, self.vocabulary) for row in _to_rows(outputs, len(instances))]

    def meanings(self, tokens: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
        """Each post's `topics` and (learnt) `segments`, from its tokens; {} for a version
        analysed without them."""
        if self.topics is None and self.segments is None:
            return [{} for _ in tokens]
        topics = self.topics.assign(tokens) if self.topics else [None] * len(tokens)
        segments = (
            self.segments.assign(tokens, [None] * len(tokens)) if self.segments else [None] * len(tokens)
        )
        return [{"topics": t, "segments": s} for t, s in zip(topics, segments, strict=True)]

    def apply_sales(self, instances: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """Sales features, or None per record when this version has no sales transform_fn."""
        from tendencias.models.features.preprocessing import SALE_FEATURE_SPEC, sale_features_from_row

        if self.sales is None or not instances:
            return [None] * len(instances)
        outputs = self.sales.transform_raw_features(
            _to_tensors(instances, SALE_FEATURE_SPEC), drop_unused_features=True
        )
        return [sale_features_from_row(row) for row in _to_rows(outputs, len(instances))]


def _meaning_models(version_path: str):
    """The version's topic and segment models (None each when it has none; local folders only)."""
    from tendencias.models.segments.model import SegmentModel
    from tendencias.models.topics.analysis import SEGMENTS_DIR, TOPICS_DIR
    from tendencias.models.topics.model import TopicModel

    if not _is_local(version_path):
        return None, None
    return TopicModel.load(os.path.join(version_path, TOPICS_DIR)), SegmentModel.load(
        os.path.join(version_path, SEGMENTS_DIR)
    )
