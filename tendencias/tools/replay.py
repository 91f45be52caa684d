"""`tendencias replay FILE --topic T [--speed X]`: produce a JSONL file of posts into Kafka in event-time order.

Each valid line is sent unchanged, keyed by the post id, with the Kafka record timestamp set to the
post's event time (clamped to now for posts dated in the future, which the broker may refuse).
`--speed 60` keeps the gaps between events, 60 times shorter; by default it sends as fast as it can.
Lines that are not valid posts are counted per reason and skipped, or sent to --dead-letter-topic.
Security settings come from the TENDENCIAS_KAFKA_* environment variables (see kafka_config).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import NamedTuple, TextIO

from tendencias.errors import UsageError
from tendencias.records import RawRecord, RecordError, dead_letter, parse_post
from tendencias.transforms.kafka.config import add_bootstrap_flag, new_producer
from tendencias.transforms.kafka.write import KafkaDeliveryError, await_delivery

CHECK_EVERY = 5_000  # sends between delivery checks, so a failure stops the replay early


class Line(NamedTuple):
    number: int  # 1-based line number in FILE
    raw: bytes


class Post(NamedTuple):
    event_time_ms: int
    number: int
    post_id: str
    raw: bytes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tendencias replay", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="JSONL file of posts, one JSON object per line")
    parser.add_argument("--topic", type=str, required=True, help="Kafka topic to produce the posts to")
    parser.add_argument(
        "--speed",
        type=float,
        default=None,
        help="time compression: 60 = sixty times faster than the events happened "
        "(default: as fast as possible)",
    )
    add_bootstrap_flag(parser)
    parser.add_argument(
        "--dead-letter-topic",
        type=str,
        default=None,
        help="send lines that are not valid posts here as dead letters (default: skip them)",
    )
    parser.add_argument("--quiet", action="store_true", default=False, help="no progress bar")
    return parser


def load_posts(path: Path) -> tuple[list[Post], list[tuple[Line, RecordError]]]:
    """Valid posts sorted by event time (file order among equal times), and the rejected lines."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror or err}") from None
    posts, rejected = [], []
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            parsed = parse_post(raw)
        except RecordError as err:
            rejected.append((Line(number, raw), err))
            continue
        posts.append(Post(parsed["event_time_ms"], number, parsed["id"], raw))
    posts.sort()
    return posts, rejected


class ProgressBar:
    """count/total, rate and ETA on one line of stderr (redrawn on a terminal, a line every few s otherwise)."""

    def __init__(self, total: int, stream: TextIO = sys.stderr, enabled: bool = True):
        self.total, self.stream, self.enabled = total, stream, enabled
        self.tty = stream.isatty() if enabled else False
        self.started = self._drawn = time.monotonic()

    def render(self, done: int, eta_seconds: float | None = None) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = done / elapsed
        if eta_seconds is None:
            eta_seconds = (self.total - done) / rate if rate > 0 else 0.0
        filled = int(20 * done / self.total) if self.total else 20
        eta = time.strftime("%H:%M:%S", time.gmtime(max(0.0, eta_seconds)))
        share = 100 * done / self.total if self.total else 100.0
        return (
            f"replay [{'#' * filled}{'-' * (20 - filled)}] {done:,}/{self.total:,} {share:5.1f}% "
            f"{rate:,.0f} msg/s ETA {eta}"
        )

    def update(self, done: int, eta_seconds: float | None = None, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not final and now - self._drawn < (0.2 if self.tty else 5.0)):
            return
        self._drawn = now
        end = "\n" if final or not self.tty else ""
        self.stream.write(("\r" if self.tty else "") + self.render(done, eta_seconds) + end)
        self.stream.flush()


def replay(
    posts: list[Post],
    producer,
    topic: str,
    speed: float | None,
    progress: ProgressBar,
    sleep=time.sleep,
    clock=time.monotonic,
) -> tuple[int, int]:
    """Sends the posts in order, paced by `speed`; returns (sent, timestamps clamped to now)."""
    pending, sent, clamped = [], 0, 0
    first_event, started = (posts[0].event_time_ms if posts else 0), clock()
    for index, post in enumerate(posts):
        eta = None
        if speed:
            due = started + (post.event_time_ms - first_event) / 1000 / speed
            if due > clock():
                sleep(due - clock())
            eta = (posts[-1].event_time_ms - post.event_time_ms) / 1000 / speed
        now_ms = int(time.time() * 1000)
        clamped += post.event_time_ms > now_ms
        pending.append(
            producer.send(
                topic,
                value=post.raw,
                key=post.post_id.encode("utf-8"),
                timestamp_ms=min(post.event_time_ms, now_ms),
            )
        )
        if len(pending) >= CHECK_EVERY:
            sent += await_delivery(producer, pending, topic)
            pending = []
        progress.update(index + 1, eta)
    sent += await_delivery(producer, pending, topic)
    progress.update(sent, 0.0, final=True)
    return sent, clamped


def send_dead_letters(rejected, producer, topic: str, source: str) -> int:
    futures = [
        producer.send(
            topic,
            json.dumps(
                dead_letter(
                    line.raw,
                    stage="replay",
                    reason=err.reason,
                    error=str(err),
                    source=RawRecord(line.raw, source, 0, line.number),
                ),
                ensure_ascii=False,
            ).encode("utf-8"),
        )
        for line, err in rejected
    ]
    return await_delivery(producer, futures, topic)


def main(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse has printed the usage and the error (or the help)
        return int(exit_.code or 0)
    try:
        if args.speed is not None and not args.speed > 0:
            raise UsageError(f"--speed must be a positive number, got {args.speed}")
        posts, rejected = load_posts(args.file)
        if not posts:
            raise UsageError(f"{args.file} holds no valid posts ({len(rejected)} lines rejected)")
    except UsageError as err:
        print(f"tendencias replay: {err}", file=sys.stderr)
        return 2
    reasons = Counter(err.reason for _, err in rejected)
    if rejected:
        where = f"sending them to {args.dead_letter_topic}" if args.dead_letter_topic else "skipping them"
        detail = ", ".join(f"{reason}: {count}" for reason, count in reasons.most_common())
        print(
            f"tendencias replay: {len(rejected)} lines are not valid posts ({detail}); {where}",
            file=sys.stderr,
        )
    try:
        producer = new_producer(
            args.bootstrap_servers, {"max_block_ms": 15_000}, client_id="tendencias-replay"
        )
    except Exception as err:
        print(
            f"tendencias replay: cannot connect to Kafka at {args.bootstrap_servers}: {err}", file=sys.stderr
        )
        return 1
    try:
        started = time.monotonic()
        sent, clamped = replay(
            posts, producer, args.topic, args.speed, ProgressBar(len(posts), enabled=not args.quiet)
        )
        dead = (
            send_dead_letters(rejected, producer, args.dead_letter_topic, str(args.file))
            if (args.dead_letter_topic and rejected)
            else 0
        )
    except Exception as err:  # delivery failures and broker errors end the replay with their reason
        kind = "delivery failed" if isinstance(err, KafkaDeliveryError) else type(err).__name__
        print(f"tendencias replay: {kind}: {err}", file=sys.stderr)
        return 1
    finally:
        producer.close(timeout=10)
    elapsed = time.monotonic() - started
    note = f"; {clamped} future timestamps set to the send time" if clamped else ""
    print(
        f"replayed {sent} posts to {args.topic} in {elapsed:.1f} s ({sent / max(elapsed, 1e-9):,.0f} msg/s); "
        f"{len(rejected)} lines rejected, {dead} sent as dead letters{note}",
        file=sys.stderr,
    )
    return 0
