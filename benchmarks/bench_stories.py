"""Stories told in many words, planted into a background at a natural rate: minutes from a
story's first post to its first alert, alerts per story, other alerts per day; and the same for
the 2012 Costa Rica earthquake (whole, and thinned to a sparse event).

    .venv/bin/python benchmarks/bench_stories.py                       # replay engine, all detectors
    .venv/bin/python benchmarks/bench_stories.py --engine backfill     # `tendencias backfill`, default flags
    .venv/bin/python benchmarks/bench_stories.py --detector clusters --set story_similarity=0.3

Stories (benchmarks/data/stories.jsonl, written for this benchmark): 16 happenings (a refinery
fire, a water cut, a product recall, a sugar tax, a delivery-app outage ...), each told in 10
wordings in which no content word appears more than 3 times. A planted story uses 5 to 10 of
its wordings (chosen at random, cycled) for 5, 10, 15 or 20 posts over 30 minutes, each by
another person, arriving fast then slower (triangular, mode at 9 minutes). Stories are split:
the first 8 tune (`--stories tune`), the last 8 are held out (`--stories held_out`); numbers are
printed for each half apart.

Backgrounds, at `--per-day` posts a day (default 150) with Lima's day/night rhythm:
- real: the Spanish and English tweets of ../shared/data/sentiment, re-timed, invented authors;
- synthetic: benchmarks/synthetic_stream.py's invented chatter (Zipf words, retweet cascades,
  chatty accounts, surges).
Costa Rica: the labelled tweets of ../shared/data/trends/crisislex_costa_rica at their real
times (onset 14:42 UTC) in the real background, all of them and a random 7% (about 10 posts in
the first 30 minutes).

An alert is about a story when most of its example posts are the story's. Detectors (replay
engine; the backfill engine runs the job's own): terms (no meaning keys: the trend stage before
stories), clusters (models/stories/clusters.py), lsh-embedding (random-hyperplane LSH of the
centred USE vectors, `--lsh-bits` per band, 4 bands), lsh-tfidf (SimHash of TF-IDF vectors)
and topics (topic-only: the analysed topic model of the first day, topic trends).
Embeddings are cached under ~/.cache/tendencias/bench-stories.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_trends_earthquake import (  # noqa: E402
    ONSET_MS,
    background_posts,
    background_texts,
    event_posts,
)
from benchmarks.synthetic_stream import START_MS, SyntheticStream  # noqa: E402
from tendencias.models.trends.windows import DAY_MS, HOUR_MS  # noqa: E402
from tendencias.records import iso_utc, parse_time_ms  # noqa: E402
from tests.conftest import shared_data_dir  # noqa: E402

MIN_MS = 60_000
STORIES_FILE = ROOT / "benchmarks" / "data" / "stories.jsonl"
CACHE = Path.home() / ".cache" / "tendencias" / "bench-stories"
SIZES = (5, 10, 15, 20)


def load_stories(which: str) -> list[dict]:
    stories = [json.loads(line) for line in STORIES_FILE.open(encoding="utf-8")]
    half = len(stories) // 2
    return {"tune": stories[:half], "held_out": stories[half:], "all": stories}[which]


def plant_stories(
    stories: list[dict], first_ms: int, last_ms: int, seed: int
) -> tuple[list[dict], list[dict]]:
    """(planted stories with their post ids and onsets, their posts), at least 4 h apart."""
    rng = random.Random(seed)
    slots = sorted(rng.sample(range(int((last_ms - first_ms) // (4 * HOUR_MS))), len(stories)))
    planted, posts = [], []
    for n, (story, slot) in enumerate(zip(stories, slots, strict=True)):
        start = first_ms + slot * 4 * HOUR_MS + rng.randrange(HOUR_MS)
        size = SIZES[(n + seed) % len(SIZES)]
        wordings = rng.sample(story["wordings"], rng.randint(5, 10))
        times = sorted([start] + [start + 30 * MIN_MS * rng.triangular(0, 1, 0.3) for _ in range(size - 1)])
        ids = []
        for i, at in enumerate(times):
            post_id = f"{story['story']}-{seed}-{i}"
            ids.append(post_id)
            posts.append(
                {
                    "id": post_id,
                    "text": wordings[i % len(wordings)],
                    "created_at": iso_utc(int(at)),
                    "source": "twitter",
                    "author": f"{story['story']}-fan{i}",
                }
            )
        planted.append({"name": story["story"], "start": start, "size": size, "ids": set(ids)})
    return planted, posts


def synthetic_background(start_ms: int, days: float, per_day: float, seed: int) -> list[dict]:
    stream = SyntheticStream(seed=seed, posts_per_day=per_day)
    shift = start_ms - START_MS
    # cascades, chatty accounts and surges scaled to the volume (the generator's defaults are per 5,000 a day)
    scale = per_day / 5000
    out = []
    for post in stream.background(days, 6 * scale, 5 * scale, 10 * scale):
        out.append(
            {
                "id": f"syn-{post['id']}",
                "text": post["text_clean"],
                "created_at": iso_utc(post["event_time_ms"] + shift),
                "source": "twitter",
                "author": post["author"],
            }
        )
    return out


def enrich(posts: list[dict]) -> list[dict]:
    """Posts as the trend stage sees them (redacted text, tokens), with their embedding."""
    from tendencias.models.stories.embedding import EMBEDDING, embed_texts, embedding_text, pack
    from tendencias.models.text.normalise import post_tokens
    from tendencias.models.text.redaction import redact

    out = []
    for post in posts:
        clean = redact(post["text"])
        out.append(
            {
                **post,
                "event_time_ms": parse_time_ms(post["created_at"], "t"),
                "text_clean": clean,
                **post_tokens(clean),
            }
        )
    texts = [embedding_text(p) for p in out]
    unique = sorted(set(texts))
    CACHE.mkdir(parents=True, exist_ok=True)
    from tendencias.models.sentiment.standard import ENCODER

    described = json.dumps(ENCODER, sort_keys=True) + "\0"
    digest = hashlib.sha256((described + "\0".join(unique)).encode("utf-8")).hexdigest()[:24]
    path = CACHE / f"{digest}.npy"
    if path.exists():
        vectors = np.load(path)
    else:
        vectors = embed_texts(unique)
        np.save(path, vectors)
    index = {text: i for i, text in enumerate(unique)}
    for post, text in zip(out, texts, strict=True):
        post[EMBEDDING] = pack(vectors[index[text]])
    return sorted(out, key=lambda p: (p["event_time_ms"], p["id"]))


# --- detectors (replay engine) ----------------------------------------------------------------


def detect_clusters(posts: list[dict], overrides: dict) -> list[dict]:
    from tendencias.models.stories.clusters import ClusterParams, StoryClusters, assign_posts

    params = ClusterParams(
        **{
            name[len("story_") :]: float(value)
            for name, value in overrides.items()
            if name.startswith("story_") and name != "story_meaning"
        }
    )
    return assign_posts(posts, StoryClusters(params))


def _with_keys(posts: list[dict], keys_of) -> list[dict]:
    from tendencias.models.stories.embedding import EMBEDDING

    out = []
    for post in posts:
        done = {k: v for k, v in post.items() if k != EMBEDDING}
        done["clusters"] = keys_of(post)
        out.append(done)
    return out


def detect_lsh_embedding(posts: list[dict], bits: int, bands: int = 4, seed: int = 0) -> list[dict]:
    """Random-hyperplane LSH of the vectors centred on the mean of the first day (as the
    clusters centre on the stream's running mean)."""
    from tendencias.models.stories.embedding import EMBEDDING, unpack

    rng = np.random.default_rng(seed)
    planes = rng.standard_normal((bands, bits, 512))
    first = [unpack(p[EMBEDDING]) for p in posts if p["event_time_ms"] < posts[0]["event_time_ms"] + DAY_MS]
    mean = np.mean(first, axis=0)

    def keys(post: dict) -> list[str]:
        x = unpack(post[EMBEDDING]) - mean
        return [f"e{b}:" + "".join("1" if v > 0 else "0" for v in planes[b] @ x) for b in range(bands)]

    return _with_keys(posts, keys)


def detect_lsh_tfidf(posts: list[dict], bits: int, bands: int = 4) -> list[dict]:
    """SimHash of TF-IDF vectors (IDF from the first day): LSH over the features' vectors."""
    import math

    first = [p for p in posts if p["event_time_ms"] < posts[0]["event_time_ms"] + DAY_MS]
    df = Counter(t for p in first for t in set(p["tokens"]))
    n = len(first)

    def bit(token: str, i: int) -> int:
        return hashlib.blake2b(f"{i}:{token}".encode(), digest_size=1).digest()[0] & 1

    def keys(post: dict) -> list[str]:
        weights = {t: math.log((n + 1) / (df.get(t, 0) + 1)) + 1 for t in set(post["tokens"])}
        if not weights:
            return []
        out = []
        for b in range(bands):
            sig = []
            for i in range(bits):
                total = sum(w if bit(t, b * bits + i) else -w for t, w in weights.items())
                sig.append("1" if total > 0 else "0")
            out.append(f"t{b}:" + "".join(sig))
        return out

    return _with_keys(posts, keys)


def detect_topics(posts: list[dict]) -> list[dict]:
    """Topic-only: the topic model `analyze` fits (NMF, size by NPMI) on the first day, each post
    then counted towards its topic, as topic trends."""
    from tendencias.models.topics.analysis import select_topic_model

    first = [p["tokens"] for p in posts if p["event_time_ms"] < posts[0]["event_time_ms"] + DAY_MS]
    counts = Counter(t for d in first for t in d)
    vocabulary = sorted(t for t, n in counts.items() if n >= 3)
    model = select_topic_model(first, vocabulary)
    out = _with_keys(posts, lambda _: [])
    for post, topics in zip(out, model.assign([p["tokens"] for p in posts]), strict=True):
        post["topics"] = topics
    return out


def run_replay(posts: list[dict], detector: str, overrides: dict, bits: int) -> list[dict]:
    from tendencias.models.trends.config import TrendScoringConfig
    from tendencias.models.trends.replay import replay

    if detector == "clusters":
        posts = detect_clusters(posts, overrides)
    elif detector == "lsh-embedding":
        posts = detect_lsh_embedding(posts, bits)
    elif detector == "lsh-tfidf":
        posts = detect_lsh_tfidf(posts, bits)
    elif detector == "topics":
        posts = detect_topics(posts)
    else:
        posts = _with_keys(posts, lambda _: [])
    scoring = {k: v for k, v in overrides.items() if not k.startswith("story_") or k == "story_meaning"}
    return replay(posts, TrendScoringConfig(**scoring))


def run_backfill(posts: list[dict], work: Path, flags: list[str]) -> list[dict]:
    path = work / "posts.jsonl"
    path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in posts), encoding="utf-8")
    out = work / "out"
    cli = [sys.executable, "-m", "tendencias.cli", "backfill", "--input", str(path), "--output", str(out)]
    subprocess.run([*cli, "--sentiment_backend=local", *flags], check=True, capture_output=True)
    return [json.loads(line) for line in (out / "trends.jsonl").open(encoding="utf-8")]


