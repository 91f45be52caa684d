"""The facts of a brief, computed from trends, archived posts and sales (no model involved).

What is rising (the keys and their numbers), where (regions), among whom (sources, languages,
how many people), sentiment and its aspects, evidence posts (ids and texts redacted once more,
since they are about to be shown or sent), and the link to sales. The writer (writer.py) adds
the title, the summary and the ideas on top of these, by model or by template.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from tendencias.models.sentiment.schema import guess_aspects
from tendencias.models.text.redaction import redact
from tendencias.models.trends.keys import trend_keys

MAX_EVIDENCE = 5
DAY_MS = 86_400_000


def epoch_ms(value) -> int:
    if isinstance(value, (int, float)):
        return int(value)
    return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000)


def matching_posts(
    posts: Iterable[dict], pairs: set[tuple[str, str]], start_ms: int, end_ms: int
) -> list[dict]:
    """Archived posts inside [start, end) that count towards any of `pairs`."""
    found = []
    for post in posts:
        created = post.get("created_at")
        if created is None or not start_ms <= epoch_ms(created) < end_ms:
            continue
        if pairs.intersection(trend_keys(post)):
            found.append(post)
    return found


def _shares(counter: Counter, total: int, label: str, top: int = 5) -> list[dict]:
    return [
        {label: value, "posts": n, "share": round(n / total, 3)}
        for value, n in counter.most_common(top)
        if value
    ]


def _sentiment(posts: list[dict], trends: list[dict]) -> dict:
    labels = Counter((p.get("sentiment") or {}).get("label") for p in posts)
    scores = [(p.get("sentiment") or {}).get("score") for p in posts]
    scores = [s for s in scores if isinstance(s, (int, float))]
    lead = trends[0]
    mean = sum(scores) / len(scores) if scores else lead.get("sentiment")
    return {
        "mean": None if mean is None else round(float(mean), 3),
        "delta": lead.get("sentiment_delta"),
        "positive": labels.get("positive", 0),
        "neutral": labels.get("neutral", 0),
        "negative": labels.get("negative", 0),
    }


def _evidence(posts: list[dict], trends: list[dict]) -> list[dict]:
    seen: set[str] = set()
    out = []
    examples = [e for t in trends for e in t.get("examples") or ()]
    for item in [*examples, *posts]:
        post_id = str(item.get("id"))
        if post_id in seen or not item.get("text"):
            continue
        seen.add(post_id)
        out.append({"id": post_id, "text": redact(str(item["text"]))})
        if len(out) == MAX_EVIDENCE:
            break
    return out


def sales_summary(
    sales: list[dict], trends: list[dict], where: list[dict], start_ms: int, end_ms: int
) -> dict | None:
    """Units sold in the story's place (and product or brand) while it ran against the week before,
    plus the lift the trend scorer estimated when it had evidence. None when nothing is known."""
    lead = trends[0]
    out: dict = {}
    if lead.get("sales_lift") is not None:
        out["sales_lift"] = lead["sales_lift"]
        out["sales_lag_days"] = lead.get("sales_lag_days")
    if sales:
        region = where[0]["region"] if where else None
        field = lead["kind"] if lead["kind"] in ("product", "brand", "category") else None

        def relevant(sale: dict) -> bool:
            if region and str(sale.get("region", "")).casefold() != region.casefold():
                return False
            return field is None or str(sale.get(field, "")).casefold() == lead["key"].casefold()

        day_start = start_ms - start_ms % DAY_MS
        during: dict[int, float] = {}
        before: dict[int, float] = {}
        for sale in sales:
            if not relevant(sale):
                continue
            ts = epoch_ms(sale["ts"])
            into = during if day_start <= ts < max(end_ms, day_start + DAY_MS) else before
            if into is during or day_start - 7 * DAY_MS <= ts < day_start:
                into[ts // DAY_MS] = into.get(ts // DAY_MS, 0.0) + float(sale.get("units") or 0)
        # per day with sales recorded: a history shorter than a week is not read as zero sales
        now = sum(during.values()) / len(during) if during else 0.0
        usual = sum(before.values()) / len(before) if before else None
        out.update(
            region=region,
            units_per_day=round(now, 1),
            units_per_day_before=None if usual is None else round(usual, 1),
            change=round(now / usual - 1, 3) if usual else None,
        )
    return out or None


def brief_facts(
    trends: list[dict],
    posts: list[dict],
    sales: list[dict] | None = None,
    *,
    story: str | None = None,
    period: str | None = None,
) -> dict:
    """The facts of one brief: `trends` (the lead first), the archived posts behind them."""
    if not trends:
        raise ValueError("a brief needs at least one trend")
    start = min(epoch_ms(t["window_start"]) for t in trends)
    end = max(epoch_ms(t["window_end"]) for t in trends)
    total = len(posts)
    regions = Counter(p.get("region") for p in posts)
    if not total and trends[0].get("segment"):
        regions = Counter({str(trends[0]["segment"]).title(): trends[0].get("posts") or 1})
    where = _shares(regions, max(1, sum(regions.values())), "region")
    who = (
        [
            {"segment": f"fuente:{k['source']}", **k}
            for k in _shares(Counter(p.get("source") for p in posts), total, "source", 3)
        ]
        + [
            {"segment": f"idioma:{k['lang']}", **k}
            for k in _shares(Counter(p.get("lang") for p in posts), total, "lang", 3)
        ]
        if total
        else []
    )
    aspects = Counter(a for p in posts for a in (p.get("sentiment") or {}).get("aspects") or ())
    if not aspects:
        aspects = Counter(
            a for t in trends for e in t.get("examples") or () for a in guess_aspects(e.get("text", ""))
        )
    products = Counter(p.get("product") for p in posts)
    return {
        "story": story,
        "period": period,
        "window_start": min(t["window_start"] for t in trends),
        "window_end": max(t["window_end"] for t in trends),
        "severity": trends[0].get("severity"),
        "keys": [
            {
                k: t.get(k)
                for k in ("kind", "key", "horizon", "count", "baseline", "score", "lift", "explanation")
            }
            for t in trends[:8]
        ],
        "posts": total or sum(int(t.get("posts") or t.get("count") or 0) for t in trends[:1]),
        "authors": len({p.get("author") for p in posts if p.get("author")}) or trends[0].get("authors"),
        "where": where,
        "who": who,
        "products": _shares(products, max(1, total), "product", 3),
        "sentiment": _sentiment(posts, trends),
        "aspects": _shares(aspects, max(1, sum(aspects.values())), "aspect", 4),
        "evidence": _evidence(posts, trends),
        "sales": sales_summary(sales or [], trends, where, start, end),
    }
