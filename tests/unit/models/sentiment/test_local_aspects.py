"""Local aspects (models/sentiment/aspects.py) on the labelled set written for them."""

from __future__ import annotations

import json
from pathlib import Path

from tendencias.models.sentiment.aspects import ASPECT_ORDER, find_aspects
from tendencias.models.sentiment.schema import ASPECTS

LABELLED = Path(__file__).resolve().parents[3] / "data" / "aspects_labelled.jsonl"


def test_aspects_on_the_labelled_set():
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 80 and all(set(r["aspects"]) <= set(ASPECT_ORDER) for r in rows)
    tp = fp = fn = 0
    for row in rows:
        gold, found = set(row["aspects"]), set(find_aspects(row["text"]))
        tp, fp, fn = tp + len(gold & found), fp + len(found - gold), fn + len(gold - found)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"aspects micro precision {precision:.2f}, recall {recall:.2f}")
    assert precision >= 0.9 and recall >= 0.8
    covered = {a for r in rows for a in r["aspects"]}
    assert covered == set(ASPECT_ORDER)  # every aspect is measured


def test_aspects_read_slang_prices_and_english():
    assert find_aspects("asu, la Inca Kola a s/ 5 está riquísimaaa") == ["taste", "price", "brand"]
    assert find_aspects("no encuentro la volt en ninguna bodega") == ["availability", "brand"]
    assert find_aspects("too sugary and overpriced") == ["sweetness", "price"]
    assert find_aspects("I can drink this all day") == []  # "can" the verb is not packaging
    assert find_aspects("") == []
    assert set(ASPECT_ORDER) == set(ASPECTS) - {"other"}
