"""CleanPosts: the stage after parsing that makes a post safe to show and ready to count.

It adds `text_clean` (personal data redacted: the only text that may leave the process),
replaces `author` with a salted pseudonym (HMAC-SHA256) and fills `lang` when the source did
not give one.

The pseudonym salt comes from TENDENCIAS_PSEUDONYM_SALT, read on the worker and never put in
the pipeline graph or options; the same salt gives the same pseudonym across runs. Without it a
random salt is made when the pipeline is built (one per run, the same on every worker), with a
warning: pseudonyms then do not match between runs.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics

from tendencias.models.text.normalise import detect_lang
from tendencias.models.text.redaction import redact
from tendencias.records import dead_letter

SALT_ENV = "TENDENCIAS_PSEUDONYM_SALT"
STAGE = "clean"
_LOG = logging.getLogger(__name__)


def pseudonym(author: str, salt: bytes) -> str:
    """A stable, non-reversible id for `author` ("@Juan" and "juan" are the same person)."""
    name = author.strip().lstrip("@").casefold()
    return "u_" + hmac.new(salt, name.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def _language(value: str | None, text: str) -> str:
    if value:
        return value.strip().lower().replace("_", "-").split("-")[0] or detect_lang(text)
    return detect_lang(text)


class CleanPostFn(beam.DoFn):
    """Redacts, pseudonymises and fills `lang`; a post that cannot be cleaned is a dead letter."""

    DEAD_LETTER = "dead_letter"

    def __init__(self, fallback_salt: bytes, keep_handles: frozenset[str]):
        self._fallback_salt = fallback_salt
        self._keep_handles = keep_handles
        self._salt = b""
        self.cleaned = Metrics.counter("clean", "posts_cleaned")
        self.redacted = Metrics.counter("clean", "posts_with_personal_data")
        self.detected = Metrics.counter("clean", "lang_detected")
        self.failed = Metrics.counter("clean", "dead_letters")

    def setup(self) -> None:
        salt = os.environ.get(SALT_ENV, "")
        self._salt = salt.encode("utf-8") if salt else self._fallback_salt

    def process(self, post: dict) -> Iterable:
        try:
            text = post["text"]
            if not isinstance(text, str):
                raise TypeError(f"text must be a string, got {type(text).__name__}")
            clean = redact(text, self._keep_handles)
            author = post.get("author")
            out = dict(
                post,
                text_clean=clean,
                author=pseudonym(author, self._salt) if isinstance(author, str) and author else None,
                lang=_language(post.get("lang"), clean),
            )
        except Exception as err:  # any failure: the post goes to the dead letters, the stream goes on
            self.failed.inc()
            # The text could not be redacted, so neither it nor the author goes into the dead letter.
            safe = (
                {k: v for k, v in post.items() if k not in ("text", "author")}
                if isinstance(post, dict)
                else {}
            )
            reason = "missing_text" if isinstance(err, KeyError) else "clean_failed"
            yield beam.pvalue.TaggedOutput(
                self.DEAD_LETTER,
                dead_letter(
                    safe, stage=STAGE, reason=reason, error=f"{type(err).__name__}: {err} (text withheld)"
                ),
            )
            return
        self.cleaned.inc()
        if clean != text:
            self.redacted.inc()
        if not post.get("lang"):
            self.detected.inc()
        yield out


class CleanPosts(beam.PTransform):
    """Parsed posts -> (`posts` with text_clean, pseudonymous author and lang; `dead_letter`)."""

    DEAD_LETTER = CleanPostFn.DEAD_LETTER

    def __init__(self, keep_handles: Iterable[str] = ()):
        super().__init__()
        self.keep_handles = frozenset(keep_handles)
        if not os.environ.get(SALT_ENV):
            _LOG.warning(
                "%s is not set: author pseudonyms use a random salt for this run only and "
                "will not match those of other runs",
                SALT_ENV,
            )
        self.fallback_salt = secrets.token_bytes(32)

    def expand(self, posts):
        return posts | "CleanPost" >> beam.ParDo(
            CleanPostFn(self.fallback_salt, self.keep_handles)
        ).with_outputs(self.DEAD_LETTER, main="posts")
