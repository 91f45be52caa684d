"""Redaction: personal data out, everything else (prices, dates, quantities, models) untouched."""

from __future__ import annotations

import pytest

from tendencias.models.text.redaction import find_pii, redact

# (text, the personal data in it, the placeholder that must replace it)
POSITIVE = [
    ("escríbeme a juan.perez+promo@gmail.com ya", "juan.perez+promo@gmail.com", "<email>"),
    ("correo: ventas@bebidas.com.pe.", "ventas@bebidas.com.pe", "<email>"),
    ("llama al +51 987 654 321 porfa", "+51 987 654 321", "<phone>"),
    ("whatsapp +51987654321", "+51987654321", "<phone>"),
    ("cel 987-654-321", "987-654-321", "<phone>"),
    ("cel 987654321!", "987654321", "<phone>"),
    ("cel 987.654.321", "987.654.321", "<phone>"),
    ("0051 987 654 321", "0051 987 654 321", "<phone>"),
    ("fijo (01) 234-5678 de la tienda", "(01) 234-5678", "<phone>"),
    ("fijo 01 2345678", "01 2345678", "<phone>"),
    ("fijo 01-234-5678", "01-234-5678", "<phone>"),
    ("Lima +51 1 234 5678", "+51 1 234 5678", "<phone>"),
    ("Arequipa (054) 123456", "(054) 123456", "<phone>"),
    ("Madrid +34 612 345 678", "+34 612 345 678", "<phone>"),
    ("USA +1 (555) 123-4567", "+1 (555) 123-4567", "<phone>"),
    ("mi DNI es 45678912", "45678912", "<dni>"),
    ("DNI: 12345678-9", "12345678-9", "<dni>"),
    ("RUC 20123456789 de la bodega", "20123456789", "<ruc>"),
    ("tarjeta 4111 1111 1111 1111 no pasó", "4111 1111 1111 1111", "<card>"),
    ("tarjeta 4111-1111-1111-1111", "4111-1111-1111-1111", "<card>"),
    ("tarjeta 5500000000000004", "5500000000000004", "<card>"),
    ("gracias @maria_lopez92 por el dato", "@maria_lopez92", "@usuario"),
    ("dile a @juan.perez.", "@juan.perez", "@usuario"),
    ("mira https://t.co/AbC123xyz", "https://t.co/AbC123xyz", "<url>"),
    ("en www.mitienda.pe/ofertas?id=7", "www.mitienda.pe/ofertas?id=7", "<url>"),
    ("link bit.ly/3xYzAbC", "bit.ly/3xYzAbC", "<url>"),
]

# Texts that hold numbers or @ but no personal data: they must come out unchanged.
NEGATIVE = [
    "a S/ 3.50 la botella",
    "S/. 1,250.00 por caja",
    "precio 12.90 soles, 3 por 10",
    "vence el 12/05/2024",
    "desde 2024-05-12 hasta el 15-06-2024",
    "botella de 500 ml y de 1.5L",
    "en 2023 y 2024 subió",
    "el modelo XR-2000 y el RTX 4090",
    "promo 2x1 hasta las 10:30",
    "entre 500-1000 soles al mes",
    "el 95% prefiere sin azúcar",
    "pack x 6 de 355 ml",
    "#sinazucar #IncaKola",
    "te veo @ las 5",
    "ya tengo 2 años tomando esto",
    "lote 123456 fabricado en planta 7",
]


@pytest.mark.parametrize("text, secret, placeholder", POSITIVE)
def test_personal_data_is_replaced(text, secret, placeholder):
    assert redact(text) == text.replace(secret, placeholder)  # only the data changes


@pytest.mark.parametrize("text", NEGATIVE)
def test_ordinary_numbers_are_kept(text):
    assert redact(text) == text
    assert find_pii(text) == []


def test_several_kinds_in_one_post_in_order():
    text = "Soy Ana (DNI 45678912), cel 987654321, ana@correo.pe, @ana_bebidas https://x.co/1"
    kinds = [kind for kind, _ in find_pii(text)]
    assert kinds == ["dni", "phone", "email", "handle", "url"]
    assert redact(text) == "Soy Ana (DNI <dni>), cel <phone>, <email>, @usuario <url>"


def test_spans_point_at_the_data():
    text = "mail: a.b@c.com y tel 987 654 321"
    spans = {kind: text[start:end] for kind, (start, end) in find_pii(text)}
    assert spans == {"email": "a.b@c.com", "phone": "987 654 321"}


def test_brand_handles_on_the_allow_list_stay():
    text = "@IncaKola y @CocaColaPeru vs @pepito_99"
    out = redact(text, keep_handles=frozenset({"@incakola", "cocacolaperu"}))
    assert out == "@IncaKola y @CocaColaPeru vs @usuario"
    assert redact(text) == "@usuario y @usuario vs @usuario"