# --- scoring ----------------------------------------------------------------------------------


def story_of(alert: dict, planted: list[dict]) -> dict | None:
    ids = [e["id"] for e in alert.get("examples") or ()]
    for story in planted:
        if ids and sum(i in story["ids"] for i in ids) * 2 > len(ids):
            return story
    return None


def score(trends: list[dict], planted: list[dict], judged_from: int, end: int) -> dict:
    alerts = [t for t in trends if t["severity"] == "alert"]
    first: dict[str, float] = {}
    per_story: Counter = Counter()
    others = []
    for alert in sorted(alerts, key=lambda a: a["window_end"]):
        at = parse_time_ms(alert["window_end"], "t")
        story = story_of(alert, planted)
        if story is not None and at > story["start"]:  # before its first post: about something else
            per_story[story["name"]] += 1
            first.setdefault(story["name"], (at - story["start"]) / MIN_MS)
        elif at >= judged_from or story is not None:
            others.append(alert)
    days = (end - judged_from) / DAY_MS
    return {"first": first, "per_story": per_story, "others": others, "days": days}


def summarise(label: str, result: dict, planted: list[dict]) -> None:
    print(f"  {label}:")
    for size in sorted({s["size"] for s in planted}):
        picked = [s for s in planted if s["size"] == size]
        delays = sorted(result["first"][s["name"]] for s in picked if s["name"] in result["first"])
        within = sum(d <= 15 for d in delays)
        counts = [result["per_story"][s["name"]] for s in picked if s["name"] in result["first"]]
        print(
            f"    {size:>2} posts/30 min: found {len(delays)}/{len(picked)}, within 15 min {within}, "
            f"minutes to first alert {_fmt(delays)}, alerts per found story {_fmt(counts)}"
        )
    others = result["others"]
    print(
        f"    other alerts: {len(others)} in {result['days']:.1f} days = {len(others) / result['days']:.2f} per day"
    )
    for alert in others[:6]:
        print(
            f"      {alert['window_end']} {alert['horizon']} {alert['kind']}:{alert['key']} count={alert['count']} "
            f"| {(alert['examples'] or [{}])[0].get('text', '')[:70]!r}"
        )


