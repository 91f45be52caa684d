"""Stop words for `text_normalise`, written in its normalised form (lower case, no accents but ñ).

Written by hand (no downloads). Words shorter than two letters are never tokens, so they are
not listed. `MODIFIERS` are function words that change the meaning of the next word; they are
not unigrams but may open a bigram ("sin azucar", "no gusta", "too sweet").
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


SPANISH = _words("""
    de la que el en los del se las por un para con no una su al lo como mas pero sus le ya este si
    porque esta entre cuando muy sin sobre tambien me hasta hay donde quien quienes desde todo nos
    durante todos uno unos les ni contra otros ese eso ante ellos esto mi mis antes algunos algunas
    otro otra otras tanto tan esa esos esas estos estas mucho muchos mucha muchas nada poco pocos
    ella ellas el ellos nosotros nosotras vosotros vosotras os tu te ti tus yo mio mia mios mias
    tuyo tuya suyo suya suyos suyas nuestro nuestra nuestros nuestras estar estoy estamos estan
    estaba estaban estado estuve estuvo sea ser es son soy eres somos fue fui fueron era eran sido
    siendo ha he has hemos han habia haber tengo tiene tienes tenemos tienen tener tenia tuve hace
    hacer hizo hago voy va vas vamos van ir iba asi aqui ahi alla alli solo vez veces cada mismo
    misma tambien pues luego entonces aunque mientras segun ademas igual cual cuales algo alguien
    nadie ningun ninguna ninguno hoy ayer ahora siempre nunca todavia aun despues menos demasiado
    cosa cosas sera seria puede pueden quiero quiere dice dicen decir ver creo
    xq pq porq tb tmb tbn ps pe nomas noma oe ah eh oh uy ay ok okey okay jaja vs oye pucha uff uf
""")

ENGLISH = _words("""
    about above after again against all am an and any are as at be because been before being
    below between both but by can cannot could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how if in into is it its
    itself just me more most my myself no nor not of off on once only or other our ours out over
    own same she should so some such than that the their theirs them then there these they this
    those through to too under until up very was we were what when where which while who whom why
    will with would you your yours yourself im ive id youre dont doesnt didnt cant wont isnt wasnt
    arent thats whats lets ur gonna wanna got get gets getting go going went also like now today
    yesterday yeah yes omg lol lmao ok okay though although yet vs
    without less
""")

# Every post in this stream is about drinks and brands: these would top every window and never
# trend. "usuario" and "url" are redaction placeholders written without their brackets;
# "rt", "via", "amp" are retweet markers and HTML-entity residue.
DOMAIN = _words("""
    bebida bebidas drink drinks beverage beverages producto productos product products marca marcas
    brand brands usuario url rt via amp
""")

MODIFIERS = _words("""
    sin con no mas menos muy poco demasiado without with less more too not
""")
