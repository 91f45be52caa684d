"""Trend records per the contract, and the one line a marketer reads first.

"'sin azucar' mentions in Lima ×6 over the usual Tuesday evening: 18 posts by 15 people in
15m (usually 2.8), sentiment +0.3 (+0.2 vs usual)". Every number in the line is a field of
the record, so it can be traced to its window, baseline and examples.
"""

from __future__ import annotations

from tendencias.models.trends.lifecycle import lifecycle_stage
from tendencias.models.trends.scoring import ScoredWindow
from tendencias.models.trends.stats import WindowStats
from tendencias.models.trends.windows import describe_time, midpoint
from tendencias.records import iso_utc

PREFIX = {"ongoing": "Still going: ", "ended": "Fading: ", "revised": "Revised with late posts: "}


def display(kind: str, key: str) -> str:
    return key.title() if kind in ("brand", "product", "category", "region") else key


def subject(kind: str, key: str) -> str:
    if kind in ("term", "phrase"):
        return f"'{key}' mentions"
    if kind == "hashtag":
        return f"{key} posts"
    if kind == "region":
        return f"posts from {display(kind, key)}"
    if kind == "cluster":
        return f"posts telling one story ({key})"
    if kind == "topic":
        return f"posts on topic {key}"
    return f"posts about {display(kind, key)}"


def times(value: float) -> str:
    return f"×{value:.0f}" if value >= 10 else f"×{value:.1f}".replace(".0", "")


def explain(
    kind: str,
    key: str,
    scored: ScoredWindow,
    *,
    horizon: str,
    size_ms: int,
    tz: str,
    segment: str | None = None,
    sales_note: str = "",
    posts: int | None = None,
) -> str:
    where = f" in {display('region', segment)}" if segment and kind != "region" else ""
    when = describe_time(midpoint(scored.end, size_ms), tz)
    people = "person" if scored.authors == 1 else "people"
    posts = max(posts or 0, round(scored.count))
    capped = (
        f", {scored.count:.0f} counted after capping copies and chatty accounts"
        if posts > scored.count
        else ""
    )
    line = (
        f"{PREFIX.get(scored.status or '', '')}{subject(kind, key)}{where} {times(scored.lift)} over the usual "
        f"{when}: {posts} posts by {scored.authors} {people} in {horizon} "
        f"(usually {scored.expected:.1f}{capped})"
    )
    if scored.sentiment is not None:
        line += f", sentiment {scored.sentiment:+.1f}"
        if scored.sentiment_delta is not None and abs(scored.sentiment_delta) >= 0.1:
            line += f" ({scored.sentiment_delta:+.1f} vs usual)"
    return line + sales_note


def episode_id(horizon: str, kind: str, key: str, start_ms: int) -> str | None:
    return f"{horizon}:{kind}:{key}@{iso_utc(start_ms)}" if start_ms else None


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits) + 0.0  # + 0.0: no "-0.0"


def trend_record(
    kind: str, key: str, scored: ScoredWindow, stats: WindowStats, *, horizon: str, size_ms: int, tz: str
) -> dict:
    """The Trend dict (DESIGN.md contract plus horizon, lift, posts, authors, status, episode,
    related_to and related: see trend_groups.py)."""
    segment = stats.main_region() if kind != "region" else None
    record = {
        "kind": kind,
        "key": key,
        "horizon": horizon,
        "window_start": iso_utc(scored.end - size_ms),
        "window_end": iso_utc(scored.end),
        "revision": 0,  # late posts revise a window: the same (kind, key, horizon, window_end), one more
        "count": int(scored.count),
        "posts": stats.posts,
        "authors": scored.authors,
        "baseline": _round(scored.expected),
        "score": _round(scored.score, 2),
        "lift": _round(scored.lift, 2),
        "growth": _round(scored.growth, 2),
        "sentiment": _round(scored.sentiment),
        "sentiment_delta": _round(scored.sentiment_delta),
        "severity": scored.severity,
        "status": scored.status,
        "stage": lifecycle_stage(scored.status, scored.severity, scored.growth, bool(scored.episode_start)),
        "episode": episode_id(horizon, kind, key, scored.episode_start),
        "examples": [{"id": post_id, "text": text} for _, post_id, text in stats.examples],
        "sales_lift": None,
        "sales_lag_days": None,
        "segment": segment,
        "explanation": explain(
            kind, key, scored, horizon=horizon, size_ms=size_ms, tz=tz, segment=segment, posts=stats.posts
        ),
        "features_version": stats.features_version,
        "model_version": stats.model,
        "related_to": None,
        "related": [],
        "breakdown": stats.breakdown(),  # posts by region and by consumer segment
        "story": None,  # set by the story grouper (models/stories/grouping.py) ...
        "title": None,  # ... with these two on the story's lead
        "story_keys": [],
    }
    return record
