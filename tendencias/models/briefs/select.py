"""Which briefs to write: one per alert story, and one per week for the top rising keys.

A story is an alert that opened an episode (severity "alert", status "new") with the trends
the grouper joined to it (`related_to` = the lead's episode). A week's brief takes the keys
whose windows scored highest that ISO week (topics first, when the topic model made any).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

WEEKLY_KINDS = ("topic", "term", "phrase", "hashtag", "product", "brand")


@dataclass
class Story:
    lead: dict
    members: list[dict] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.lead.get("episode") or f"{self.lead['kind']}:{self.lead['key']}@{self.lead['window_end']}"

    @property
    def trends(self) -> list[dict]:
        return [self.lead, *self.members]


@dataclass
class Week:
    period: str  # ISO week, e.g. 2026-W45
    trends: list[dict]  # the best window of each top key, highest score first


def _time(value: str) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def iso_week(value: str) -> str:
    year, week, _ = _time(value).isocalendar()
    return f"{year}-W{week:02d}"


def is_story_lead(trend: dict) -> bool:
    return trend.get("severity") == "alert" and trend.get("status") in ("new", None)


def stories(trends: Iterable[dict]) -> list[Story]:
    """Alert stories in time order, each with the trends related to its lead."""
    leads: dict[str, Story] = {}
    related: list[dict] = []
    for trend in trends:
        if is_story_lead(trend):
            story = Story(trend)
            leads.setdefault(story.id, story)
        elif trend.get("related_to"):
            related.append(trend)
    for trend in related:
        story = leads.get(trend["related_to"])
        if story is not None and all(m.get("episode") != trend.get("episode") for m in story.members):
            story.members.append(trend)
    return sorted(leads.values(), key=lambda s: (s.lead["window_end"], s.id))


def weekly_tops(trends: Iterable[dict], top: int = 5, kinds: tuple[str, ...] = WEEKLY_KINDS) -> list[Week]:
    """Per ISO week, the `top` keys of `kinds` whose best watch/alert window scored highest."""
    best: dict[str, dict[tuple[str, str], dict]] = {}
    for trend in trends:
        if trend.get("kind") not in kinds or trend.get("severity") not in ("watch", "alert"):
            continue
        week = best.setdefault(iso_week(trend["window_end"]), {})
        pair = (trend["kind"], trend["key"])
        if pair not in week or trend.get("score", 0) > week[pair].get("score", 0):
            week[pair] = trend
    weeks = []
    for period in sorted(best):
        ranked = sorted(
            best[period].values(),
            key=lambda t: (t["kind"] != "topic", -float(t.get("score") or 0), t["kind"], t["key"]),
        )
        weeks.append(Week(period, ranked[:top]))
    return weeks
