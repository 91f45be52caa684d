"""EnrichSentiment against a real third-party server: llama-cpp-python's OpenAI-compatible server
with SmolLM2-135M (scripts/llm_server.sh builds and starts it), through a recording reverse proxy
on loopback (a real HTTP hop that forwards bytes unchanged and keeps every request body).

That server refuses response_format json_schema (HTTP 500): the stage must see that once, go on
with json_object and the schema, validate every answer (the tiny model breaks the schema often:
those posts fall back to local with a reason), and send no personal data.
In CI (CI=true) a server that cannot be set up fails the test; elsewhere it skips with the reason.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tendencias.models.sentiment.schema import check_answer
from tests.integration.test_enrich_sentiment import make_posts, run_stage

ROOT = Path(__file__).resolve().parents[2]
DUMMY_KEY = "sk-local-llama-dummy-0000"  # llama_cpp.server checks no key; the client needs one

# Personal data planted in the posts: none of it may reach the server.
PLANTED = [
    "ana.quispe@gmail.com",
    "987654321",
    "+51 912 345 678",
    "@pepe_bebidas",
    "45678912",
    "jr. lampa 1234 dpto 5",
    "Av. Arequipa N° 2450",
    "Mz. B Lt. 12",
    "(01) 234-5678",
]
TEXTS = [
    "me encanta la nueva inca kola, escríbanme a ana.quispe@gmail.com",
    "horrible y caro, llamen al 987654321 para reclamos",
    "la compré en jr. lampa 1234 dpto 5 y estaba caliente",
    "buenísima, gracias @pepe_bebidas por el dato",
    "mi DNI es 45678912 para el sorteo de la chela",
    "entreguen en Av. Arequipa N° 2450, qué rico el guaraná",
    "vivo en Mz. B Lt. 12, no llega el delivery, pésimo",
    "pedidos al +51 912 345 678 o al (01) 234-5678, súper refrescante",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server():
    """Base URL of llama-cpp-python's server, started (and built, the first time) by the script."""
    env = dict(os.environ, TENDENCIAS_LLM_PORT=str(_free_port()))
    script = str(ROOT / "scripts/llm_server.sh")
    result = subprocess.run([script, "start"], env=env, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        reason = f"llama-cpp-python's server could not be set up by scripts/llm_server.sh:\n{result.stderr[-2000:]}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        print(reason)
        pytest.skip(reason)
    try:
        yield result.stdout.strip()
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, text=True)


class RecordingProxy:
    """A reverse proxy on loopback: forwards each request to `upstream`, keeps its body."""

    def __init__(self, upstream: str):
        parts = urlsplit(upstream)
        self.host, self.port, self.prefix = parts.hostname, parts.port, parts.path.rstrip("/")
        self.bodies: list[bytes] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.bodies.append(body)
                upstream = http.client.HTTPConnection(proxy.host, proxy.port, timeout=600)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                path = proxy.prefix + self.path.removeprefix("/v1")
                upstream.request("POST", path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_enrich_sentiment_through_llama_cpp_server(llama_server, monkeypatch):
    proxy = RecordingProxy(llama_server)
    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", proxy.base_url)
    try:
        # text_clean holds the raw text on purpose: the client's own redaction is under test.
        out, dead, ledger = run_stage(
            make_posts(TEXTS),
            backend="openai",
            model="smollm2",
            cache_url="none",
            local_confidence_threshold=None,
            timeout_s=300,
            max_posts_per_request=4,
            max_concurrent=2,
        )
    finally:
        proxy.close()

    requests = [json.loads(body) for body in proxy.bodies]
    kinds = [r["response_format"]["type"] for r in requests]
    assert kinds[0] == "json_schema" and kinds.count("json_schema") == 1, kinds
    assert len(kinds) >= 3 and set(kinds[1:]) == {"json_object"}  # two groups, at least once each
    assert all(r["response_format"]["schema"]["required"] == ["results"] for r in requests[1:])
    assert ledger["format_refusals"] == 1

    # What the server received: no planted personal data, placeholders instead.
    received = b"\n".join(proxy.bodies).decode("utf-8")
    sent_texts = " ".join(
        p["text"]
        for r in requests
        for m in r["messages"]
        if m["role"] == "user"
        for p in json.loads(m["content"])
    )
    for secret in PLANTED:
        assert secret not in received and secret not in sent_texts, secret
    for placeholder in ("<email>", "<phone>", "@usuario", "<dni>", "<address>"):
        assert placeholder in sent_texts, placeholder

    # Every answer validated: kept answers pass the schema, the others fell back with a reason.
    by_source = {"llm": [], "local": []}
    for post in out.values():
        by_source[post["sentiment"]["source"]].append(post)
    for post in by_source["llm"]:
        answer = {k: post["sentiment"][k] for k in ("label", "score", "confidence", "aspects", "lang")}
        answer["id"] = "1"  # the request's id for the post, not kept on the post
        assert check_answer(answer) == [], post["sentiment"]
    assert sorted(d["reason"] for d in dead) == ["invalid_answer"] * len(by_source["local"])
    assert all(d["error"] for d in dead)
    print(
        f"llama.cpp interop: {len(requests)} requests ({kinds.count('json_object')} json_object), "
        f"{len(by_source['llm'])} answers kept, {len(by_source['local'])} rejected and labelled locally"
    )
