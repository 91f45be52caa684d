"""The deterministic brief: title, summary and ideas from the facts alone, in Spanish.

Used when no model is configured, and when the model fails or answers out of contract, so a
brief always exists. Ideas follow the aspects people write about and whether they like it.
"""

from __future__ import annotations

KIND_ES = {
    "term": "término",
    "phrase": "frase",
    "hashtag": "hashtag",
    "brand": "marca",
    "product": "producto",
    "category": "categoría",
    "region": "región",
    "topic": "tema",
}
# aspect -> (idea when people like it, idea when they complain), each (name, rationale)
IDEAS = {
    "health": (
        ("Línea sin azúcar de {product}", "La conversación premia lo saludable: extender la oferta ligera."),
        ("Reformular {product} con menos azúcar", "Las quejas mencionan salud: una versión ligera responde."),
    ),
    "sweetness": (
        ("Versión menos dulce de {product}", "Se habla del dulzor en positivo: probar un perfil más ligero."),
        ("Bajar el dulzor de {product}", "Lo encuentran empalagoso: ajustar la fórmula."),
    ),
    "packaging": (
        ("Edición de envase especial para {where}", "El envase genera conversación: aprovecharlo."),
        (
            "Revisar envase y control de calidad de {product}",
            "Quejas por el envase en {where}: riesgo de marca.",
        ),
    ),
    "price": (
        ("Promoción de precio en {where}", "El precio atrae: una oferta acelera la prueba."),
        (
            "Formato personal a precio de entrada",
            "El precio frena la compra: un formato más chico la habilita.",
        ),
    ),
    "availability": (
        ("Ampliar distribución en {where}", "Lo buscan: más puntos de venta convierten la demanda."),
        ("Reforzar el abastecimiento en {where}", "No lo encuentran: se pierden ventas en bodegas."),
    ),
    "taste": (
        (
            "Sabor de edición limitada de {product}",
            "El sabor entusiasma: una edición limitada capitaliza el interés.",
        ),
        ("Revisar el sabor de {product}", "Dicen que sabe raro: verificar lotes y fórmula."),
    ),
    "energy": (
        (
            "Línea funcional con energía natural",
            "La energía es el beneficio buscado: extenderlo a otra línea.",
        ),
        ("Comunicar mejor el beneficio energético", "Dudan del efecto: aclararlo en el empaque."),
    ),
}
DEFAULT_IDEA = (
    "Campaña sobre «{key}» en {where}",
    "La conversación sube {lift} sobre lo habitual: actuar mientras dura.",
)


def _fmt(text: str, values: dict) -> str:
    return text.format(**values)


def template_brief(facts: dict) -> dict:
    """{"title", "what", "ideas"} for `facts` (see facts.brief_facts)."""
    lead = facts["keys"][0]
    where = facts["where"][0]["region"] if facts["where"] else "el país"
    product = facts["products"][0]["product"] if facts.get("products") else lead["key"]
    mean = facts["sentiment"].get("mean")
    liked = mean is None or mean >= 0
    lift = f"×{lead['lift']:.1f}" if lead.get("lift") else "claramente"
    values = {"key": lead["key"], "where": where, "product": product, "lift": lift}
    tone = "con tono positivo" if liked else "con tono negativo"
    if facts.get("period"):
        keys = ", ".join(f"«{k['key']}»" for k in facts["keys"][:3])
        title = f"Semana {facts['period']}: suben {keys}"
    else:
        title = f"Sube «{lead['key']}» en {where}"
    what = (
        f"{facts['posts']} publicaciones sobre «{lead['key']}» ({KIND_ES.get(lead['kind'], lead['kind'])}) "
        f"entre {facts['window_start']} y {facts['window_end']}, {lift} sobre lo habitual, {tone}"
        + (f" (sentimiento medio {mean:+.2f})" if mean is not None else "")
        + (f"; sobre todo en {where}" if facts["where"] else "")
        + "."
    )
    ideas = []
    for item in facts["aspects"]:
        pair = IDEAS.get(item["aspect"])
        if pair:
            name, why = pair[0 if liked else 1]
            ideas.append({"name": _fmt(name, values), "rationale": _fmt(why, values)})
        if len(ideas) == 2:
            break
    if len(ideas) < 3:
        ideas.append({"name": _fmt(DEFAULT_IDEA[0], values), "rationale": _fmt(DEFAULT_IDEA[1], values)})
    return {"title": title, "what": what, "ideas": ideas[:3]}
