"""Which `response_format` an endpoint takes, learnt from its first refusal and remembered.

OpenAI takes "json_schema"; llama-cpp-python's server refuses it (HTTP 500, a validation error
naming response_format and json_schema) and takes "json_object" with a schema. The first
request to an endpoint probes "json_schema" alone while the others wait for the verdict, so a
refusing server sees it once per process; after a refusal every request uses "json_object".
"""

from __future__ import annotations

import threading

import openai

JSON_SCHEMA, JSON_OBJECT = "json_schema", "json_object"


def refuses_json_schema(err: Exception) -> bool:
    """True when `err` is a server saying it does not take response_format json_schema."""
    if not isinstance(err, openai.APIStatusError) or err.status_code in (401, 403, 404, 408, 409, 429):
        return False
    said = f"{err.message} {err.body}".lower()
    return "json_schema" in said and "response_format" in said


class FormatNegotiator:
    """The format of one endpoint: unknown (probing), "json_schema" or "json_object"."""

    def __init__(self, probe_wait_s: float = 120.0):
        self.known: str | None = None
        self._probing = False
        self._changed = threading.Condition()
        self.probe_wait_s = probe_wait_s

    def acquire(self) -> str:
        """The format to send; while unknown, one caller probes and the others wait."""
        with self._changed:
            self._changed.wait_for(lambda: self.known or not self._probing, timeout=self.probe_wait_s)
            if self.known:
                return self.known
            self._probing = True
            return JSON_SCHEMA

    def settle(self, sent: str, refused: bool, answered: bool) -> None:
        """After a request in format `sent`: refused (json_schema refused), answered, or neither."""
        with self._changed:
            if sent == JSON_SCHEMA and refused:
                self.known = JSON_OBJECT
            elif answered and self.known is None:
                self.known = sent
            if sent == JSON_SCHEMA:
                self._probing = False
            self._changed.notify_all()


_NEGOTIATORS: dict[str, FormatNegotiator] = {}
_LOCK = threading.Lock()


def negotiator_for(base_url: str) -> FormatNegotiator:
    """The process-wide negotiator of one base URL."""
    with _LOCK:
        return _NEGOTIATORS.setdefault(base_url, FormatNegotiator())
