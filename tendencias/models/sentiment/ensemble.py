"""Training the accurate local tier: the e5 teacher's head and its blend with the fast student.

`tendencias train-sentiment` fits the teacher head (logistic regression on e5 embeddings) and
picks the blend weight on out-of-fold predictions of the training tweets, then writes
accurate.json / accurate.npz, which tendencias/models/accurate_sentiment.py loads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tendencias.models.sentiment.accurate import ENCODER, FORMAT, META_FILE, WEIGHTS_FILE, blend
from tendencias.models.sentiment.artifact import write_head_artifact
from tendencias.models.sentiment.local import LABELS

BLEND_GRID = np.round(np.linspace(0.0, 1.0, 21), 2)


def teacher_logits(head, embeddings: np.ndarray) -> np.ndarray:
    """The head's class logits computed as the exported artifact computes them (float64)."""
    return embeddings.astype(np.float64) @ head.coef_.T + head.intercept_


def choose_blend_weight(teacher: np.ndarray, student: np.ndarray, labels: np.ndarray) -> tuple[float, dict]:
    """The teacher weight with the lowest out-of-fold log-loss, and the log-loss of every weight.

    Log-loss, not macro-F1: on ~1,800 tweets F1 moves in steps of single tweets, the log-loss
    curve is smooth and its minimum does not depend on where ties fall."""
    losses = {}
    for w in BLEND_GRID:
        p = blend(teacher, student, float(w))[np.arange(len(labels)), labels]
        losses[float(w)] = round(float(-np.log(np.maximum(p, 1e-12)).mean()), 5)
    return min(losses, key=losses.get), losses


def english_halves(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of two stratified halves of the English set: (for training, held out)."""
    rng = np.random.default_rng(seed)
    first = [rng.permutation(np.flatnonzero(labels == c))[: int(np.sum(labels == c)) // 2] for c in range(3)]
    train = np.sort(np.concatenate(first))
    return train, np.setdiff1d(np.arange(len(labels)), train)


def export_accurate(
    head, temperature: float, weight: float, weight_en: float, output: Path, report: dict
) -> None:
    """Write accurate.json (labels, encoder, blend weight, report) and accurate.npz: no pickle."""
    meta = {
        "format": FORMAT,
        "labels": list(LABELS),
        "encoder": ENCODER,
        "blend": {"teacher_weight": weight, "teacher_weight_en": weight_en, "student": "model.json"},
        "report": report,
    }
    write_head_artifact(output, META_FILE, WEIGHTS_FILE, meta, head, temperature=temperature)
