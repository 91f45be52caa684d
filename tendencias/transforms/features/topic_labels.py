"""LabelTopics: topic trends get the name of their topic (`label`), from the version the stream
uses now (DIR/LATEST, read at most every `refresh_seconds`, as ApplyFeatures does).

A topic's key is its id ("t4"), which a re-analysis keeps for the same topic (models/topics),
so its trend history carries over; its label (top words) may change a little from one version
to the next, so it is looked up when the record leaves, not baked into the key.
"""

from __future__ import annotations

import logging
import os
import time

import apache_beam as beam

from tendencias.models.topics.analysis import TOPICS_DIR
from tendencias.models.topics.model import TopicModel

_LOG = logging.getLogger(__name__)


class LabelTopicsFn(beam.DoFn):
    def __init__(self, transform_dir: str, refresh_seconds: float):
        self._dir, self._refresh = transform_dir, refresh_seconds

    def setup(self):
        self._labels: dict[str, str] = {}
        self._version: str | None = None
        self._next_check = 0.0

    def process(self, trend: dict):
        if trend.get("kind") == "topic":
            label = self._current().get(trend["key"])
            if label:
                trend = dict(trend, label=label)
                subject = f"posts on topic {trend['key']}"
                trend["explanation"] = trend["explanation"].replace(subject, f"{subject} ({label})", 1)
        yield trend

    def _current(self) -> dict[str, str]:
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + self._refresh
            from tendencias.models.features import store as transform_store

            try:
                version = transform_store.read_latest(self._dir)
                if version and version != self._version:
                    model = TopicModel.load(os.path.join(self._dir, version, TOPICS_DIR))
                    self._labels = dict(zip(model.ids, model.labels, strict=True)) if model else {}
                    self._version = version
            except (OSError, ValueError) as err:  # keep the labels in use
                _LOG.warning("cannot read topic labels from %s: %s", self._dir, err)
        return self._labels


class LabelTopics(beam.PTransform):
    """Trend records -> the same, topic trends with `label` (a no-op without a transform_dir)."""

    def __init__(self, transform_dir: str | None, refresh_seconds: float = 30.0):
        super().__init__()
        self._dir, self._refresh = transform_dir, refresh_seconds

    def expand(self, trends):
        if not self._dir:
            return trends
        return trends | "Label" >> beam.ParDo(LabelTopicsFn(self._dir, self._refresh))
