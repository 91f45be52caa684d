"""Local aspects: precision and recall per aspect on two labelled sets, old keywords vs new lists.

- tests/data/aspects_blind.jsonl (the fair one): 103 posts written from a list of situations per
  aspect (flavour changed, dented can, sold out in Arequipa, doctor's advice, night shift...) and
  a few with no aspect, BEFORE the word lists of models/sentiment/aspects.py were read, in
  Peruvian and other Latin American Spanish and English; the phrasings are not the lists' own.
- tests/data/aspects_labelled.jsonl: 90 posts written for the lists while writing them, so its
  numbers are optimistic.
Each post has the aspects a reader would tag, none when it is not about a drink. Not taken from
any data set. Prints numbers, asserts nothing. Run:
  .venv/bin/python benchmarks/bench_local_aspects.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SETS = (DATA / "aspects_blind.jsonl", DATA / "aspects_labelled.jsonl")


def scores(rows: list[dict], finder, aspects: tuple[str, ...]) -> dict[str, tuple[float, float, int]]:
    """Per aspect (and "micro" over all): precision, recall, how many posts carry it."""
    out, totals = {}, [0, 0, 0]
    found = [set(finder(r["text"])) for r in rows]
    for aspect in aspects:
        gold = [aspect in r["aspects"] for r in rows]
        said = [aspect in f for f in found]
        tp = sum(g and s for g, s in zip(gold, said, strict=True))
        fp, fn = sum(said) - tp, sum(gold) - tp
        totals = [totals[0] + tp, totals[1] + fp, totals[2] + fn]
        out[aspect] = (tp / max(tp + fp, 1), tp / max(tp + fn, 1), sum(gold))
    tp, fp, fn = totals
    out["micro"] = (tp / max(tp + fp, 1), tp / max(tp + fn, 1), tp + fn)
    return out


def main() -> int:
    from tendencias.models.sentiment.aspects import ASPECT_ORDER, find_aspects
    from tendencias.models.sentiment.schema import _ASPECT_PATTERNS as _PATTERNS

    def keywords(text: str) -> list[str]:  # the keyword guess the local answers carried before
        return [a for a, p in _PATTERNS.items() if p.search(text or "")]

    for labelled in SETS:
        rows = [
            json.loads(line) for line in labelled.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
        old, new = scores(rows, keywords, ASPECT_ORDER), scores(rows, find_aspects, ASPECT_ORDER)
        print(f"{len(rows)} labelled posts ({labelled.name})")
        print(
            f"{'aspect':14s}{'posts':>6s}{'old P':>8s}{'old R':>8s}{'new P':>8s}{'new R':>8s}{'new F1':>8s}"
        )
        for aspect in (*ASPECT_ORDER, "micro"):
            (op, orc, n), (p, r, _) = old[aspect], new[aspect]
            f1 = 2 * p * r / max(p + r, 1e-9)
            print(f"{aspect:14s}{n:6d}{op:8.2f}{orc:8.2f}{p:8.2f}{r:8.2f}{f1:8.2f}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
