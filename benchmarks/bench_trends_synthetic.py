"""Planted bursts of several sizes in a seasonal Poisson background: precision, recall and
median time to detection per burst size, and false alarms per day of ordinary chatter.

    .venv/bin/python benchmarks/bench_trends_synthetic.py              # defaults, replay engine
    .venv/bin/python benchmarks/bench_trends_synthetic.py --engine beam  # through ScoreTrends
    .venv/bin/python benchmarks/bench_trends_synthetic.py --set alert_score=6 --set min_lift=4

The replay engine runs the same KeyScorer as the Beam stage (tests check they emit the same
records) in a fraction of the time, so sweeps over thresholds are practical. An alert counts
as a detection when its key contains the burst word and its window ends within 2 hours of the
onset; every other alert after the first day (warm-up) is a false alarm.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.synthetic_stream import DAY_MS, START_MS, SyntheticStream, match_alerts, median  # noqa: E402
from tendencias.models.trends.config import TrendScoringConfig  # noqa: E402


def parse_overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            out[name] = int(value)
        except ValueError:
            try:
                out[name] = float(value)
            except ValueError:
                out[name] = value
    return out


def run_engine(engine: str, posts: list[dict], config: TrendScoringConfig, options=None) -> list[dict]:
    if engine == "replay":
        from tendencias.models.trends.replay import replay

        return replay(posts, config)
    import json
    import tempfile

    import apache_beam as beam
    from apache_beam.transforms.window import TimestampedValue

    from tendencias.transforms.trends.score import ScoreTrends

    out_dir = tempfile.mkdtemp(prefix="trends-")
    with beam.Pipeline(options=options) as p:
        out = (
            p
            | beam.Create(posts)
            | beam.Map(lambda x: TimestampedValue(x, x["event_time_ms"] / 1000))
            | ScoreTrends(config)
        )
        _ = out.trends | beam.Map(json.dumps) | beam.io.WriteToText(f"{out_dir}/trends")
    return [json.loads(line) for path in Path(out_dir).glob("trends*") for line in path.open()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=float, default=5.0, help="days of background (the first is warm-up)")
    parser.add_argument("--posts-per-day", type=float, default=5000.0, help="background volume")
    parser.add_argument("--sizes", type=str, default="5,10,20,40", help="burst sizes (posts in 30 min)")
    parser.add_argument("--per-size", type=int, default=6, help="bursts of each size")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    parser.add_argument(
        "--engine", choices=["replay", "beam"], default="replay", help="how to run the scoring"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="TrendScoringConfig override, repeatable",
    )
    args = parser.parse_args(argv)
    config = TrendScoringConfig(**parse_overrides(args.set))
    sizes = [int(s) for s in args.sizes.split(",")]

    stream = SyntheticStream(seed=args.seed, posts_per_day=args.posts_per_day)
    background = stream.background(args.days)
    bursts, planted = stream.bursts(
        sizes, args.per_size, START_MS + DAY_MS, START_MS + int(args.days * DAY_MS) - 3 * 3_600_000
    )
    posts = sorted(background + planted, key=lambda p: p["event_time_ms"])
    started = time.perf_counter()
    trends = run_engine(args.engine, posts, config)
    seconds = time.perf_counter() - started
    alerts = [t for t in trends if t["severity"] == "alert"]
    after_warmup = [a for a in alerts if a["window_end"] >= _iso(START_MS + DAY_MS)]
    delays, unmatched = match_alerts(after_warmup, bursts)
    ordinary_days = args.days - 1

    print(
        f"stream: {len(background)} background posts over {args.days:g} days, {len(planted)} burst posts, "
        f"{len(bursts)} bursts; engine {args.engine}: {seconds:.1f}s, {len(trends)} trend records"
    )
    print(f"{'size':>5} {'novel':>6} {'recall':>7} {'median min':>11} {'max min':>8}")
    for size in sizes:
        for novel in (True, False):
            picked = [d for b, d in zip(bursts, delays, strict=True) if b.posts == size and b.novel == novel]
            found = [d for d in picked if d is not None]
            print(
                f"{size:>5} {str(novel):>6} {len(found)}/{len(picked):<5} {median(found):>11.1f} "
                f"{max(found, default=float('nan')):>8.1f}"
            )
    true_alerts = len(after_warmup) - unmatched
    precision = true_alerts / len(after_warmup) if after_warmup else float("nan")
    by_horizon = {}
    for alert in after_warmup:
        by_horizon[alert["horizon"]] = by_horizon.get(alert["horizon"], 0) + 1
    print(
        f"alerts after warm-up: {len(after_warmup)} ({by_horizon}), matching a burst: {true_alerts}, "
        f"precision {precision:.2f}"
    )
    print(f"false alarms: {unmatched} = {unmatched / ordinary_days:.1f} per day of ordinary chatter")
    for alert in [a for a in after_warmup if not any(b.word in a["key"].split() for b in bursts)][:8]:
        print(
            f"  false: {alert['horizon']} {alert['kind']}:{alert['key']} {alert['window_end']} "
            f"count={alert['count']} base={alert['baseline']} score={alert['score']} authors={alert['authors']}"
        )
    return 0


def _iso(ms: int) -> str:
    from tendencias.records import iso_utc

    return iso_utc(ms)


if __name__ == "__main__":
    sys.exit(main())
