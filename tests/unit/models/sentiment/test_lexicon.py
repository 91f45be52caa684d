"""Lexicon features of the standard tier (models/sentiment/lexicon.py).

Examples written for these tests (not taken from any data set)."""

from __future__ import annotations

import numpy as np
import pytest

from tendencias.models.sentiment.lexicon import FEATURES, lexicon_features, spanish_polarity, word_polarity
from tendencias.models.text.normalise import detect_lang
from tendencias.models.text.social import social_normalise


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("está riquísima y refrescante", (2, 0)),
        ("sabe horrible, una estafa", (0, 2)),
        ("no está rica", (0, 1)),  # negation flips
        ("nunca me decepciona", (1, 0)),
        ("nada mal la nueva", (1, 0)),
        ("sin problemas, vale la pena", (2, 0)),  # "sin" takes one word; a comma ends the scope
        ("sin azúcar y rica", (1, 0)),  # "azúcar" has no polarity, "rica" is out of scope
        ("no es rica pero es barata", (1, 1)),  # "pero" ends the scope
        ("qué pena, se acabó", (0, 1)),  # a phrase
        ("compré dos botellas en la bodega", (0, 0)),
        ("la botella vino rajada", (0, 1)),
        ("buenas tardes a todos", (1, 0)),  # "tardes" is not "tarde" (late) as a complaint
    ],
)
def test_spanish_polarity_counts_with_negation(text, expected):
    assert spanish_polarity(text) == expected


def test_stems_match_words_that_start_with_them_and_accents_do_not_matter():
    assert word_polarity("deliciosisima") == 1 and word_polarity("decepcionante") == -1
    assert word_polarity("asqueroso") == -1
    assert spanish_polarity("me encantó") == spanish_polarity("me encanto") == (1, 0)
    assert word_polarity("botella") == 0


def test_features_per_text_vader_only_for_english():
    texts = ["la chicha está bacán 😍", "this drink is awful, never again!", "¿alguien la probó?"]
    normalised = [social_normalise(t) for t in texts]
    rows = lexicon_features(normalised, [detect_lang(t) for t in normalised])
    assert rows.shape == (3, len(FEATURES))
    col = {name: i for i, name in enumerate(FEATURES)}
    assert rows[0, col["pos_es"]] > 0 and rows[0, col["neg_es"]] == 0
    assert rows[0, col["vader_compound"]] == 0 and rows[0, col["english"]] == 0
    assert rows[1, col["vader_compound"]] < -0.3 and rows[1, col["vader_neg"]] > 0
    assert rows[1, col["english"]] == 1 and rows[1, col["exclamation"]] == 1
    assert rows[2, col["question"]] == 1
    assert np.array_equal(rows, lexicon_features(normalised, [detect_lang(t) for t in normalised]))
