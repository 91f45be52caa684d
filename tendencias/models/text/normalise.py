"""Normalisation and tokenisation of post text in Spanish, English and the mix of both.

Pure Python (regular expressions and str.translate), fast enough to run per post in the stream.
The stream (ApplyFeatures) and the batch analysis (`tendencias analyze`) both call
`post_tokens`, so both count exactly the same keys. Decisions, each for matching trends:

- Case folding and NFKC (so fancy Unicode letters from social media become plain letters).
- Accents are stripped except "ñ": "azúcar" and "azucar" are the same word as people type it,
  but "año" and "ano" are not.
- Elongations: a letter repeated 3+ times is squeezed to one ("riiiico" -> "rico", "siiii" ->
  "si", "amorrrr" -> "amor"); doubles as written are kept ("leer", "llamar", "accion", "cool");
  a short list of words whose double is real is recovered ("cooool" -> "cool", "perrrro" ->
  "perro"). Laughter ("jajajaja", "jsjs", "hahaha") becomes "jaja", a stop word.
- Emoji are tokens, one per emoji (skin tones and variation selectors dropped; a ZWJ sequence
  or a flag is one emoji). Hashtags are tokens with their "#" ("#SinAzúcar" -> "#sinazucar").
- @handles, URLs, e-mails and redaction placeholders ("<url>", "@usuario") are dropped.
- Numbers: a number glued to letters is kept ("500ml", "1.5l", "2x1", "7up": sizes, promotions,
  names); bare numbers (prices, years, counts) are dropped.
- Hyphens split words, so "coca-cola" and "coca cola" give the same phrase.
- Stop words (Spanish, English, chat abbreviations, and a small domain list) are not unigrams.
  A few of them change what the next word means ("sin", "con", "no", "más", "less", "too"):
  these are *modifiers*: never unigrams, but they may open a bigram ("sin azucar", "no gusta",
  "too sweet").
- Bigrams are built per clause (punctuation, hashtags and emoji end a clause) over the words
  left after removing plain stop words: "sabor a maracuyá" -> "sabor maracuya".

Token kinds for the trend stage: a token starting with "#" is a hashtag, a token with a space
is a phrase (bigram), anything else is a term (words, sizes, emoji).
"""

from __future__ import annotations

import re
import unicodedata

from tendencias.models.text.stopwords import DOMAIN, ENGLISH, MODIFIERS, SPANISH

BREAK = "|"  # clause boundary in the word sequence returned by `words`
MIN_WORD_CHARS = 2
MAX_WORD_CHARS = 40

STOP_WORDS: frozenset[str] = SPANISH | ENGLISH | DOMAIN | MODIFIERS
# Words only one language uses, for `detect_lang` ("a", "no", "me" are in both lists).
_ES_ONLY = SPANISH - ENGLISH
_EN_ONLY = ENGLISH - SPANISH
_ES_CHARS = frozenset("ñ¿¡áéíóúÁÉÍÓÚÑ")


def _accent_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for code in range(0x00C0, 0x0250):
        char = chr(code)
        if char in "ñÑ":
            continue
        base = unicodedata.normalize("NFD", char)
        if len(base) > 1 and base[0].isascii():
            table[code] = base[0]
    for code in range(0x0300, 0x0370):  # stray combining marks
        table[code] = None
    for code in (*range(0x1F3FB, 0x1F400), 0xFE0E, 0xFE0F):  # skin tones, variation selectors
        table[code] = None
    table[ord("’")] = table[ord("‘")] = "'"
    return table


_TRANSLATE = _accent_table()
_EMOJI_CHAR = (
    "\U0001f300-\U0001f5ff\U0001f600-\U0001f64f\U0001f680-\U0001f6ff\U0001f700-\U0001f7ff"
    "\U0001f800-\U0001f8ff\U0001f900-\U0001f9ff\U0001fa00-\U0001faff\u2600-\u27bf\u2b50\u2b55"
    "\u231a\u231b\u23e9-\u23fa\u2764"
)
_EMOJI = rf"[\U0001f1e6-\U0001f1ff]{{2}}|[{_EMOJI_CHAR}](?:\u200d[{_EMOJI_CHAR}])*"
# Dropped before anything else, so "www" is not squeezed into "w" and leaves no words behind.
_DROP = re.compile(r"<[a-z_]+>|https?://\S+|www\.\S+|\S+@\S+\.[a-z]{2,}|@\w+")
_TOKEN = re.compile(
    r"(?P<hashtag>#[0-9a-zñ_]*[a-zñ][0-9a-zñ_]*)"
    rf"|(?P<emoji>{_EMOJI})"
    r"|(?P<sized>\d+(?:[.,]\d+)?[a-zñ][a-zñ0-9]*)"
    r"|(?P<number>\d+(?:[.,:/]\d+)*)"
    r"|(?P<word>[a-zñ][a-zñ0-9']*)"
    r"|(?P<punct>[.,;:!?¡¿()\[\]{}\"“”«»…/\\|]+)"
)
_ELONGATED = re.compile(r"[^\W\d_]*([^\W\d_])\1\1[^\W\d_]*")
_RUN = re.compile(r"([^\W\d_])\1{2,}")
_LAUGH = re.compile(
    r"\b(?:(?:ja){2,}|(?:je){2,}|(?:ji){2,}|(?:ha){2,}|(?:he){2,}|(?:js|sj){2,})[jhs]?\b|\bxd+\b"
)
# Real doubles that the squeeze would otherwise lose: "cooool" -> "cool", not "col".
_KEEP_DOUBLE = frozenset(
    "cool good too see need feel free sweet coffee week sleep all will well full still really hello "
    "apple bottle happy little pretty better summer yummy leer creer cree lee calle pollo amarillo bello "
    "cerro carro perro perrito tierra arroz barrio burro guerra aburrido correr accion".split()
)


