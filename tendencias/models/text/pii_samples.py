"""A labelled set for measuring redaction: posts with planted personal data and hard negatives.

Written apart from the patterns in `redaction`/`addresses`: the forms below are how people write
addresses, phones and the rest in Peruvian posts (random street names, casing, accents dropped,
abbreviations with and without dots, units and settlements), not a copy of the regex, so a form
the patterns miss shows up as lost recall. The negatives are sentences full of things that look
like data and are not (prices, sizes, times, years, hashtags, "calle" and "jr" in ordinary speech).

`generate(n, seed)` returns `Sample`s whose `spans` say where each planted item is; `evaluate`
scores any `find(text) -> [(kind, (start, end))]` per kind: a planted item is found when spans of
its kind cover all of it (a partial cover leaks the rest); a found span that touches no planted
item of its kind is a false positive.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

Span = tuple[str, int, int]
Finder = Callable[[str], list[tuple[str, tuple[int, int]]]]

STREET_NAMES = (
    "Lampa",
    "Arequipa",
    "Javier Prado Este",
    "José Gálvez Barrenechea",
    "Los Olivos",
    "Las Begonias",
    "28 de Julio",
    "Dos de Mayo",
    "Nicolás de Piérola",
    "Mariscal Castilla",
    "Mcal. Cáceres",
    "Sánchez Cerro",
    "Huamanga",
    "Ica",
    "Camaná",
    "Ucayali",
    "La Marina",
    "Brasil",
    "Túpac Amaru",
    "Próceres de la Independencia",
    "Santa Rosa",
    "San Martín",
    "Grau",
    "Bolognesi",
    "Angamos Oeste",
    "Benavides",
    "Larco",
    "Pardo",
    "Petit Thouars",
    "Los Jazmines",
    "Las Gardenias",
    "El Sol",
    "Primavera",
    "Canadá",
    "República de Panamá",
    "Universitaria",
    "Naranjal",
    "Huaylas",
    "Colonial",
    "Alfonso Ugarte",
    "Emancipación",
    "Cusco",
    "Tacna",
    "O'Higgins",
    "Micaela Bastidas",
    "Simón Bolívar",
    "Gral. Varela",
    "Los Cedros",
    "Las Palmeras",
    "Manco Cápac",
    "Iquitos",
)
_FIRST = ("Juan", "Rosa", "Miguel", "Carmen", "Jorge", "Lucía", "Pedro", "Teresa", "Víctor", "Elena")
_SURNAME = ("Quispe", "Huamán", "Mamani", "Flores", "Rojas", "Chávez", "Vargas", "Torres", "Ramírez")
_PLANTS = ("Pinos", "Rosales", "Geranios", "Claveles", "Sauces", "Nogales", "Laureles", "Fresnos")
SETTLEMENTS = (
    "Santa Patricia",
    "Las Flores",
    "Villa María",
    "Los Olivos",
    "San Felipe",
    "El Ermitaño",
    "Santa Elizabeth",
    "Huáscar",
    "Pachacámac",
    "Los Ángeles",
    "Villa El Salvador",
)
DISTRICTS = ("Miraflores", "Lince", "Surco", "SJL", "Comas", "Callao", "Breña", "Ate", "Arequipa")
BRANDS = ("Inca Kola", "Coca-Cola", "Guaraná", "Pilsen", "Cusqueña", "San Luis", "Volt", "Sporade")

STREET_TYPES = (
    "Av.",
    "Av",
    "AV.",
    "av",
    "Avda.",
    "Avenida",
    "avenida",
    "Jr.",
    "Jr",
    "jr.",
    "JR",
    "Jirón",
    "jiron",
    "Calle",
    "calle",
    "Ca.",
    "Psje.",
    "Psje",
    "Pje.",
    "pasaje",
    "Pasaje",
    "Prol.",
    "Prolongación",
    "prolongacion",
    "Malecón",
    "Alameda",
)
_NUMBER_FORMS = (
    "{n}",
    "{n}",
    "{n}",
    "N° {n}",
    "Nº {n}",
    "N°{n}",
    "nro {n}",
    "Nro. {n}",
    "#{n}",
    "# {n}",
    "No. {n}",
    "número {n}",
    "{n}-{L}",
    "{n}{L}",
    "s/n",
    "S/N",
    "cdra. {c}",
    "cuadra {c}",
    "Cdra {c}",
)
_UNIT_FORMS = (
    "",
    "",
    "",
    " dpto {u}",
    " Dpto. {u}",
    " depto {u}{L}",
    " int. {u}",
    " Int {u}",
    " interior {u}",
    " piso {p}",
    " of. {u}",
    " Oficina {u}",
    ", dpto. {u}",
    " - int. {u}",
    " dpto {u}-{L}",
)
_BLOCK_FORMS = (
    "Mz. {L} Lt. {l}",
    "mz {l_} lt {l}",
    "MZ. {L}{d} LT. {l}",
    "Mza. {L} Lote {l}",
    "manzana {l_} lote {l}",
    "Mz '{L}' Lt {l}",
    "Lt. {l} Mz. {L}",
    "Mz. {L}, Lt. {l}",
    "Mz {L} Lote {l}",
)
_SETTLEMENT_FORMS = (
    "Urb. {s}",
    "urb {s}",
    "Urbanización {s}",
    "urbanizacion {s}",
    "AA.HH. {s}",
    "A.H. {s}",
    "Asoc. {s}",
    "Coop. {s}",
    "P.J. {s}",
    "Residencial {s}",
)
_ROAD_FORMS = (
    "Carretera Central km {k}",
    "Carr. Panamericana Sur Km. {k}",
    "Panamericana Norte km {k}",
    "Ctra. a Cieneguilla km {k}",
    "km {k} de la Carretera Central",
    "Km. {k} de la Panamericana Sur",
    "Autopista Ramiro Prialé km {k}",
    "kilómetro {k} de la carretera a Canta",
)

_ADDRESS_CONTEXTS = (
    "vivo en {x}",
    "entreguen en {x}, {district}",
    "la bodega de {x} ya tiene {brand} helada",
    "mi dirección es {x}",
    "{x} ahí venden {brand} a buen precio",
    "dirección: {x} ref. frente al parque",
    "manden el pedido a {x} porfa",
    "en {x} no hay stock de {brand}",
    "el delivery no llega a {x}!!",
    "{x}, {district}. pasen la voz",
    "recojan su premio en {x} hasta el viernes",
)
_OTHER_CONTEXTS = {
    "email": ("escríbanme a {x}", "mi correo {x} por si hay sorteo", "{x} para reclamos"),
    "phone": ("llámame al {x}", "cel {x} para pedidos", "whatsapp {x} porfa", "al {x} atienden"),
    "dni": ("mi DNI es {x}", "dni {x} para el sorteo", "DNI: {x}"),
    "ruc": ("RUC {x} de la bodega", "factura con ruc {x}"),
    "card": ("pagué con la tarjeta {x} y no pasó", "tarjeta {x} rechazada"),
    "handle": ("gracias {x} por el dato", "dile a {x} que traiga {brand}", "{x} ya probó la nueva"),
    "url": ("mira {x}", "promo en {x}", "{x} tiene ofertas"),
}
# Sentences with numbers, street words and @ that hold no personal data.
NEGATIVES = (
    "la calle está llena de gente tomando {brand}",
    "botella de {ml} ml a S/ {price}",
    "promo hasta las {hh}:{mm}",
    "#{tag}",
    "en {year} subió el precio de {brand}",
    "el jr de la casa ya toma {brand}",
    "lote {lot} vence el {date}",
    "en la avenida {street} hay {n} tiendas",
    "pasé por la av. {street} y estaba lleno",
    "el departamento de {district} tiene {n} bodegas",
    "calle oscura y sin {brand}",
    "la {stype} {street} está cerrada por obras",
    "compré {n} latas en el jr. {street}",
    "me quedé en la calle {n} horas",
    "corrí {n} km por la av. {street}",
    "a {n} cuadras de la av. {street} venden {brand}",
    "el pasaje cuesta S/ {price}",
    "neymar jr. marcó {n} goles",
    "av. de la cerveza, así le dicen",
    "pack x {n} de {ml} ml",
    "el {pct}% prefiere sin azúcar",
    "vence el {date}",
    "la calle del {year} era otra cosa",
    "te veo @ las {hh}",
    "int. de {brand} subió a S/ {price}",
    "la mz de mi tía es la más bonita",
    "calle {n}, así se llama el grupo",
    "desde {year} en la av. {street}",
    "{brand} de {ml}ml a {price} soles",
)


@dataclass(frozen=True)
class Sample:
    text: str
    spans: tuple[Span, ...]  # (kind, start, end) of every planted item


@dataclass
class Counts:
    planted: int = 0
    found: int = 0  # planted items covered in full
    predicted: int = 0
    false_positives: int = 0
    examples: dict[str, list[str]] = field(default_factory=lambda: {"missed": [], "false": []})

    @property
    def precision(self) -> float:
        return (self.predicted - self.false_positives) / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.planted if self.planted else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _case(rng: random.Random, text: str) -> str:
    roll = rng.random()
    if roll < 0.35:
        text = text.lower()
    elif roll < 0.45:
        text = text.upper()
    if rng.random() < 0.3:
        text = _strip_accents(text)
    return text


def _street_name(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.6:
        return rng.choice(STREET_NAMES)
    if roll < 0.8:
        return f"{rng.choice(_FIRST)} {rng.choice(_SURNAME)}"
    return f"Los {rng.choice(_PLANTS)}"


def _fill(rng: random.Random, form: str) -> str:
    letter = rng.choice("ABCDEFGHJK")
    return form.format(
        n=rng.choice((rng.randint(10, 99), rng.randint(100, 999), rng.randint(1000, 5999))),
        L=letter,
        l_=letter.lower(),
        d=rng.randint(1, 9),
        c=rng.randint(1, 40),
        u=rng.randint(1, 1204),
        p=rng.randint(2, 15),
        l=rng.randint(1, 40),
        s=rng.choice(SETTLEMENTS),
        k=rng.choice((str(rng.randint(1, 120)), f"{rng.randint(1, 60)}.{rng.randint(1, 9)}")),
    )


def address(rng: random.Random) -> str:
    """One street address in a random Peruvian form."""
    roll = rng.random()
    if roll < 0.6:
        street = f"{rng.choice(STREET_TYPES)} {_street_name(rng)} {_fill(rng, rng.choice(_NUMBER_FORMS))}"
        text = street + _fill(rng, rng.choice(_UNIT_FORMS))
        if rng.random() < 0.15:
            text = f"{_fill(rng, rng.choice(_SETTLEMENT_FORMS))}, {text}"
    elif roll < 0.75:
        text = f"Calle {rng.randint(1, 30)} {_fill(rng, rng.choice(('N° {n}', 'nro. {n}', '#{n}')))}"
    elif roll < 0.92:
        text = _fill(rng, rng.choice(_BLOCK_FORMS))
        if rng.random() < 0.6:
            text = f"{_fill(rng, rng.choice(_SETTLEMENT_FORMS))} {text}"
    else:
        text = _fill(rng, rng.choice(_ROAD_FORMS))
    return _spacing(rng, _case(rng, text))


def _spacing(rng: random.Random, text: str) -> str:
    """Typing as in posts: no space after a dot ("Av.Larco", "Mz.B"), or a doubled space."""
    roll = rng.random()
    if roll < 0.1:
        return text.replace(". ", ".")
    if roll < 0.2:
        return text.replace(" ", "  ", 1)
    return text


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(n))


def other(rng: random.Random, kind: str) -> str:
    """One item of another kind of personal data, in a random common form."""
    if kind == "email":
        user = rng.choice(
            (f"{rng.choice(_FIRST)}.{rng.choice(_SURNAME)}", f"{rng.choice(_FIRST)}{rng.randint(1, 99)}")
        )
        domain = rng.choice(("gmail.com", "hotmail.com", "outlook.es", "yahoo.com", "bodega.com.pe"))
        return _strip_accents(f"{user}@{domain}").lower()
    if kind == "phone":
        m = "9" + _digits(rng, 8)
        return rng.choice(
            (
                m,
                f"{m[:3]} {m[3:6]} {m[6:]}",
                f"{m[:3]}-{m[3:6]}-{m[6:]}",
                f"+51 {m[:3]} {m[3:6]} {m[6:]}",
                f"+51{m}",
                f"(01) {_digits(rng, 3)}-{_digits(rng, 4)}",
                f"01 {_digits(rng, 7)}",
                f"(054) {_digits(rng, 6)}",
            )
        )
    if kind == "dni":
        return rng.choice((_digits(rng, 8), f"{rng.randint(10000000, 79999999)}-{rng.randint(0, 9)}"))
    if kind == "ruc":
        return rng.choice(("10", "20")) + _digits(rng, 9)
    if kind == "card":
        groups = [rng.choice("45") + _digits(rng, 3), _digits(rng, 4), _digits(rng, 4), _digits(rng, 4)]
        return rng.choice((" ", "-", "")).join(groups)
    if kind == "handle":
        return (
            "@" + _strip_accents(f"{rng.choice(_FIRST)}_{rng.choice(_SURNAME)}{rng.randint(1, 99)}").lower()
        )
    if kind == "url":
        return rng.choice(
            (
                f"https://t.co/{_digits(rng, 3)}AbX",
                f"www.bodega{rng.randint(1, 99)}.pe/ofertas",
                f"bit.ly/{_digits(rng, 2)}xYz",
            )
        )
    raise ValueError(f"unknown kind {kind!r}")


def negative(rng: random.Random) -> str:
    """A sentence with numbers and street words but no personal data."""
    form = rng.choice(NEGATIVES)
    text = form.format(
        brand=rng.choice(BRANDS),
        ml=rng.choice((355, 500, 625, 750, 1500)),
        price=f"{rng.randint(1, 30)}.{rng.choice(('50', '90', '00'))}",
        hh=rng.randint(1, 12),
        mm=rng.choice(("00", "15", "30", "45")),
        tag=rng.choice(("IncaKola2024", "calle5", "SinAzucar")),
        year=rng.randint(1990, 2026),
        lot=_digits(rng, 6),
        date=f"{rng.randint(1, 28)}/{rng.randint(1, 12):02d}/2025",
        street=_street_name(rng),
        district=rng.choice(DISTRICTS),
        n=rng.randint(2, 30),
        pct=rng.randint(5, 95),
        stype=rng.choice(("avenida", "calle", "av.", "jr.")),
    )
    return _case(rng, text) if rng.random() < 0.3 else text


KINDS = ("address", "email", "phone", "dni", "ruc", "card", "handle", "url")


def _planted(rng: random.Random, kind: str) -> tuple[str, str]:
    contexts = _ADDRESS_CONTEXTS if kind == "address" else _OTHER_CONTEXTS[kind]
    value = address(rng) if kind == "address" else other(rng, kind)
    return rng.choice(contexts), value


def generate(n: int, seed: int = 7) -> list[Sample]:
    """`n` posts: a third negatives only, the rest with one to three planted items (half addresses)."""
    rng = random.Random(seed)
    samples = []
    for _ in range(n):
        parts: list[str] = []
        spans: list[Span] = []
        pieces = rng.randint(1, 3)
        for _ in range(pieces):
            if parts:
                parts.append(rng.choice((". ", " y ", ", ", " | ")))
            offset = sum(map(len, parts))
            if rng.random() < 0.33:
                parts.append(negative(rng))
                continue
            kind = "address" if rng.random() < 0.5 else rng.choice(KINDS[1:])
            context, value = _planted(rng, kind)
            before, after = context.split("{x}")
            before = before.format(brand=rng.choice(BRANDS), district=rng.choice(DISTRICTS))
            after = after.format(brand=rng.choice(BRANDS), district=rng.choice(DISTRICTS))
            start = offset + len(before)
            spans.append((kind, start, start + len(value)))
            parts.append(before + value + after)
        samples.append(Sample("".join(parts), tuple(spans)))
    return samples


def evaluate(samples: Iterable[Sample], find: Finder) -> dict[str, Counts]:
    """Per kind: planted, found in full, predicted and false positives (see the module doc)."""
    counts = {kind: Counts() for kind in KINDS}
    for sample in samples:
        predicted = find(sample.text)
        for kind, start, end in sample.spans:
            c = counts[kind]
            c.planted += 1
            covered = set()
            for p_kind, (p_start, p_end) in predicted:
                if p_kind == kind:
                    covered.update(range(max(start, p_start), min(end, p_end)))
            if len(covered) == end - start:
                c.found += 1
            elif len(c.examples["missed"]) < 5:
                c.examples["missed"].append(sample.text[start:end])
        for p_kind, (p_start, p_end) in predicted:
            c = counts.setdefault(p_kind, Counts())
            c.predicted += 1
            if not any(k == p_kind and p_start < e and s < p_end for k, s, e in sample.spans):
                c.false_positives += 1
                if len(c.examples["false"]) < 5:
                    c.examples["false"].append(sample.text[p_start:p_end])
    return counts
