"""Street addresses in the forms people write them in Peru, as one pattern for `redaction`.

What counts as an address (what locates a home or a shop door):
- a street type (Av./Avenida/Avda., Jr./Jirón, Calle/Ca., Psje./Pje./Pasaje, Prol./Prolongación,
  Malecón, Alameda, Óvalo) with a name and a number: "Jr. Lampa 1234", "av. 28 de julio N° 560",
  "Calle 7 nro. 120", "Av. Grau s/n", "av. arequipa cdra. 25";
- a block and lot, with or without its settlement: "Mz. B Lt. 12", "Urb. Santa Rosa mz c lote 4",
  "AA.HH. Los Olivos Mz. F1 Lt. 3", "lote 5 manzana D";
- a road and its kilometre: "Carretera Central km 12.5", "Panamericana Sur Km. 30",
  "km 25 de la Carretera Central".
The unit after it (dpto 5, Int. 2, piso 3, of. 201, Mz/Lt) and a settlement before it
(Urb. ..., AA.HH. ..., Asoc. ...) belong to the same span.

What does not (kept, on purpose): a street with no number ("av. de la cerveza", "la calle está
llena", "en la avenida Arequipa"), since a street alone locates nobody and is what trends are
made of; "dpto", "int." or "lote" alone ("el departamento de Lima", "lote 123456 fabricado");
a number that is a quantity, price or time ("calle larga de 500 m", "a las 10:30"); hashtags.
A name word that is a Spanish function word or common verb ("calle está", "avenida hay") ends
the name, so ordinary sentences after "calle" do not become addresses.
"""

from __future__ import annotations

import re

from tendencias.models.text.stopwords import SPANISH

_ACCENTS = {"a": "[aá]", "e": "[eé]", "i": "[ií]", "o": "[oó]", "u": "[uúü]", "n": "[nñ]"}

# Articles and "de" are part of street names (Av. de la Marina, Jr. Los Olivos); other function
# words and verbs are not.
_NAME_PARTICLES = frozenset({"de", "del", "la", "las", "el", "los", "este"})  # Javier Prado Este
# Nor is another street word: "av. grau venden ... la calle del 2007" is two phrases, not a name.
_STREET_WORDS = {"av", "avenida", "jr", "jiron", "calle", "pasaje", "psje", "pje", "mz", "lt", "lote", "km"}
_NOT_A_NAME = sorted(
    (SPANISH - _NAME_PARTICLES) | _STREET_WORDS | {"a", "o", "u", "e", "y", "x"}, key=len, reverse=True
)


def _loose(word: str) -> str:
    """A word that matches with or without its accents."""
    return "".join(_ACCENTS.get(ch, re.escape(ch)) for ch in word)


