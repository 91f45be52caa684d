"""Personal data out of post text before it leaves the process.

`redact` replaces e-mail addresses, URLs, card-like numbers, phone numbers (Peruvian mobiles
and landlines, international numbers written with +), RUC (11 digits) and DNI-like (8 digits)
numbers, @handles, and street addresses in Peruvian forms (Jr. Lampa 1234 Dpto. 5, Mz. B Lt. 12,
Carretera Central km 12.5: see `addresses` for what counts and what is kept on purpose). Prices (S/ 3.50), dates (12/05/2024), quantities (500 ml), years and
model numbers are left alone: the patterns below require the shapes of personal data, not
just "some digits".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tendencias.models.text.addresses import ADDRESS

# Placeholders are what the model and every output see instead of the data.
PLACEHOLDERS = {
    "email": "<email>",
    "url": "<url>",
    "card": "<card>",
    "phone": "<phone>",
    "ruc": "<ruc>",
    "dni": "<dni>",
    "handle": "@usuario",
    "address": "<address>",
}

_SEP = r"[ \-.]?"  # people write 987 654 321, 987-654-321 and 987.654.321
_NOT_DIGIT_BEFORE = r"(?<![0-9A-Za-z/.,:])"
_NOT_DIGIT_AFTER = r"(?![0-9A-Za-z/%]|[.,][0-9])"

# (kind, pattern) in priority order: an earlier match claims its characters first.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")),
    (
        "url",
        re.compile(
            r"(?:\bhttps?://|\bwww\.)[^\s<>\"']+"
            r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|pe|net|org|io|ly|co|me|gl|gob\.pe|com\.pe)/[^\s<>\"']*",
            re.IGNORECASE,
        ),
    ),
    (
        "phone",
        re.compile(
            # +51 mobiles and +51 Lima landlines: +51 987 654 321, +51-1-234-5678, 0051 987654321
            r"(?:\+|\b00)51" + _SEP + r"(?:9[0-9]{2}" + _SEP + r"[0-9]{3}" + _SEP + r"[0-9]{3}"
            r"|\(?0?1\)?" + _SEP + r"[0-9]{3}" + _SEP + r"[0-9]{4}"
            r"|\(?0?[4-8][0-9]\)?"
            + _SEP
            + r"[0-9]{6})"
            + _NOT_DIGIT_AFTER
            # other international numbers: + country code and 7 to 13 more digits in groups
            + r"|\+[1-9][0-9]{0,2}(?:[ \-]?\(?[0-9]{1,4}\)?){2,5}"
            + _NOT_DIGIT_AFTER
            # national mobiles: 9 digits starting with 9
            + r"|"
            + _NOT_DIGIT_BEFORE
            + r"9[0-9]{2}"
            + _SEP
            + r"[0-9]{3}"
            + _SEP
            + r"[0-9]{3}"
            + _NOT_DIGIT_AFTER
            # Lima landlines (01) 234-5678, 01 2345678, 01-234-5678; provinces (054) 123456
            + r"|\(0?1\)[ \-]?[0-9]{3}[ \-]?[0-9]{4}"
            + _NOT_DIGIT_AFTER
            + r"|"
            + _NOT_DIGIT_BEFORE
            + r"01[ \-]?(?:[0-9]{3}[ \-]?[0-9]{4}|[0-9]{7})"
            + _NOT_DIGIT_AFTER
            + r"|\(0[4-8][0-9]\)[ \-]?[0-9]{3}[ \-]?[0-9]{3}"
            + _NOT_DIGIT_AFTER
        ),
    ),
    # 13 to 19 digits, optionally in groups (4111 1111 1111 1111, 4111-1111-1111-1111).
    (
        "card",
        re.compile(_NOT_DIGIT_BEFORE + r"[0-9]{4}(?:[ \-]?[0-9]{3,4}){2}[ \-]?[0-9]{1,7}" + _NOT_DIGIT_AFTER),
    ),
    ("ruc", re.compile(_NOT_DIGIT_BEFORE + r"[0-9]{11}" + _NOT_DIGIT_AFTER)),
    ("dni", re.compile(_NOT_DIGIT_BEFORE + r"[0-9]{8}(?:-[0-9K])?" + _NOT_DIGIT_AFTER)),
    ("handle", re.compile(r"(?<![\w@])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,29}[A-Za-z0-9_])?")),
    # Last: a phone or DNI next to an address keeps its own placeholder.
    ("address", ADDRESS),
)


# Kinds that cannot be in a text without a digit (or "s/n") are not searched for there: most
# posts have no digit, and this keeps the address pattern off them.
_DIGIT = re.compile(r"[0-9]")
_GUARDS: dict[str, re.Pattern[str]] = {
    "phone": _DIGIT,
    "card": _DIGIT,
    "ruc": _DIGIT,
    "dni": _DIGIT,
    "address": re.compile(r"[0-9]|s/n|s\.n\.", re.IGNORECASE),
}


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _plausible(kind: str, found: str) -> bool:
    if kind == "card":
        return 13 <= _digits(found) <= 19
    if kind == "phone" and found.startswith("+"):
        return 8 <= _digits(found) <= 15
    return True


def find_pii(
    text: str,
    keep_handles: frozenset[str] = frozenset(),
    patterns: Sequence[tuple[str, re.Pattern[str]]] = PATTERNS,
) -> list[tuple[str, tuple[int, int]]]:
    """Personal data found in `text` as (kind, (start, end)), sorted by position, not overlapping.

    `patterns` (a subset of `PATTERNS`) is for measuring what one kind costs."""
    keep = {h.lower().lstrip("@") for h in keep_handles}
    claimed: list[tuple[int, int]] = []
    found: list[tuple[str, tuple[int, int]]] = []
    for kind, pattern in patterns:
        guard = _GUARDS.get(kind)
        if guard is not None and guard.search(text) is None:
            continue
        for match in pattern.finditer(text):
            start, end = match.span()
            value = match.group()
            if kind == "url":  # trailing punctuation belongs to the sentence, not the URL
                stripped = value.rstrip(".,;:!?)]}")
                end -= len(value) - len(stripped)
                value = stripped
            if kind == "handle" and (value[1:].lower() in keep or value == PLACEHOLDERS["handle"]):
                continue
            if not _plausible(kind, value):
                continue
            if any(start < c_end and c_start < end for c_start, c_end in claimed):
                continue
            claimed.append((start, end))
            found.append((kind, (start, end)))
    return sorted(found, key=lambda item: item[1])


def redact(text: str, keep_handles: frozenset[str] = frozenset()) -> str:
    """`text` with personal data replaced by placeholders; handles in `keep_handles` stay."""
    if not text:
        return text
    out: list[str] = []
    last = 0
    for kind, (start, end) in find_pii(text, keep_handles):
        out.append(text[last:start])
        out.append(PLACEHOLDERS[kind])
        last = end
    out.append(text[last:])
    return "".join(out)
