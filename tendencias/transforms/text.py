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

import logging
import os
import secrets
from collections.abc import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics

from tendencias.models.text.clean import SALT_ENV, STAGE, clean_dead_letter, clean_post, pseudonym
from tendencias.records import Post
from tendencias.transforms import coders  # noqa: F401  (registers PostCoder)

__all__ = ["STAGE", "SALT_ENV", "CleanPostFn", "CleanPosts", "pseudonym"]
_LOG = logging.getLogger(__name__)


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

    def process(self, post: Post) -> Iterable:
        try:
            out = clean_post(post, self._salt, self._keep_handles)
        except Exception as err:  # any failure: the post goes to the dead letters, the stream goes on
            self.failed.inc()
            yield beam.pvalue.TaggedOutput(self.DEAD_LETTER, clean_dead_letter(post, err))
            return
        self.cleaned.inc()
        if out.text_clean != out.text:
            self.redacted.inc()
        if not post.get("lang"):
            self.detected.inc()
        yield out


class CleanPosts(beam.PTransform):
    """Parsed Posts (or their contract dicts) -> (`posts`: Posts with text_clean, pseudonymous
    author and lang; `dead_letter`)."""

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
        fn = beam.ParDo(CleanPostFn(self.fallback_salt, self.keep_handles)).with_output_types(Post)
        return posts | "CleanPost" >> fn.with_outputs(self.DEAD_LETTER, main="posts")