# A word ending in "ó" is a verb in the past tense (marcó, compró), not a street name.
_STOP = r"(?!(?:" + "|".join(_loose(w) for w in _NOT_A_NAME) + r")(?![\w'’-])|[^\W\d_]*ó(?![\w'’-]))"
_UNITS = (
    r"ml|cl|l|lt|lts|litros?|oz|g|gr|kg|mg|m|cm|mm|km|soles?|s/|am|pm|a\.m|p\.m|h|hrs?|horas?|min|"
    r"minutos?|segundos?|d[ií]as?|semanas?|meses|mes|a[ñn]os?|%|x|personas?|unidades|botellas?|"
    r"latas?|cajas?|packs?|veces|puntos|grados|°c|goles|partidos"
)
# O'Higgins, Sánchez-Cerro; a dot only after an abbreviation (Mcal. Óscar R. Benavides), so a
# name does not run on past the end of a sentence.
_ABBREVIATIONS = r"(?:mcal|gral|cnel|tte|cap|sgto|pdte|sta|sto|sr|sra|dr|ing|prof|mons|fray|[^\W\d_])\."
_WORD = rf"(?:{_ABBREVIATIONS}|[^\W\d_][\w'’-]*)"
_MONTHS = (
    r"(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|setiembre|septiembre|octubre|noviembre|diciembre)"
)
_GAP = r"(?:\s+|(?<=\.)\s*)"  # "Av.Larco", "Mcal.Cáceres": no space after a dot
_NAME_WORD = _STOP + _WORD
_CONTENT_WORD = r"(?!(?:de|del|la|las|el|los)\b)" + _NAME_WORD
_NAME = (
    rf"(?:\d{{1,2}}\s+de\s+{_MONTHS}"  # Av. 28 de Julio, Jr. 2 de Mayo
    rf"|(?:{_NAME_WORD}{_GAP}){{0,4}}{_CONTENT_WORD}(?:{_GAP}{_NAME_WORD}){{0,4}}?)"
)
_NUMBER_MARK = r"(?:(?:n\.?\s?[°º]|n°|nº|nro|núm|num|número|numero|no(?=\.)|#)\.?\s*)"
_END = rf"(?![\w/%]|[.,:]\d|\s*(?:{_UNITS})(?![\w]))"
_HOUSE = (
    # A bare number needs two digits: "av. brasil 2 six packs" is a quantity, "av. brasil N° 2" is not.
    rf"(?:(?:{_NUMBER_MARK}\d{{1,5}}|\d{{2,5}})(?:\s?-\s?[a-z]\b|[a-z]\b)?{_END}"
    rf"|s/n\b|s\.n\.|(?:cdra|cuadra|cda)\.?\s*\d{{1,2}}{_END})"
)
# A numbered street ("Calle 7") needs a marked number after it: "calle 7 nro 120".
_MARKED_HOUSE = rf"(?:{_NUMBER_MARK}\d{{1,5}}[a-z]?{_END}|s/n\b)"
_STREET = (
    r"(?:avenida|avda\.?|av\.?|jir[oó]n|jr\.?|calle|ca\.|pasaje|psje\.?|pje\.?|psj\.?|"
    r"prolongaci[oó]n|prol\.|malec[oó]n|alameda|[oó]valo)"
)
_BLOCK = r"[\"'“‘]?(?:[a-z]\d{0,2}|\d{1,3}[a-z]?)[\"'”’]?"
_MZ = rf"(?:manzana|mza?\.?)\s*{_BLOCK}"
_LT = r"(?:lote|lt\.?)\s*(?:n[°º]\.?\s*)?\d{1,3}[a-z]?\b"
_BLOCK_LOT = rf"(?:{_MZ}\s*,?\s*{_LT}|{_LT}\s*,?\s*{_MZ}\b)"
_SETTLEMENT = (
    r"(?:urbanizaci[oó]n|urb\.?|aa\.?\s?hh\.?|asentamiento\s+humano|a\.?h\.|asociaci[oó]n|asoc\.?|"
    r"cooperativa|coop\.?|p\.?\s?j\.?|pueblo\s+joven|conjunto\s+habitacional|residencial)"
)
_UNIT = (
    r"(?:dpto|depto|dep|departamento|int|interior|piso|of|oficina|block|bloque|blq|torre|edif)\.?"
    r"\s*(?:n[°º]\.?\s*)?(?:\d{1,4}[a-z]?|[a-z]\d{0,3})(?:\s?-\s?[a-z0-9]{1,2})?\b"
)
_TAIL = rf"(?:\s*[,-]?\s*(?:{_UNIT}|{_BLOCK_LOT}))*"
_ROAD = r"(?:carretera|carr\.|ctra\.|panamericana|autopista|v[ií]a\s+de\s+evitamiento)"
_KM = r"(?:km|kil[oó]metro)\.?\s*\d{1,4}(?:[.,]\d{1,3})?\b"

# Every form starts with one of these letters; a case-sensitive class up front lets the regex
# engine skip ahead to them instead of trying each alternative at every position (2x faster).
_FIRST_LETTERS = "aAjJcCpPmMoOóÓlLuUrRvVkK"

ADDRESS = re.compile(
    rf"(?=[{_FIRST_LETTERS}])(?i:(?<![\w#@/])(?:"
    # [Urb. X,] street name number [unit]
    rf"(?:{_SETTLEMENT}{_GAP}{_NAME}\s*,?\s*)?{_STREET}{_GAP}(?:{_NAME}\s*,?\s*{_HOUSE}|\d{{1,3}}\s*,?\s*{_MARKED_HOUSE}){_TAIL}"
    # [Urb. X] Mz. B Lt. 12 [unit]
    rf"|(?:{_SETTLEMENT}{_GAP}{_NAME}\s*,?\s*)?{_BLOCK_LOT}{_TAIL}"
    # Carretera Central km 12.5 / km 25 de la Carretera Central
    rf"|{_ROAD}(?:{_GAP}al?\b)?(?:{_GAP}{_NAME_WORD}){{0,4}}\s*,?\s*{_KM}"
    rf"|{_KM}\s+(?:de\s+la\s+)?{_ROAD}(?:\s+al?\b)?(?:\s+{_CONTENT_WORD}){{0,2}}"
    r"))"
)
