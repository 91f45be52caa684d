"""`tendencias brief`: innovation briefs for the alert stories and weeks of an archive.

Reads DIR as written by `tendencias run/backfill --archive_dir DIR` (posts, trends, and sales
when a sales*.jsonl is there), writes one Brief per line of --output: one per alert story and
one per ISO week for its top rising keys. Written by the OpenAI-compatible model when
OPENAI_API_KEY is set (--mode auto), by the deterministic template otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tendencias.archive.files import read_records, require_archive
from tendencias.models.briefs.facts import brief_facts, epoch_ms, matching_posts
from tendencias.models.briefs.select import stories, weekly_tops
from tendencias.models.briefs.writer import MODES, BriefWriter
from tendencias.models.trends.keys import trend_keys


def plan(trends: list[dict], weekly_top: int) -> list[dict]:
    """What to brief: [{"trends", "story" | "period", "start", "end"}], stories first."""
    jobs = []
    for story in stories(trends):
        group = story.trends
        jobs.append({"trends": group, "story": story.id, "period": None})
    if weekly_top > 0:
        for week in weekly_tops(trends, weekly_top):
            jobs.append({"trends": week.trends, "story": None, "period": week.period})
    for job in jobs:
        # A story's evidence is its lead key's posts: members share most of them, and their
        # common words ("pasa", "vino") would pull in the day's unrelated chatter.
        group = job["trends"] if job["period"] else job["trends"][:1]
        job["pairs"] = {(t["kind"], t["key"]) for t in group}
        if job["period"]:
            first = min(epoch_ms(t["window_start"]) for t in job["trends"])
            day = first // 86_400_000
            job["start"] = (day - (day + 3) % 7) * 86_400_000  # the Monday (1970-01-01 was a Thursday)
            job["end"] = job["start"] + 7 * 86_400_000
        else:
            job["start"] = min(epoch_ms(t["window_start"]) for t in job["trends"])
            job["end"] = max(epoch_ms(t["window_end"]) for t in job["trends"])
    return jobs


def relevant_posts(directory: Path, jobs: list[dict]) -> list[dict]:
    """One pass over the archived posts, keeping those any job may use."""
    pairs = set().union(*(j["pairs"] for j in jobs)) if jobs else set()
    start = min((j["start"] for j in jobs), default=0)
    end = max((j["end"] for j in jobs), default=0)
    kept = []
    for post in read_records(directory, "posts"):
        created = post.get("created_at")
        if created and start <= epoch_ms(created) < end and pairs.intersection(trend_keys(post)):
            kept.append(post)
    return kept


def write_briefs(directory: Path, output: Path, writer: BriefWriter, weekly_top: int = 5) -> dict:
    trends = list(read_records(directory, "trends"))
    sales = list(read_records(directory, "sales"))
    jobs = plan(trends, weekly_top)
    posts = relevant_posts(directory, jobs)
    output.parent.mkdir(parents=True, exist_ok=True)
    sources: dict[str, int] = {}
    with output.open("w", encoding="utf-8") as handle:
        for job in jobs:
            found = matching_posts(posts, job["pairs"], job["start"], job["end"])
            facts = brief_facts(job["trends"], found, sales, story=job["story"], period=job["period"])
            brief = writer.write(facts)
            sources[brief["cost"]["source"]] = sources.get(brief["cost"]["source"], 0) + 1
            handle.write(json.dumps(brief, ensure_ascii=False, sort_keys=True) + "\n")
    totals = writer.ledger.totals()
    return {
        "briefs": len(jobs),
        "stories": sum(1 for j in jobs if j["story"]),
        "weeks": sorted({j["period"] for j in jobs if j["period"]}),
        "sources": sources,
        "tokens_in": totals["tokens_in"],
        "tokens_out": totals["tokens_out"],
        "spend_usd": round(totals["spend_microusd"] / 1e6, 6),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tendencias brief", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--archive", type=Path, required=True, help="archive folder (--archive_dir of run/backfill)"
    )
    parser.add_argument("--output", type=Path, required=True, help="JSONL file of briefs to write")
    parser.add_argument(
        "--mode", choices=MODES, default="auto", help="auto: the model when OPENAI_API_KEY is set"
    )
    parser.add_argument("--model", type=str, default="gpt-4o-mini", help="model name (default %(default)s)")
    parser.add_argument(
        "--base_url", type=str, default="", help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL)"
    )
    parser.add_argument("--cache", type=str, default="", help="answer cache: path, redis://..., or none")
    parser.add_argument(
        "--weekly_top", type=int, default=5, help="keys per weekly brief; 0: no weekly briefs"
    )
    parser.add_argument("--price_in_per_1k", type=float, default=0.00015, help="USD per 1,000 tokens in")
    parser.add_argument("--price_out_per_1k", type=float, default=0.0006, help="USD per 1,000 tokens out")
    args = parser.parse_args(argv)
    if args.weekly_top < 0:
        parser.error("--weekly_top must be 0 or more")
    try:
        directory = require_archive(args.archive)
        writer = BriefWriter(
            args.mode,
            args.model,
            base_url=args.base_url or None,
            cache_url=args.cache or None,
            price_in_per_1k=args.price_in_per_1k,
            price_out_per_1k=args.price_out_per_1k,
        )
    except ValueError as err:
        parser.error(str(err))
    summary = write_briefs(directory, args.output, writer, args.weekly_top)
    print(json.dumps(summary, ensure_ascii=False), file=sys.stderr)
    return 0
