"""`tendencias serve`: page and API latency (p95) on the demo archive and on a generated archive
of one million posts, API p95 under 50 concurrent clients, and brief tokens and cost per alert.

The demo archive is made like the demo (`tendencias sample`, `tendencias backfill
--archive_dir`, `tendencias brief`) unless --demo_archive names one. The big archive is
generated from it, fast, without the pipeline: its posts and trends repeated with new ids and
keys until it holds --posts posts (trends grow in proportion). The server runs as its own
process (`tendencias serve`); the load test is bounded (--clients x --per_client requests).
Brief tokens come from the real OpenAI-protocol test server (tests/openai_server.py), whose
usage counts are len/4 of what it received and sent. Prints numbers only.

    .venv/bin/python benchmarks/bench_serve.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
KEY = "bench-key-0123456789"
PATHS = {
    "page /": "/",
    "page /tendencias (key)": "/tendencias?kind=brand&key=andina+cola&horizon=1d",
    "page /briefs/{id}": None,  # filled with the first brief's id
    "api /api/alerts": "/api/alerts",
    "api /api/trends (filtered)": "/api/trends?kind=term&horizon=15m&limit=50",
    "api /api/stories": "/api/stories",
    "api /api/sentiment": "/api/sentiment?kind=brand&key=andina+cola&horizon=1d",
}


def demo_archive(work: Path) -> Path:
    from tests.serve_helpers import build_demo_archive

    return build_demo_archive(work)


def big_archive(demo: Path, work: Path, posts: int) -> tuple[Path, int, int]:
    """Demo posts and trends repeated with new ids/keys (copy n: key "k~n") up to `posts` posts."""
    from tendencias.archive.files import read_records

    base_posts = list(read_records(demo, "posts"))
    base_trends = list(read_records(demo, "trends"))
    copies = -(-posts // len(base_posts))
    big = work / "big"
    for what in ("posts", "trends", "briefs"):
        (big / what).mkdir(parents=True)
    written_posts = written_trends = 0
    with (big / "posts/posts-00000-of-00001.jsonl").open("w", encoding="utf-8") as out:
        for n in range(copies):
            for post in base_posts:
                if written_posts == posts:
                    break
                out.write(json.dumps(dict(post, id=f"{post['id']}~{n}"), ensure_ascii=False) + "\n")
                written_posts += 1
    with (big / "trends/trends-00000-of-00001.jsonl").open("w", encoding="utf-8") as out:
        for n in range(copies):
            for trend in base_trends:
                suffix = "" if n == 0 else f"~{n}"
                copy = dict(trend, key=trend["key"] + suffix)
                if n and copy.get("episode"):
                    copy["episode"] += suffix
                if n and copy.get("related_to"):
                    copy["related_to"] += suffix
                if n and copy.get("severity") == "alert":  # keep the planted alerts few, as in life
                    copy.update(severity="watch", status=None)
                out.write(json.dumps(copy, ensure_ascii=False) + "\n")
                written_trends += 1
    shutil.copy(demo / "briefs/briefs.jsonl", big / "briefs/briefs.jsonl")
    return big, written_posts, written_trends


def serve(archive: Path) -> tuple[subprocess.Popen, str, float]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(ROOT), TENDENCIAS_API_KEYS=KEY, TENDENCIAS_COOKIE_SECURE="0")
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tendencias.cli", "serve", "--archive", str(archive), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url, time.perf_counter() - start
        except httpx.HTTPError:
            time.sleep(0.1)


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] * 1000


def sequential(url: str, paths: dict[str, str], repeats: int) -> dict[str, float]:
    out = {}
    with httpx.Client(base_url=url, headers={"X-API-Key": KEY}) as client:
        for name, path in paths.items():
            client.get(path).raise_for_status()  # warm
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                client.get(path).raise_for_status()
                times.append(time.perf_counter() - start)
            out[name] = round(p95(times), 1)
    return out


async def concurrent(url: str, clients: int, per_client: int) -> dict:
    paths = [p for n, p in PATHS.items() if n.startswith("api")]
    times: list[float] = []
    errors = 0

    async def one(i: int, client: httpx.AsyncClient):
        nonlocal errors
        for j in range(per_client):
            start = time.perf_counter()
            response = await client.get(paths[(i + j) % len(paths)])
            times.append(time.perf_counter() - start)
            errors += response.status_code != 200

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(
        base_url=url, headers={"X-API-Key": KEY}, limits=limits, timeout=60
    ) as client:
        start = time.perf_counter()
        await asyncio.gather(*(one(i, client) for i in range(clients)))
        wall = time.perf_counter() - start
    return {
        "requests": len(times),
        "errors": errors,
        "p95_ms": round(p95(times), 1),
        "median_ms": round(statistics.median(times) * 1000, 1),
        "requests_per_s": round(len(times) / wall, 1),
    }


def brief_cost(demo: Path, work: Path) -> dict:
    from tendencias.models.briefs.writer import BriefWriter
    from tendencias.tools.brief import write_briefs
    from tests.openai_server import SECRET_KEY, OpenAITestServer

    with OpenAITestServer() as server:
        os.environ.update(OPENAI_API_KEY=SECRET_KEY, OPENAI_BASE_URL=server.base_url)
        try:
            summary = write_briefs(
                demo, work / "llm-briefs.jsonl", BriefWriter("llm", cache_url="none"), weekly_top=0
            )
        finally:
            os.environ.pop("OPENAI_API_KEY")
            os.environ.pop("OPENAI_BASE_URL")
    alerts = max(1, summary["stories"])
    return {
        "alerts": summary["stories"],
        "requests": len(server.chat_requests()),
        "tokens_in_per_alert": summary["tokens_in"] / alerts,
        "tokens_out_per_alert": summary["tokens_out"] / alerts,
        "usd_per_alert": round(summary["spend_usd"] / alerts, 6),
        "prices": "gpt-4o-mini list: $0.15/$0.60 per 1M",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo_archive", type=Path, default=None, help="an archive to use as the demo one")
    parser.add_argument("--posts", type=int, default=1_000_000, help="posts in the generated archive")
    parser.add_argument("--repeats", type=int, default=100, help="sequential requests per path")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per_client", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    try:
        demo = args.demo_archive or demo_archive(work)
        from tendencias.archive.files import read_records

        first_brief = next(read_records(demo, "briefs"))["id"]
        paths = dict(PATHS, **{"page /briefs/{id}": "/briefs/" + first_brief})
        results = {"brief": brief_cost(demo, work)}
        start = time.perf_counter()
        big, n_posts, n_trends = big_archive(demo, work, args.posts)
        results["generated"] = {
            "posts": n_posts,
            "trends": n_trends,
            "seconds": round(time.perf_counter() - start, 1),
        }
        for name, archive in (("demo", demo), ("1M posts", big)):
            proc, url, load_s = serve(archive)
            try:
                results[name] = {
                    "startup_s": round(load_s, 2),
                    "p95_ms": sequential(url, paths, args.repeats),
                    "concurrent": asyncio.run(concurrent(url, args.clients, args.per_client)),
                }
            finally:
                proc.terminate()
                proc.wait(10)
        print(json.dumps(results, indent=2, ensure_ascii=False))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
