"""Consumer segments of a post: who is talking, in the terms product and marketing teams use.

Segments are defined by what a post cares about, from the local aspect finder's word lists
(models/sentiment/aspects.py), so there is one vocabulary of needs in the project:

    health-conscious  health, sweetness (sugar, light, zero, stevia ...)
    price-sensitive   price
    energy-seeking    energy
    taste-driven      taste
    convenience       availability, size, packaging

Without an analysed version, a post's segments are those of the aspects the sentiment stage
found in it (`segments_of_aspects`). `tendencias analyze` also learns a small model from the
window of history: one logistic regression per segment over the version's TF-IDF vectors
(models/topics/model.py), trained on the aspect words' labels of the window's posts, so a post
with words the lists lack but the segment's posts use ("gym", "dieta", "bodega") is tagged
too. A post gets a segment when the model's probability is at least the threshold with the
best F1 on a held-out fifth of the window (against the word lists), or when its aspects name
it. Stored as plain data (segments.json, segments.npz).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SEGMENT_ASPECTS: dict[str, tuple[str, ...]] = {
    "health-conscious": ("health", "sweetness"),
    "price-sensitive": ("price",),
    "energy-seeking": ("energy",),
    "taste-driven": ("taste",),
    "convenience": ("availability", "size", "packaging"),
}
SEGMENTS = tuple(SEGMENT_ASPECTS)
MIN_POSITIVES = (
    20  # a segment the window names (or does not name) fewer times is not learnt (the words still tag it)
)
SEGMENTS_JSON, SEGMENTS_NPZ = "segments.json", "segments.npz"
FORMAT = 1


def segments_of_aspects(aspects: Iterable[str] | None) -> list[str]:
    """The segments a post's aspects name, in SEGMENTS order."""
    found = set(aspects or ())
    return [s for s in SEGMENTS if found.intersection(SEGMENT_ASPECTS[s])]


def post_segments(learnt: Iterable[str] | None, aspects: Iterable[str] | None) -> tuple[str, ...]:
    """A post's segments: those its version's model gave it and those its aspects name."""
    found = set(learnt or ()).union(segments_of_aspects(aspects))
    return tuple(s for s in SEGMENTS if s in found)


def word_labels(texts: Sequence[str]) -> np.ndarray:
    """(len(texts), len(SEGMENTS)) 0/1 labels from the aspect word lists."""
    from tendencias.models.sentiment.aspects import find_aspects

    labels = np.zeros((len(texts), len(SEGMENTS)), dtype=np.int8)
    for i, text in enumerate(texts):
        for segment in segments_of_aspects(find_aspects(text)):
            labels[i, SEGMENTS.index(segment)] = 1
    return labels


@dataclass
class SegmentModel:
    vocabulary: list[str]
    idf: np.ndarray  # (V,)
    coef: np.ndarray  # (segments learnt, V)
    intercept: np.ndarray  # (segments learnt,)
    learnt: list[str]  # the segments with a model, in SEGMENTS order
    thresholds: list[float]
    numbers: dict = field(default_factory=dict)

    def probabilities(self, docs: Sequence[Sequence[str]]) -> np.ndarray:
        from tendencias.models.topics.model import document_counts, tfidf

        vectors = tfidf(document_counts(docs, self.vocabulary), self.idf)
        return 1.0 / (1.0 + np.exp(-(np.asarray(vectors @ self.coef.T) + self.intercept)))

    def assign(
        self, docs: Sequence[Sequence[str]], aspects: Sequence[Iterable[str] | None]
    ) -> list[list[str]]:
        """Each post's segments: the model's, and those its aspects name."""
        named = [set(segments_of_aspects(a)) for a in aspects]
        if self.learnt and docs:
            probabilities = self.probabilities(docs)
            for i, row in enumerate(probabilities):
                named[i].update(
                    s for s, p, t in zip(self.learnt, row, self.thresholds, strict=True) if p >= t
                )
        return [[s for s in SEGMENTS if s in found] for found in named]

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT,
            "learnt": self.learnt,
            "thresholds": self.thresholds,
            "numbers": self.numbers,
            "vocabulary": self.vocabulary,
        }
        (folder / SEGMENTS_JSON).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        np.savez_compressed(folder / SEGMENTS_NPZ, idf=self.idf, coef=self.coef, intercept=self.intercept)

    @classmethod
    def load(cls, folder: str | Path) -> SegmentModel | None:
        folder = Path(folder)
        if not (folder / SEGMENTS_JSON).is_file():
            return None
        meta = json.loads((folder / SEGMENTS_JSON).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"unsupported segments format {meta.get('format')!r} in {folder}")
        with np.load(folder / SEGMENTS_NPZ, allow_pickle=False) as arrays:
            idf, coef, intercept = arrays["idf"], arrays["coef"], arrays["intercept"]
        return cls(
            meta["vocabulary"], idf, coef, intercept, meta["learnt"], meta["thresholds"], meta["numbers"]
        )


