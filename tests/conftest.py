"""Session fixtures: a real Kafka broker, the Prism runner, the shared reference data.

The broker and Prism are started or built by the project's own scripts when the test command
did not already do it, so `pytest` alone also works on a machine with Java, Maven and Go.
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _reachable(bootstrap: str) -> bool:
    host, _, port = bootstrap.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """Bootstrap servers of a running broker; starts the project's broker if none answers."""
    bootstrap = os.environ.get("TENDENCIAS_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    if not _reachable(bootstrap):
        port = bootstrap.rpartition(":")[2]
        env = dict(os.environ, TENDENCIAS_KAFKA_PORT=port)
        result = subprocess.run(
            [str(ROOT / "scripts/kafka.sh"), "start"], env=env, capture_output=True, text=True
        )
        if result.returncode != 0:
            pytest.fail(f"could not start the Kafka broker with scripts/kafka.sh:\n{result.stderr}")
    return bootstrap


@pytest.fixture
def kafka_topic(kafka_bootstrap):
    """Factory of fresh topics, unique per test, deleted afterwards."""
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="tendencias-tests")
    created: list[str] = []

    def make(prefix: str = "t", partitions: int = 1) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        created.append(name)
        return name

    yield make
    if created:
        try:
            admin.delete_topics(created)
        except Exception as err:  # cleanup must not hide the test's own result
            print(f"could not delete test topics {created}: {err}")
    admin.close()


@pytest.fixture(scope="session")
def prism_location() -> str:
    """Path of the Prism binary matching the pinned Beam SDK (built by scripts/prism.sh)."""
    path = os.environ.get("TENDENCIAS_PRISM")
    if path and Path(path).is_file():
        return path
    result = subprocess.run([str(ROOT / "scripts/prism.sh")], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"could not build Prism with scripts/prism.sh:\n{result.stderr}")
    return result.stdout.strip()


def shared_data_dir() -> Path | None:
    """The reference data beside the checkout (../shared/data), or TENDENCIAS_SHARED_DATA."""
    candidates = [os.environ.get("TENDENCIAS_SHARED_DATA"), ROOT.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip(
            "reference data not found: put it at ../shared/data beside the checkout "
            "or set TENDENCIAS_SHARED_DATA"
        )
    return path
