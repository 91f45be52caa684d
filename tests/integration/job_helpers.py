"""Starting `tendencias run` as a user would, its output in a log the failures quote."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def start_job(command: list[str], tmp_path: Path) -> subprocess.Popen:
    """Starts `command` with its output (unbuffered) in tmp_path/job.log."""
    with open(tmp_path / "job.log", "w") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1")
        )


def stop_job(job: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM (the job drains), then SIGKILL if it has not ended within `timeout` seconds."""
    job.terminate()
    try:
        job.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        job.kill()


def job_log_tail(tmp_path: Path, lines: int = 40) -> str:
    return "".join((tmp_path / "job.log").read_text(errors="replace").splitlines(keepends=True)[-lines:])
