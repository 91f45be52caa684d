"""The sentiment-side normaliser of Peruvian and Latin American social text (models/text/social.py).

Examples written for these tests (not taken from any data set)."""

from __future__ import annotations

import pytest

from tendencias.models.text import normalise as trend_normalise
from tendencias.models.text.social import emoji_words, social_normalise, squeeze_elongations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("riquísimooo", "riquísimo"),
        ("siiiiii", "si"),
        ("jajajajaja", "jaja"),
        ("JSJSJSJS", "jaja"),
        ("carrrro", "carro"),
        ("el carro y el perro", "el carro y el perro"),  # real doubles stay
        ("buenaaaa", "buena"),
    ],
)
def test_elongations_and_laughter_are_squeezed(text, expected):
    assert squeeze_elongations(text.lower()) == expected


def test_emoticons_and_emoji_become_words_next_to_the_symbol():
    assert emoji_words("me encanta 😍😍😍").split() == ["me", "encanta", "😍", "encanta", "😍😍"]
    assert social_normalise("llegó tarde :(") == "llegó tarde triste"
    assert social_normalise("buenazo :D") == "buenazo feliz"
    assert social_normalise("xD no puedo") == "jaja no puedo"
    assert social_normalise("te quiero <3") == "te quiero amor"
    assert "asco" in social_normalise("sabe feo 🤮").split()


def test_peruvian_slang_becomes_plain_spanish():
    assert social_normalise("Asuuu causa, la chicha está chévere") == "wow amigo, la chicha está genial"
    assert social_normalise("qué bacán, está paja la nueva") == "qué genial, está genial la nueva"
    assert (
        social_normalise("mi pata me invitó una chela en su jato")
        == "mi amigo me invitó una cerveza en su casa"
    )
    assert social_normalise("es bamba, no compres") == "es falso, no compres"
    assert social_normalise("q chido xq está barato") == "que genial porque está barato"


def test_context_keeps_the_ordinary_sense_of_ambiguous_words():
    assert social_normalise("a causa de la lluvia no llegó") == "a causa de la lluvia no llegó"
    assert social_normalise("jugo de piña bien helado") == "jugo de piña bien helado"
    assert social_normalise("me da paja salir hoy") == "me da pereza salir hoy"
    assert social_normalise("la pata de la mesa está rota") == "la pata de la mesa está rota"
    assert social_normalise("sus patas de pollo") == "sus patas de pollo"


def test_code_switching_only_in_spanish_or_mixed_posts():
    assert (
        social_normalise("la nueva lata está full rica, so cute") == "la nueva lata está muy rica, muy lindo"
    )
    english = "this new flavour is so good and the can is cute"
    assert social_normalise(english) == english  # an English post stays English
    assert social_normalise("Q BACÁN") == "que genial"


def test_trend_keys_normaliser_is_unchanged():
    # The sentiment side must not touch the normaliser the trend keys depend on.
    assert trend_normalise.normalise("Riquísimaaa @ana https://x.pe") == trend_normalise.normalise(
        "Riquísimaaa @ana https://x.pe"
    )
    assert "jaja" in trend_normalise.normalise("jajajaja")


def test_hearts_and_more_emoji_become_words():
    assert social_normalise("sin gas y heladita 💚").split()[-1] == "encanta"
    assert "gracias" in social_normalise("ya llegó el pedido 🙏").split()
    assert "jaja" in social_normalise("otra vez sin stock 😜").split()
    assert "asco" in social_normalise("esa marca 💩").split()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ya probaron la Ultra? sin azúcar y rica 💚", "ya probaron la ultra? dietética y rica 💚 encanta"),
        ("me pasé a sin azucar, causa", "me pasé a dietética, amigo"),
        ("Cero Azúcar pero mismo sabor #SinAzucar", "dietética pero mismo sabor dietética"),
        ("la versión baja en azúcar está buenaza", "la versión dietética está buenaza"),
        ("sin calorías y bien helada", "dietética y bien helada"),
        # a lack that is a complaint stays one
        ("otra vez sin stock en la bodega", "otra vez sin stock en la bodega"),
        ("sin sabor, parece agua", "sin sabor, parece agua"),
    ],
)
def test_sugar_free_is_a_drink_attribute_not_a_lack(text, expected):
    assert social_normalise(text) == expected
