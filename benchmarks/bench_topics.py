"""Topic models of a window of history, compared by coherence and stability (models/topics).

    .venv/bin/python benchmarks/bench_topics.py                 # NMF, LDA, k-means x sizes, two corpora
    .venv/bin/python benchmarks/bench_topics.py --methods nmf --sizes 12

Two consecutive analyses: 8 days of posts, window A = days 1-7, window B = days 2-8 (what
`tendencias analyze --window 7d --every 1d` would fit on consecutive days). Per method and
number of topics k:
- NPMI: mean coherence of each topic's top 10 words, counted on window B's posts (the next
  window: co-occurrence the fit did not see), and on A's (its own);
- stability: the topics of A and of B matched one to one (Hungarian on the Jaccard index of their
  top words), the mean index; and the share of B's topics that keep an id from A (Jaccard >= 0.2);
- coverage: share of B's posts that get a topic from A's model;
- fit seconds (CPU, window A).
Corpora: the Spanish and English tweets of ../shared/data/sentiment (real, varied) re-timed over
8 days, and `tendencias sample` posts (generated beverage chatter). Vocabulary as the
TF-Transform analysis builds it: tokens seen at least 3 times in the window, at most 20,000.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_trends_earthquake import background_texts  # noqa: E402
from tendencias.models.text.normalise import post_tokens  # noqa: E402
from tendencias.models.text.redaction import redact  # noqa: E402
from tendencias.models.topics.model import (  # noqa: E402
    MATCH_JACCARD,
    fit_topic_model,
    match_topics,
    npmi,
    stability,
)
from tests.conftest import shared_data_dir  # noqa: E402


def vocabulary_of(docs: list[list[str]], min_frequency: int = 3, top_k: int = 20_000) -> list[str]:
    counts = Counter(t for d in docs for t in d)
    return [t for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_frequency][
        :top_k
    ]


def tweet_windows(data: Path, seed: int) -> tuple[list[list[str]], list[list[str]]]:
    texts = background_texts(data)
    rng = random.Random(seed)
    days = [rng.randrange(8) for _ in texts]
    docs = [post_tokens(redact(t))["tokens"] for t in texts]
    return [d for d, day in zip(docs, days, strict=True) if day < 7], [
        d for d, day in zip(docs, days, strict=True) if day >= 1
    ]


def sample_windows(work: Path) -> tuple[list[list[str]], list[list[str]]]:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tendencias.cli",
            "sample",
            "--output",
            str(work),
            "--days",
            "8",
            "--seed",
            "5",
        ],
        check=True,
        capture_output=True,
    )
    posts = [json.loads(line) for line in (work / "posts.jsonl").open(encoding="utf-8")]
    first = min(p["created_at"] for p in posts)[:10]
    day = {d: i for i, d in enumerate(sorted({p["created_at"][:10] for p in posts}))}
    docs = [(day[p["created_at"][:10]], post_tokens(redact(p["text"]))["tokens"]) for p in posts]
    del first
    return [d for i, d in docs if i < 7], [d for i, d in docs if i >= 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--methods", default="nmf,lda,kmeans")
    parser.add_argument("--sizes", default="8,12,20")
    parser.add_argument("--corpora", default="tweets,sample")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    data = shared_data_dir()
    print(f"load average {os.getloadavg()[0]:.1f}")
    for corpus in args.corpora.split(","):
        if corpus == "tweets":
            if data is None:
                print("tweets: skipped, reference data not found (../shared/data or TENDENCIAS_SHARED_DATA)")
                continue
            a, b = tweet_windows(data, args.seed)
        else:
            a, b = sample_windows(Path(tempfile.mkdtemp(prefix="topics-")))
        vocab_a, vocab_b = vocabulary_of(a), vocabulary_of(b)
        print(f"{corpus}: window A {len(a)} posts ({len(vocab_a)} vocabulary), window B {len(b)} posts")
        print(
            f"  {'method':<7} {'k':>3} {'NPMI next':>9} {'NPMI own':>9} {'stability':>9} {'ids kept':>8} {'coverage':>8} {'fit s':>6}  labels"
        )
        for method in args.methods.split(","):
            for k in [int(s) for s in args.sizes.split(",")]:
                started = time.process_time()
                model_a = fit_topic_model(a, vocab_a, method, k, seed=args.seed)
                seconds = time.process_time() - started
                model_b = fit_topic_model(b, vocab_b, method, k, seed=args.seed)
                kept = sum(j >= MATCH_JACCARD for _, _, j in match_topics(model_b.words, model_a.words))
                coverage = sum(1 for t in model_a.assign(b) if t) / len(b)
                print(
                    f"  {method:<7} {k:>3} {npmi(model_a.words, b):>9.3f} {model_a.numbers['npmi']:>9.3f} "
                    f"{stability(model_a.words, model_b.words):>9.3f} {kept / len(model_b.ids):>8.2f} "
                    f"{coverage:>8.2f} {seconds:>6.1f}  {' | '.join(model_a.labels[:4])}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
