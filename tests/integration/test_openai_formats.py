"""Servers without response_format json_schema, and which errors are retried, against a real
HTTP server (tests/openai_server.py) through the real `openai` client."""

from __future__ import annotations

import json

import pytest

from tendencias.models.sentiment.openai_api import OpenAISentimentHandler
from tendencias.models.sentiment.prompt import JSON_OBJECT_FORMAT, SYSTEM_PROMPT, SYSTEM_PROMPT_WITH_SCHEMA
from tendencias.models.sentiment.schema import RESPONSE_SCHEMA
from tests.openai_server import label_for, serve_for_test

TEXTS = [
    f"{t} {n}" for n in range(6) for t in ("me encanta, súper rica", "horrible y caro", "la compré ayer")
]


@pytest.fixture
def llama_like_server(monkeypatch):
    yield from serve_for_test(monkeypatch, refuse_json_schema=True)


@pytest.fixture
def openai_server(monkeypatch):
    yield from serve_for_test(monkeypatch)


def make_handler(**overrides) -> OpenAISentimentHandler:
    args = dict(cache_url="none", timeout_s=2, backoff_base_s=0.01, max_attempts=4)
    return OpenAISentimentHandler(**(args | overrides))


def ask(handler: OpenAISentimentHandler, texts: list[str]) -> list[dict]:
    batch = [{"id": f"p{n}", "text_clean": t} for n, t in enumerate(texts)]
    return [r.inference for r in handler.request(batch, handler.create_client())]


def formats(server) -> list[str]:
    return [r["body"]["response_format"]["type"] for r in server.chat_requests()]


def test_a_refusal_of_json_schema_is_seen_once_then_json_object_with_the_schema(llama_like_server):
    handler = make_handler(max_posts_per_request=3, max_concurrent=4)  # 6 requests on 4 threads
    inferences = ask(handler, TEXTS)
    assert [i["answer"]["label"] for i in inferences] == [label_for(t)[0] for t in TEXTS]
    assert formats(llama_like_server) == ["json_schema"] + ["json_object"] * 6
    for request in llama_like_server.chat_requests()[1:]:
        body = request["body"]
        assert body["response_format"] == JSON_OBJECT_FORMAT
        assert body["messages"][0]["content"] == SYSTEM_PROMPT_WITH_SCHEMA
        assert json.dumps(RESPONSE_SCHEMA, separators=(",", ":")) in SYSTEM_PROMPT_WITH_SCHEMA
        assert body["max_tokens"] == body["max_completion_tokens"]
    totals = handler.ledger.totals()
    assert totals["format_refusals"] == 1 and totals["retries"] == 0


def test_the_refusal_is_remembered_for_the_endpoint(llama_like_server):
    ask(make_handler(), TEXTS[:3])
    ask(make_handler(), TEXTS[3:6])  # a new handler and client, same base URL
    assert formats(llama_like_server) == ["json_schema", "json_object", "json_object"]


def test_a_server_that_takes_json_schema_keeps_it(openai_server):
    handler = make_handler(max_posts_per_request=3)
    ask(handler, TEXTS)
    assert set(formats(openai_server)) == {"json_schema"}
    assert openai_server.chat_requests()[0]["body"]["messages"][0]["content"] == SYSTEM_PROMPT
    assert handler.ledger.totals()["format_refusals"] == 0


def test_a_400_naming_json_schema_also_switches(openai_server):
    openai_server.add_faults("400_json_schema")
    inferences = ask(make_handler(), TEXTS[:3])
    assert all("answer" in i for i in inferences)
    assert formats(openai_server) == ["json_schema", "json_object"]


def test_json_object_answers_are_still_validated(llama_like_server):
    llama_like_server.add_faults("ok", "schema", "schema")  # the refusal takes no fault
    inferences = ask(make_handler(), TEXTS[:3])
    assert {i["error"] for i in inferences} == {"invalid_answer"}
    assert "is not one of" in inferences[0]["detail"] or "maximum" in inferences[0]["detail"]
    assert formats(llama_like_server) == ["json_schema", "json_object", "json_object"]


@pytest.mark.parametrize("status", ["400", "401", "403", "404", "422"])
def test_other_client_errors_are_never_retried(openai_server, status):
    openai_server.add_faults(status)
    handler = make_handler()
    inferences = ask(handler, TEXTS[:3])
    assert len(openai_server.chat_requests()) == 1
    assert all(f"HTTP {status}" in i["detail"] and "not retryable" in i["detail"] for i in inferences)
    assert handler.ledger.totals()["retries"] == 0


@pytest.mark.parametrize("status", ["408", "409"])
def test_timeout_and_conflict_are_retried(openai_server, status):
    openai_server.add_faults(status)
    handler = make_handler()
    assert all("answer" in i for i in ask(handler, TEXTS[:3]))
    assert len(openai_server.chat_requests()) == 2 and handler.ledger.totals()["retries"] == 1
