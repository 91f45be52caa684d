"""The per-post stages: parse, clean and redact, tokens, local sentiment; failures are dead
letters on a side output, as the Beam stages do (transforms/parse.py, text.py,
features/apply.py, sentiment.py with the local backend)."""

from __future__ import annotations

import os
import secrets

from pyflink.datastream import ProcessFunction, RuntimeContext

from tendencias.flink.dead_letters import DEAD_LETTERS
from tendencias.models.sentiment.backend import load_local_model
from tendencias.models.sentiment.local_answer import local_answers
from tendencias.models.text.clean import SALT_ENV, clean_dead_letter, clean_post
from tendencias.models.text.normalise import post_tokens
from tendencias.records import RawRecord, RecordError, dead_letter, parse_post


def raw_record(row) -> RawRecord:
    """A RawRecord from the source's Row(value, topic, partition, offset, timestamp)."""
    return RawRecord(bytes(row[0]), row[1], int(row[2]), int(row[3]), row[4])


class ParsePostFn(ProcessFunction):
    """Row -> Post dict (`records.parse_post`); a record that breaks the contract is a dead letter."""

    def process_element(self, row, ctx):
        raw = raw_record(row)
        try:
            yield parse_post(raw.value)
        except RecordError as err:
            yield (
                DEAD_LETTERS,
                dead_letter(raw.value, stage="parse", reason=err.reason, error=str(err), source=raw),
            )
        except Exception as err:  # a bug: still never dropped silently
            yield (
                DEAD_LETTERS,
                dead_letter(
                    raw.value,
                    stage="parse",
                    reason="internal",
                    error=f"{type(err).__name__}: {err}",
                    source=raw,
                ),
            )


class EnrichPostFn(ProcessFunction):
    """Clean and redact (pseudonymous author, lang), tokens for the trend keys, and the local
    model's sentiment (fast tier): what the Beam graph does without a transform_dir and with
    the local sentiment backend."""

    def __init__(self, keep_handles: frozenset[str], local_model: str | None):
        self._keep_handles, self._local_model = keep_handles, local_model
        # As CleanPosts: without the salt in the environment, one random salt for this job
        self._fallback_salt = secrets.token_bytes(32)

    def open(self, runtime_context: RuntimeContext):
        salt = os.environ.get(SALT_ENV, "")
        self._salt = salt.encode("utf-8") if salt else self._fallback_salt
        self._model = load_local_model(self._local_model or None, "fast")

    def process_element(self, post, ctx):
        try:
            cleaned = clean_post(post, self._salt, self._keep_handles)
        except Exception as err:
            yield DEAD_LETTERS, clean_dead_letter(post, err)
            return
        out = dict(cleaned, **post_tokens(cleaned["text_clean"]), features=None, features_version=None)
        ((_, answer),) = local_answers(self._model, [out])
        yield dict(out, sentiment=answer)
