"""The OpenAI handler against a real HTTP server, through the real `openai` client.

Every fault ends in a retry or in a per-post failure the stage turns into a fallback; what
the server received is what the assertions look at.
"""

from __future__ import annotations

import json
import logging
import pickle
import time

import pytest

from tendencias.models.sentiment.openai_api import (
    MissingAPIKey,
    OpenAISentimentHandler,
    pack_by_tokens,
    post_weight,
)
from tendencias.models.sentiment.prompt import RESPONSE_FORMAT, SYSTEM_PROMPT
from tests.openai_server import SECRET_KEY, label_for, serve_for_test


@pytest.fixture
def openai_server(monkeypatch):
    yield from serve_for_test(monkeypatch)


TEXTS = ["me encanta, súper rica", "horrible y caro", "la compré ayer en la bodega"]


def posts(texts=TEXTS) -> list[dict]:
    return [
        {"id": f"p{n}", "text": f"RAW-{n} {t}", "text_clean": t, "lang": "es"} for n, t in enumerate(texts)
    ]


def make_handler(**overrides) -> OpenAISentimentHandler:
    args = dict(cache_url="none", timeout_s=0.5, backoff_base_s=0.01, max_attempts=4)
    return OpenAISentimentHandler(**(args | overrides))


def ask(handler: OpenAISentimentHandler, batch: list[dict]) -> list[dict]:
    return [r.inference for r in handler.request(batch, handler.create_client())]


def assert_all_answered(inferences: list[dict], texts=TEXTS) -> None:
    assert [i["answer"]["label"] for i in inferences] == [label_for(t)[0] for t in texts]
    assert {i["source"] for i in inferences} == {"llm"}


