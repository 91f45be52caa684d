"""The topic model of a window (models/topics): topics that are there are found, coherence says
which fit is better, a re-analysis keeps topic ids, and the artifact is plain data."""

from __future__ import annotations

import random

import pytest

from tendencias.models.topics.analysis import select_topic_model
from tendencias.models.topics.model import TopicModel, fit_topic_model, match_topics, npmi, stability

THEMES = {
    "beach": ["playa", "verano", "sol", "arena", "helada", "calor", "mar"],
    "sugar": ["azucar", "light", "zero", "stevia", "dieta", "calorias", "sano"],
    "price": ["precio", "caro", "oferta", "soles", "promo", "barato", "sube"],
}
NOISE = [f"w{i}" for i in range(300)]


def docs_of(seed: int, n: int = 600) -> list[list[str]]:
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        words = rng.sample(THEMES[rng.choice(list(THEMES))], 4) + rng.sample(NOISE, 3)
        rng.shuffle(words)
        docs.append(words)
    return docs


def vocabulary(docs: list[list[str]]) -> list[str]:
    return sorted({t for d in docs for t in d})


@pytest.mark.parametrize("method", ["nmf", "lda", "kmeans"])
def test_each_method_finds_the_themes(method):
    docs = docs_of(1)
    model = fit_topic_model(docs, vocabulary(docs), method, 3)
    found = [set(words[:5]) for words in model.words]
    for theme in THEMES.values():
        assert any(len(f & set(theme)) >= 4 for f in found), (method, model.words)
    chance = npmi([random.Random(k).sample(vocabulary(docs), 10) for k in range(3)], docs)
    assert model.numbers["npmi"] > chance + 0.1  # top 10 words, of themes of 7


def test_coherence_prefers_the_true_topics_to_shuffled_ones():
    docs = docs_of(2)
    true = [words[:6] for words in THEMES.values()]
    mixed = [[true[j][i] for j in range(3) for i in range(2 * k, 2 * k + 2)] for k in range(3)]
    assert npmi(true, docs) > 0.3 > npmi(mixed, docs)


def test_the_size_is_chosen_by_coherence():
    docs = docs_of(3, n=700)
    model = select_topic_model(docs, vocabulary(docs), "nmf")
    npmis = {c["k"]: c["npmi"] for c in model.numbers["candidates"]}
    assert model.numbers["k"] == max(npmis, key=npmis.get) and len(npmis) == 3


def test_a_reanalysis_keeps_the_ids_of_matching_topics(tmp_path):
    first_docs, second_docs = docs_of(4), docs_of(5)
    first = fit_topic_model(first_docs, vocabulary(first_docs), "nmf", 3)
    first.ids = ["t7", "t3", "t9"]  # ids a long history gave them
    second = fit_topic_model(second_docs, vocabulary(second_docs), "nmf", 4).with_identity(first)
    for new, old, overlap in match_topics(second.words, first.words):
        if overlap >= 0.2:
            assert second.ids[new] == first.ids[old]
    assert len(set(second.ids) & {"t7", "t3", "t9"}) == 3
    assert [i for i in second.ids if i not in {"t7", "t3", "t9"}] == ["t10"]
    assert second.numbers["stability_previous"] == pytest.approx(
        stability(second.words, first.words), abs=1e-4
    )
    second.save(tmp_path / "topics")
    loaded = TopicModel.load(tmp_path / "topics")
    assert (loaded.ids, loaded.labels, loaded.words) == (second.ids, second.labels, second.words)
    beach = ["playa", "sol", "arena", "calor"]
    assert loaded.assign([beach, ["nada", "que", "ver"]]) == second.assign([beach, ["nada", "que", "ver"]])
    assert loaded.assign([["nada", "que", "ver"]]) == [[]]
    assert loaded.label(loaded.assign([beach])[0][0]).split(" · ")[0] in THEMES["beach"]
    assert TopicModel.load(tmp_path / "none") is None
