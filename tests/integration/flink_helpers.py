"""Starting and stopping the PyFlink job (scripts/flink.sh run) for the Flink tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from kafka import KafkaConsumer


def start_job(flink_sh: str, args: list[str], log: Path) -> subprocess.Popen:
    """The job in its own process group (the client, its JVM and Python workers), so a test can
    kill all of it at once."""
    handle = open(log, "a")
    return subprocess.Popen(
        [flink_sh, "run", *args],
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


def kill_job(job: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    if job.poll() is None:
        try:
            os.killpg(job.pid, sig)
        except ProcessLookupError:
            return
        try:
            job.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait(timeout=30)


def committed_consumer(bootstrap: str, topic: str) -> KafkaConsumer:
    """A consumer that sees only what the job's Kafka transactions committed."""
    return KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )


def poll_trends(consumer: KafkaConsumer, seconds: float) -> list[dict]:
    found = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=300).values():
            found += [json.loads(record.value) for record in batch]
    return found


def tail(log: Path, lines: int = 40) -> str:
    return "".join(log.read_text(errors="replace").splitlines(keepends=True)[-lines:]) if log.exists() else ""
