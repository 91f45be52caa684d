"""The 2012 Costa Rica earthquake (onset 2012-09-05 14:42 UTC) in a background of ordinary
chatter: minutes from onset to the first alert about the event, alerts before the onset (per
day of background), and the top keys at the peak.

    .venv/bin/python benchmarks/bench_trends_earthquake.py                  # via tendencias backfill
    .venv/bin/python benchmarks/bench_trends_earthquake.py --engine replay  # scoring only, fast

Background: the Spanish and English tweets of ../shared/data/sentiment (not about the event),
re-timed by a day/night Poisson process over the days before and after the onset, with
invented authors; the event: the labelled tweets of ../shared/data/trends/crisislex_costa_rica
at their real times (imported with `tendencias import`). Read at run time, never copied. An
alert is "about the event" when most of its example posts are event tweets.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic_stream import DIURNAL  # noqa: E402
from tendencias.models.trends.windows import DAY_MS, local_bins  # noqa: E402
from tendencias.records import iso_utc, parse_time_ms  # noqa: E402
from tests.conftest import shared_data_dir  # noqa: E402

ONSET_MS = parse_time_ms("2012-09-05T14:42:00Z", "onset")


def background_texts(data: Path) -> list[str]:
    texts = []
    for name in (
        "sentiment/umsab_es/train_text.txt",
        "sentiment/umsab_es/val_text.txt",
        "sentiment/tweeteval_en/val_text.txt",
    ):
        texts += [line.strip() for line in (data / name).open(encoding="utf-8") if line.strip()]
    return texts


def background_posts(texts: list[str], start_ms: int, end_ms: int, per_day: float, seed: int) -> list[dict]:
    """Texts re-timed by an inhomogeneous Poisson process (Lima day/night rhythm)."""
    rng = random.Random(seed)
    authors = [f"bg{i}" for i in range(20_000)]
    weights = [1 / (i + 20) for i in range(20_000)]
    peak = per_day / DAY_MS * max(DIURNAL)
    posts, t, n = [], float(start_ms), 0
    while True:
        t += rng.expovariate(peak)
        if t >= end_ms:
            return posts
        if rng.random() < DIURNAL[local_bins(int(t), "America/Lima")[0]] / max(DIURNAL):
            n += 1
            posts.append(
                {
                    "id": f"bg{n}",
                    "text": rng.choice(texts),
                    "created_at": iso_utc(int(t)),
                    "source": "twitter",
                    "author": rng.choices(authors, weights)[0],
                }
            )


def event_posts(data: Path, work: Path) -> list[dict]:
    folder = data / "trends" / "crisislex_costa_rica"
    out = work / "event.jsonl"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tendencias.cli",
            "import",
            "--input",
            str(next(folder.glob("*tweets_labeled.csv"))),
            "--ids-csv",
            str(next(folder.glob("*tweetids_entire_period.csv"))),
            "--output",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return [json.loads(line) for line in out.open(encoding="utf-8")]


def run_backfill(posts_path: Path, out_dir: Path, flags: list[str]) -> list[dict]:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tendencias.cli",
            "backfill",
            "--input",
            str(posts_path),
            "--output",
            str(out_dir),
            *flags,
        ],
        check=True,
    )
    return [json.loads(line) for line in (out_dir / "trends.jsonl").open(encoding="utf-8")]


def run_replay(posts: list[dict], flags: list[str]) -> list[dict]:
    from benchmarks.bench_trends_synthetic import parse_overrides
    from tendencias.models.text.normalise import post_tokens
    from tendencias.models.text.redaction import redact
    from tendencias.models.trends.config import TrendScoringConfig
    from tendencias.models.trends.replay import replay

    enriched = []
    for post in posts:
        clean = redact(post["text"])
        enriched.append(
            {
                **post,
                "event_time_ms": parse_time_ms(post["created_at"], "t"),
                "text_clean": clean,
                **post_tokens(clean),
            }
        )
    overrides = parse_overrides([f.removeprefix("--").replace("trend_", "", 0) for f in flags])
    return replay(enriched, TrendScoringConfig(**overrides))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days-before", type=float, default=4.0, help="days of background before the onset")
    parser.add_argument("--days-after", type=float, default=1.0, help="days of background after the onset")
    parser.add_argument("--per-day", type=float, default=3000.0, help="background posts per day")
    parser.add_argument("--seed", type=int, default=11, help="random seed of the background")
    parser.add_argument(
        "--engine",
        choices=["backfill", "replay"],
        default="backfill",
        help="backfill: the whole graph via `tendencias backfill`; replay: scoring only",
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep the posts and trends in this folder")
    args, flags = parser.parse_known_args(argv)
    data = shared_data_dir()
    if data is None:
        print("skipped: reference data not found (../shared/data or TENDENCIAS_SHARED_DATA)")
        return 0
    work = args.keep or Path(tempfile.mkdtemp(prefix="quake-"))
    work.mkdir(parents=True, exist_ok=True)
    start, end = ONSET_MS - int(args.days_before * DAY_MS), ONSET_MS + int(args.days_after * DAY_MS)
    event = [p for p in event_posts(data, work) if start <= parse_time_ms(p["created_at"], "t") < end]
    background = background_posts(background_texts(data), start, end, args.per_day, args.seed)
    posts = sorted(event + background, key=lambda p: p["created_at"])
    posts_path = work / "posts.jsonl"
    posts_path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in posts), encoding="utf-8")
    started = time.perf_counter()
    if args.engine == "backfill":
        trends = run_backfill(posts_path, work / "out", flags)
    else:
        trends = run_replay(posts, flags)
    seconds = time.perf_counter() - started
    report(trends, {p["id"] for p in event}, len(background), len(event), args, seconds)
    return 0


def about_event(trend: dict, event_ids: set[str]) -> bool:
    ids = [e["id"] for e in trend.get("examples") or ()]
    return bool(ids) and sum(i in event_ids for i in ids) * 2 > len(ids)


def report(
    trends: list[dict], event_ids: set[str], n_background: int, n_event: int, args, seconds: float
) -> None:
    alerts = sorted((t for t in trends if t["severity"] == "alert"), key=lambda t: t["window_end"])
    onset = iso_utc(ONSET_MS)
    stream_start = ONSET_MS - int(args.days_before * DAY_MS)
    before = [a for a in alerts if a["window_end"] <= onset]  # warm-up included: every alert counts
    after = [a for a in alerts if a["window_end"] > onset]
    event_alerts = [a for a in after if about_event(a, event_ids)]
    other_after = [a for a in after if not about_event(a, event_ids)]
    print(
        f"posts: {n_background} background + {n_event} event; engine {args.engine}: {seconds:.0f}s, "
        f"{len(trends)} trend records, {len(alerts)} alerts"
    )
    if event_alerts:
        first = event_alerts[0]
        minutes = (parse_time_ms(first["window_end"], "t") - ONSET_MS) / 60_000
        print(
            f"first alert about the event: {minutes:.1f} min after the onset "
            f"({first['horizon']} {first['kind']}:{first['key']}, window ending {first['window_end']})"
        )
        print(f"  {first['explanation']}")
    else:
        print("first alert about the event: none")
    days = (ONSET_MS - stream_start) / DAY_MS
    print(f"alerts before the onset (the whole stream): {len(before)} = {len(before) / days:.1f} per day")
    for a in before[:10]:
        print(
            f"  {a['window_end']} {a['horizon']} {a['kind']}:{a['key']} count={a['count']} "
            f"base={a['baseline']} score={a['score']}"
        )
    print(f"alerts after the onset: {len(event_alerts)} about the event, {len(other_after)} others")
    counts = Counter(
        a["window_end"]
        for a in trends
        if a["horizon"] == min(t["horizon"] for t in trends) and about_event(a, event_ids)
    )
    if counts:
        peak = max(counts, key=counts.get)
        top = sorted((t for t in trends if t["window_end"] == peak), key=lambda t: -t["score"])[:10]
        print(f"top keys at the peak (window ending {peak}):")
        for t in top:
            print(
                f"  {t['kind']}:{t['key']} count={t['count']} baseline={t['baseline']} score={t['score']} "
                f"lift={t['lift']} {t['severity']}/{t['status']}"
            )


if __name__ == "__main__":
    sys.exit(main())
