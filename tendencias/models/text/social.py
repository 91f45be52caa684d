"""Peruvian and Latin American social text, rewritten for the sentiment models (not for trend keys).

The trend keys use models/text/normalise.py and must not change; this is the sentiment side:
it keeps case-insensitive meaning but rewrites what a model trained on general Spanish tweets
and an English-aligned sentence encoder read poorly:

- elongations: "riquísimooo" -> "riquísimo", "siiii" -> "si", "jajajaja" -> "jaja";
- emoticons and emoji -> a word both models know ("feliz", "triste", "encanta", "asco", ...),
  kept next to the original so the TF-IDF student still sees the symbol;
- slang and chat spelling (Peru first, then other Latin American countries): "chévere", "bacán",
  "paja" (good), "asu" (surprise), "causa"/"pata" (friend), "jato" (home), "bamba" (fake),
  "q"/"xq"/"tmb" ...;
- product attributes that read like a lack: "sin azúcar", "cero azúcar", "#SinAzucar", "sin
  calorías" -> "dietética" (a general tweet's "sin ..." is a complaint, a drink's is a feature);
- code-switching: English words common in Spanish posts ("full rico", "nice", "cool", "cringe")
  are rewritten only when the text is Spanish or mixed, so English posts stay English.

Everything is a pure function of the text: the same input gives the same output everywhere.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from tendencias.models.text.normalise import detect_lang

# Emoticons before emoji: ":)" must not be read as ":" + ")" later. The word follows the symbol.
_EMOTICONS = {
    "feliz": r"[:;=]-?\)+|\(+-?[:;=]|[:;=]-?[dD]+\b|\^\^|\^_\^|:3\b|c:",
    "triste": r"[:;=]-?\(+|\)+-?[:;=]|[:;=]'\(+|:c\b|T_T|u_u|:/+(?!/)",
    "jaja": r"\b[xX][dD]+\b",
    "amor": r"<3+",
    "sorpresa": r"[:;=]-?[oO0]\b|o_[oO]\b",
}
_EMOJI_WORDS = {
    "feliz": "😀😃😄😁😊🙂☺😉😎🤗🥳👍👌🙌👏💪✨🎉✅",
    "jaja": "😂🤣😆😅😜😝😛",
    "encanta": "😍🥰😘😋🤤❤💕💖💗💓💞💘♥🔥💯⭐🌟💚💙💜🧡💛🤍🤩😻",
    "gracias": "🙏",
    "triste": "😢😭😞😔😟🙁☹😩😫💔",
    "enojo": "😡😠🤬👎😤",
    "asco": "🤮🤢😖💩",
    "duda": "🤔😐😑😒🙄😕",
    "sorpresa": "😮😱😲🤯😳",
}
_EMOJI_WORD = {ch: word for word, chars in _EMOJI_WORDS.items() for ch in chars}
_EMOTICON = re.compile("|".join(f"(?P<{w}>{p})" for w, p in _EMOTICONS.items()))

# Whole words (case-insensitive, accents optional in the key) -> their plain Spanish meaning.
_STRIP_ACCENTS = str.maketrans("áéíóúü", "aeiouu")
SLANG = {
    # Peru
    "chevere": "genial",
    "chevre": "genial",
    "bacan": "genial",
    "bacanazo": "genial",
    "bacanaso": "genial",
    "pajaza": "genial",
    "pajasa": "genial",
    "bravazo": "genial",
    "bravaso": "genial",
    "mostro": "genial",
    "mostrazo": "genial",
    "asu": "wow",
    "asumare": "wow",
    "causita": "amigo",
    "jato": "casa",
    "jatear": "dormir",
    "chamba": "trabajo",
    "chambear": "trabajar",
    "chela": "cerveza",
    "chelas": "cervezas",
    "yapa": "extra gratis",
    "roche": "vergüenza",
    "misio": "sin dinero",
    "huachafo": "de mal gusto",
    "huachafa": "de mal gusto",
    "bamba": "falso",
    "jamear": "comer",
    "jama": "comida",
    "lorna": "tonto",
    "chibolo": "chico",
    "chibola": "chica",
    "palta": "vergüenza",
    "achorado": "agresivo",
    "chancar": "estudiar",
    "tombo": "policía",
    "florear": "exagerar",
    "al toque": "rápido",
    "ta mare": "qué mal",
    "su mare": "wow",
    "ni a palos": "nunca",
    # Elsewhere in Latin America and Spain
    "chido": "genial",
    "chida": "genial",
    "padrisimo": "genial",
    "chimba": "genial",
    "bacano": "genial",
    "bacana": "genial",
    "copado": "genial",
    "copada": "genial",
    "piola": "genial",
    "guay": "genial",
    "mola": "me gusta",
    "chafa": "malo",
    "cutre": "malo",
    "fome": "aburrido",
    "bodrio": "malo",
    "una mierda": "muy malo",
    "qué asco": "asco",
    # Chat spelling
    "q": "que",
    "k": "que",
    "ke": "que",
    "xq": "porque",
    "pq": "porque",
    "porq": "porque",
    "tb": "también",
    "tmb": "también",
    "tbn": "también",
    "bn": "bien",
    "mñn": "mañana",
    "xfa": "por favor",
    "plis": "por favor",
    "pls": "por favor",
    "grax": "gracias",
    "nd": "nada",
    "ntp": "no te preocupes",
    "tqm": "te quiero mucho",
    "toy": "estoy",
    "bno": "bueno",
    "d": "de",
    "x": "por",
}
# Words whose slang sense depends on the words around them ("a causa de", "pata de pollo",
# "jugo de piña", "me da paja" in Argentina and Spain = can't be bothered).
CONTEXT = (
    (r"(?<!\ba )\bcausa\b(?! de\b)", "amigo"),
    (r"\b(mi|un|tu|su|mis|tus|sus) (pata|patita|patas)\b(?! de\b)", r"\1 amigo"),
    (r"\bqu[eé] piña\b", "qué mala suerte"),
    (r"\b(da|daba|dio|de) paja\b", r"\1 pereza"),
    (r"\bpaja\b", "genial"),
    # A drink's attribute, not a lack: the encoder, and the tweets the head learnt from, read
    # "sin azúcar y rica" as a complaint.
    (r"#?\b(?:sin|cero|0|zero|bajo en|baja en|bajos en|bajas en)[ _]?az[uú]car\b", "dietética"),
    (r"#?\b(?:sin|cero|0|zero)[ _]?calor[ií]as\b", "dietética"),
)
# English inside Spanish posts (rewritten only when the post is Spanish or mixed).
SPANGLISH = {
    "full": "muy",
    "nice": "genial",
    "cool": "genial",
    "top": "excelente",
    "fail": "fracaso",
    "cringe": "vergüenza ajena",
    "hype": "emoción",
    "love": "me encanta",
    "lol": "jaja",
    "omg": "wow",
    "wtf": "qué rayos",
    "trash": "basura",
    "random": "cualquiera",
    "crush": "amor",
    "sorry": "perdón",
    "thanks": "gracias",
    "please": "por favor",
    "so": "muy",
    "very": "muy",
    "good": "bueno",
    "bad": "malo",
    "cute": "lindo",
}


_ACCENTED = {"a": "[aá]", "e": "[eé]", "i": "[ií]", "o": "[oó]", "u": "[uúü]"}


def _phrase_pattern(table: dict[str, str]) -> re.Pattern[str]:
    """Any key as a whole word or phrase, with or without its accents ("chévere" or "chevere")."""
    keys = sorted({k.translate(_STRIP_ACCENTS) for k in table}, key=len, reverse=True)
    alternatives = ["".join(_ACCENTED.get(ch, re.escape(ch)) for ch in key) for key in keys]
    return re.compile(r"(?<![\w@#<])(?:" + "|".join(alternatives) + r")(?![\w>])")


_SLANG = _phrase_pattern(SLANG)
_SPANGLISH = _phrase_pattern(SPANGLISH)
# A letter three or more times in a row is an elongation: one letter, but "rr" and "ll" stay double
# ("carrrro" -> "carro"); "ee", "oo" words ("leer") are rarely stretched, "riquísimooo" often.
_RUN = re.compile(r"([^\W\d_])\1{2,}")
_LAUGH = re.compile(r"(?<!\w)(?:(?:ja|je|ji|ha|he|js|sj|ka)\w?){2,}(?!\w)|(?<!\w)jsjs\w*(?!\w)")
_LAUGH_CHECK = re.compile(r"^(?:(?:ja|je|ji|ha|he|js|sj|ka)[jahesik]?)+$")
_DOUBLES = frozenset(("rr", "ll"))
_SPACES = re.compile(r"\s+")


def _squeeze(match: re.Match[str]) -> str:
    pair = match.group(1) * 2
    return pair if pair.lower() in _DOUBLES else match.group(1)


def _laugh(match: re.Match[str]) -> str:
    return "jaja" if _LAUGH_CHECK.match(match.group(0).lower()) else match.group(0)


def _emoticon(match: re.Match[str]) -> str:
    return f" {match.lastgroup} "


def _lookup(table: dict[str, str]):
    plain = {k.translate(_STRIP_ACCENTS): v for k, v in table.items()}

    def replace(match: re.Match[str]) -> str:
        return plain.get(match.group(0).translate(_STRIP_ACCENTS), match.group(0))

    return replace


_SLANG_WORD = _lookup(SLANG)
_SPANGLISH_WORD = _lookup(SPANGLISH)
_CONTEXT = tuple((re.compile(p), r) for p, r in CONTEXT)


def squeeze_elongations(text: str) -> str:
    """ "riquísimooo" -> "riquísimo", "siiii" -> "si", "jajajajaja" -> "jaja" ("carro" stays)."""
    return _LAUGH.sub(_laugh, _RUN.sub(_squeeze, text))


def emoji_words(text: str) -> str:
    """Emoticons become a word; each emoji keeps its place and gains one ("😍" -> "😍 encanta")."""
    text = _EMOTICON.sub(_emoticon, text)
    out, last = [], None
    for ch in text:
        word = _EMOJI_WORD.get(ch)
        out.append(ch)
        if word is not None and word != last:  # "😂😂😂" -> one "jaja"
            out.append(f" {word} ")
        last = word if word is not None else (last if ch in "\ufe0f\u200d" else None)
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def social_normalise(text: str) -> str:
    """The text a sentiment model reads: lower case, elongations squeezed, emoticons and emoji as
    words, slang and chat spelling in plain Spanish, and (for Spanish or mixed posts) common
    English words in Spanish.

    Memoised: the embedding, the sentiment head and the aspects each read a post's text this
    way, a few hundred posts apart (9.3 of 86 s in a profiled default backfill, three calls a post)."""
    text = unicodedata.normalize("NFC", text).lower()
    text = squeeze_elongations(text)
    text = emoji_words(text)
    lang = detect_lang(text)
    if lang != "en":
        for pattern, replacement in _CONTEXT:
            text = pattern.sub(replacement, text)
        text = _SLANG.sub(_SLANG_WORD, text)
    if lang in ("es", "mixed"):
        text = _SPANGLISH.sub(_SPANGLISH_WORD, text)
    return _SPACES.sub(" ", text).strip()
