"""`tendencias serve`: page and API latency (p95) on the demo archive and on a generated archive
of one million posts, API p95 under 50 concurrent clients, and brief tokens and cost per alert.

Each path is timed twice: `p95_ms` repeats one request (answers are cached per version of the
data, so after the first this is the cache), `uncached_p95_ms` changes the request each time
(another offset, another key) so that every answer is a query. Startup is timed on a fresh
store (the archive loaded into its DuckDB file) and again on a restart (only new files load).
The server's CPU seconds and peak memory come from /proc.

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
    "page /sentimiento": "/sentimiento",
    "page /ventas": "/ventas",
    "page /temas": "/temas",
    "page /briefs/{id}": None,  # filled with the first brief's id
    "api /api/alerts": "/api/alerts",
    "api /api/trends (filtered)": "/api/trends?kind=term&horizon=15m&limit=50",
    "api /api/stories": "/api/stories",
    "api /api/sentiment": "/api/sentiment?kind=brand&key=andina+cola&horizon=1d",
    "api /api/sentiment/over-time": "/api/sentiment/over-time?kind=product",
    "api /api/sales": "/api/sales?product=Andina+Cola+Cl%C3%A1sica",
    "api /api/topics": "/api/topics",
}
# the same questions, a different one each time (i counts requests): no answer comes from the cache
VARIED = {
    "page /tendencias (key)": "/tendencias?kind=brand&key=andina+cola~{i}&horizon=1d",
    "api /api/trends (filtered)": "/api/trends?kind=term&horizon=15m&limit=50&offset={i}",
    "api /api/alerts": "/api/alerts?since=2026-01-01T00:{m:02d}Z",
    "api /api/sentiment": "/api/sentiment?kind=brand&key=andina+cola~{i}&horizon=1d",
    "api /api/sentiment/over-time": "/api/sentiment/over-time?kind=product&bucket=hour&offset={i}",
    "api /api/sales": "/api/sales?product=Andina+Cola+Cl%C3%A1sica&since=2026-01-01T00:{m:02d}Z",
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
    for sales in demo.glob("sales*.jsonl"):
        shutil.copy(sales, big / sales.name)
    return big, written_posts, written_trends


def serve(archive: Path, store: Path, log: Path) -> tuple[subprocess.Popen, str, float]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(ROOT), TENDENCIAS_API_KEYS=KEY, TENDENCIAS_COOKIE_SECURE="0")
    start = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "tendencias.cli", "serve", "--archive", str(archive), "--port", str(port),
            "--store", str(store),
        ],
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url, time.perf_counter() - start
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise RuntimeError(f"the server stopped: {log.read_text()[-2000:]}") from None
            time.sleep(0.1)


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] * 1000


def process_use(pid: int) -> dict:
    """CPU seconds so far and peak resident memory of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    status = Path(f"/proc/{pid}/status").read_text()
    peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
    return {"cpu_s": round((int(fields[11]) + int(fields[12])) / ticks, 2), "peak_rss_mb": peak_kb // 1024}


def varied(template: str, i: int) -> str:
    return template.format(i=i, m=i % 60)


def sequential(url: str, paths: dict[str, str], repeats: int, vary: bool = False) -> dict[str, float]:
    out = {}
    with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=120) as client:
        for name, path in paths.items():
            client.get(varied(path, 0) if vary else path).raise_for_status()  # warm
            times = []
            for i in range(repeats):
                start = time.perf_counter()
                client.get(varied(path, i + 1) if vary else path).raise_for_status()
                times.append(time.perf_counter() - start)
            out[name] = round(p95(times), 1)
    return out


async def concurrent(url: str, clients: int, per_client: int, vary: bool = False) -> dict:
    paths = list(VARIED.values()) if vary else [p for n, p in PATHS.items() if n.startswith("api")]
    times: list[float] = []
    errors = 0

    async def one(i: int, client: httpx.AsyncClient):
        nonlocal errors
        for j in range(per_client):
            path = paths[(i + j) % len(paths)]
            start = time.perf_counter()
            try:
                response = await client.get(varied(path, i * per_client + j) if vary else path)
                errors += response.status_code != 200
            except httpx.HTTPError:
                errors += 1
            times.append(time.perf_counter() - start)

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
            store = work / f"{name.replace(' ', '-')}.duckdb"
            log = work / f"serve-{name.replace(' ', '-')}.log"
            proc, url, load_s = serve(archive, store, log)
            try:
                loaded = process_use(proc.pid)
                results[name] = {
                    "startup_s": round(load_s, 2),
                    "load": loaded,
                    "load_average": os.getloadavg()[0],
                    "p95_ms": sequential(url, paths, args.repeats),
                    "uncached_p95_ms": sequential(url, VARIED, args.repeats, vary=True),
                    "concurrent": asyncio.run(concurrent(url, args.clients, args.per_client)),
                    "concurrent_uncached": asyncio.run(
                        concurrent(url, args.clients, args.per_client, vary=True)
                    ),
                }
                used = process_use(proc.pid)
                results[name]["server"] = {
                    "cpu_s_serving": round(used["cpu_s"] - loaded["cpu_s"], 2),
                    "peak_rss_mb": used["peak_rss_mb"],
                }
            finally:
                if proc.poll() is not None:
                    print(
                        f"the server stopped ({proc.returncode}): {log.read_text()[-3000:]}", file=sys.stderr
                    )
                proc.terminate()
                proc.wait(30)
            proc, url, restart_s = serve(archive, store, log)  # the store file is there: nothing to load
            proc.terminate()
            proc.wait(30)
            results[name]["restart_s"] = round(restart_s, 2)
            print(json.dumps({name: results[name]}, indent=2, ensure_ascii=False), flush=True)
        print(json.dumps(results, indent=2, ensure_ascii=False))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
