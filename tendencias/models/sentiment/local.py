"""The local sentiment model: a linear classifier over word and character n-grams.

It stands in for the GPT model when no API is configured or the API fails, and it is the cheap
first pass. Trained by `tendencias train-sentiment` (tendencias/tools/train_sentiment.py) on
labelled Spanish tweets, with soft labels from a multilingual sentence-embedding teacher on
perturbed copies of the same tweets; see that module for how the numbers were chosen.

The artifact is plain data: `model.json` (labels, vocabularies, settings, training report) and
`weights.npz` (idf weights, coefficients, temperature), so loading runs no pickled code. The
analysers below are the ones training uses, so features at training and inference are identical.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix

from tendencias.models.sentiment.artifact import DEFAULT_DIR, LABELS, predictions, read_artifact, softmax

__all__ = ["DEFAULT_DIR", "LABELS", "LocalSentimentModel", "predictions", "read_artifact", "softmax"]
FORMAT = 1

_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"@\w+")
_ELONGATION = re.compile(r"(.)\1{2,}")
_TOKEN = re.compile(r"#?\w+|[^\w\s]")


def normalise(text: str) -> str:
    """Lower-case; URLs → "http"; @handles → "@user"; runs of 3+ equal characters → 2."""
    text = _URL.sub("http", text.lower())
    text = _HANDLE.sub("@user", text)
    return _ELONGATION.sub(r"\1\1", text)


def _word_grams(normalised: str) -> list[str]:
    tokens = _TOKEN.findall(normalised)
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def _char_grams(word: str, low: int, high: int) -> list[str]:
    padded = f" {word} "
    return [padded[i : i + n] for n in range(low, high + 1) for i in range(len(padded) - n + 1)]


def word_ngrams(text: str) -> list[str]:
    """Words, hashtags, punctuation marks and emoji as unigrams, plus adjacent bigrams."""
    return _word_grams(normalise(text))


def char_ngrams(text: str, low: int = 2, high: int = 5) -> list[str]:
    """Character n-grams inside each space-padded word (like scikit-learn's char_wb)."""
    return [gram for word in normalise(text).split() for gram in _char_grams(word, low, high)]


class LocalSentimentModel:
    """Predicts {label, score, confidence} per text; read-only after load, so thread-safe."""

    def __init__(self, meta: dict, weights: dict[str, np.ndarray], version: str) -> None:
        if meta.get("format") != FORMAT or tuple(meta.get("labels", ())) != LABELS:
            raise ValueError(f"unsupported sentiment artifact (format {meta.get('format')!r})")
        self.meta = meta
        self.version = version
        self._low, self._high = meta["char_ngram_range"]
        self._word_index = {g: i for i, g in enumerate(meta["word_vocabulary"])}
        self._char_index = {g: i for i, g in enumerate(meta["char_vocabulary"])}
        self._word_idf = weights["word_idf"].astype(np.float64)
        self._char_idf = weights["char_idf"].astype(np.float64)
        coef = weights["coef"].astype(np.float64)  # (n_word + n_char, 3)
        n_word = len(self._word_idf)
        self._word_coef, self._char_coef = coef[:n_word], coef[n_word:]
        self._intercept = weights["intercept"].astype(np.float64)
        self._temperature = float(weights["temperature"])
        # Words repeat across posts: their character n-gram ids are computed once (thread-safe cache).
        self._char_ids = functools.lru_cache(maxsize=200_000)(self._char_ids_of_word)

    @classmethod
    def load(cls, path: str | None = None) -> LocalSentimentModel:
        """Load the fast tier from `path` (a folder), by default the one shipped with the package.
        The other tiers load through models/sentiment/tiers.py `load_tier`."""
        folder = Path(path) if path else DEFAULT_DIR
        meta, weights, digest = read_artifact(folder, "model.json", "weights.npz")
        return cls(meta, weights, version=f"local-{digest[:12]}")

    def _char_ids_of_word(self, word: str) -> np.ndarray:
        ids = [
            i for i in map(self._char_index.get, _char_grams(word, self._low, self._high)) if i is not None
        ]
        return np.array(ids, dtype=np.int64)

    @staticmethod
    def _block_logits(rows: list[np.ndarray], idf: np.ndarray, coef: np.ndarray) -> np.ndarray:
        """Sublinear TF-IDF, L2-normalised per row, times the coefficients (as the training vectoriser)."""
        if len(rows) == 1:  # one text: plain numpy, no sparse-matrix set-up (4x faster)
            unique, counts = np.unique(rows[0], return_counts=True)
            values = (1.0 + np.log(counts)) * idf[unique]
            return ((values @ coef[unique]) / max(np.sqrt(values @ values), 1e-12))[None, :]
        indptr = np.cumsum([0] + [len(r) for r in rows])
        ids = np.concatenate(rows) if indptr[-1] else np.zeros(0, dtype=np.int64)
        counts = csr_matrix((np.ones(len(ids)), ids, indptr), shape=(len(rows), len(idf)))
        counts.sum_duplicates()  # repeated n-grams -> one entry holding the count
        counts.data = (1.0 + np.log(counts.data)) * idf[counts.indices]
        norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
        return (counts @ coef) / np.maximum(norms, 1e-12)[:, None]

    def logits(self, texts: list[str]) -> np.ndarray:
        """Uncalibrated class logits, shape (len(texts), 3)."""
        word_index, char_ids, empty = self._word_index, self._char_ids, np.zeros(0, dtype=np.int64)
        word_rows, char_rows = [], []
        for text in texts:
            normalised = normalise(text)
            word_rows.append(
                np.array(
                    [i for i in map(word_index.get, _word_grams(normalised)) if i is not None], dtype=np.int64
                )
            )
            words = normalised.split()
            char_rows.append(np.concatenate([char_ids(w) for w in words]) if words else empty)
        return (
            self._block_logits(word_rows, self._word_idf, self._word_coef)
            + self._block_logits(char_rows, self._char_idf, self._char_coef)
            + self._intercept
        )

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Calibrated class probabilities (temperature-scaled softmax), shape (len(texts), 3)."""
        return softmax(self.logits(texts), self._temperature)

    def predict(self, texts: list[str]) -> list[dict]:
        """One {label, score, confidence} per text: score = P(positive) - P(negative)."""
        return predictions(self.probabilities(list(texts)))
