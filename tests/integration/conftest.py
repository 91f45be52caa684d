"""The local Flink the Flink tests run on: .venv-flink and the connector jars, set up by
scripts/flink.sh the first time a test asks for them. In CI (CI=true) a failed setup fails
the tests; elsewhere they skip, saying why."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def flink_sh() -> str:
    """Path of scripts/flink.sh, with its environment ready."""
    script = str(ROOT / "scripts/flink.sh")
    problem = None
    if not shutil.which("java"):
        problem = "no java on PATH (Flink needs Java 17)"
    else:
        result = subprocess.run([script, "setup"], capture_output=True, text=True, timeout=1200)
        if result.returncode != 0:
            problem = f"scripts/flink.sh setup failed:\n{result.stderr[-3000:]}"
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Flink could not be set up in CI: {problem}")
        print(f"skipping Flink tests: {problem}")
        pytest.skip(f"Flink could not be set up: {problem}")
    return script
