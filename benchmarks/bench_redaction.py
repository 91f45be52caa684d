"""Redaction: precision, recall and F1 per kind of personal data, and texts/second, in one run.

Quality on the project's generated labelled set (tendencias/models/text/pii_samples.py: posts
with planted addresses, phones, e-mails, DNIs, RUCs, cards, handles and URLs, plus hard
negatives); a planted item counts as found only when its whole span is replaced.
Speed side by side, same texts, one core: without the address pattern (before it existed) and
with it (what runs on every post), on the generated set and, where /work/shared/data (or
--data) is present, on real tweets, where the address spans found are counted too (real tweets
hold hardly any addresses, so each is a likely false positive). Prints numbers, asserts nothing.
  .venv/bin/python benchmarks/bench_redaction.py [--n 5000] [--seed 7] [--data DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tendencias.models.text import redaction  # noqa: E402
from tendencias.models.text.pii_samples import evaluate, generate  # noqa: E402
from tendencias.models.text.redaction import PATTERNS, find_pii  # noqa: E402


def texts_per_second(find, texts: list[str], budget_s: float = 2.0) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget_s:
        for text in texts:
            find(text)
        done += len(texts)
    return done / (time.perf_counter() - start)


def real_tweets(data: Path) -> list[str]:
    texts: list[str] = []
    for path in sorted(data.glob("sentiment/*/*_text.txt")):
        texts += path.read_text(encoding="utf-8").splitlines()
    for path in sorted(data.glob("trends/*/*-tweets_labeled.csv")):
        with path.open(encoding="utf-8", errors="replace") as fh:
            texts += [",".join(row) for row in csv.reader(fh)]
    return texts


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="generated posts")
    parser.add_argument("--seed", type=int, default=7, help="generator seed")
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"), help="real tweets (optional)")
    args = parser.parse_args(argv)
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    samples = generate(args.n, args.seed)
    print(
        f"generated set: {len(samples)} posts (seed {args.seed}), {sum(len(s.spans) for s in samples)} planted items"
    )
    print(f"{'kind':8} {'planted':>7} {'found':>6} {'false+':>6} {'precision':>9} {'recall':>7} {'F1':>6}")
    for kind, c in evaluate(samples, find_pii).items():
        print(
            f"{kind:8} {c.planted:7d} {c.found:6d} {c.false_positives:6d} {c.precision:9.4f} {c.recall:7.4f} {c.f1:6.4f}"
        )
        for missed in c.examples["missed"][:3]:
            print(f"{'':8} missed: {missed!r}")
        for false in c.examples["false"][:3]:
            print(f"{'':8} false+: {false!r}")

    without = [p for p in PATTERNS if p[0] != "address"]
    sets = {"generated": [s.text for s in samples]}
    if args.data.is_dir():
        sets["real tweets"] = real_tweets(args.data)
    guards = dict(redaction._GUARDS)

    def before(text: str) -> list:
        # As before addresses: no address pattern and no digit guards (every kind on every text).
        redaction._GUARDS.clear()
        try:
            return find_pii(text, patterns=without)
        finally:
            redaction._GUARDS.update(guards)

    print("\ntexts/s on one core (find_pii)      before  no address  with address  change")
    for name, texts in sets.items():
        old = texts_per_second(before, texts)
        mid = texts_per_second(lambda t: find_pii(t, patterns=without), texts)
        new = texts_per_second(find_pii, texts)
        print(f"{name + f' ({len(texts)})':32} {old:9,.0f} {mid:11,.0f} {new:13,.0f} {new / old - 1:+7.1%}")
    if "real tweets" in sets:
        hits = [t for t in sets["real tweets"] for k, _ in find_pii(t) if k == "address"]
        print(f"address spans in {len(sets['real tweets'])} real tweets: {len(hits)}")
    else:
        print(f"real tweets: {args.data} absent, skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
