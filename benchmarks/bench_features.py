"""TF-Transform features: analysis time, features per second in the stream, hot-swap latency.

Generates synthetic posts with `tendencias.tools.sample_data` (each post also gets a few words
drawn from a Zipf-distributed invented lexicon, so the vocabulary is as wide as real chatter),
then, side by side in one run:
  1. `tendencias analyze` (both Beam jobs, DirectRunner) over --posts posts: wall time per phase;
  2. the stream per core: ApplyFeatures on DirectRunner with one worker, with the transform_fn
     and tokens-only (no transform_dir), and the raw per-batch apply cost at several batch sizes;
  3. the time from a new version's LATEST being written (at a random moment between two polls)
     to the first record carrying it, for a DoFn fed like a stream (bundles of 20 posts), at
     --refresh seconds: about refresh/2 plus the version's load time on average.
Prints numbers only; it never asserts timing.

    .venv/bin/python benchmarks/bench_features.py --posts 100000 --stream-posts 20000
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import apache_beam as beam  # noqa: E402
from apache_beam.options.pipeline_options import PipelineOptions  # noqa: E402
from apache_beam.transforms.window import GlobalWindow  # noqa: E402
from apache_beam.utils.timestamp import Timestamp  # noqa: E402
from apache_beam.utils.windowed_value import PANE_INFO_UNKNOWN  # noqa: E402

from tendencias.models.features import store as transform_store  # noqa: E402
from tendencias.models.features.preprocessing import post_instance  # noqa: E402
from tendencias.models.text.normalise import post_tokens  # noqa: E402
from tendencias.pipelines.analyze import AnalysisConfig, run_analysis  # noqa: E402
from tendencias.records import parse_post  # noqa: E402
from tendencias.tools.sample_data import generate  # noqa: E402
from tendencias.transforms.features import apply as features  # noqa: E402
from tendencias.transforms.features.apply import ApplyFeatures, ApplyFeaturesFn  # noqa: E402

SYLLABLES = "ka ri to ma ne su pa lo chi que ña ru bi te yo za mi ga".split()


def synthetic_posts(count: int, extra_words: int, seed: int = 3) -> list[dict]:
    """`count` posts from the sample generator, each with a few Zipf-sampled invented words."""
    rng = random.Random(seed)
    days = 7
    per_hour = count / (24 * days * 0.5)  # the generator's day/night cycle averages about half the peak
    posts, _, _ = generate(days=days, posts_per_hour=per_hour, seed=seed)
    while len(posts) < count:
        posts += posts[: count - len(posts)]
    lexicon = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(30_000)]
    cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(lexicon))))
    out = []
    for n, post in enumerate(posts[:count]):
        words = rng.choices(lexicon, cum_weights=cumulative, k=extra_words)
        out.append(dict(post, id=f"b{n:07d}", text=post["text"] + " " + " ".join(words)))
    return out


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def bench_analysis(posts: list[dict], work: Path) -> tuple[str, dict]:
    write_jsonl(work / "history" / "posts.jsonl", posts)
    config = AnalysisConfig(
        history=str(work / "history"), output=str(work / "versions"), window_seconds=30 * 86400
    )
    started = time.perf_counter()
    version = run_analysis(config)
    seconds = time.perf_counter() - started
    meta = transform_store.read_metadata(str(work / "versions" / version))
    return version, {
        "posts": meta["counts"]["posts"],
        "seconds": round(seconds, 1),
        "posts_per_second": round(meta["counts"]["posts"] / seconds),
        "token_vocabulary": meta["vocabulary_sizes"]["posts.tokens"],
    }


def cleaned(posts: list[dict]) -> list[dict]:
    records = [parse_post(json.dumps(p, ensure_ascii=False).encode()) for p in posts]
    return [dict(r, text_clean=r["text"]) for r in records]


def bench_stream(records: list[dict], transform_dir: str | None, features: bool = True) -> float:
    """Seconds for Create -> ApplyFeatures -> Count on one DirectRunner worker (start-up included);
    with features=False the stage is an identity Map, the runner's own cost."""
    options = PipelineOptions(["--direct_num_workers=1", "--direct_running_mode=in_memory"])
    started = time.perf_counter()
    with beam.Pipeline(options=options) as p:
        created = p | beam.Create(records, reshuffle=False)
        if features:
            created = (created | ApplyFeatures(transform_dir, refresh_seconds=30)).posts
        else:
            created = created | beam.Map(dict)
        _ = created | beam.combiners.Count.Globally()
    return time.perf_counter() - started


