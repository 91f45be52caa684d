"""Lexicon features for the standard local tier: what a few thousand labelled tweets cannot teach.

A head trained on ~4,000 tweets has never seen most sentiment words of Peruvian posts. These
features carry prior knowledge about them, in a handful of numbers per text:

- Spanish polarity words (written for this project: general Latin American Spanish, Peruvian
  slang after models/text/social.py has rewritten it, beverage words such as "refrescante",
  "heladita", "rajada"), a word ending in `*` standing for every word that starts with it;
  a word within three words after a negator ("no", "nunca", "ni", "tampoco", "jamás"; "sin" only
  the next word), before a comma or "pero", counts for the other side ("no está rica" is
  negative, "sin problemas" positive, "sin azúcar y rica" positive);
- English polarity from VADER (the `vaderSentiment` package: its lexicon ships in the wheel,
  MIT licence), only for texts detected as English or mixed, since it reads Spanish as noise;
- exclamation and question marks, and whether the text is English.

Input is the socially normalised text (emoji and emoticons are words by then: "feliz",
"encanta", "triste", "asco"). Every function is pure: the same text gives the same numbers.
"""

from __future__ import annotations

import math
import re

import numpy as np

_STRIP = str.maketrans("áéíóúüñ", "aeiouun")

POSITIVE_ES = """
bueno buena buenos buenas buenisim* buenaz* bien mejor mejores excelent* genial geniales
increibl* maravill* perfect* hermos* lind* bonit* precios* rico rica ricos ricas riquisim*
delicios* sabros* deli encant* amo amamos aman ama amor amores ador* feliz felices felicidad*
alegr* content* gusta gustan gusto gustó gustaria gustaron fantastic* espectacular* top
recomiend* recomend* gracias agradec* divertid* diversion disfrut* guap* chever* bacan*
mostro chido chida refrescant* fresquit* heladit* calidad exito* exitos* orgullo* emocion*
ilusion* sonris* sonrie* risa risas jaja bell* bellez* apoy* querid* cariño* abrazo* beso*
felicit* enhorabuena bravo aplaus* favorit* satisf* tranquil* paz buena_suerte wow asombros*
impresionant* fabulos* estupend* magnific* optim* ideal agradabl* comod* barat* rendidor*
vale_la_pena ganamos ganar gano ganador* triunf* celebr* fiesta* goz* esperanz*
crack idol* maestr* cool nice rapidit* facil* saludabl* nutritiv* sano sana sanos sanas
"""
NEGATIVE_ES = """
malo mala malos malas mal peor peores pesim* horribl* horror* terribl* fatal asco asquer*
asqueros* odi* triste* tristeza llor* dolor duel* enoj* enfad* molest* fastidi* hart*
cansad* aburr* decepcion* lamentabl* lastima verguenza vergonzos* feo fea feos feas
basura mierda jod* cabre* rabia miedo preocup* problema* error* falla fallo fallas roto rota
rotos rotas rajad* vencid* caro caros carisim* estafa* robo roba* robar abus* injust* sufr*
muert* muer* destru* crisis desastr* lament* que_pena penos* ridicul* estupid* idiot* imbecil*
tont* insoport* inutil* grave culpa bajon depre* deprim* ansiedad estres* frustr* fracas*
pesad* enferm* falso falsa falsos falsas pucha caramba verguenz* vomit* rancio rancia
aguad* desabrid* simplon* insipid* quej* reclam* demor* agotad* escas* desabastec*
abusivo* chafa fome bodrio cutre
aburrido mentir* mentira* engañ* trampa* peligr* dañ* toxic* grasos* empalag* amarg*
horrend* espantos* sucio sucia suciedad cochin* mugre* plaga* matar mata* mato
"""
# How many words after it a negator flips: "sin" takes one noun ("sin azúcar y rica" stays positive).
NEGATORS = {"no": 3, "nunca": 3, "ni": 3, "tampoco": 3, "jamas": 3, "nada": 2, "nadie": 3, "sin": 1}
SCOPE_ENDS = frozenset({"pero", "aunque", "sino", "y"})
_TOKEN = re.compile(r"\w+|[.,;:!?¡¿]")  # punctuation ends a negation's scope
FEATURES = (
    "pos_es",
    "neg_es",
    "vader_neg",
    "vader_pos",
    "vader_compound",
    "exclamation",
    "question",
    "english",
)


def _table(words: str, value: int) -> tuple[dict[str, int], dict[str, int]]:
    exact, stems = {}, {}
    for word in words.split():
        word = word.translate(_STRIP)
        if word.endswith("*"):
            stems[word[:-1]] = value
        else:
            exact[word.replace("_", " ")] = value
    return exact, stems


def _merge(*tables: tuple[dict[str, int], dict[str, int]]) -> tuple[dict[str, int], dict[str, int]]:
    exact, stems = {}, {}
    for e, s in tables:
        exact.update(e)
        stems.update(s)
    return exact, stems


_EXACT, _STEMS = _merge(_table(POSITIVE_ES, 1), _table(NEGATIVE_ES, -1))
_MIN_STEM = min(len(s) for s in _STEMS)
_MAX_STEM = max(len(s) for s in _STEMS)


def word_polarity(word: str) -> int:
    """+1, -1 or 0 for one accent-stripped lower-case word (exact entries first, then stems)."""
    value = _EXACT.get(word)
    if value is not None:
        return value
    for k in range(min(len(word), _MAX_STEM), _MIN_STEM - 1, -1):
        value = _STEMS.get(word[:k])
        if value is not None:
            return value
    return 0


def spanish_polarity(text: str) -> tuple[int, int]:
    """(positive, negative) word counts of a normalised text, negation flipping the side."""
    tokens = _TOKEN.findall(text.lower().translate(_STRIP))
    positive = negative = 0
    negated_until = -1
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token in SCOPE_ENDS or not (token[0].isalnum() or token[0] == "_"):
            negated_until = -1
            i += 1
            continue
        if token in NEGATORS:
            negated_until = i + NEGATORS[token]
            i += 1
            continue
        value, step = word_polarity(token), 1
        for n in (3, 2):  # phrases first: "vale la pena", "que pena"
            phrase = " ".join(tokens[i : i + n])
            if phrase in _EXACT and i + n <= len(tokens):
                value, step = _EXACT[phrase], n
                break
        if value and i <= negated_until:
            value = -value
        positive += value > 0
        negative += value < 0
        i += step
    return positive, negative


_VADER = None


def _vader():
    global _VADER
    if _VADER is None:
        try:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        except ImportError as err:
            raise RuntimeError(
                "the standard local sentiment tier needs vaderSentiment==3.3.2 "
                "(pip install vaderSentiment==3.3.2)"
            ) from err
        _VADER = SentimentIntensityAnalyzer()
    return _VADER


def lexicon_features(normalised: list[str], langs: list[str]) -> np.ndarray:
    """One row of FEATURES per text: `normalised` from social_normalise, `langs` from detect_lang."""
    out = np.zeros((len(normalised), len(FEATURES)), dtype=np.float64)
    for row, (text, lang) in enumerate(zip(normalised, langs, strict=True)):
        positive, negative = spanish_polarity(text)
        out[row, 0] = math.log1p(positive)
        out[row, 1] = math.log1p(negative)
        if lang in ("en", "mixed"):
            scores = _vader().polarity_scores(text)
            out[row, 2:5] = scores["neg"], scores["pos"], scores["compound"]
        out[row, 5] = "!" in text
        out[row, 6] = "?" in text
        out[row, 7] = lang == "en"
    return out
