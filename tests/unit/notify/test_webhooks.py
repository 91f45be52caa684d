"""Webhooks against a real local HTTP receiver: retries, signatures, one message per episode."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tendencias.notify.cli import main as notify_main
from tendencias.notify.webhooks import SIGNATURE_HEADER, SentEpisodes, Target, deliver, verify

SECRET = "whsec-test-123"


class Receiver:
    def __init__(self, failures: int = 0):
        self.failures = failures
        self.got: list[tuple[str, dict, bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if owner.failures:
                    owner.failures -= 1
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                else:
                    owner.got.append((self.path, dict(self.headers), body))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@pytest.fixture
def receiver():
    r = Receiver(failures=2)
    yield r
    r.httpd.shutdown()


ALERT = {
    "kind": "term",
    "key": "botella",
    "horizon": "15m",
    "severity": "alert",
    "episode": "ep-1",
    "window_end": "2026-11-03T14:15:00Z",
    "count": 4,
    "baseline": 0.1,
    "score": 7.3,
    "segment": "arequipa",
}


def test_retried_signed_and_sent_once_per_episode(receiver, tmp_path):
    targets = [Target("slack", receiver.url("/slack")), Target("webhook", receiver.url("/hook"), SECRET)]
    sent = SentEpisodes(tmp_path / "sent.sqlite")
    watch = dict(ALERT, severity="watch", episode="ep-2")
    first = deliver([ALERT, ALERT, watch], targets, sent, base_s=0.01)
    assert first == {"sent": 1, "skipped": 2, "failed": 0, "attempts": 4}  # two 503s retried
    slack, hook = receiver.got
    assert slack[0] == "/slack" and "botella" in json.loads(slack[2])["text"]
    signature = {k.lower(): v for k, v in hook[1].items()}[SIGNATURE_HEADER.lower()]
    assert verify(hook[2], signature, SECRET) and not verify(hook[2] + b" ", signature, SECRET)
    assert json.loads(hook[2])["episode"] == "ep-1"
    again = deliver([ALERT], targets, SentEpisodes(tmp_path / "sent.sqlite"))  # a restart: still once
    assert again["sent"] == 0 and len(receiver.got) == 2


def test_an_episode_that_never_got_through_is_tried_again_later(tmp_path):
    down = Receiver(failures=100)
    sent = SentEpisodes(tmp_path / "sent.sqlite")
    result = deliver([ALERT], [Target("slack", down.url("/s"))], sent, attempts=2, base_s=0.01)
    assert result["failed"] == 1 and "ep-1" not in sent
    down.failures = 0
    assert deliver([ALERT], [Target("slack", down.url("/s"))], sent)["sent"] == 1
    down.httpd.shutdown()


def test_notify_command_reads_the_archive(receiver, tmp_path, monkeypatch):
    (tmp_path / "trends").mkdir()
    (tmp_path / "trends" / "trends-1.jsonl").write_text(json.dumps(ALERT) + "\n")
    receiver.failures = 0
    monkeypatch.setenv("TENDENCIAS_WEBHOOK_URL", receiver.url("/hook"))
    monkeypatch.delenv("TENDENCIAS_WEBHOOK_SECRET", raising=False)
    with pytest.raises(SystemExit):  # an unsigned generic webhook is refused
        notify_main(["--archive", str(tmp_path)])
    monkeypatch.setenv("TENDENCIAS_WEBHOOK_SECRET", SECRET)
    assert notify_main(["--archive", str(tmp_path)]) == 0 and len(receiver.got) == 1
