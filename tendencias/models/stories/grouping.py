"""One alert per story: the alert grouper (models/trends/groups.py) made to remember stories.

`AlertGrouper` joins an alert to an active group when they share most of their posts in the
same window. A story lives longer and wider than that: the earthquake's first alert is a
cluster of Spanish posts ("temblor fuerte", "#temblorcr"), six minutes later "costa rica" bursts
on mostly English posts, and an hour later the day-long horizon notices "tsunami" and "peru".
`StoryGrouper` also joins an alert to an active story when
- most of its posts are already the story's (a sketch of every post the story has had, not only
  this window's), or
- it means the same: the mean embedding of its example posts is at least `meaning_threshold`
  (cosine) from the story's (examples of three posts of one story told in different words:
  median 0.50, 5th percentile 0.38; of two different stories: median 0.31; of a story and
  ordinary chatter: 99th percentile 0.31; benchmarks/data/stories.jsonl and the shared tweets).

Every episode record of a story carries `story` (the story's id: its lead alert's episode);
the lead's records also carry `title` (its best keys, or its first example when only a cluster
of posts tells it) and `story_keys` (kind, key and highest count of each key joined so far).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tendencias.models.trends.explain import display
from tendencias.models.trends.groups import AlertGrouper, Group, Scored

STORY_SKETCH = 256  # post-id hashes a story remembers: exact up to this many posts
MEANING_THRESHOLD = 0.4
TITLE_KINDS = ("phrase", "term", "hashtag", "brand", "product", "category")
MAX_STORY_KEYS = 20
MAX_TITLE_CHARS = 90


@dataclass
class Story:
    lead: str  # the lead alert's episode id
    sketch: list[int] = field(default_factory=list)  # bottom-STORY_SKETCH of every post's id hash
    meaning: np.ndarray | None = None  # sum of the example embeddings of its alerts
    keys: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, key) -> highest count
    first_example: str = ""

    def remember(self, record: dict, sketch: list[int]) -> None:
        self.sketch = sorted(set(self.sketch).union(sketch))[:STORY_SKETCH]
        pair = (record["kind"], record["key"])
        self.keys[pair] = max(self.keys.get(pair, 0), int(record.get("count") or 0))
        if not self.first_example and record.get("examples"):
            self.first_example = str(record["examples"][0].get("text") or "")

    def holds(self, sketch: list[int]) -> float:
        """Share of the posts behind `sketch` (a key's whole window) that are already the story's."""
        if not sketch or not self.sketch:
            return 0.0
        limit = self.sketch[-1] if len(self.sketch) >= STORY_SKETCH else float("inf")
        sample = [h for h in sketch if h <= limit]
        members = set(self.sketch)
        return sum(h in members for h in sample) / len(sample) if sample else 0.0

    def title(self) -> str:
        readable = sorted(
            ((count, kind, key) for (kind, key), count in self.keys.items() if kind in TITLE_KINDS),
            key=lambda item: (-item[0], TITLE_KINDS.index(item[1]), item[2]),
        )
        words: list[str] = []
        for _, kind, key in readable:
            shown = display(kind, key)
            if not any(shown in w or w in shown for w in words):  # "costa rica" covers "costa"
                words.append(shown)
            if len(words) == 3:
                return " · ".join(words)
        if words:
            return " · ".join(words)
        text = " ".join(self.first_example.split())
        return text if len(text) <= MAX_TITLE_CHARS else text[: MAX_TITLE_CHARS - 1].rstrip() + "…"

    def key_list(self) -> list[dict]:
        ranked = sorted(self.keys.items(), key=lambda item: (-item[1], item[0]))[:MAX_STORY_KEYS]
        return [{"kind": kind, "key": key, "count": count} for (kind, key), count in ranked]


def example_meaning(record: dict) -> np.ndarray | None:
    """The sum of the embeddings of a record's example posts (their redacted texts)."""
    from tendencias.models.stories.embedding import embed_texts, embedding_text

    texts = [embedding_text({"text_clean": e.get("text") or ""}) for e in record.get("examples") or ()]
    texts = [t for t in texts if t.strip()]
    if not texts:
        return None
    return embed_texts(texts).astype(np.float64).sum(axis=0)


def cosine(a: np.ndarray | None, b: np.ndarray | None) -> float:
    if a is None or b is None:
        return 0.0
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norms) if norms > 0 else 0.0


class StoryGrouper(AlertGrouper):
    """AlertGrouper that keeps each active group's story: its posts, meaning and keys."""

    def __init__(self, *args, meaning_threshold: float = MEANING_THRESHOLD, **kwargs):
        super().__init__(*args, **kwargs)
        self.meaning_threshold = meaning_threshold
        self.stories: dict[str, Story] = {}
        self._meanings: dict[int, np.ndarray | None] = {}  # this window's alerts (by id()), embedded once

    def window(self, end: int, episodes: list[Scored]) -> list[dict]:
        sketches = {id(s.record): list(s.evidence.sketch) if s.evidence else [] for s in episodes}
        self._meanings = {}
        out = super().window(end, episodes)
        groups = {g.lead_episode: g for g in self.groups}
        self.stories = {lead: story for lead, story in self.stories.items() if lead in groups}
        member_of = {episode: g for g in self.groups for episode in g.members}
        for record in out:
            group = member_of.get(record.get("episode"))
            if group is None:
                continue
            story = self.stories.setdefault(group.lead_episode, Story(group.lead_episode))
            story.remember(record, sketches.get(id(record), []))
            record["story"] = group.lead_episode
        for record in out:
            story = self.stories.get(record.get("episode"))
            if story is not None:  # the lead's own records tell the story
                record["title"] = story.title()
                record["story_keys"] = story.key_list()
        self._meanings = {}
        return out

    def share(self, alert: Scored, group: Group, whole: tuple[int, list[int]] | None) -> float:
        share = super().share(alert, group, whole)
        story = self.stories.get(group.lead_episode)
        if story is None or self.threshold <= 0:
            return share
        share = max(share, story.holds(list(alert.evidence.sketch) if alert.evidence else []))
        if share < self.threshold and story.meaning is not None:
            similarity = cosine(self._meaning(alert.record), story.meaning)
            if similarity >= self.meaning_threshold:  # as sure as sharing the threshold's posts, or more
                share = max(share, self.threshold * similarity / self.meaning_threshold)
        return share

    def joined(self, group: Group, alert: Scored) -> None:
        story = self.stories.setdefault(group.lead_episode, Story(group.lead_episode))
        meaning = self._meaning(alert.record)
        if meaning is not None:
            story.meaning = meaning if story.meaning is None else story.meaning + meaning

    def _meaning(self, alert: dict) -> np.ndarray | None:
        if id(alert) not in self._meanings:
            self._meanings[id(alert)] = example_meaning(alert)
        return self._meanings[id(alert)]
