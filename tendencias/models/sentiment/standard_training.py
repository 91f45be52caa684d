"""Training the standard local tier (models/sentiment/standard.py), run by `tendencias train-sentiment`.

The head learns from the Spanish training tweets and the English tweets together (USE maps both
languages to one space; English has no other labelled split). Every number is out-of-fold:

- folds: each language's tweets in 5 folds stratified by label, fold k of both languages held
  out together, so a Spanish tweet is predicted by a head that saw 80% of the Spanish and 80% of
  the English tweets, and the same for an English one; Spanish validation stays untouched;
- sample weights balance the classes within each language (the English tweets are 16% negative),
  and each language weighs as much as the other, so macro-F1 in either is what is fitted;
- C: nested cross-validation gives the reported numbers (each outer fold picks C on its own
  training part by inner folds), plain cross-validation picks the C of the shipped head;
- a temperature on the out-of-fold logits of that C makes `confidence` calibrated (the reported
  cross-validated ECE is of those logits).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tendencias.models.sentiment.artifact import LABELS, embedding_cache_file, softmax, write_head_artifact
from tendencias.models.sentiment.calibration import fit_temperature
from tendencias.models.sentiment.lexicon import lexicon_features
from tendencias.models.sentiment.standard import (
    EMBEDDING_SIZE,
    ENCODER,
    FORMAT,
    LEXICON,
    META_FILE,
    NORMALISER,
    WEIGHTS_FILE,
    load_encoder,
)
from tendencias.models.text.normalise import detect_lang
from tendencias.models.text.social import social_normalise

C_GRID = (0.25, 0.5, 1.0, 2.0)


def features(
    texts: list[str], progress: Callable[[str], None] = print, cache_dir: Path | None = None
) -> np.ndarray:
    """What StandardSentimentModel.features computes, with the USE embeddings cached by the hash of
    the encoder and the normalised texts when `cache_dir` is given."""
    normalised = [social_normalise(t) for t in texts]
    cache = embedding_cache_file(cache_dir, "use", ENCODER, normalised) if cache_dir else None
    if cache is not None and cache.is_file():
        embeddings = np.load(cache, allow_pickle=False)
    else:
        try:
            encoder = load_encoder()
        except RuntimeError as err:
            raise SystemExit(f"train-sentiment: {err}") from err
        start = time.time()
        parts = [encoder.encode(normalised[i : i + 256]) for i in range(0, len(texts), 256)]
        embeddings = np.concatenate(parts) if parts else np.zeros((0, EMBEDDING_SIZE), np.float32)
        progress(
            f"USE embeddings of {len(texts)} texts ({len(texts) / max(time.time() - start, 1e-9):.0f}/s)"
        )
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, embeddings, allow_pickle=False)
    lexicon = lexicon_features(normalised, [detect_lang(t) for t in normalised])
    return np.hstack([embeddings.astype(np.float64), lexicon])


def sample_weights(labels: np.ndarray, language: np.ndarray) -> np.ndarray:
    """Per row: classes balanced within its language, each language the same total weight."""
    weights = np.zeros(len(labels))
    languages = np.unique(language)
    for lang in languages:
        rows = language == lang
        for c in range(len(LABELS)):
            picked = rows & (labels == c)
            if picked.any():
                weights[picked] = len(labels) / (len(languages) * len(LABELS) * picked.sum())
    return weights


def joint_folds(labels: np.ndarray, language: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """The fold of each row: stratified by label within each language, fold k of every language
    held out together."""
    from sklearn.model_selection import StratifiedKFold

    fold_of = np.zeros(len(labels), dtype=np.int64)
    for lang in np.unique(language):
        rows = np.flatnonzero(language == lang)
        splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
        for k, (_, test) in enumerate(splitter.split(rows, labels[rows])):
            fold_of[rows[test]] = k
    return fold_of


def fit_head(rows: np.ndarray, labels: np.ndarray, weights: np.ndarray, c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=5000).fit(rows, labels, sample_weight=weights)


def head_logits(head, rows: np.ndarray) -> np.ndarray:
    """The head's logits as the exported artifact computes them (float64)."""
    return rows @ head.coef_.T + head.intercept_


