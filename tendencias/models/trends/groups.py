"""One alert per story: keys that burst together, on the same posts, are grouped.

An earthquake makes "sismo", "temblor", "costa rica", "#temblorcr" and dozens more burst at
once; one alert each would bury the news. Each key's window carries a bottom-k sketch of its
post ids (the k smallest id hashes), from which the share of one key's posts that are also
another's is estimated. `AlertGrouper` takes the episode records of all horizons window by
window (in time order): the highest-scoring new alert of a window leads a group; a new alert
that shares most (`threshold`) of its posts with an active group in that window, or whose
posts hold most of the group's (a day-long window of a story holds its 15-minute ones), joins
it: it becomes a "watch" with status "related" and `related_to` naming the lead's episode, and
the lead's alert lists it in `related`. An alert of a slower horizon (a day-long window) whose
posts mostly (STORY_SHARE) came since a faster group's story began is that story told slower,
and joins it too. A group stays active while any member's episode goes on, and for its lead
horizon's window plus `end_after` periods after that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

SKETCH_SIZE = 32
STORY_SHARE = 0.6  # a slower horizon's alert with this share of its posts since a story began joins it


class Evidence(NamedTuple):
    """Which posts an episode record's window holds: what the grouper compares (never leaves
    the trend stage)."""

    posts: int  # posts of the key in the window
    sketch: tuple[int, ...]  # the SKETCH_SIZE smallest id hashes of those posts
    periods: tuple[tuple[int, int], ...] = ()  # (period end, the key's posts) of the window's periods


class Scored(NamedTuple):
    """A Trend record as the scorer makes it, with the evidence of an episode record (status new
    or ongoing; None otherwise), for AlertGrouper."""

    record: dict
    evidence: Evidence | None = None


def is_episode(scored: Scored) -> bool:
    """An episode record (new or ongoing): the grouper's input; the others go out as they are."""
    return scored.record.get("status") in ("new", "ongoing")


def merge_sketches(*sketches: list[int]) -> list[int]:
    return sorted(set().union(*sketches))[:SKETCH_SIZE]


def containment(part: list[int], part_posts: int, whole: list[int], whole_posts: int) -> float:
    """Estimated share of the posts behind `part` that are also behind `whole`.

    A bottom-k sketch holds every hash of its set below its largest one, so the part's hashes
    in that range are a sample whose membership in the whole is known exactly."""
    if not part or not whole:
        return 0.0
    limit = whole[-1] if len(whole) >= SKETCH_SIZE else float("inf")
    sample = [h for h in part if h <= limit]
    if not sample:
        return 0.0
    members = set(whole)
    return sum(1 for h in sample if h in members) / len(sample)


@dataclass
class Group:
    lead_episode: str
    lead_key: str
    members: set[str] = field(default_factory=set)  # episode ids, the lead's included
    last_end: int = 0
    expire_ms: int = 3_600_000
    since: int = 0  # the lead's window start: when the story began
    size_ms: int = 0  # the lead horizon's window length


def _posts_and_sketch(scored: Scored) -> tuple[int, list[int]]:
    evidence = scored.evidence
    return (evidence.posts, list(evidence.sketch)) if evidence else (0, [])


class AlertGrouper:
    """Groups alerts; its state (the active groups) is small and picklable."""

    def __init__(
        self,
        threshold: float = 0.5,
        expire_ms: dict[str, int] | None = None,
        sizes: dict[str, int] | None = None,
    ):
        self.threshold, self.expire_ms, self.sizes = threshold, expire_ms or {}, sizes or {}
        self.groups: list[Group] = []

    def window(self, end: int, episodes: list[Scored]) -> list[dict]:
        """The records of window `end` (episode records: status new or ongoing), grouped."""
        self.groups = [g for g in self.groups if g.last_end >= end - g.expire_ms]
        member_of = {episode: g for g in self.groups for episode in g.members}
        current: dict[int, tuple[int, list[int]]] = {}  # group index -> (posts, sketch) this window
        alerts: list[Scored] = []
        for scored in episodes:
            record = scored.record
            group = member_of.get(record.get("episode"))
            if group is not None:
                group.last_end = end
                posts, sketch = _posts_and_sketch(scored)
                seen = current.get(id(group), (0, []))
                current[id(group)] = (max(seen[0], posts), merge_sketches(seen[1], sketch))
            elif record.get("status") == "new":
                alerts.append(scored)
        leads: dict[int, dict] = {}
        for scored in sorted(alerts, key=lambda s: (-s.record["score"], s.record["kind"], s.record["key"])):
            alert = scored.record
            posts, sketch = _posts_and_sketch(scored)
            best, best_share = None, 0.0
            for group in self.groups:
                share = self.share(scored, group, current.get(id(group)))
                if share > best_share:
                    best, best_share = group, share
            if best is not None and self.threshold > 0 and best_share >= self.threshold:
                alert.update(severity="watch", status="related", related_to=best.lead_episode)
                best.members.add(alert["episode"])
                self.joined(best, scored)
                whole = current.get(id(best), (0, []))
                current[id(best)] = (max(whole[0], posts), merge_sketches(whole[1], sketch))
                if id(best) in leads:
                    leads[id(best)].setdefault("related", []).append(f"{alert['kind']}:{alert['key']}")
                continue
            size = self.sizes.get(alert.get("horizon"), 0)
            group = Group(
                alert["episode"],
                alert["key"],
                {alert["episode"]},
                end,
                self.expire_ms.get(alert.get("horizon"), 3_600_000),
                end - size,
                size,
            )
            self.groups.append(group)
            self.joined(group, scored)
            leads[id(group)] = alert
            current[id(group)] = (posts, sketch)
        for lead in leads.values():
            if lead.get("related"):
                lead["explanation"] += f" (with {', '.join(k.split(':', 1)[1] for k in lead['related'][:5])})"
        return [scored.record for scored in episodes]

    def share(self, alert: Scored, group: Group, whole: tuple[int, list[int]] | None) -> float:
        """How much `alert` belongs with `group`, from 0 to 1 (`whole`: the group's (posts,
        sketch) in this window, None when no member has a record in it)."""
        if whole is None:
            return 0.0
        posts, sketch = _posts_and_sketch(alert)
        return max(
            containment(sketch, posts, whole[1], whole[0]),
            containment(whole[1], whole[0], sketch, posts),
            self._story_share(alert, group),
        )

    def joined(self, group: Group, alert: Scored) -> None:
        """Called when `alert` opens `group` or joins it (a hook for subclasses)."""

    def _story_share(self, alert: Scored, group: Group) -> float:
        """Share of a slower alert's posts that came since `group`'s story began (0 otherwise)."""
        if self.sizes.get(alert.record.get("horizon"), 0) <= group.size_ms:
            return 0.0
        periods = alert.evidence.periods if alert.evidence else ()
        total = sum(n for _, n in periods)
        return sum(n for end, n in periods if end > group.since) / total if total else 0.0
