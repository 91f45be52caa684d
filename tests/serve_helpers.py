"""Shared by the web app's tests and benchmark: the demo's archive, and an app on a real port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

ROOT = Path(__file__).resolve().parents[1]


def tendencias(*args: str) -> None:
    """Runs a `tendencias` command of this checkout, quietly, without an OpenAI key."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("OPENAI_API_KEY", None)  # briefs from the template
    subprocess.run(
        [sys.executable, "-m", "tendencias.cli", *args],
        check=True,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def build_demo_archive(work: Path) -> Path:
    """What a person does: sample data, a backfill into an archive (posts, trends, sales), its briefs."""
    tendencias("sample", "--output", str(work / "sample"))
    archive = work / "archive"
    tendencias(
        "backfill", "--input", str(work / "sample/posts.jsonl"), "--sales_input", str(work / "sample/sales.jsonl"),
        "--output", str(work / "out"), "--archive_dir", str(archive),
    )  # fmt: skip
    tendencias(
        "brief",
        "--archive",
        str(archive),
        "--output",
        str(archive / "briefs/briefs.jsonl"),
        "--cache",
        "none",
    )
    return archive


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(app) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)
