"""Writes a brief: the facts plus a title, summary and ideas from the model, or the template.

The model is reached through the sentiment stage's client (openai_api.OpenAISentimentHandler:
its client, limits, circuit breaker and retries, `send_chat`), with the same answer cache
(keyed by the facts' digest, the prompt version and the model) and a cost ledger of its own
in the "briefs" namespace. The facts are redacted again before they leave (prompt.py). An
answer that breaks the schema is asked once more; a second failure, a failing API, or no API
key in "auto" mode gives the template's brief, with `model` saying so.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from tendencias.models.briefs.prompt import BRIEF_PROMPT_VERSION, brief_request, check_answer, user_content
from tendencias.models.briefs.template import template_brief
from tendencias.models.sentiment.backend import API_KEY_ENV
from tendencias.models.sentiment.cache import cache_key
from tendencias.models.sentiment.openai_api import OpenAISentimentHandler, SentimentAPIError, scrub

LOGGER = logging.getLogger(__name__)
MODES = ("auto", "llm", "template")
TEMPLATE_MODEL = "template-v1"


def brief_id(facts: dict) -> str:
    return facts["story"] or f"week:{facts['period']}"


class BriefWriter:
    def __init__(
        self,
        mode: str = "auto",
        model: str = "gpt-4o-mini",
        *,
        base_url: str | None = None,
        cache_url: str | None = None,
        price_in_per_1k: float = 0.00015,
        price_out_per_1k: float = 0.0006,
        timeout_s: float = 60.0,
        max_attempts: int = 4,
    ):
        if mode not in MODES:
            raise ValueError(f"brief mode must be one of {', '.join(MODES)}, got {mode!r}")
        if mode == "llm" and not os.environ.get(API_KEY_ENV):
            raise ValueError(f"brief mode 'llm' needs {API_KEY_ENV} in the environment")
        self.mode = mode
        self.model = model
        self._handler = OpenAISentimentHandler(
            model,
            base_url=base_url,
            cache_url=cache_url,
            price_in_per_1k=price_in_per_1k,
            price_out_per_1k=price_out_per_1k,
            timeout_s=timeout_s,
            max_attempts=max_attempts,
            max_concurrent=1,
            ledger_namespace="briefs",
        )
        self._client = None

    @property
    def uses_model(self) -> bool:
        return self.mode == "llm" or (self.mode == "auto" and bool(os.environ.get(API_KEY_ENV)))

    @property
    def ledger(self):
        return self._handler.ledger

    def write(self, facts: dict) -> dict:
        """The brief record of `facts` (see the Brief contract in README)."""
        text, model, cost = (
            None,
            TEMPLATE_MODEL,
            {"tokens_in": 0, "tokens_out": 0, "usd": 0.0, "source": "template"},
        )
        if self.uses_model:
            text, cost = self._ask(facts)
            if text is not None:
                model = self.model
        if text is None:
            text = template_brief(facts)
        return {"id": brief_id(facts), **facts, **text, "model": model, "cost": cost}

    def _ask(self, facts: dict) -> tuple[dict | None, dict[str, Any]]:
        if self._client is None:
            self._client = self._handler.create_client()
        key = cache_key(user_content(facts), BRIEF_PROMPT_VERSION, self.model)
        cached = self._client.cache.get_many([key]).get(key)
        if cached:
            self.ledger.add("cache_hits")
            self.ledger.flush()
            return cached, {"tokens_in": 0, "tokens_out": 0, "usd": 0.0, "source": "cache"}
        self.ledger.add("cache_misses")
        before = self.ledger.totals()
        body, estimate = brief_request(self.model, facts)
        answer, problems = None, []
        try:
            for _ in range(2):
                answer, problems = check_answer(self._handler.send_chat(body, estimate, self._client))
                if answer is not None:
                    break
                self.ledger.add("invalid_answers")
        except SentimentAPIError as err:
            problems = [str(err)]
        after = self.ledger.totals()
        self.ledger.flush()
        cost = {
            "tokens_in": after["tokens_in"] - before["tokens_in"],
            "tokens_out": after["tokens_out"] - before["tokens_out"],
            "usd": round((after["spend_microusd"] - before["spend_microusd"]) / 1e6, 6),
            "source": "llm" if answer is not None else "template",
        }
        if answer is None:
            self.ledger.add("fallbacks")
            LOGGER.warning(
                "brief for %s from the template: %s", brief_id(facts), scrub("; ".join(problems[:3]))
            )
            return None, cost
        self._client.cache.put_many({key: answer})
        return answer, cost