def macro_f1_by_language(
    labels: np.ndarray, logits: np.ndarray, language: np.ndarray, macro_f1: Callable
) -> dict[str, float]:
    return {
        str(lang): macro_f1(labels[language == lang], logits[language == lang].argmax(axis=1))
        for lang in np.unique(language)
    }


def out_of_fold(
    rows: np.ndarray, labels: np.ndarray, language: np.ndarray, fold_of: np.ndarray, c: float
) -> np.ndarray:
    """Out-of-fold logits of a head with this C."""
    weights = sample_weights(labels, language)
    oof = np.zeros((len(labels), len(LABELS)))
    for k in np.unique(fold_of):
        train, test = fold_of != k, fold_of == k
        oof[test] = head_logits(fit_head(rows[train], labels[train], weights[train], c), rows[test])
    return oof


def choose_c(
    rows: np.ndarray, labels: np.ndarray, language: np.ndarray, fold_of: np.ndarray, macro_f1: Callable
) -> tuple[float, dict[float, np.ndarray], dict[float, dict[str, float]]]:
    """The C whose out-of-fold macro-F1, averaged over the languages, is best (ties: the smaller)."""
    oof = {c: out_of_fold(rows, labels, language, fold_of, c) for c in C_GRID}
    scores = {c: macro_f1_by_language(labels, oof[c], language, macro_f1) for c in C_GRID}
    best = max(C_GRID, key=lambda c: (np.mean(list(scores[c].values())), -c))
    return best, oof, scores


def nested_out_of_fold(
    rows: np.ndarray,
    labels: np.ndarray,
    language: np.ndarray,
    fold_of: np.ndarray,
    macro_f1: Callable,
    seed: int,
) -> tuple[np.ndarray, list[float]]:
    """Out-of-fold logits where each outer fold's C is chosen by inner folds of its training part
    only: the reported cross-validation numbers, free of the choice of C."""
    oof = np.zeros((len(labels), len(LABELS)))
    weights, chosen = sample_weights(labels, language), []
    inner_folds = len(np.unique(fold_of)) - 1
    for k in np.unique(fold_of):
        train, test = fold_of != k, fold_of == k
        inner = joint_folds(labels[train], language[train], inner_folds, seed + 1 + int(k))
        c, _, _ = choose_c(rows[train], labels[train], language[train], inner, macro_f1)
        chosen.append(c)
        oof[test] = head_logits(fit_head(rows[train], labels[train], weights[train], c), rows[test])
    return oof, chosen


def train(
    rows: np.ndarray,
    labels: np.ndarray,
    language: np.ndarray,
    folds: int,
    seed: int,
    macro_f1: Callable,
    progress: Callable[[str], None] = print,
) -> dict:
    """The shipped head, its temperature, and the out-of-fold probabilities to report."""
    fold_of = joint_folds(labels, language, folds, seed)
    c, oof_by_c, scores = choose_c(rows, labels, language, fold_of, macro_f1)
    progress(f"standard tier: C={c} by {folds}-fold CV, macro-F1 by C {scores}")
    nested, chosen = nested_out_of_fold(rows, labels, language, fold_of, macro_f1, seed)
    progress(f"standard tier: nested CV chose C {chosen} in its outer folds")
    temperature = fit_temperature(oof_by_c[c], labels)
    head = fit_head(rows, labels, sample_weights(labels, language), c)
    return {
        "head": head,
        "c": c,
        "cv_macro_f1_by_c": {str(k): v for k, v in scores.items()},
        "nested_c": chosen,
        "temperature": temperature,
        "oof": softmax(nested, temperature),  # for macro-F1: free of the choice of C
        # for calibration: the out-of-fold logits of the shipped C, before and after its temperature
        "calibration_oof": softmax(oof_by_c[c], temperature),
        "uncalibrated_oof": softmax(oof_by_c[c]),
    }


def export_standard(head, temperature: float, output: Path, report: dict) -> None:
    """Write standard.json (labels, encoder, normaliser, lexicon, report) and standard.npz."""
    meta = {
        "format": FORMAT,
        "labels": list(LABELS),
        "encoder": ENCODER,
        "normaliser": NORMALISER,
        "lexicon": LEXICON,
        "report": report,
    }
    write_head_artifact(output, META_FILE, WEIGHTS_FILE, meta, head, temperature=temperature)
