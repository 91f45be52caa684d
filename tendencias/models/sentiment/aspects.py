"""Aspects of a drink a post talks about, found locally (no API): taste, sweetness, price, size,
packaging, availability, health, energy, brand, service.

Word and phrase lists per aspect, in Spanish (Peru first), English and the mix, matched on the
socially normalised text (models/text/social.py: "riquísimooo" -> "riquísimo", "bacán" ->
"genial") with accents optional. Measured on a labelled set written for it
(tests/data/aspects_labelled.jsonl; `benchmarks/bench_local_aspects.py` prints precision and
recall per aspect). "brand" is a named brand or talk about the brand itself.
"""

from __future__ import annotations

import re

from tendencias.models.text.social import social_normalise

ASPECT_ORDER = (
    "taste",
    "sweetness",
    "price",
    "size",
    "packaging",
    "availability",
    "health",
    "energy",
    "brand",
    "service",
)
# Word stems end in "*" (any letters may follow); everything else is a whole word or phrase.
ASPECT_WORDS: dict[str, tuple[str, ...]] = {
    "taste": (
        "sabor*", "sabros*", "rico", "rica", "ricos", "ricas", "riquisim*", "delicios*", "asco",
        "asqueros*", "feo de sabor", "sabe a*", "sabe raro", "sabe bien", "sabe mal", "insipid*",
        "aguad*", "refrescante", "amarg*", "acid*", "gusto a", "taste*", "tasty", "flavo*",
        "yummy", "delicious", "disgusting", "gross", "bland", "watery", "refreshing", "bitter",
    ),
    "sweetness": (
        "dulce*", "dulzon*", "azucar*", "empalag*", "endulza*", "edulcorant*", "stevia",
        "sin azucar", "sweet*", "sugar*", "sugary", "too sweet",
    ),
    "price": (
        "precio*", "caro", "cara", "caros", "caras", "carisim*", "barat*", "soles", "luca*", "oferta*", "promo*", "descuento*", "cuesta*", "costo*", "vale la pena", "sube*",
        "subio", "subieron", "plata", "price*", "pricey", "expensive", "cheap*", "cost*",
        "overpriced", "worth it", "deal",
    ),
    "size": (
        "tamañ*", "litro*", "ml", "personal", "grande", "gigante", "chiquit*", "pequeñ*", "mini",
        "familiar", "medio litro", "mas chica", "mas chico", "mas grande", "size*", "bigger",
        "smaller", "tiny", "huge", "large", "oz",
    ),
    "packaging": (
        "botella*", "envase*", "lata", "latas", "latita*", "empaque*", "tapa", "tapas", "tapita*",
        "etiqueta*", "plastico", "vidrio", "retornable*", "descartable*", "diseño", "caja",
        "six pack", "pack", "bottle*", "a can", "cans", "packag*", "label*", "lid", "plastic",
        "glass", "design", "wrapper",
    ),
    "availability": (
        "agotad*", "no hay", "no encuentr*", "no lo encuentr*", "no la encuentr*", "encontre",
        "encuentro", "stock", "disponib*", "en ninguna tienda", "ningun lado", "ningun sitio",
        "desaparecio", "ya no venden", "ya no sacan", "bodega*", "sold out", "out of stock",
        "available", "unavailable", "can't find", "cant find", "couldn't find", "nowhere",
    ),
    "health": (
        "salud*", "sano", "sana", "sanos", "sanas", "saludable*", "light", "zero", "diet*",
        "natural*", "calori*", "organic*", "organico*", "quimico*", "colorante*", "octogono*",
        "gastritis", "diabet*", "engorda*", "nutri*", "vitamina*", "health*", "chemical*",
    ),
    "energy": (
        "energ*", "cafeina", "despiert*", "despierta", "desvel*", "cansad*", "pilas",
        "me activa", "activa", "caffeine", "boost", "awake", "tired", "sleepy", "buzz",
    ),
    "brand": (
        "marca*", "inca kola", "incakola", "coca cola", "cocacola", "coca", "pepsi", "kola real",
        "guarana", "sporade", "gatorade", "powerade", "volt", "red bull", "redbull", "monster",
        "cifrut", "frugos", "pulp", "san luis", "agua cielo", "big cola", "concordia", "fanta",
        "sprite", "publicidad", "comercial", "anuncio*", "campaña*", "brand*", "ads",
        "commercial",
    ),
    "service": (
        "atencion", "atendi*", "delivery", "servicio", "reparto", "repartidor*", "pedido*",
        "cajer*", "vendedor*", "mozo", "demor*", "llego tarde", "nunca llego", "reclamo*",
        "libro de reclamaciones", "app", "aplicativo", "service", "support", "customer",
        "order*", "shipping", "staff", "rude",
    ),
}
_ACCENT = str.maketrans("áéíóúü", "aeiouu")


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    parts = []
    for word in sorted(words, key=len, reverse=True):
        stem = word.endswith("*")
        body = re.escape(word.rstrip("*")).replace(r"\ ", r"\s+")
        parts.append(body + (r"\w*" if stem else ""))
    return re.compile(r"(?<![\w/])(?:" + "|".join(parts) + r")(?![\w])")


_PATTERNS = {aspect: _pattern(ASPECT_WORDS[aspect]) for aspect in ASPECT_ORDER}
# Amounts of money: "s/ 5", "s/.3.50", "$2", "5 lucas".
_MONEY = re.compile(r"(?<!\w)s/\.?\s*\d|\$\s*\d|\d+(?:[.,]\d+)?\s*(?:soles|lucas|dolares|bucks)\b")


def find_aspects(text: str) -> list[str]:
    """The aspects `text` talks about, in the fixed order of ASPECT_ORDER (empty when none)."""
    plain = social_normalise(text or "").translate(_ACCENT)
    found = {aspect for aspect in ASPECT_ORDER if _PATTERNS[aspect].search(plain)}
    if _MONEY.search(plain):
        found.add("price")
    return [aspect for aspect in ASPECT_ORDER if aspect in found]
