"""How the standard tier is trained (models/sentiment/standard_training.py): folds, weights, nested CV."""

from __future__ import annotations

import numpy as np
import pytest

from tendencias.models.sentiment import standard_training as st
from tendencias.models.sentiment.evaluation import macro_f1


@pytest.fixture(autouse=True)
def one_blas_thread():
    # as train-sentiment runs: many BLAS threads on tiny fits spin against each other on a busy machine
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def _two_languages(seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.concatenate([np.repeat([0, 1, 2], 30), np.repeat([0, 1, 2], [10, 40, 40])])
    language = np.array(["es"] * 90 + ["en"] * 90)
    # separable enough to learn: the class shifts one coordinate, the language another
    rows = rng.normal(size=(180, 6))
    rows[:, 0] += labels * 1.5
    rows[:, 1] += (language == "en") * 2.0
    return rows, labels, language


def test_weights_balance_classes_within_each_language_and_languages_equally():
    _, labels, language = _two_languages()
    weights = st.sample_weights(labels, language)
    for lang in ("es", "en"):
        per_class = [weights[(language == lang) & (labels == c)].sum() for c in range(3)]
        assert np.allclose(per_class, per_class[0])
    assert np.isclose(weights[language == "es"].sum(), weights[language == "en"].sum())
    assert np.isclose(weights.sum(), len(labels))
    en_negative = weights[(language == "en") & (labels == 0)][0]
    assert en_negative > weights[(language == "en") & (labels == 1)][0]  # the rare class weighs more


def test_joint_folds_hold_out_both_languages_stratified():
    _, labels, language = _two_languages()
    fold_of = st.joint_folds(labels, language, 5, seed=13)
    for k in range(5):
        held = fold_of == k
        for lang, size in (("es", 18), ("en", 18)):
            assert (held & (language == lang)).sum() == size
        assert (held & (language == "es") & (labels == 0)).sum() == 6
    assert np.array_equal(fold_of, st.joint_folds(labels, language, 5, seed=13))


def test_nested_cross_validation_chooses_c_inside_each_outer_fold():
    rows, labels, language = _two_languages()
    fold_of = st.joint_folds(labels, language, 3, seed=1)
    oof, chosen = st.nested_out_of_fold(rows, labels, language, fold_of, macro_f1, seed=1)
    assert oof.shape == (180, 3) and len(chosen) == 3 and set(chosen) <= set(st.C_GRID)
    scores = st.macro_f1_by_language(labels, oof, language, macro_f1)
    assert set(scores) == {"es", "en"} and min(scores.values()) > 0.6  # far above chance (0.33)


def test_train_returns_a_calibrated_head_and_out_of_fold_probabilities():
    rows, labels, language = _two_languages()
    fit = st.train(rows, labels, language, 3, 1, macro_f1, progress=lambda _: None)
    assert fit["c"] in st.C_GRID and fit["temperature"] > 0
    for key in ("oof", "calibration_oof", "uncalibrated_oof"):
        assert fit[key].shape == (180, 3) and np.allclose(fit[key].sum(axis=1), 1)
    assert st.head_logits(fit["head"], rows).shape == (180, 3)
