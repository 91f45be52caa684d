"""The API path of the sentiment stage against our OpenAI-protocol test server: what it costs.

    .venv/bin/python benchmarks/bench_sentiment_api.py [--rpm 200] [--posts 1000] [--drain-posts 10000]

Runs the real EnrichSentiment stage (DirectRunner, backend openai, local first pass off so
every post is an API candidate, a fresh SQLite cache) and prints:
1. for 1,000 posts with 20% duplicates (exact copies and reposts): requests per 1,000 posts,
   posts per request, cache hit rate, tokens and estimated spend;
2. the time to drain 10,000 posts at a fixed requests-per-minute limit, beside the theoretical
   bound (requests beyond the one-second burst, divided by the rate).
Numbers are printed, never asserted: the machine is shared and timing is noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import apache_beam as beam  # noqa: E402

from tendencias.models.sentiment.ledger import summary_from_result  # noqa: E402
from tendencias.tools.sample_data import BRANDS  # noqa: E402
from tendencias.transforms.sentiment import EnrichSentiment  # noqa: E402
from tests.openai_server import OpenAITestServer  # noqa: E402

OPINIONS = [
    "me encanta {p}",
    "{p} está riquísima",
    "{p} está muy cara",
    "{p} sabe horrible",
    "compré {p} en la bodega",
    "{p} bien heladita",
    "I love {p}",
    "{p} is too sweet",
    "no encuentro {p} en ningún lado",
    "{p} en oferta 2x1",
]
ENDINGS = [
    "",
    " hoy",
    " otra vez",
    " 🔥",
    " jaja",
    " en el almuerzo",
    " después del partido",
    " con la familia",
]


def make_posts(count: int, duplicate_share: float, seed: int = 7) -> list[dict]:
    """`count` posts of which `duplicate_share` repeat an earlier one (exactly or as a repost)."""
    rng = random.Random(seed)
    products = [p for names in BRANDS.values() for p in names]
    unique_count = round(count * (1 - duplicate_share))
    unique = [
        f"{rng.choice(OPINIONS).format(p=rng.choice(products))}{rng.choice(ENDINGS)} #{n}"
        for n in range(unique_count)
    ]
    texts = list(unique)
    for n in range(count - unique_count):
        original = rng.choice(unique)
        texts.append(original if n % 2 else f"RT @usuario: {original}")
    rng.shuffle(texts)
    return [
        {"id": f"b{n}", "text": t, "text_clean": t, "lang": "es", "event_time_ms": 1_717_000_000_000 + n}
        for n, t in enumerate(texts)
    ]


def run(posts: list[dict], cache: str, **stage) -> tuple[dict, float]:
    pipeline = beam.Pipeline(runner="DirectRunner")
    out = (
        pipeline
        | beam.Create(posts)
        | EnrichSentiment(backend="openai", cache_url=cache, local_confidence_threshold=None, **stage)
    )
    out.posts | beam.combiners.Count.Globally() | beam.Map(lambda n: print(f"  posts out: {n}"))
    start = time.perf_counter()
    result = pipeline.run()
    result.wait_until_finish()
    return summary_from_result(result), time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1000, help="posts in the cost run (default %(default)s)")
    parser.add_argument(
        "--duplicates", type=float, default=0.2, help="share of duplicates (default %(default)s)"
    )
    parser.add_argument(
        "--drain-posts", type=int, default=10_000, help="posts in the drain run (default %(default)s)"
    )
    parser.add_argument(
        "--rpm",
        type=float,
        default=200,
        help="requests per minute in the drain run; 200 drains 10,000 posts in about a minute "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--token-budget", type=int, default=3000, help="prompt tokens per request (default %(default)s)"
    )
    parser.add_argument(
        "--max-posts", type=int, default=40, help="posts per request at most (default %(default)s)"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=20, help="server latency per request (default %(default)s)"
    )
    args = parser.parse_args(argv)

    os.environ["OPENAI_API_KEY"] = "bench-key-for-the-local-test-server"
    # Tokens per minute unbounded: the drain measures the requests-per-minute limit alone.
    stage = dict(
        token_budget=args.token_budget, max_posts_per_request=args.max_posts, tokens_per_minute=10**9
    )
    report = {}
    with OpenAITestServer(latency_s=args.latency_ms / 1000) as server, tempfile.TemporaryDirectory() as tmp:
        os.environ["OPENAI_BASE_URL"] = server.base_url
        print(f"1. cost: {args.posts} posts, {args.duplicates:.0%} duplicates")
        ledger, seconds = run(
            make_posts(args.posts, args.duplicates), f"{tmp}/cost.sqlite", requests_per_minute=10**6, **stage
        )
        requests = len(server.chat_requests())
        report["cost"] = {
            "posts": args.posts,
            "requests": requests,
            "requests_per_1000_posts": round(requests * 1000 / args.posts, 1),
            "posts_per_request": ledger["posts_per_request"],
            "cache_hit_rate": ledger["cache_hit_rate"],
            "tokens_in": ledger["tokens_in"],
            "tokens_out": ledger["tokens_out"],
            "spend_usd_at_default_prices": ledger["spend_usd"],
            "seconds": round(seconds, 2),
        }
        print(json.dumps(report["cost"]))

        print(f"2. drain: {args.drain_posts} posts at {args.rpm:g} requests/minute")
        before = len(server.chat_requests())
        ledger, seconds = run(
            make_posts(args.drain_posts, args.duplicates, seed=11),
            f"{tmp}/drain.sqlite",
            requests_per_minute=args.rpm,
            **stage,
        )
        requests = len(server.chat_requests()) - before
        rate = args.rpm / 60
        bound = max(0.0, requests - max(1.0, rate)) / rate  # the limiter allows a one-second burst
        report["drain"] = {
            "posts": args.drain_posts,
            "requests": requests,
            "posts_per_request": ledger["posts_per_request"],
            "cache_hit_rate": ledger["cache_hit_rate"],
            "rpm": args.rpm,
            "seconds": round(seconds, 1),
            "theoretical_seconds": round(bound, 1),
            "posts_per_second": round(args.drain_posts / seconds, 1),
        }
        print(json.dumps(report["drain"]))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