def bench_batches(records: list[dict], loaded: transform_store.LoadedVersion) -> dict[int, float]:
    instances = [post_instance(dict(r, **post_tokens(r["text_clean"]))) for r in records]
    rates = {}
    for size in (1, 16, 64, 256, 1024):
        batches = [instances[i : i + size] for i in range(0, min(len(instances), max(size * 20, 2000)), size)]
        loaded.apply_posts(batches[0])  # warm up the traced function for this shape
        started = time.perf_counter()
        for batch in batches:
            loaded.apply_posts(batch)
        rates[size] = round(sum(map(len, batches)) / (time.perf_counter() - started))
    return rates


def bench_swap(records: list[dict], directory: str, old: str, new: str, refresh: float) -> float:
    """Seconds from LATEST naming `new` to the first output record carrying it."""
    transform_store.write_latest(directory, old)
    features._LOADED.clear()  # a fresh worker: the new version is not loaded yet
    fn = ApplyFeaturesFn(directory, refresh, batch_size=256, kind="posts")
    where = {"timestamp": Timestamp(0), "window": GlobalWindow(), "pane": PANE_INFO_UNKNOWN}
    seen_new = threading.Event()
    written_at: list[float] = []

    def feed():
        n = 0
        while not seen_new.is_set():
            bundle = records[n % len(records) : n % len(records) + 20]
            n += 20
            outputs = [o for r in bundle for o in fn.process(r, **where)] + list(fn.finish_bundle())
            for out in outputs:
                if written_at and out.value["features_version"] == new:
                    seen_new.set()
                    return time.perf_counter()
            time.sleep(0.02)  # about 1,000 posts per second
        return None

    result: list[float] = []
    thread = threading.Thread(target=lambda: result.append(feed()))
    thread.start()
    time.sleep(
        1.0 + random.uniform(refresh, 2 * refresh)
    )  # old version loaded; a random phase against the polls
    written_at.append(time.perf_counter())
    transform_store.write_latest(directory, new)
    thread.join(timeout=refresh + 120)
    seen_new.set()
    return round(result[0] - written_at[0], 2) if result and result[0] else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000, help="posts to analyse")
    parser.add_argument("--stream-posts", type=int, default=20_000, help="posts through ApplyFeatures")
    parser.add_argument("--extra-words", type=int, default=5, help="Zipf-sampled invented words per post")
    parser.add_argument("--refresh", type=float, nargs="+", default=[1.0, 5.0], help="refresh_seconds to try")
    args = parser.parse_args()
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    work = Path(tempfile.mkdtemp(prefix="bench-features-"))
    try:
        posts = synthetic_posts(args.posts, args.extra_words)
        version, analysis = bench_analysis(posts, work)
        print(json.dumps({"analysis": analysis}))
        directory = str(work / "versions")
        half = synthetic_posts(max(args.posts // 10, 1000), args.extra_words, seed=5)
        second, _ = bench_analysis(half, work / "second")
        shutil.copytree(work / "second" / "versions" / second, work / "versions" / second)
        records = cleaned(synthetic_posts(args.stream_posts, args.extra_words, seed=9))
        runner = bench_stream(records, None, features=False)
        tokens = bench_stream(records, None)
        full = bench_stream(records, directory)
        n = len(records)
        print(
            json.dumps(
                {
                    "stream_one_worker": {
                        "posts": n,
                        "runner_only_seconds": round(runner, 1),
                        "tokens_only_seconds": round(tokens, 1),
                        "with_transform_fn_seconds": round(full, 1),
                        "pipeline_posts_per_second": round(n / full),
                        "stage_posts_per_second_excluding_runner": round(n / max(full - runner, 1e-9)),
                        "tf_part_posts_per_second": round(n / max(full - tokens, 1e-9)),
                    }
                }
            )
        )
        started = time.perf_counter()
        loaded = transform_store.LoadedVersion(directory, version)
        load_seconds = time.perf_counter() - started
        print(
            json.dumps(
                {
                    "apply_posts_per_second_by_batch_size": bench_batches(records, loaded),
                    "version_load_seconds": round(load_seconds, 2),
                }
            )
        )
        for refresh in args.refresh:
            trials = [bench_swap(records[:2000], directory, version, second, refresh) for _ in range(3)]
            print(
                json.dumps(
                    {
                        "swap_latency_seconds": {
                            "refresh_seconds": refresh,
                            "trials": trials,
                            "median": statistics.median(trials),
                        }
                    }
                )
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