def test_email_is_not_split_into_a_handle():
    assert redact("info@incakola.pe") == "<email>"


def test_redaction_is_idempotent():
    text = "llama 987654321 o escribe a x@y.com, @fulano, DNI 45678912"
    once = redact(text)
    assert redact(once) == once


def test_empty_text():
    assert redact("") == ""
    assert find_pii("") == []


# Street addresses in Peruvian forms: (text, the address in it).
ADDRESS_POSITIVE = [
    ("vivo en jr. lampa 1234 dpto 5, cercado", "jr. lampa 1234 dpto 5"),
    ("Av. Arequipa N° 2450, Lince", "Av. Arequipa N° 2450"),
    ("entreguen en Avenida Javier Prado Este 4200 of. 301", "Avenida Javier Prado Este 4200 of. 301"),
    ("AV. 28 DE JULIO 560 INT. 2", "AV. 28 DE JULIO 560 INT. 2"),
    ("Jirón Ica 345-B int. 2 ref. mercado", "Jirón Ica 345-B int. 2"),
    ("jiron ucayali nro. 283", "jiron ucayali nro. 283"),
    ("en calle los pinos 120 hay promo", "calle los pinos 120"),
    ("Ca. O'Higgins #338", "Ca. O'Higgins #338"),
    ("Calle 7 nro. 120, Urb. San Felipe", "Calle 7 nro. 120"),
    ("Psje. Santa Rosa 15 piso 2", "Psje. Santa Rosa 15 piso 2"),
    ("pje los jazmines s/n", "pje los jazmines s/n"),
    ("Prolongación Huamanga 456", "Prolongación Huamanga 456"),
    ("Av. Mcal. Óscar R. Benavides 1520", "Av. Mcal. Óscar R. Benavides 1520"),
    ("av.larco 345 dpto 1204", "av.larco 345 dpto 1204"),
    ("av arequipa cdra. 25", "av arequipa cdra. 25"),
    ("Mz. B Lt. 12", "Mz. B Lt. 12"),
    ("mi casa: mz c lote 4, Comas", "mz c lote 4"),
    ("Lt. 5 Mz. D", "Lt. 5 Mz. D"),
    ("Urb. Santa Patricia Mz. F1 Lt. 3 int 2", "Urb. Santa Patricia Mz. F1 Lt. 3 int 2"),
    ("AA.HH. Villa El Salvador manzana F lote 3", "AA.HH. Villa El Salvador manzana F lote 3"),
    ("urbanizacion las flores, calle las gardenias 123", "urbanizacion las flores, calle las gardenias 123"),
    ("Carretera Central km 12.5", "Carretera Central km 12.5"),
    ("km 25 de la carretera central, frente al grifo", "km 25 de la carretera central"),
    ("ctra. a Cieneguilla km 5", "ctra. a Cieneguilla km 5"),
]

# Street words, "jr", lots and numbers in ordinary speech: no address. A street without a number
# ("av. de la cerveza", "en la avenida Arequipa") is kept on purpose: it locates nobody.
ADDRESS_NEGATIVE = [
    "av. de la cerveza",
    "en la avenida Arequipa hay 3 tiendas",
    "la calle está llena",
    "la calle estaba llena de gente a las 10:30",
    "me quedé en la calle 5 horas",
    "la calle del 2023 era otra cosa",
    "calle larga de 500 m",
    "botella de 625 ml",
    "a S/ 3.50 en el jr. de la esquina",
    "neymar jr. marcó 10 goles",
    "el jr de la casa cumplió 5 años",
    "compré en av. brasil 2 six packs",
    "av. larco a las 10:30",
    "corrí 10 km por la av. grau",
    "a 5 cuadras de la av. abancay",
    "el departamento de Lima tiene 43 distritos",
    "lote 123456 fabricado en planta 7",
    "el pasaje cuesta S/ 2.50",
    "#calle123 #AvLarco",
    "desde 2019 en la av. grau",
    "int. de la marca subió a S/ 4.00",
]


@pytest.mark.parametrize("text, address", ADDRESS_POSITIVE)
def test_street_addresses_are_replaced(text, address):
    assert redact(text) == text.replace(address, "<address>")


@pytest.mark.parametrize("text", ADDRESS_NEGATIVE)
def test_street_words_without_an_address_are_kept(text):
    assert find_pii(text) == []


def test_an_address_beside_a_phone_keeps_both_placeholders():
    text = "jr. lampa 1234 dpto 5 cel 987654321, DNI 45678912"
    assert redact(text) == "<address> cel <phone>, DNI <dni>"
    assert redact(redact(text)) == redact(text)
