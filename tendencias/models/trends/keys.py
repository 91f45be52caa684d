"""What a post counts towards: its trend keys, one (kind, key) pair per thing it mentions.

A post counts at most once per key, however often it repeats a word, so one long post cannot
make a trend. Kinds: term (a word, size or emoji), phrase (a bigram), hashtag, and the post's
brand, product, category and region; and what the post means: its `topics` (the analysed
topic model, models/topics) and its story `clusters` (models/stories/clusters.py). Tokens come
from the features stage (`post["tokens"]`, where a token with a space is a bigram and one
starting with "#" is a hashtag).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

TEXT_KINDS = ("term", "phrase", "hashtag")
FIELD_KINDS = ("brand", "product", "category", "region")
MEANING_KINDS = ("topic", "cluster")  # from the post's `topics` and `clusters` lists
KINDS = TEXT_KINDS + FIELD_KINDS + MEANING_KINDS
MAX_TEXT_KEYS = 64  # per post: bounds the work a very long post can cause
MAX_KEY_CHARS = 80


def label_key(value: Any) -> str | None:
    """The key of a brand, product, category or region: spaces squeezed, case folded.

    Posts and sales use the same function, so "Inca  Kola" and "inca kola" meet.
    """
    if value is None:
        return None
    text = " ".join(str(value).split()).casefold()
    return text[:MAX_KEY_CHARS] or None


def token_kind(token: str) -> str:
    if token.startswith("#"):
        return "hashtag"
    return "phrase" if " " in token else "term"


def trend_keys(post: Mapping[str, Any], kinds: Iterable[str] = KINDS) -> list[tuple[str, str]]:
    """The distinct (kind, key) pairs `post` counts towards, in first-seen order."""
    wanted = frozenset(kinds)
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str]] = []
    text_keys = 0
    for token in [*(post.get("tokens") or ()), *(post.get("hashtags") or ())]:
        if not isinstance(token, str) or not token or len(token) > MAX_KEY_CHARS:
            continue
        pair = (token_kind(token), token)
        if pair[0] in wanted and pair not in seen and text_keys < MAX_TEXT_KEYS:
            seen.add(pair)
            out.append(pair)
            text_keys += 1
    for kind in FIELD_KINDS:
        key = label_key(post.get(kind)) if kind in wanted else None
        if key is not None and (kind, key) not in seen:
            seen.add((kind, key))
            out.append((kind, key))
    for kind in MEANING_KINDS:
        for key in post.get(f"{kind}s") or () if kind in wanted else ():
            if isinstance(key, str) and key and (kind, key) not in seen:
                seen.add((kind, key))
                out.append((kind, key))
    return out
