"""Faults on the real broker and Prism, `tendencias run` with its default flags and an archive:
produced, archived, lost, duplicated and time to recover, for each fault. Prints numbers only.

- drain: the posts in a 3-partition topic, one run stopped by --duration (before issue 9, the
  last open window's posts were lost: 9,180 of 20,000 archived).
- sigkill: the job killed with SIGKILL (the whole process group, Prism too) `--kill_after`
  seconds into the stream, then restarted with the same group. Recovery: from the restart to
  every post of the topic in the archive.
- broker: a broker of our own (another port; never the shared one) stopped for `--outage`
  seconds once half the posts are archived, then started again; the rest produced after it.
  Recovery: from the broker's start to every post in the archive.

    .venv/bin/python benchmarks/bench_faults.py [--posts 20000] [--faults drain,sigkill,broker]

Needs the shared broker (TENDENCIAS_KAFKA_BOOTSTRAP, default 127.0.0.1:19092), Prism
(TENDENCIAS_PRISM) and the Kafka jars scripts/kafka.sh uses.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fault_helpers import Broker, Job, free_port_pair, produce, spread  # noqa: E402


def prism() -> str:
    from tendencias.pipelines.runner import prism_binary

    found = prism_binary()
    if not found:
        sys.exit("Prism not found: build it with scripts/prism.sh or set TENDENCIAS_PRISM")
    return found


def wait_all(job: Job, ids: set[str], timeout: float) -> float | None:
    """Seconds until every id is archived (None: not within `timeout`, or the job ended)."""
    start = time.monotonic()
    return time.monotonic() - start if job.wait_archived(ids, timeout) else None


def row(fault: str, job: Job, ids: set[str], recovered: float | None, note: str = "") -> dict:
    archived = job.archived_ids()
    return {
        "fault": fault,
        "produced": len(ids),
        "archived": sum(archived.values()),
        "lost": len(ids - set(archived)),
        "duplicated": sum(n - 1 for i, n in archived.items() if i in ids),
        "recover_s": None if recovered is None else round(recovered, 1),
        "note": note,
    }


def posts_for(tag: str, n: int, hours: float) -> list[dict]:
    return spread(n, datetime.now(UTC) - timedelta(hours=hours + 0.1), timedelta(hours=hours), tag)


def fault_drain(bootstrap: str, work: Path, n: int, run_s: float, timeout: float) -> dict:
    tag = f"bench-drain-{uuid.uuid4().hex[:6]}"
    job = Job(bootstrap, tag, work / "drain", prism(), extra=(f"--duration={int(run_s)}s",))
    job.workdir.mkdir(parents=True)
    job.create_topics()
    posts = posts_for(tag, n, 4)
    produce(bootstrap, job.topics["posts"], posts)
    job.start()
    try:
        code = job.process.wait(timeout=run_s + timeout)
    finally:
        job.stop_quietly()
    return row("drain (--duration)", job, {p["id"] for p in posts}, None, f"exit {code}")


def fault_sigkill(bootstrap: str, work: Path, n: int, kill_after: float, timeout: float) -> dict:
    tag = f"bench-kill-{uuid.uuid4().hex[:6]}"
    job = Job(bootstrap, tag, work / "sigkill", prism())
    job.workdir.mkdir(parents=True)
    job.create_topics()
    posts = posts_for(tag, n, 4)
    produce(bootstrap, job.topics["posts"], posts)
    ids = {p["id"] for p in posts}
    try:
        job.start()
        time.sleep(kill_after)
        at_kill = len(set(job.archived_ids()))
        committed = sum(offset or 0 for offset, _ in job.committed().values())
        job.kill()
        job.start()
        recovered = wait_all(job, ids, timeout)
        code = job.terminate()
    finally:
        job.stop_quietly()
    return row(
        "SIGKILL + restart",
        job,
        ids,
        recovered,
        f"at kill: {at_kill} archived, {committed} committed; exit {code}",
    )


def fault_broker(work: Path, n: int, outage_s: float, timeout: float) -> dict:
    broker = Broker(free_port_pair())
    broker.start()
    tag = f"bench-bounce-{uuid.uuid4().hex[:6]}"
    job = Job(broker.bootstrap, tag, work / "broker", prism())
    job.workdir.mkdir(parents=True)
    try:
        job.create_topics()
        posts = posts_for(tag, n, 2)
        ids = {p["id"] for p in posts}
        produce(broker.bootstrap, job.topics["posts"], posts[: n // 2])
        job.start()
        while len(job.archived_ids()) < n // 4 and job.process.poll() is None:
            time.sleep(1)
        broker.stop()
        time.sleep(outage_s)
        alive = job.process.poll() is None
        broker.start()
        started = time.monotonic()
        produce(broker.bootstrap, job.topics["posts"], posts[n // 2 :])
        recovered = time.monotonic() - started if job.wait_archived(ids, timeout) else None
        code = job.terminate()
    finally:
        job.stop_quietly()
        broker.stop()
        broker.remove()
    return row(
        f"broker down {outage_s:g}s", job, ids, recovered, f"job alive through it: {alive}; exit {code}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20000)
    parser.add_argument("--faults", default="drain,sigkill,broker")
    parser.add_argument("--run", type=float, default=150, help="drain: seconds before --duration drains")
    parser.add_argument("--kill_after", type=float, default=45)
    parser.add_argument("--outage", type=float, default=20)
    parser.add_argument("--timeout", type=float, default=1800, help="longest wait for the archive to fill")
    args = parser.parse_args()
    os.environ.setdefault("TENDENCIAS_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    bootstrap = os.environ["TENDENCIAS_KAFKA_BOOTSTRAP"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        work = Path(tmp)
        for fault in args.faults.split(","):
            load = os.getloadavg()[0]
            start = time.monotonic()
            if fault == "drain":
                result = fault_drain(bootstrap, work, args.posts, args.run, args.timeout)
            elif fault == "sigkill":
                result = fault_sigkill(bootstrap, work, args.posts, args.kill_after, args.timeout)
            elif fault == "broker":
                result = fault_broker(work, args.posts, args.outage, args.timeout)
            else:
                sys.exit(f"unknown fault {fault!r}: drain, sigkill or broker")
            result["wall_s"] = round(time.monotonic() - start)
            result["load"] = f"{load:.1f}->{os.getloadavg()[0]:.1f}"
            rows.append(result)
            print(result, flush=True)
    columns = ("fault", "produced", "archived", "lost", "duplicated", "recover_s", "wall_s", "load", "note")
    print("\n| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    for r in rows:
        print("| " + " | ".join("" if r[c] is None else str(r[c]) for c in columns) + " |")


if __name__ == "__main__":
    main()
