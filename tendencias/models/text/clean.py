"""Cleaning one post: redacted text, pseudonymous author, language (the core of CleanPosts).

Pure functions shared by the Beam stage (transforms/text.py) and the Flink job
(tendencias/flink/), so both clean a post the same way.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from tendencias.models.text.normalise import detect_lang
from tendencias.models.text.redaction import redact
from tendencias.records import Post, dead_letter

SALT_ENV = "TENDENCIAS_PSEUDONYM_SALT"
STAGE = "clean"


def pseudonym(author: str, salt: bytes) -> str:
    """A stable, non-reversible id for `author` ("@Juan" and "juan" are the same person)."""
    name = author.strip().lstrip("@").casefold()
    return "u_" + hmac.new(salt, name.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def language(value: str | None, text: str) -> str:
    if value:
        return value.strip().lower().replace("_", "-").split("-")[0] or detect_lang(text)
    return detect_lang(text)


def clean_post(post: Mapping, salt: bytes, keep_handles: frozenset[str]) -> Post:
    """`post` with `text_clean` (personal data redacted), a pseudonymous `author` and `lang`."""
    post = Post.of(post)
    text = post.text
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    clean = redact(text, keep_handles)
    author = post.author
    return post.replace(
        text_clean=clean,
        author=pseudonym(author, salt) if isinstance(author, str) and author else None,
        lang=language(post.lang, clean),
    )


def clean_dead_letter(post: object, err: Exception) -> dict:
    """The dead letter of a post that could not be cleaned: neither its text nor its author,
    since the text could not be redacted."""
    fields = post.to_dict() if isinstance(post, Post) else post
    safe = (
        {k: v for k, v in fields.items() if k not in ("text", "author")} if isinstance(post, Mapping) else {}
    )
    reason = "missing_text" if isinstance(err, KeyError) else "clean_failed"
    return dead_letter(safe, stage=STAGE, reason=reason, error=f"{type(err).__name__}: {err} (text withheld)")
