"""`tendencias sample`: synthetic posts and sales with planted trends, for the demo and tests.

Everything here is invented by this generator (fictional brands, people and texts), so the
project never ships real posts. The background follows a day/night cycle (Poisson arrivals);
planted bursts say what a detector should find, and `truth.json` records them.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

BRANDS = {
    "Andina Cola": ["Andina Cola Clásica", "Andina Cola Zero"],
    "Chicha Viva": ["Chicha Viva Morada", "Chicha Viva Light"],
    "Selva Fresh": ["Selva Fresh Maracuyá", "Selva Fresh Camu Camu"],
    "Kuntur Energy": ["Kuntur Energy Original", "Kuntur Energy Ultra"],
    "Agua Misti": ["Agua Misti sin gas", "Agua Misti con gas"],
}
CATEGORY = {
    "Andina Cola": "gaseosa",
    "Chicha Viva": "refresco",
    "Selva Fresh": "jugo",
    "Kuntur Energy": "energizante",
    "Agua Misti": "agua",
}
REGIONS = ["Lima", "Lima", "Lima", "Arequipa", "Cusco", "Trujillo", "Piura", "Chiclayo", "Iquitos"]
SOURCES = ["twitter"] * 5 + ["instagram"] * 2 + ["tiktok", "facebook", "review", "survey"]
OPENERS_ES = ["", "Oye, ", "Uff ", "La verdad ", "Hoy ", "Jajaja ", "Ayer ", "Pucha, "]
OPINIONS_ES = [
    ("me encanta {product}", 1),
    ("{product} está riquísima", 1),
    ("{product} bien heladita en el almuerzo", 1),
    ("{product} está muy cara ahora", -1),
    ("no encuentro {product} en ninguna bodega", -1),
    ("{product} sabe raro últimamente", -1),
    ("tomando {product} con los patas", 0),
    ("compré {product} en el mercado", 0),
    ("¿alguien probó {product}?", 0),
    ("{product} para el calor de {region} 🔥", 1),
    ("el precio de {product} subió otra vez", -1),
]
OPINIONS_EN = [
    ("{product} is so refreshing", 1),
    ("trying {product} for the first time", 0),
    ("{product} tastes weird lately", -1),
    ("can't find {product} anywhere in {region}", -1),
]
MIXED = [("{product} está buenazo, so refreshing", 1), ("ok the new {product} is too sweet, muy dulce", -1)]
CLOSERS = ["", "", " #Peru", " 😋", " #calor", " jaja", " 👌", " #almuerzo"]
PII_TAILS = ["escríbeme a {user}@correo.pe", "mi número 987 654 321", "llámame al +51 912 345 678"]


@dataclass
class Burst:
    """A planted trend: extra posts built from `phrases` from `start` for `hours`."""

    name: str
    phrases: list[str]
    start_hour: float
    hours: float
    posts_per_hour: float
    region: str | None = None
    brand: str | None = None
    sentiment: int = 1
    keys: list[str] = field(default_factory=list)


def default_bursts(days: int) -> list[Burst]:
    last = 24.0 * (days - 1)
    return [
        Burst(
            "sin azucar en Lima",
            [
                "ya probaron {product}? sin azúcar y rica 💚",
                "me pasé a sin azúcar, {product} 👌",
                "sin azúcar pero con sabor, {product} #SinAzucar",
            ],
            last + 14.0,
            6.0,
            90.0,
            region="Lima",
            brand="Kuntur Energy",
            keys=["sin azucar", "#sinazucar"],
        ),
        Burst(
            "botella rota",
            ["otra botella rota de {product}, qué pasa?", "la botella de {product} vino rajada 😡"],
            last + 9.0,
            3.0,
            45.0,
            region="Arequipa",
            brand="Andina Cola",
            sentiment=-1,
            keys=["botella", "botella rota"],
        ),
    ]


def _diurnal(hour_of_day: float) -> float:
    """Relative activity by local hour (Lima, UTC-5): low at night, peaks at lunch and evening."""
    return 0.25 + 0.75 * (0.5 + 0.5 * math.sin((hour_of_day - 9.0) / 24.0 * 2 * math.pi)) ** 1.5


def _pick_product(rng: random.Random, brand: str | None = None) -> tuple[str, str]:
    brand = brand or rng.choice(list(BRANDS))
    return brand, rng.choice(BRANDS[brand])


def _post(
    rng: random.Random,
    post_id: int,
    at: datetime,
    text: str,
    brand: str,
    product: str,
    region: str,
    sentiment: int,
) -> dict:
    source = rng.choice(SOURCES)
    post = {
        "id": f"s{post_id:07d}",
        "text": text,
        "created_at": at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "source": source,
        "author": f"user{rng.randrange(5000):04d}",
        "region": region,
    }
    if rng.random() < 0.6:
        post["brand"], post["product"], post["category"] = brand, product, CATEGORY[brand]
    if source == "review":
        post["rating"] = {1: rng.choice([4, 5]), 0: 3, -1: rng.choice([1, 2])}[sentiment]
    return post


def _background_text(rng: random.Random, product: str, region: str) -> tuple[str, int]:
    roll = rng.random()
    pool = OPINIONS_ES if roll < 0.75 else OPINIONS_EN if roll < 0.92 else MIXED
    template, sentiment = rng.choice(pool)
    opener = rng.choice(OPENERS_ES) if pool is OPINIONS_ES else ""
    text = opener + template.format(product=product, region=region) + rng.choice(CLOSERS)
    if rng.random() < 0.02:
        text += " " + rng.choice(PII_TAILS).format(user=f"fan{rng.randrange(100)}")
    return text, sentiment


def generate(
    days: int = 3,
    posts_per_hour: float = 60.0,
    start: datetime | None = None,
    seed: int = 7,
    bursts: list[Burst] | None = None,
) -> tuple[list[dict], list[dict], list[Burst]]:
    """Posts (sorted by time), hourly sales and the planted bursts."""
    rng = random.Random(seed)
    start = start or datetime(2026, 11, 1, 5, tzinfo=UTC)  # 00:00 in Lima
    bursts = default_bursts(days) if bursts is None else bursts
    posts: list[dict] = []
    for hour in range(24 * days):
        local_hour = (hour + start.hour - 5) % 24
        for _ in range(_poisson(rng, posts_per_hour * _diurnal(local_hour))):
            at = start + timedelta(hours=hour, seconds=rng.uniform(0, 3600))
            brand, product = _pick_product(rng)
            region = rng.choice(REGIONS)
            text, sentiment = _background_text(rng, product, region)
            posts.append(_post(rng, len(posts), at, text, brand, product, region, sentiment))
    for burst in bursts:
        for step in range(int(burst.hours * 12)):  # 5-minute steps, ramping up then holding
            ramp = min(1.0, (step + 1) / 6)
            for _ in range(_poisson(rng, burst.posts_per_hour / 12 * ramp)):
                at = start + timedelta(hours=burst.start_hour, minutes=5 * step, seconds=rng.uniform(0, 300))
                brand, product = _pick_product(rng, burst.brand)
                region = burst.region or rng.choice(REGIONS)
                text = rng.choice(burst.phrases).format(product=product, region=region) + rng.choice(CLOSERS)
                posts.append(_post(rng, len(posts), at, text, brand, product, region, burst.sentiment))
    posts.sort(key=lambda p: p["created_at"])
    return posts, _sales(rng, start, days, posts), bursts


def _sales(rng: random.Random, start: datetime, days: int, posts: list[dict]) -> list[dict]:
    """Hourly units per product and region; chatter about a product lifts its sales a day later."""
    mentions: dict[tuple[str, str, int], int] = {}
    for post in posts:
        if "product" in post:
            day = (datetime.fromisoformat(post["created_at"].replace("Z", "+00:00")) - start).days
            key = (post["product"], post["region"], day)
            mentions[key] = mentions.get(key, 0) + 1
    sales = []
    for day in range(days):
        for brand, products in BRANDS.items():
            for product in products:
                for region in sorted(set(REGIONS)):
                    lift = 1.0 + 0.05 * mentions.get((product, region, day - 1), 0)
                    for hour in (10, 14, 19):
                        units = _poisson(rng, 40 * lift * _diurnal(hour))
                        sku = f"{product.upper().replace(' ', '-')[:18]}-{region[:3].upper()}"
                        ts = start + timedelta(days=day, hours=hour + 5)
                        sales.append(
                            {
                                "sku": sku,
                                "product": product,
                                "category": CATEGORY[brand],
                                "brand": brand,
                                "region": region,
                                "units": units,
                                "revenue": round(units * 3.5, 2),
                                "currency": "PEN",
                                "ts": ts.isoformat().replace("+00:00", "Z"),
                                "channel": rng.choice(["bodega", "supermercado", "online"]),
                            }
                        )
    return sorted(sales, key=lambda s: s["ts"])


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method in chunks keeps exp() from underflowing for large rates.
    count, remaining = 0, lam
    while remaining > 0:
        step = min(remaining, 30.0)
        remaining -= step
        limit, product = math.exp(-step), rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
    return count


def write_sample(output: Path, **kwargs) -> dict:
    """Writes posts.jsonl, sales.jsonl and truth.json under `output`; returns a summary."""
    posts, sales, bursts = generate(**kwargs)
    output.mkdir(parents=True, exist_ok=True)
    for name, rows in (("posts.jsonl", posts), ("sales.jsonl", sales)):
        with open(output / name, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    start = datetime.fromisoformat(posts[0]["created_at"].replace("Z", "+00:00")) if posts else None
    truth = [dict(asdict(b), onset=_onset(kwargs.get("start"), b)) for b in bursts]
    (output / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=2), encoding="utf-8")
    return {"posts": len(posts), "sales": len(sales), "bursts": len(bursts), "first_post": str(start)}


def _onset(start: datetime | None, burst: Burst) -> str:
    start = start or datetime(2026, 11, 1, 5, tzinfo=UTC)
    return (start + timedelta(hours=burst.start_hour)).isoformat().replace("+00:00", "Z")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tendencias sample", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output", type=Path, required=True, help="folder for posts.jsonl, sales.jsonl, truth.json"
    )
    parser.add_argument("--days", type=int, default=3, help="days of history to generate (default 3)")
    parser.add_argument(
        "--posts-per-hour", type=float, default=60.0, help="background rate at the daily peak"
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed; the same seed gives the same files")
    args = parser.parse_args(argv)
    if args.days < 1 or args.posts_per_hour <= 0:
        parser.error("--days must be at least 1 and --posts-per-hour above 0")
    summary = write_sample(args.output, days=args.days, posts_per_hour=args.posts_per_hour, seed=args.seed)
    print(json.dumps(summary), file=sys.stderr)
    return 0
