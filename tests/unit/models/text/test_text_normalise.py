"""Normalisation and tokenisation of Spanish, English and mixed posts (examples written for these tests)."""

from __future__ import annotations

import pytest

from tendencias.models.text.normalise import (
    STOP_WORDS,
    detect_lang,
    extract_hashtags,
    normalise,
    phrases,
    post_tokens,
    tokenize,
    words,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Qué RICA la Limonada", "que rica la limonada"),
        ("azúcar, café, pingüino, canción", "azucar, cafe, pinguino, cancion"),
        ("Año nuevo en Piñas", "año nuevo en piñas"),  # ñ is a different letter: año is not ano
        ("Riiiiico!!!", "rico!!!"),
        ("siiiii, muuuuy buenoooo", "si, muy bueno"),
        ("amorrrrr", "amor"),
        ("leer, llamar, acción, perro", "leer, llamar, accion, perro"),  # real doubles stay
        ("coooool", "cool"),
        ("perrrrro", "perro"),
        ("JAJAJAJA qué risa, jsjsjs, hahaha", "jaja que risa, jaja, jaja"),
        ("𝐇𝐨𝐥𝐚", "hola"),  # "bold" letters pasted from social media
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


def test_accent_stripping_keeps_n_tilde_apart_in_tokens():
    assert tokenize("AÑO nuevo") == ["año", "nuevo"]
    assert "ano" not in tokenize("AÑO nuevo")


def test_emoji_are_tokens_one_each_without_skin_tones():
    tokens = tokenize("Me encanta 😍😍 👍🏽 🇵🇪 👨‍👩‍👧")
    assert tokens == ["encanta", "😍", "😍", "👍", "🇵🇪", "👨\u200d👩\u200d👧"]


def test_hashtags_are_normalised_tokens():
    text = "Probé la nueva #SinAzúcar de #IncaKola2024 #Perú #123"
    assert extract_hashtags(text) == ["#sinazucar", "#incakola2024", "#peru"]
    assert "#sinazucar" in tokenize(text)


def test_handles_urls_emails_and_placeholders_are_dropped():
    tokens = tokenize("@usuario mira <url> https://t.co/xyz www.ejemplo.pe ana@correo.pe <phone> limonada")
    assert tokens == ["mira", "limonada"]


def test_numbers_glued_to_letters_stay_bare_numbers_go():
    tokens = tokenize("Compré 2 botellas de 500ml y una de 1,5L a S/ 3.50 en promo 2x1, año 2024")
    assert "500ml" in tokens and "1.5l" in tokens and "2x1" in tokens
    assert not any(t.replace(".", "").isdigit() for t in tokens)


def test_hyphenated_names_match_the_spaced_spelling():
    assert phrases(words("Coca-Cola")) == phrases(words("coca cola")) == ["coca cola"]


def test_stop_words_spanish_english_and_domain():
    tokens = tokenize("La bebida que yo tomo es de las mejores and the drink is the best for me")
    assert tokens == ["tomo", "mejores", "best"]
    assert {"bebida", "drink", "que", "the"} <= STOP_WORDS


def test_sin_azucar_survives_as_a_phrase_but_sin_is_not_a_term():
    result = post_tokens("Por fin una versión SIN AZÚCAR 💚 #SinAzucar")
    assert "sin azucar" in result["tokens"]
    assert "sin" not in result["tokens"]
    assert "version sin" not in result["tokens"]  # a modifier never ends a phrase
    assert result["hashtags"] == ["#sinazucar"]


@pytest.mark.parametrize(
    "text, phrase",
    [
        ("No me gusta el nuevo sabor", "no gusta"),
        ("way too sweet for me", "too sweet"),
        ("sabor a maracuyá", "sabor maracuya"),  # plain stop words are skipped inside a phrase
        ("agua con gas heladita", "con gas"),
    ],
)
def test_meaningful_phrases(text, phrase):
    assert phrase in post_tokens(text)["tokens"]


def test_phrases_do_not_cross_punctuation_hashtags_or_emoji():
    tokens = post_tokens("Rica la chicha. Mañana compro más 😋 helada #verano botella")["tokens"]
    assert "chicha mañana" not in tokens
    assert "helada botella" not in tokens
    assert "compro" in tokens and "mañana compro" in tokens


def test_code_switching_post():
    text = "Está buenazo, so refreshing!!! 😋 #SelvaFresh"
    result = post_tokens(text)
    assert result["tokens"] == ["buenazo", "refreshing", "😋", "#selvafresh"]
    assert detect_lang(text) == "mixed"


@pytest.mark.parametrize(
    "text, lang",
    [
        ("¿Alguien sabe dónde venden la chicha morada de la sierra?", "es"),
        ("ya pe, esta gaseosa es lo máximo", "es"),
        ("This is the best lemonade I have ever had", "en"),
        ("está buenazo, so refreshing", "mixed"),
        ("the new flavour está riquísima, me encanta", "mixed"),
        ("😍😍🔥", "und"),
        ("#verano 2x1", "und"),
    ],
)
def test_detect_lang(text, lang):
    assert detect_lang(text) == lang


def test_laughter_is_not_a_token():
    assert tokenize("jajajajaja buenazo XDDD") == ["buenazo"]


def test_empty_and_punctuation_only_text():
    assert post_tokens("") == {"tokens": [], "hashtags": []}
    assert post_tokens("!!! ... ???") == {"tokens": [], "hashtags": []}
    assert detect_lang("") == "und"