def _fmt(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.0f}" for v in values) + "]" if values else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-day", type=float, default=150.0, help="background posts per day")
    parser.add_argument("--days", type=float, default=6.0, help="days of background (the first is warm-up)")
    parser.add_argument("--seeds", type=str, default="1,2", help="comma-separated seeds: one stream each")
    parser.add_argument("--stories", choices=["tune", "held_out", "all"], default="all")
    parser.add_argument("--background", choices=["real", "synthetic", "both"], default="both")
    parser.add_argument("--costa-rica", choices=["yes", "no"], default="yes")
    parser.add_argument("--engine", choices=["replay", "backfill"], default="replay")
    parser.add_argument(
        "--detector",
        default="terms,clusters,lsh-embedding,lsh-tfidf,topics",
        help="replay engine: comma-separated detectors to compare",
    )
    parser.add_argument("--lsh-bits", type=int, default=8, help="bits per LSH band")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="config override")
    args, flags = parser.parse_known_args(argv)
    from benchmarks.bench_trends_synthetic import parse_overrides

    overrides = parse_overrides(args.set)
    data = shared_data_dir()
    if data is None:
        print("skipped: reference data not found (../shared/data or TENDENCIAS_SHARED_DATA)")
        return 0
    import os

    load = os.getloadavg()[0]
    texts = background_texts(data)
    detectors = ["job"] if args.engine == "backfill" else args.detector.split(",")
    backgrounds = ["real", "synthetic"] if args.background == "both" else [args.background]
    runs = []  # (label, posts, planted, judged_from, end)
    for seed in [int(s) for s in args.seeds.split(",")]:
        start = START_MS + seed * 7 * DAY_MS
        end = start + int(args.days * DAY_MS)
        planted, story_posts = plant_stories(
            load_stories(args.stories), start + DAY_MS, end - 3 * HOUR_MS, seed
        )
        for kind in backgrounds:
            if kind == "real":
                background = background_posts(texts, start, end, args.per_day, seed)
            else:
                background = synthetic_background(start, args.days, args.per_day, seed)
            runs.append(
                (f"{kind} background, seed {seed}", background + story_posts, planted, start + DAY_MS, end)
            )
    if args.costa_rica == "yes":
        work = Path(tempfile.mkdtemp(prefix="stories-"))
        event = event_posts(data, work)
        start, end = ONSET_MS - 4 * DAY_MS, ONSET_MS + DAY_MS
        event = [p for p in event if start <= parse_time_ms(p["created_at"], "t") < end]
        background = background_posts(texts, start, end, args.per_day, 11)
        for share in (1.0, 0.07):
            picked = [p for p in event if random.Random(f"{p['id']}").random() < share]
            onset = {
                "name": f"costa_rica_{share:g}",
                "start": ONSET_MS,
                "size": 0,
                "ids": {p["id"] for p in picked},
            }
            runs.append(
                (
                    f"Costa Rica earthquake, {share:.0%} of its tweets",
                    background + picked,
                    [onset],
                    start + DAY_MS,
                    end,
                )
            )
    print(
        f"load average {load:.1f}; {args.per_day:g} background posts a day; stories: {args.stories}; "
        f"engine {args.engine}; flags {' '.join(flags) or '(defaults)'}; overrides {overrides or '-'}"
    )
    totals: dict[str, dict] = defaultdict(
        lambda: {"delays": [], "n10": 0, "within15": 0, "alerts": [], "others": 0, "days": 0.0}
    )
    for label, posts, planted, judged_from, end in runs:
        print(f"{label}: {len(posts)} posts, {len(planted)} planted")
        enriched = enrich(posts) if args.engine == "replay" else posts
        for detector in detectors:
            started, wall = time.process_time(), time.perf_counter()
            if args.engine == "replay":
                trends = run_replay(enriched, detector, overrides, args.lsh_bits)
            else:
                trends = run_backfill(
                    sorted(posts, key=lambda p: p["created_at"]),
                    Path(tempfile.mkdtemp(prefix="stories-")),
                    flags,
                )
            result = score(trends, planted, judged_from, end)
            spent = (
                f"{time.process_time() - started:.0f} s CPU"
                if args.engine == "replay"
                else f"{time.perf_counter() - wall:.0f} s wall"
            )
            summarise(f"{detector} ({spent})", result, planted)
            if label.startswith("Costa"):
                continue
            total = totals[detector]
            for story in planted:
                if story["size"] >= 10:
                    total["n10"] += 1
                    delay = result["first"].get(story["name"])
                    total["within15"] += delay is not None and delay <= 15
                if story["name"] in result["first"]:
                    total["alerts"].append(result["per_story"][story["name"]])
            total["others"] += len(result["others"])
            total["days"] += result["days"]
    print("planted stories, all backgrounds and seeds:")
    for detector, total in totals.items():
        alerts = total["alerts"]
        print(
            f"  {detector}: stories of 10+ posts alerted within 15 min {total['within15']}/{total['n10']}; "
            f"alerts per found story mean {np.mean(alerts) if alerts else float('nan'):.2f} (max {max(alerts, default=0)}); "
            f"other alerts {total['others'] / max(total['days'], 1e-9):.2f} per day"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
