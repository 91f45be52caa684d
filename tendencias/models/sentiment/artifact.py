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