def fit_segment_model(
    docs: Sequence[Sequence[str]], texts: Sequence[str], vocabulary: Sequence[str], seed: int = 0
) -> SegmentModel:
    """Logistic regressions per segment on the window's posts, labelled by the aspect words;
    thresholds and numbers from a held-out fifth of them."""
    from sklearn.linear_model import LogisticRegression

    from tendencias.models.topics.model import document_counts, idf_of, tfidf

    counts = document_counts(docs, vocabulary)
    idf = idf_of(counts)
    vectors = tfidf(counts, idf)
    labels = word_labels(texts)
    held = np.random.default_rng(seed).random(len(docs)) < 0.2
    coef, intercept, learnt, thresholds, numbers = [], [], [], [], {}
    for j, segment in enumerate(SEGMENTS):
        y = labels[:, j]
        trained, kept = y[~held], y[held]
        if (
            min(trained.sum(), len(trained) - trained.sum()) < MIN_POSITIVES
            or min(kept.sum(), len(kept) - kept.sum()) < 3
        ):
            numbers[segment] = {"posts": int(y.sum()), "learnt": False}
            continue
        model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=500, random_state=seed)
        model.fit(vectors[~held], y[~held])
        p = model.predict_proba(vectors[held])[:, 1]
        threshold = _best_threshold(p, y[held])
        tagged = p >= threshold
        found = int((tagged & (y[held] == 1)).sum())
        numbers[segment] = {
            "posts": int(y.sum()),
            "learnt": True,
            "threshold": round(threshold, 4),
            "held_out_precision": round(found / max(1, int(tagged.sum())), 4),
            "held_out_recall": round(found / max(1, int(y[held].sum())), 4),
        }
        coef.append(model.coef_[0].astype(np.float32))
        intercept.append(np.float32(model.intercept_[0]))
        learnt.append(segment)
        thresholds.append(float(threshold))
    shape = (len(coef), len(vocabulary))
    return SegmentModel(
        list(vocabulary),
        idf,
        np.stack(coef) if coef else np.zeros(shape, dtype=np.float32),
        np.array(intercept, dtype=np.float32),
        learnt,
        thresholds,
        numbers,
    )


def _best_threshold(p: np.ndarray, y: np.ndarray) -> float:
    """The probability threshold with the best F1 against the word lists' labels (held out);
    of equally good ones, the middle one."""
    positives = int(y.sum())
    scored = []
    for threshold in sorted(set(np.round(p, 4))):
        tagged = p >= threshold
        found = int((tagged & (y == 1)).sum())
        scored.append((2 * found / (int(tagged.sum()) + positives) if positives else 0.0, float(threshold)))
    if not scored:
        return 0.5
    best = max(f1 for f1, _ in scored)
    ties = [t for f1, t in scored if f1 >= best - 1e-9]
    return ties[len(ties) // 2]
