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
