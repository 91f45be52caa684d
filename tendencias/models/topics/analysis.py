"""The meaning part of `tendencias analyze`: the topic and segment models of the window, fitted
beside the transform_fn into the same version (DIR/<version>/topics, DIR/<version>/segments),
so the stream picks them up with it (transforms/features/apply.py watches LATEST).

The topic model's method is NMF: of the three compared by benchmarks/bench_topics.py, the
most stable across consecutive analyses on both corpora (0.81 on generated beverage chatter,
0.40 on real tweets; LDA 0.37 / 0.28, k-means 0.58 / 0.30), which is what lets a topic keep its
id and its trend history, with coherence close to the best on the beverage chatter. Its size
is chosen per window: the k of SIZES with the highest coherence (NPMI) on the window.
"""

from __future__ import annotations

import glob
import json
import logging
from pathlib import Path

from tendencias.models.segments.model import fit_segment_model
from tendencias.models.topics.model import METHODS, TopicModel, fit_topic_model

LOGGER = logging.getLogger(__name__)
SIZES = (8, 12, 20)
DOCS_PER_TOPIC = 20  # a window of fewer posts than this per topic fits fewer topics
TOPICS_DIR, SEGMENTS_DIR = "topics", "segments"


def read_docs(work: Path) -> tuple[list[list[str]], list[str]]:
    docs, texts = [], []
    for path in sorted(glob.glob(str(work / "meaning-*.jsonl"))):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                item = json.loads(line)
                docs.append(item["tokens"])
                texts.append(item["text"])
    return docs, texts


def select_topic_model(
    docs: list[list[str]], vocabulary: list[str], method: str = "nmf", topics: int | None = None
) -> TopicModel:
    """The topic model of `docs`: `topics` topics, or the size of SIZES with the best NPMI."""
    if method not in METHODS:
        raise ValueError(f"topic method must be one of {', '.join(METHODS)}, got {method!r}")
    sizes = [topics] if topics else [k for k in SIZES if k * DOCS_PER_TOPIC <= len(docs)] or [SIZES[0]]
    candidates = [fit_topic_model(docs, vocabulary, method, k) for k in sizes]
    best = max(candidates, key=lambda m: (m.numbers["npmi"], -m.numbers["k"]))
    best.numbers["candidates"] = [
        {"k": m.numbers["k"], "npmi": m.numbers["npmi"], "coverage": m.numbers["coverage"]}
        for m in candidates
    ]
    return best


def fit_meaning(
    work: Path,
    version_dir: Path,
    vocabulary: list[str],
    previous_dir: Path | None,
    method: str = "nmf",
    topics: int | None = None,
) -> dict:
    """Fits and writes the topic and segment models of the window; returns their numbers."""
    docs, texts = read_docs(work)
    if not docs or not vocabulary:
        return {"topics": None, "segments": None}
    previous = TopicModel.load(previous_dir / TOPICS_DIR) if previous_dir else None
    model = select_topic_model(docs, vocabulary, method, topics).with_identity(previous)
    model.save(version_dir / TOPICS_DIR)
    segments = fit_segment_model(docs, texts, vocabulary)
    segments.save(version_dir / SEGMENTS_DIR)
    return {
        "topics": {
            "method": model.method,
            **{k: v for k, v in model.numbers.items()},
            "labels": dict(zip(model.ids, model.labels, strict=True)),
        },
        "segments": segments.numbers,
    }
