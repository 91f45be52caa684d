"""The answer schema, its validator, and how a model response is split into answers and problems."""

from __future__ import annotations

import json

import pytest

from tendencias.models.sentiment.schema import (
    ASPECTS,
    POST_ANSWER_SCHEMA,
    RESPONSE_SCHEMA,
    check_answer,
    guess_aspects,
    parse_response,
    validate,
)


def answer(**changes) -> dict:
    base = {
        "id": "1",
        "label": "positive",
        "score": 0.7,
        "confidence": 0.9,
        "aspects": ["taste"],
        "lang": "es",
    }
    return {**base, **changes}


def test_a_good_answer_is_valid():
    assert check_answer(answer()) == []
    assert check_answer(answer(label="neutral", score=0, confidence=0, aspects=[], lang="und")) == []
    assert check_answer(answer(aspects=list(ASPECTS))) == []


@pytest.mark.parametrize(
    "changes, where",
    [
        ({"label": "great"}, "$.label"),
        ({"label": None}, "$.label"),
        ({"score": 1.5}, "$.score"),
        ({"score": -1.01}, "$.score"),
        ({"score": "0.5"}, "$.score"),
        ({"score": True}, "$.score"),
        ({"score": float("nan")}, "$.score"),
        ({"confidence": 1.2}, "$.confidence"),
        ({"confidence": -0.1}, "$.confidence"),
        ({"aspects": ["flavour"]}, "$.aspects[0]"),
        ({"aspects": "taste"}, "$.aspects"),
        ({"aspects": ["taste", "taste"]}, "$.aspects"),
        ({"lang": "fr"}, "$.lang"),
        ({"id": 1}, "$.id"),
        ({"extra": "x"}, "unexpected property 'extra'"),
        ({"score": -0.5}, "contradicts label"),
    ],
)
def test_each_break_is_caught_and_named(changes, where):
    errors = check_answer(answer(**changes))
    assert errors, changes
    assert any(where in e for e in errors), errors


def test_missing_fields_are_named():
    broken = answer()
    del broken["confidence"], broken["lang"]
    errors = check_answer(broken)
    assert "$: missing 'confidence'" in errors and "$: missing 'lang'" in errors


def test_validator_refuses_keywords_it_does_not_implement():
    with pytest.raises(ValueError, match="pattern"):
        validate("x", {"type": "string", "pattern": "^x$"})


def test_schema_is_strict_mode_ready():
    # OpenAI strict structured output: every property required, no additional properties.
    for schema in (RESPONSE_SCHEMA, POST_ANSWER_SCHEMA):
        assert set(schema["required"]) == set(schema["properties"])
        assert schema["additionalProperties"] is False


def response(*items) -> str:
    return json.dumps({"results": list(items)})


def test_parse_keeps_valid_answers_and_names_the_rest():
    content = response(answer(id="1"), answer(id="2", label="great"), answer(id="9"))
    answers, problems = parse_response(content, ["1", "2", "3"])
    assert list(answers) == ["1"] and "id" not in answers["1"]
    assert problems["2"].startswith("answer breaks the schema")
    assert problems["3"] == "missing from the answer"
    assert "9" not in answers and "9" not in problems  # ids nobody asked about are ignored


def test_parse_malformed_json_fails_every_post():
    answers, problems = parse_response("{not json", ["1", "2"])
    assert answers == {} and set(problems) == {"1", "2"}
    assert all(p.startswith("malformed JSON") for p in problems.values())


@pytest.mark.parametrize("content", ['[{"id": "1"}]', '{"answers": []}', '{"results": {}}', "null"])
def test_parse_wrong_shape_fails_every_post(content):
    answers, problems = parse_response(content, ["1"])
    assert answers == {} and "schema" in problems["1"]


def test_parse_no_content_and_duplicates():
    assert parse_response(None, ["1"])[1]["1"].startswith("empty answer")
    answers, problems = parse_response(response(answer(id="1"), answer(id="1")), ["1"])
    assert answers == {} and problems["1"] == "answered more than once"


def test_guess_aspects_by_keyword():
    assert guess_aspects("muy dulce y caro, la botella se rompe") == ["sweetness", "price", "packaging"]
    assert guess_aspects("tastes great but sold out everywhere") == ["taste", "availability"]
    assert guess_aspects("hola") == []
