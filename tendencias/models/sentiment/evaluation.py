"""Macro-F1 with a bootstrap confidence interval, as every sentiment number is reported."""

from __future__ import annotations

import numpy as np


def macro_f1(labels: np.ndarray, predicted: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return round(float(f1_score(labels, predicted, average="macro", labels=[0, 1, 2])), 4)


def per_class_f1(labels: np.ndarray, predicted: np.ndarray) -> list[float]:
    from sklearn.metrics import f1_score

    scores = f1_score(labels, predicted, average=None, labels=[0, 1, 2])
    return [round(float(s), 4) for s in scores]


def macro_f1_interval(
    labels: np.ndarray, predicted: np.ndarray, rounds: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """The 95% percentile bootstrap interval of macro-F1 (texts resampled with replacement)."""
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(seed)
    n = len(labels)
    scores = []
    for _ in range(rounds):
        pick = rng.integers(0, n, n)
        scores.append(f1_score(labels[pick], predicted[pick], average="macro", labels=[0, 1, 2]))
    low, high = np.percentile(scores, [2.5, 97.5])
    return round(float(low), 4), round(float(high), 4)
