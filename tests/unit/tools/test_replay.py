"""tendencias replay without a broker: ordering, pacing, rejected lines, flags and exit codes."""

from __future__ import annotations

import io
import json

import pytest

from tendencias.tools import replay

T0 = 1740830400000


def write_posts(path, times_ms: list[int], extra_lines: list[bytes] = ()) -> None:
    lines = [
        json.dumps({"id": f"p{i}", "text": "qué rica la chicha", "created_at": t}).encode()
        for i, t in enumerate(times_ms)
    ]
    path.write_bytes(b"\n".join(lines + list(extra_lines)) + b"\n")


class Done:
    def get(self, timeout=None):
        return None


class FakeProducer:
    def __init__(self, clock):
        self.clock, self.sent = clock, []

    def send(self, topic, value, key=None, timestamp_ms=None):
        self.sent.append((self.clock(), topic, key, timestamp_ms, value))
        return Done()

    def flush(self, timeout=None):
        pass


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.now += seconds


def test_load_sorts_by_event_time_and_rejects_bad_lines(tmp_path):
    path = tmp_path / "posts.jsonl"
    write_posts(path, [T0 + 3000, T0, T0 + 1000, T0], [b"{nope", b"", json.dumps({"text": "x"}).encode()])
    posts, rejected = replay.load_posts(path)
    assert [(p.post_id, p.event_time_ms) for p in posts] == [
        ("p1", T0),
        ("p3", T0),
        ("p2", T0 + 1000),
        ("p0", T0 + 3000),
    ]
    assert [(line.number, err.reason) for line, err in rejected] == [(5, "not_json"), (7, "missing_id")]


def test_speed_keeps_the_gaps_compressed(tmp_path):
    path = tmp_path / "posts.jsonl"
    write_posts(path, [T0, T0 + 60_000, T0 + 120_000])
    posts, _ = replay.load_posts(path)
    clock = FakeClock()
    producer = FakeProducer(clock)
    progress = replay.ProgressBar(len(posts), io.StringIO(), enabled=False)
    sent, clamped = replay.replay(posts, producer, "t", 60.0, progress, sleep=clock.sleep, clock=clock)
    assert (sent, clamped) == (3, 0)
    assert [round(at - 100.0, 6) for at, *_ in producer.sent] == [0.0, 1.0, 2.0]  # 60 s of events per second
    assert [(key, ts) for _, _, key, ts, _ in producer.sent] == [
        (b"p0", T0),
        (b"p1", T0 + 60_000),
        (b"p2", T0 + 120_000),
    ]


def test_as_fast_as_possible_never_sleeps_and_clamps_future_times(tmp_path):
    path = tmp_path / "posts.jsonl"
    future = 4102444800000  # 2100-01-01
    write_posts(path, [T0, future])
    posts, _ = replay.load_posts(path)
    clock = FakeClock()
    producer = FakeProducer(clock)
    progress = replay.ProgressBar(len(posts), io.StringIO(), enabled=False)
    sent, clamped = replay.replay(posts, producer, "t", None, progress, sleep=clock.sleep, clock=clock)
    assert (sent, clamped, clock.now) == (2, 1, 100.0)
    assert producer.sent[1][3] < future


def test_progress_line_shows_count_rate_and_eta():
    stream = io.StringIO()
    bar = replay.ProgressBar(200, stream)
    bar.update(50, eta_seconds=75, final=True)
    line = stream.getvalue()
    assert "50/200" in line and "25.0%" in line and "msg/s" in line and "ETA 00:01:15" in line


@pytest.mark.parametrize(
    "argv, message",
    [
        (["missing.jsonl", "--topic", "t"], "cannot read"),
        (["{file}", "--topic", "t", "--speed", "0"], "--speed must be a positive number"),
        (["{file}"], "--topic"),
        (["{file}", "--topic", "t", "--speed", "fast"], "invalid float"),
        (["{empty}", "--topic", "t"], "no valid posts"),
    ],
)
def test_bad_input_exits_2_with_a_message(tmp_path, capsys, argv, message):
    good, empty = tmp_path / "posts.jsonl", tmp_path / "empty.jsonl"
    write_posts(good, [T0])
    empty.write_bytes(b"{bad\n")
    argv = [a.format(file=good, empty=empty) for a in argv]
    assert replay.main(argv) == 2
    assert message in capsys.readouterr().err
