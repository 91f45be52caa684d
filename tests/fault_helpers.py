"""Shared by the fault tests (tests/integration/test_faults.py) and benchmarks/bench_faults.py:
posts with known ids, `tendencias run` as a user starts it (default flags, an archive), the
faults (SIGKILL of the whole job, a broker stopped and started again), and what the archive
and the consumer group hold afterwards."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[1]
BRANDS = ("Inca Kola", "Andina Cola", "Agua Misti", "Kuntur Energy", "Chicha Dorada")
WORDS = ("rica", "cara", "helada", "dulce", "nueva", "barata", "light", "natural", "fuerte", "rara")


def post(i: int, at: datetime, tag: str) -> dict:
    """Post number `i`: ordinary chatter, id `<tag>-<i>`."""
    brand = BRANDS[i % len(BRANDS)]
    return {
        "id": f"{tag}-{i}",
        "text": f"la {brand} {WORDS[i % len(WORDS)]} y {WORDS[(i * 7) % len(WORDS)]} hoy",
        "created_at": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "source": "twitter",
        "author": f"user{i % 97}",
        "brand": brand,
        "region": ("Lima", "Cusco", "Arequipa")[i % 3],
    }


def spread(n: int, start: datetime, span: timedelta, tag: str) -> list[dict]:
    """`n` posts evenly over `span` of event time from `start`."""
    return [post(i, start + span * i / n, tag) for i in range(n)]


def produce(bootstrap: str, topic: str, posts: list[dict]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    for p in posts:
        producer.send(topic, key=p["id"].encode(), value=json.dumps(p, ensure_ascii=False).encode())
    producer.flush()
    producer.close()


def create_topics(bootstrap: str, names: dict[str, int]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(name, partitions, 1) for name, partitions in names.items()])
    admin.close()


@dataclass
class Job:
    """`tendencias run` with its default flags but for topics, group and archive."""

    bootstrap: str
    tag: str
    workdir: Path
    prism: str
    extra: tuple[str, ...] = ()
    process: subprocess.Popen | None = None
    runs: int = 0
    topics: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        self.topics = {
            name: f"{self.tag}-{name}" for name in ("posts", "sales", "scores", "alerts", "briefs", "dead")
        }
        self.archive = self.workdir / "archive"

    def create_topics(self) -> None:
        create_topics(self.bootstrap, {name: 3 if key == "posts" else 1 for key, name in self.topics.items()})

    def start(self) -> None:
        t = self.topics
        command = [
            sys.executable, "-m", "tendencias.cli", "run",
            f"--kafka_bootstrap={self.bootstrap}", f"--posts_topic={t['posts']}", f"--sales_topic={t['sales']}",
            f"--scores_topic={t['scores']}", f"--alerts_topic={t['alerts']}", f"--briefs_topic={t['briefs']}",
            f"--dead_letter_topic={t['dead']}", f"--group_id={self.tag}", f"--archive_dir={self.archive}",
            f"--prism_location={self.prism}", *self.extra,
        ]  # fmt: skip
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", TENDENCIAS_PSEUDONYM_SALT="faults")
        env.pop("OPENAI_API_KEY", None)  # the local sentiment model, as on a machine without a key
        self.runs += 1
        log = open(self.workdir / f"job-{self.runs}.log", "w")
        # its own process group: SIGKILL of the group takes Prism with it, as a crash of the machine would
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )

    def kill(self) -> None:
        """SIGKILL to the job and its runner."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self, timeout: float = 300) -> int:
        """SIGTERM to `tendencias run` (as `kill PID` does): it drains, then exits."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise

    def stop_quietly(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=30)

    def log_tail(self, lines: int = 40) -> str:
        text = (self.workdir / f"job-{self.runs}.log").read_text(errors="replace").splitlines()
        return "\n".join(line for line in text if "kafka." not in line[:80])[-lines * 200 :]

    def archived_ids(self) -> Counter:
        from tendencias.archive.files import read_records

        return (
            Counter(r["id"] for r in read_records(self.archive, "posts"))
            if self.archive.exists()
            else Counter()
        )

    def committed(self) -> dict[int, tuple[int | None, str | None]]:
        """(offset, metadata) the group committed, per partition of the posts topic."""
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=self.tag, enable_auto_commit=False
        )
        try:
            out = {}
            for p in range(3):
                found = consumer.committed(TopicPartition(self.topics["posts"], p), metadata=True)
                out[p] = (found.offset, found.metadata) if found else (None, None)
            return out
        finally:
            consumer.close()

    def end_offsets(self) -> dict[int, int]:
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        try:
            ends = consumer.end_offsets([TopicPartition(self.topics["posts"], p) for p in range(3)])
            return {tp.partition: offset for tp, offset in ends.items()}
        finally:
            consumer.close()

    def trend_records(self, timeout: float = 10) -> list[dict]:
        return topic_records(self.bootstrap, self.topics["scores"], timeout)

    def wait_archived(self, ids: set[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ids <= set(self.archived_ids()):
                return True
            if self.process.poll() is not None:
                return False
            time.sleep(2)
        return ids <= set(self.archived_ids())


def topic_records(bootstrap: str, topic: str, timeout: float = 10) -> list[dict]:
    """Every JSON record of `topic`, from the beginning, until none came for `timeout` s."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=int(timeout * 1000),
    )
    try:
        return [json.loads(record.value) for record in consumer]
    finally:
        consumer.close()


def free_port_pair() -> int:
    """A port P with P+1 free too (a broker and its controller)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 65000:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port + 1))
                    return port
                except OSError:
                    continue
    raise RuntimeError("no two free ports in a row")


class Broker:
    """A broker of our own on another port (scripts/kafka.sh), to stop and start again; its
    data is removed at the end. Never the shared one."""

    def __init__(self, port: int):
        self.port = port
        self.bootstrap = f"127.0.0.1:{port}"

    def _script(self, action: str) -> subprocess.CompletedProcess:
        env = dict(os.environ, TENDENCIAS_KAFKA_PORT=str(self.port))
        return subprocess.run(
            [str(ROOT / "scripts/kafka.sh"), action], env=env, capture_output=True, text=True, timeout=300
        )

    def start(self) -> None:
        result = self._script("start")
        if result.returncode != 0:
            raise RuntimeError(f"scripts/kafka.sh start on {self.port} failed:\n{result.stderr[-2000:]}")

    def stop(self) -> None:
        self._script("stop")

    def remove(self) -> None:
        self._script("reset")


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()