def test_request_is_structured_output_with_posts_as_data(openai_server):
    assert_all_answered(ask(make_handler(), posts()))
    (request,) = openai_server.chat_requests()
    body = request["body"]
    assert body["response_format"] == RESPONSE_FORMAT
    assert body["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert [p["text"] for p in openai_server.sent_posts()] == TEXTS
    assert request["headers"]["authorization"] == f"Bearer {SECRET_KEY}"


def test_429_waits_for_retry_after_then_succeeds(openai_server):
    openai_server.add_faults("429:1")
    handler = make_handler()
    assert_all_answered(ask(handler, posts()))
    first, second = openai_server.chat_requests()
    assert second["time"] - first["time"] >= 1.0
    assert handler.ledger.totals()["retries"] == 1


@pytest.mark.parametrize("fault", ["500", "disconnect", "slow:2"])
def test_server_errors_drops_and_timeouts_are_retried(openai_server, fault):
    openai_server.add_faults(fault)
    handler = make_handler()
    assert_all_answered(ask(handler, posts()))
    assert len(openai_server.chat_requests()) == 2
    assert handler.ledger.totals()["retries"] == 1


def test_client_errors_are_not_retried(openai_server):
    openai_server.add_faults("400")
    inferences = ask(make_handler(), posts())
    assert len(openai_server.chat_requests()) == 1
    assert {i["error"] for i in inferences} == {"api_error"}
    assert "HTTP 400" in inferences[0]["detail"] and "not retryable" in inferences[0]["detail"]


def test_out_of_attempts_fails_each_post_with_the_reason(openai_server):
    openai_server.add_faults("500", "500", "500", "500")
    inferences = ask(make_handler(), posts())
    assert len(openai_server.chat_requests()) == 4
    assert all(i["error"] == "api_error" and "gave up after 4 attempts" in i["detail"] for i in inferences)


def test_an_endpoint_that_keeps_failing_is_not_called_until_the_cooldown(openai_server):
    openai_server.add_faults("400", "400")
    handler = make_handler(breaker_failures=2, breaker_cooldown_s=60)
    client = handler.create_client()
    for text in TEXTS:  # three batches: two fail at the server, the third never leaves
        (result,) = handler.request(posts([text]), client)
    assert len(openai_server.chat_requests()) == 2
    assert result.inference["error"] == "api_error" and "calls resume in" in result.inference["detail"]


def test_retry_after_longer_than_the_stage_may_wait_fails_over_at_once(openai_server):
    openai_server.add_faults("429:120")
    inferences = ask(make_handler(backoff_max_s=5), posts())
    assert len(openai_server.chat_requests()) == 1
    assert {i["error"] for i in inferences} == {"api_error"}


@pytest.mark.parametrize("fault", ["malformed", "schema"])
def test_an_invalid_answer_is_asked_once_more(openai_server, fault):
    openai_server.add_faults(fault)
    handler = make_handler()
    assert_all_answered(ask(handler, posts()))
    first, second = openai_server.chat_requests()
    assert first["body"]["messages"] == second["body"]["messages"]
    assert handler.ledger.totals()["invalid_answers"] == len(TEXTS)


@pytest.mark.parametrize("faults", [("malformed", "malformed"), ("schema", "malformed")])
def test_an_answer_invalid_twice_is_a_failure(openai_server, faults):
    openai_server.add_faults(*faults)
    inferences = ask(make_handler(), posts())
    assert len(openai_server.chat_requests()) == 2
    assert {i["error"] for i in inferences} == {"invalid_answer"}


def test_a_partial_answer_asks_only_for_the_missing_post(openai_server):
    openai_server.add_faults("partial")
    assert_all_answered(ask(make_handler(), posts()))
    _, second = openai_server.chat_requests()
    assert [p["text"] for p in json.loads(second["body"]["messages"][1]["content"])] == [TEXTS[-1]]


def test_many_posts_per_request_packed_to_the_token_budget(openai_server):
    texts = [f"post número {n} {'muy rico ' * (n % 7)}" for n in range(120)]
    handler = make_handler(token_budget=400, max_posts_per_request=25)
    ask(handler, posts(texts))
    sizes = [len(json.loads(r["body"]["messages"][1]["content"])) for r in openai_server.chat_requests()]
    expected = pack_by_tokens(posts(texts), 400, 25, post_weight)
    assert sorted(sizes) == sorted(len(g) for g in expected)
    assert sum(sizes) == 120 and max(sizes) <= 25 and len(sizes) < 120 / 5


def test_duplicates_in_a_batch_are_asked_once(openai_server):
    texts = ["Me encanta la chicha", "me encanta la  chicha", "RT @usuario: Me encanta la chicha", "horrible"]
    inferences = ask(make_handler(), posts(texts))
    assert [p["text"] for p in openai_server.sent_posts()] == ["Me encanta la chicha", "horrible"]
    assert [i["source"] for i in inferences] == ["llm", "cache", "cache", "llm"]
    assert {i["answer"]["label"] for i in inferences[:3]} == {"positive"}


def test_no_personal_data_reaches_the_server(openai_server):
    planted = [
        "ana.perez@gmail.com",
        "+51 987 654 321",
        "987654321",
        "(01) 234-5678",
        "@ana_perez",
        "45678912",
        "20123456789",
        "4111 1111 1111 1111",
        "https://mi.blog/ana",
    ]
    texts = [
        f"rico, escríbeme a {planted[0]} o al {planted[1]}",
        f"cel {planted[2]}, fijo {planted[3]}",
        f"{planted[4]} DNI {planted[5]} RUC {planted[6]}",
        f"pagué con {planted[7]}, ver {planted[8]}",
    ]
    ask(make_handler(), posts(texts))  # text_clean unredacted here: the handler redacts again
    received = openai_server.everything_received()
    assert len(openai_server.sent_posts()) == len(texts)
    for secret in planted + ["RAW-"]:  # nor is the raw `text` field ever read
        assert secret not in received, secret
    assert "<email>" in received and "@usuario" in received and "<dni>" in received


def test_the_key_stays_out_of_logs_errors_reprs_and_pickles(openai_server, caplog):
    caplog.set_level(logging.DEBUG)
    openai_server.add_faults(*["500_echo_auth"] * 4)
    handler = make_handler()
    client = handler.create_client()
    inferences = [r.inference for r in handler.request(posts(), client)]
    assert "bad auth" in inferences[0]["detail"]  # the server did echo the header back...
    assert SECRET_KEY in openai_server.chat_requests()[0]["headers"]["authorization"]
    for text in [caplog.text, repr(handler), repr(client), str(inferences)]:  # ...and it went nowhere
        assert SECRET_KEY not in text
    assert SECRET_KEY.encode() not in pickle.dumps(handler)


def test_missing_key_is_a_clear_error(openai_server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(MissingAPIKey, match="OPENAI_API_KEY is not set"):
        make_handler().create_client()


def test_requests_in_flight_are_capped(openai_server):
    openai_server.latency_s = 0.2
    handler = make_handler(
        max_concurrent=2, token_budget=100, max_posts_per_request=1, requests_per_minute=10**6
    )
    ask(handler, posts(TEXTS * 2 + ["otra", "y otra"]))
    assert openai_server.peak_in_flight == 2


def test_requests_per_minute_are_paced(openai_server):
    handler = make_handler(requests_per_minute=120, max_posts_per_request=1, max_concurrent=4)
    start = time.monotonic()
    ask(handler, posts([f"post {n}" for n in range(6)]))
    # a one-second burst of 2, then 2 per second: the 6th request cannot start before 2 s
    arrivals = [r["time"] for r in openai_server.chat_requests()]
    assert max(arrivals) - start >= 1.9
