"""Consumer segments (models/segments): named by the aspect words, learnt from a window so that
words the lists lack but the segment's posts use tag it too."""

from __future__ import annotations

import random

from tendencias.models.segments.model import (
    SEGMENTS,
    SegmentModel,
    fit_segment_model,
    post_segments,
    segments_of_aspects,
)
from tendencias.models.text.normalise import post_tokens


def test_aspects_name_segments():
    assert segments_of_aspects(["price", "sweetness", "brand"]) == ["health-conscious", "price-sensitive"]
    assert segments_of_aspects(None) == []
    assert post_segments(["energy-seeking"], ["taste"]) == ("energy-seeking", "taste-driven")


def test_a_learnt_segment_tags_posts_by_the_words_its_posts_use(tmp_path):
    rng = random.Random(3)
    healthy = ["sin azúcar", "light", "con stevia", "cero azúcar"]  # the aspect lists know these
    gym_words = ["gym", "entreno", "rutina", "crossfit"]  # ... but not these, which go with them
    other = ["el partido", "la tarea", "mi perro", "el tráfico", "la novela", "el examen"]
    texts = []
    for _ in range(400):
        kind = rng.random()
        if kind < 0.4:
            texts.append(f"después del {rng.choice(gym_words)} una bebida {rng.choice(healthy)}")
        else:
            texts.append(f"hoy {rng.choice(other)} con {rng.choice(other)}")
    docs = [post_tokens(t)["tokens"] for t in texts]
    vocabulary = sorted({t for d in docs for t in d})
    model = fit_segment_model(docs, texts, vocabulary)
    assert "health-conscious" in model.learnt
    assert model.numbers["health-conscious"]["held_out_precision"] >= 0.9
    model.save(tmp_path / "segments")
    loaded = SegmentModel.load(tmp_path / "segments")
    unseen = [post_tokens("rutina de crossfit en el gym")["tokens"], post_tokens("hoy la tarea")["tokens"]]
    assert loaded.assign(unseen, [None, ["price"]]) == [["health-conscious"], ["price-sensitive"]]
    assert set(model.learnt) <= set(SEGMENTS)
