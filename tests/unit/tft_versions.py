"""Two analysed versions of a synthetic history, built once per test process (TF-Transform is slow).

Day 1 talks about coconut lemonade on the beach, day 2 about sugar-free chicha: analysing the
window of each day gives two versions with different vocabularies. Every text is invented here.
`analysed()` runs the real command (`tendencias analyze`) twice; tests that move LATEST work on
a copy (`copy_versions`).
"""

from __future__ import annotations

import atexit
import functools
import json
import random
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tendencias.models.features import store as transform_store
from tendencias.pipelines.analyze import main as analyze_main
from tendencias.records import iso_utc

START = datetime(2026, 3, 1, tzinfo=UTC)
DAY_MS = 86_400_000
START_MS = int(START.timestamp() * 1000)
PRODUCTS = {"Sierra Cola": "gaseosa", "Río Verde": "agua", "Chicha Real": "refresco"}
REGIONS = ["Lima", "Cusco", "Arequipa"]
DAY_TEMPLATES = [
    [
        "Nada como una {p} bien helada en la playa #Verano ☀️",
        "limonada de coco para este calor 🥥",
        "{p} con hielo, perfecta para la playa #verano",
        "la limonada de coco de {p} está riquísima",
    ],
    [
        "ya probaron {p} sin azúcar? 💚 #SinAzucar",
        "me pasé a la chicha morada sin azúcar",
        "{p} light sin azúcar, igual de rica #sinazúcar",
        "chicha morada sin azúcar en la lonchera 💚",
    ],
]
POSTS_PER_DAY = 90


def make_post(
    post_id: str,
    text: str,
    at_ms: int,
    product: str = "Sierra Cola",
    region: str = "Lima",
    source: str = "twitter",
    rating: int | None = None,
) -> dict:
    post = {
        "id": post_id,
        "text": text,
        "created_at": iso_utc(at_ms),
        "source": source,
        "author": "@fan",
        "brand": product,
        "product": product,
        "category": PRODUCTS.get(product, "otro"),
        "region": region,
    }
    if rating is not None:
        post["rating"] = rating
    return post


def history(seed: int = 11) -> tuple[list[dict], list[dict]]:
    """(posts, sales) for two days from START; posts of day d use DAY_TEMPLATES[d]."""
    rng = random.Random(seed)
    posts, sales = [], []
    for day, templates in enumerate(DAY_TEMPLATES):
        for n in range(POSTS_PER_DAY):
            product = rng.choice(list(PRODUCTS))
            at = START_MS + day * DAY_MS + rng.randrange(DAY_MS)
            review = n % 5 == 0
            posts.append(
                make_post(
                    f"d{day}-{n}",
                    rng.choice(templates).format(p=product),
                    at,
                    product,
                    rng.choice(REGIONS),
                    "review" if review else "twitter",
                    rng.randint(1, 5) if review else None,
                )
            )
        for product in PRODUCTS:
            for region in REGIONS:
                for hour in (9, 13, 19):
                    units = rng.randint(5, 60) * (1 + day)
                    ts = START + timedelta(days=day, hours=hour)
                    sales.append(
                        {
                            "sku": f"{product[:3]}-{region[:3]}",
                            "product": product,
                            "category": PRODUCTS[product],
                            "region": region,
                            "units": units,
                            "revenue": round(units * 2.5, 2),
                            "ts": ts.isoformat(),
                        }
                    )
    return posts, sales


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


@dataclass(frozen=True)
class Versions:
    directory: Path  # the analyze --output folder, LATEST -> second
    history: Path  # folder of posts.jsonl
    first: str  # window of day 1, posts only
    second: str  # window of day 2, posts and sales


@functools.cache
def analysed() -> Versions:
    root = Path(tempfile.mkdtemp(prefix="tendencias-tft-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    posts, sales = history()
    history_dir = root / "history"
    write_jsonl(history_dir / "posts.jsonl", posts)
    sales_file = write_jsonl(root / "sales.jsonl", sales)
    output = root / "versions"
    made = []
    for day in (1, 2):  # sales only in the second, which keeps the first analysis quicker
        sales_flag = ["--sales", str(sales_file)] if day == 2 else []
        status = analyze_main(
            [
                "--history",
                str(history_dir),
                "--window",
                "1d",
                "--as_of",
                str(START_MS + day * DAY_MS),
                "--output",
                str(output),
                *sales_flag,
            ]
        )
        assert status == 0, f"analysis of day {day} failed with status {status}"
        made.append(transform_store.read_latest(str(output)))
    return Versions(output, history_dir, made[0], made[1])


def copy_versions(target: Path) -> Versions:
    """A private copy of the analysed versions (for tests that move LATEST)."""
    versions = analysed()
    shutil.copytree(versions.directory, target)
    return Versions(target, versions.history, versions.first, versions.second)
