"""What every local sentiment tier shares: labels, where the shipped artifacts live, reading them
without pickles, softmax and the {label, score, confidence} answer."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "resources" / "sentiment"
LABELS = ("negative", "neutral", "positive")


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of `logits / temperature`."""
    z = logits / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def predictions(probs: np.ndarray) -> list[dict]:
    """{label, score, confidence} per row of class probabilities: score = P(positive) - P(negative)."""
    best = probs.argmax(axis=1)
    return [
        {
            "label": LABELS[k],
            "score": round(float(p[2] - p[0]), 4),
            "confidence": round(float(p[k]), 4),
        }
        for p, k in zip(probs, best, strict=True)
    ]


def read_artifact(folder: Path, meta_name: str, weights_name: str) -> tuple[dict, dict[str, np.ndarray], str]:
    """(meta, arrays, sha256 hex of both) of `<folder>/<meta_name>` and `<folder>/<weights_name>`."""
    meta_path, weights_path = folder / meta_name, folder / weights_name
    if not meta_path.is_file() or not weights_path.is_file():
        raise FileNotFoundError(
            f"no sentiment model in {folder}: expected {meta_name} and {weights_name} "
            "(rebuild it with `tendencias train-sentiment`)"
        )
    meta_bytes = meta_path.read_bytes()
    meta = json.loads(meta_bytes.decode("utf-8"))
    with np.load(weights_path, allow_pickle=False) as npz:
        weights = {name: npz[name] for name in sorted(npz.files)}
    # Hash the contents, not the .npz file: zip entries carry write times.
    digest = hashlib.sha256(meta_bytes)
    for name, array in weights.items():
        digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return meta, weights, digest.hexdigest()


def embedding_cache_file(cache_dir: Path, prefix: str, encoder: object, texts: list[str]) -> Path:
    """`<cache_dir>/<prefix>-<sha256 of the encoder description and the texts>.npy`: where a rerun
    on the same texts (a retrain, the benchmark) finds their embeddings."""
    key = hashlib.sha256(json.dumps(encoder, sort_keys=True).encode())
    for text in texts:
        key.update(text.encode("utf-8") + b"\0")
    return cache_dir / f"{prefix}-{key.hexdigest()[:32]}.npy"


def load_beside_student(folder: Path, meta_name: str, weights_name: str, student_version: str, prefix: str):
    """(meta, arrays, version) of a tier stored beside the fast student: the version hashes both."""
    meta, weights, digest = read_artifact(folder, meta_name, weights_name)
    both = hashlib.sha256(f"{student_version}:{digest}".encode()).hexdigest()
    return meta, weights, f"{prefix}-{both[:12]}"


def write_head_artifact(output: Path, meta_name: str, weights_name: str, meta: dict, head, **scalars) -> None:
    """A tier's artifact beside the student: `meta` as JSON and the logistic `head` (coef, intercept)
    with `scalars` (temperatures) as .npz: plain data, no pickle."""
    output.mkdir(parents=True, exist_ok=True)
    (output / meta_name).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    np.savez_compressed(
        output / weights_name,
        coef=head.coef_.T.astype(np.float32),
        intercept=head.intercept_.astype(np.float32),
        **{name: np.float32(value) for name, value in scalars.items()},
    )


def blend(head: np.ndarray, student: np.ndarray, weights: np.ndarray | float) -> np.ndarray:
    """`w * head + (1 - w) * student` class probabilities, `w` one weight or one per row."""
    w = np.asarray(weights, dtype=np.float64).reshape(-1, 1)
    return w * head + (1.0 - w) * student


def language_weights(texts: list[str], weight: float, weight_en: float) -> np.ndarray:
    """A head's blend weight per text: `weight_en` for texts detected as English."""
    from tendencias.models.text.normalise import detect_lang

    return np.array([weight_en if detect_lang(t) == "en" else weight for t in texts], dtype=np.float64)


class EncoderHeadTier:
    """A tier made of a sentence encoder, a logistic head on its embeddings stored beside the fast
    student (META_FILE, WEIGHTS_FILE), and the student itself to blend with (the accurate tier).
    Subclasses say how to load the encoder and to embed, and how to blend."""

    META_FILE = WEIGHTS_FILE = VERSION_PREFIX = ""
    FORMAT = 1

    def __init__(self, student, meta: dict, weights: dict[str, np.ndarray], version: str) -> None:
        if meta.get("format") != self.FORMAT or tuple(meta.get("labels", ())) != LABELS:
            raise ValueError(
                f"unsupported {self.VERSION_PREFIX} sentiment artifact (format {meta.get('format')!r})"
            )
        self.student = student
        self.meta = meta
        self.version = version
        self._coef = weights["coef"].astype(np.float64)  # (embedding size, 3)
        self._intercept = weights["intercept"].astype(np.float64)
        self._encoder = self.load_encoder(meta["encoder"])
        import threading

        self._lock = threading.Lock()  # the encoders keep scratch buffers / load tables lazily

    @staticmethod
    def load_encoder(encoder: dict):
        raise NotImplementedError

    def _encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def probabilities(self, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    @classmethod
    def load(cls, path: str | None = None):
        """Load the student and the head from `path` (default: the shipped artifact)."""
        from tendencias.models.sentiment.local import LocalSentimentModel

        folder = Path(path) if path else DEFAULT_DIR
        student = LocalSentimentModel.load(str(folder))
        meta, weights, version = load_beside_student(
            folder, cls.META_FILE, cls.WEIGHTS_FILE, student.version, cls.VERSION_PREFIX
        )
        return cls(student, meta, weights, version)

    def embed(self, texts: list[str]) -> np.ndarray:
        """The encoder's embeddings of `texts`, shape (len(texts), embedding size)."""
        if not texts:
            return np.zeros((0, self._coef.shape[0]), dtype=np.float32)
        with self._lock:
            return self._encode(list(texts))

    def head(self, embeddings: np.ndarray, temperature: float) -> np.ndarray:
        """The head's temperature-scaled class probabilities for precomputed embeddings."""
        return softmax(embeddings.astype(np.float64) @ self._coef + self._intercept, temperature)

    def predict(self, texts: list[str]) -> list[dict]:
        """One {label, score, confidence} per text: score = P(positive) - P(negative)."""
        return predictions(self.probabilities(list(texts)))