def _squeeze(match: re.Match[str]) -> str:
    word = match.group(0)
    single = _RUN.sub(r"\1", word)
    double = _RUN.sub(lambda m: m.group(1) * 2, word)
    return double if double in _KEEP_DOUBLE else single


def normalise(text: str) -> str:
    """Case-folded, accent-stripped (ñ kept), elongations squeezed, laughter as "jaja"; URLs,
    e-mails, @handles and redaction placeholders removed."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_TRANSLATE)
    text = _DROP.sub(" ", text)
    text = _ELONGATED.sub(_squeeze, text)
    return _LAUGH.sub("jaja", text)


def words(text: str) -> list[str]:
    """The normalised word sequence (stop words included), `BREAK` between clauses.

    Hashtags and emoji are in the sequence and also end a clause, so no bigram crosses them.
    """
    out: list[str] = []
    for match in _TOKEN.finditer(normalise(text)):
        kind = match.lastgroup
        value = match.group()
        if kind == "word":  # a hyphen is not part of a word, so "coca-cola" gives "coca", "cola"
            value = value.replace("'", "")
            if MIN_WORD_CHARS <= len(value) <= MAX_WORD_CHARS:
                out.append(value)
        elif kind == "sized":
            if len(value) <= MAX_WORD_CHARS:
                out.append(value.replace(",", "."))
        elif kind in ("hashtag", "emoji"):
            if len(value) <= MAX_WORD_CHARS:
                out.extend((BREAK, value, BREAK))
        elif kind == "punct" and out and out[-1] != BREAK:
            out.append(BREAK)
    return out


def _is_word(token: str) -> bool:
    return token != BREAK and token[0] != "#" and not _is_emoji(token)


def _is_emoji(token: str) -> bool:
    return not token[0].isascii() and not token[0].isalpha()


def unigrams(sequence: list[str]) -> list[str]:
    """Content tokens of a `words` sequence: words that are not stop words, hashtags, emoji."""
    return [t for t in sequence if t != BREAK and t not in STOP_WORDS]


def tokenize(text: str) -> list[str]:
    """Unigrams of `text` in order (duplicates kept: term frequency needs them)."""
    return unigrams(words(text))


def phrases(sequence: list[str]) -> list[str]:
    """Bigrams of a `words` sequence: adjacent content words once plain stop words are removed;
    a modifier may open a bigram ("sin azucar") but never ends one ("version sin")."""
    out: list[str] = []
    previous: str | None = None
    for token in sequence:
        if not _is_word(token):
            previous = None
        elif token in MODIFIERS:
            previous = token
        elif token in STOP_WORDS:
            continue
        else:
            if previous is not None and previous != token:
                out.append(f"{previous} {token}")
            previous = token
    return out


def extract_hashtags(text: str) -> list[str]:
    """Normalised hashtags of `text` in order ("#SinAzúcar" -> "#sinazucar")."""
    return [t for t in words(text) if t[0] == "#"]


def post_tokens(text: str) -> dict[str, list[str]]:
    """What the features stage and the trends count: `tokens` (unigrams, then bigrams) and
    `hashtags` (also among the unigrams)."""
    sequence = words(text)
    return {
        "tokens": unigrams(sequence) + phrases(sequence),
        "hashtags": [t for t in sequence if t[0] == "#"],
    }


def detect_lang(text: str) -> str:
    """The language of `text`: es, en, mixed or und (undetermined), from the stop words only one
    language uses and from Spanish characters (ñ, ¿, ¡, accented vowels)."""
    sequence = words(text)
    es = sum(1 for t in sequence if t in _ES_ONLY)
    en = sum(1 for t in sequence if t in _EN_ONLY)
    es += min(2, sum(1 for ch in text if ch in _ES_CHARS))
    total = es + en
    if total == 0:
        return "und"
    if min(es, en) >= 1 and min(es, en) / total >= 0.25:
        return "mixed"
    return "es" if es > en else "en"
