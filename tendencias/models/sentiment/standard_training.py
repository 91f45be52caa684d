"""Training the standard local tier (models/sentiment/standard.py), run by `tendencias train-sentiment`.

Everything is chosen on out-of-fold predictions of the Spanish training tweets (the same folds as
the fast student's), never on a validation set:
1. the head's C (logistic regression on USE embeddings of the socially normalised texts), by
   out-of-fold macro-F1 over C_GRID;
2. the head's temperature, then the blend weight with the fast student by out-of-fold log-loss;
   texts detected as English take the head alone (the student knows only Spanish words);
3. a final temperature on the blend, so `confidence` is calibrated.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tendencias.models.sentiment.artifact import LABELS, embedding_cache_file, softmax, write_head_artifact
from tendencias.models.sentiment.calibration import fit_temperature
from tendencias.models.sentiment.ensemble import choose_blend_weight
from tendencias.models.sentiment.standard import (
    ENCODER,
    FORMAT,
    META_FILE,
    NORMALISER,
    WEIGHTS_FILE,
    blend,
    calibrate,
    load_encoder,
)
from tendencias.models.text.social import social_normalise

C_GRID = (0.25, 0.5, 1.0, 2.0)
ENGLISH_HEAD_WEIGHT = 1.0


def use_embeddings(
    texts: list[str], progress: Callable[[str], None] = print, cache_dir: Path | None = None
) -> np.ndarray:
    """USE embeddings of the socially normalised texts, (len(texts), 512); cached by the hash of
    the encoder and the normalised texts when `cache_dir` is given."""
    normalised = [social_normalise(t) for t in texts]
    cache = None
    if cache_dir is not None:
        cache = embedding_cache_file(cache_dir, "use", ENCODER, normalised)
        if cache.is_file():
            return np.load(cache, allow_pickle=False)
    try:
        encoder = load_encoder()
    except RuntimeError as err:
        raise SystemExit(f"train-sentiment: {err}") from err
    start, out = time.time(), []
    for i in range(0, len(texts), 256):
        out.append(encoder.encode(normalised[i : i + 256]))
    embeddings = np.concatenate(out) if out else np.zeros((0, 512), dtype=np.float32)
    progress(f"USE embeddings of {len(texts)} texts ({len(texts) / max(time.time() - start, 1e-9):.0f}/s)")
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, embeddings, allow_pickle=False)
    return embeddings


def fit_head(embeddings: np.ndarray, labels: np.ndarray, c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=5000).fit(embeddings, labels)


def head_logits(head, embeddings: np.ndarray) -> np.ndarray:
    """The head's logits as the exported artifact computes them (float64)."""
    return embeddings.astype(np.float64) @ head.coef_.T + head.intercept_


def out_of_fold_logits(embeddings: np.ndarray, labels: np.ndarray, splits: list, c: float) -> np.ndarray:
    oof = np.zeros((len(labels), len(LABELS)))
    for train_idx, test_idx in splits:
        oof[test_idx] = head_logits(
            fit_head(embeddings[train_idx], labels[train_idx], c), embeddings[test_idx]
        )
    return oof


def choose(
    embeddings: np.ndarray,
    labels: np.ndarray,
    splits: list,
    student_oof: np.ndarray,
    macro_f1: Callable[[np.ndarray, np.ndarray], float],
) -> dict:
    """C, head temperature, blend weight and final temperature, with the out-of-fold numbers."""
    by_c = {c: out_of_fold_logits(embeddings, labels, splits, c) for c in C_GRID}
    f1_by_c = {c: macro_f1(labels, logits.argmax(axis=1)) for c, logits in by_c.items()}
    c = max(C_GRID, key=lambda k: (f1_by_c[k], -k))  # ties: the stronger regularisation
    head_temperature = fit_temperature(by_c[c], labels)
    head_oof = softmax(by_c[c], head_temperature)
    weight, _ = choose_blend_weight(head_oof, student_oof, labels)
    blended = blend(head_oof, student_oof, weight)
    temperature = fit_temperature(np.log(np.maximum(blended, 1e-12)), labels)
    return {
        "c": c,
        "cv_macro_f1_by_c": {str(k): v for k, v in f1_by_c.items()},
        "head_temperature": head_temperature,
        "head_weight": weight,
        "head_oof": head_oof,
        "oof": calibrate(blended, temperature),
        "uncalibrated_oof": blended,
        "temperature": temperature,
    }


def export_standard(head, choice: dict, output: Path, report: dict) -> None:
    """Write standard.json (labels, encoder, normaliser, blend, report) and standard.npz: no pickle."""
    meta = {
        "format": FORMAT,
        "labels": list(LABELS),
        "encoder": ENCODER,
        "normaliser": NORMALISER,
        "blend": {
            "head_weight": choice["head_weight"],
            "head_weight_en": ENGLISH_HEAD_WEIGHT,
            "student": "model.json",
        },
        "report": report,
    }
    write_head_artifact(
        output,
        META_FILE,
        WEIGHTS_FILE,
        meta,
        head,
        head_temperature=choice["head_temperature"],
        temperature=choice["temperature"],
    )
