"""The JSON schema of the model's sentiment answers, and a strict validator for it.

One post's answer: label, score in [-1, 1], confidence in [0, 1], aspects from a fixed list,
lang, and the id of the post it answers. A whole response is an object holding those answers
in `results` (OpenAI structured output needs an object at the root, not an array).

The validator covers the keywords these schemas use (type, enum, minimum, maximum, required,
properties, additionalProperties, items, maxItems) so the project needs no `jsonschema`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

LABELS = ("negative", "neutral", "positive")
ASPECTS = (
    "taste",
    "sweetness",
    "price",
    "size",
    "packaging",
    "availability",
    "health",
    "energy",
    "brand",
    "service",
    "other",
)
LANGS = ("es", "en", "mixed", "und")
ANSWER_FIELDS = ("label", "score", "confidence", "aspects", "lang")

POST_ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "label": {"type": "string", "enum": list(LABELS)},
        "score": {"type": "number", "minimum": -1, "maximum": 1},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "aspects": {
            "type": "array",
            "items": {"type": "string", "enum": list(ASPECTS)},
            "maxItems": len(ASPECTS),
        },
        "lang": {"type": "string", "enum": list(LANGS)},
    },
    "required": ["id", *ANSWER_FIELDS],
    "additionalProperties": False,
}

RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"results": {"type": "array", "items": POST_ANSWER_SCHEMA}},
    "required": ["results"],
    "additionalProperties": False,
}

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_SUPPORTED = {
    "type",
    "enum",
    "minimum",
    "maximum",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "maxItems",
}


def validate(instance: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Every way `instance` breaks `schema`, as "path: problem" strings (empty when valid)."""
    unknown = set(schema) - _SUPPORTED
    if unknown:
        raise ValueError(f"schema keyword(s) {sorted(unknown)} not supported by this validator")
    kind = schema.get("type")
    if kind is not None and not _TYPES[kind](instance):
        return [f"{path}: expected {kind}, got {type(instance).__name__}"]
    errors: list[str] = []
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{path}: {instance!r} is not one of {schema['enum']}")
    if "minimum" in schema and instance < schema["minimum"]:
        errors.append(f"{path}: {instance} is below the minimum {schema['minimum']}")
    if "maximum" in schema and instance > schema["maximum"]:
        errors.append(f"{path}: {instance} is above the maximum {schema['maximum']}")
    if isinstance(instance, dict):
        errors += [f"{path}: missing {name!r}" for name in schema.get("required", []) if name not in instance]
        properties = schema.get("properties", {})
        for name, value in instance.items():
            if name in properties:
                errors += validate(value, properties[name], f"{path}.{name}")
            elif schema.get("additionalProperties", True) is False:
                errors.append(f"{path}: unexpected property {name!r}")
    if isinstance(instance, list):
        if "maxItems" in schema and len(instance) > schema["maxItems"]:
            errors.append(f"{path}: more than {schema['maxItems']} items")
        if "items" in schema:
            for index, item in enumerate(instance):
                errors += validate(item, schema["items"], f"{path}[{index}]")
    return errors


def check_answer(answer: Any) -> list[str]:
    """Schema errors of one post's answer, plus the rules a schema cannot say."""
    errors = validate(answer, POST_ANSWER_SCHEMA)
    if errors:
        return errors
    if len(set(answer["aspects"])) != len(answer["aspects"]):
        errors.append("$.aspects: repeated aspect")
    label, score = answer["label"], answer["score"]
    if (label == "positive" and score < 0) or (label == "negative" and score > 0):
        errors.append(f"$.score: {score} contradicts label {label!r}")
    return errors


def parse_response(content: str | None, expected_ids: list[str]) -> tuple[dict[str, dict], dict[str, str]]:
    """Split a model response into valid answers by id and a reason for each id without one.

    Valid answers are kept even when others in the same response are broken, so only the
    broken ones need asking again.
    """
    answers: dict[str, dict] = {}
    if content is None:
        return answers, {i: "empty answer (no content)" for i in expected_ids}
    try:
        body = json.loads(content)
    except json.JSONDecodeError as err:
        return answers, {i: f"malformed JSON: {err.msg} at char {err.pos}" for i in expected_ids}
    top = validate(body, {**RESPONSE_SCHEMA, "properties": {"results": {"type": "array"}}})
    if top:
        return answers, {i: "answer breaks the schema: " + "; ".join(top[:3]) for i in expected_ids}
    problems: dict[str, str] = {}
    expected = set(expected_ids)
    for item in body["results"]:
        post_id = item.get("id") if isinstance(item, dict) else None
        if post_id not in expected:
            continue
        errors = check_answer(item)
        if post_id in answers or post_id in problems:
            problems[post_id] = "answered more than once"
            answers.pop(post_id, None)
        elif errors:
            problems[post_id] = "answer breaks the schema: " + "; ".join(errors[:3])
        else:
            answers[post_id] = {field: item[field] for field in ANSWER_FIELDS}
    for post_id in expected_ids:
        if post_id not in answers and post_id not in problems:
            problems[post_id] = "missing from the answer"
    return answers, problems


# Aspect words for answers that do not come from the LLM (local model, fallbacks).
_ASPECT_WORDS = {
    "taste": r"sabor\w*|sabros\w*|ric[oa]s?|delicios\w*|taste\w*|tasty|flavou?r\w*|yummy|asco",
    "sweetness": r"dulce\w*|az[uú]car\w*|empalagos\w*|sweet\w*|sugar\w*",
    "price": r"precio\w*|car[oa]s?|barat\w*|soles|oferta\w*|price\w*|expensive|cheap|s/",
    "size": r"tamañ\w*|litros?|ml|personal|grande|chic[oa]|size|big|small|large",
    "packaging": r"botella\w*|envase\w*|lata\w*|empaque\w*|tapa\w*|bottle\w*|can|packag\w*|label",
    "availability": r"agotad\w*|no hay|encuentr\w*|stock|disponib\w*|sold out|available",
    "health": r"salud\w*|san[oa]s?|light|zero|diet\w*|natural\w*|health\w*|calor\w*",
    "energy": r"energ\w*|cafe[ií]na|despiert\w*|caffeine|boost",
    "service": r"atenci[oó]n|delivery|servicio|reparto|service|support",
}
_ASPECT_PATTERNS = {k: re.compile(rf"(?<!\w)(?:{v})(?!\w)", re.IGNORECASE) for k, v in _ASPECT_WORDS.items()}


def guess_aspects(text: str) -> list[str]:
    """Aspects named in `text` by keyword, in the fixed order of ASPECTS."""
    return [aspect for aspect, pattern in _ASPECT_PATTERNS.items() if pattern.search(text or "")]
