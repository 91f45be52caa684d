"""What one key saw in one window: posts, distinct authors and texts, sentiment, examples.

`PostMark` is computed once per post and shared by all of the post's keys; `WindowStats` is
the mergeable accumulator the windowed combine keeps per key (so it works as a Beam
CombineFn accumulator and in plain tests alike). Everything is bounded: at most
`MAX_AUTHORS` authors, `MAX_TEXTS` text fingerprints and `MAX_REGIONS` regions are tracked
exactly; beyond that posts count as new authors and texts, which only matters far above any
support threshold. Texts are told apart by their token set, so a retweet ("RT ...") and its
original are one text.

Which ones are tracked does not depend on the order posts are added and accumulators merged:
always those with the smallest fingerprints (a bottom-k, like the examples), so a key's counts
come out the same from a file or from Kafka partitions, on any runner, however it splits the
work (`tendencias run --bounded` and `tendencias backfill` agree). A key is only ever dropped
for smaller ones, which every part that saw it tracks too: the counts of tracked keys are exact.
"""

from __future__ import annotations

import bisect
import zlib
from collections.abc import Mapping
from typing import Any, NamedTuple

from tendencias.models.segments.model import post_segments
from tendencias.models.trends.groups import SKETCH_SIZE, merge_sketches
from tendencias.models.trends.keys import label_key

MAX_AUTHORS = 256
MAX_TEXTS = 64
MAX_REGIONS = 64  # Peru has 25 regions: all of them are counted, free-text junk is bounded
MAX_EXAMPLE_CHARS = 280


class PostMark(NamedTuple):
    """The little a trend needs from a post (the redacted text only, never the raw one)."""

    post_id: str
    author: str
    sample_hash: int  # deterministic, from the id: picks the examples (a bottom-k sample)
    text_print: int  # fingerprint of the post's token set: retweets and copies share it
    sentiment: float | None
    text: str
    region: str | None
    model: str | None
    features_version: str | None
    segments: tuple[str, ...] = ()  # consumer segments (models/segments), for the breakdown


_NOT_CONTENT = frozenset({"rt", "via"})  # a retweet has the same content as its original


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def author_print(mark: PostMark) -> int:
    """The fingerprint authors are told apart by."""
    return _crc(mark.author)


def _keep_smallest(tracked: dict, cap: int, rank=None) -> int:
    """Keeps the `cap` keys of least rank (the key itself, or `rank(key)`); returns the posts
    of those it drops."""
    if len(tracked) <= cap:
        return 0
    dropped = sorted(tracked, key=rank)[cap:]
    return sum(tracked.pop(key) for key in dropped)


def post_mark(post: Mapping[str, Any]) -> PostMark:
    post_id = str(post.get("id"))
    sentiment = post.get("sentiment") if isinstance(post.get("sentiment"), Mapping) else {}
    score = sentiment.get("score")
    score = float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None
    tokens = post.get("tokens") or ()
    text = str(post.get("text_clean") or "")
    return PostMark(
        post_id=post_id,
        author=str(post.get("author") or f"post:{post_id}"),
        sample_hash=_crc(post_id),
        text_print=_crc("\x1f".join(sorted(set(tokens) - _NOT_CONTENT))) if tokens else _crc(text.casefold()),
        sentiment=score,
        text=text[:MAX_EXAMPLE_CHARS],
        region=label_key(post.get("region")),
        model=sentiment.get("model"),
        features_version=post.get("features_version"),
        segments=post_segments(post.get("segments"), sentiment.get("aspects")),
    )


def _newest(known: str | None, seen: str | None) -> str | None:
    """The greater of two versions, either of which may be missing (None or empty)."""
    if not seen:
        return known or None
    return seen if not known or seen > known else known


class WindowStats:
    """Mergeable per-key, per-window counts. `examples` is the bottom-k sample by id hash."""

    __slots__ = (
        "posts",
        "authors",
        "overflow",
        "texts",
        "text_overflow",
        "sentiment_milli",
        "sentiment_n",
        "examples",
        "regions",
        "segments",
        "model",
        "features_version",
        "max_examples",
        "sketch",
    )

    def __init__(self, max_examples: int = 3):
        self.posts = 0
        self.authors: dict[int, int] = {}  # author fingerprint -> posts
        self.overflow = 0  # posts whose author was not tracked (beyond MAX_AUTHORS)
        self.texts: dict[int, int] = {}  # text fingerprint -> posts
        self.text_overflow = 0  # posts whose text was not tracked (beyond MAX_TEXTS)
        self.sentiment_milli = 0  # sum of scores in thousandths: exact, whatever the merge order
        self.sentiment_n = 0
        self.examples: list[tuple[int, str, str]] = []
        self.regions: dict[str, int] = {}
        self.segments: dict[str, int] = {}  # posts per consumer segment (a handful of names)
        self.model: str | None = None
        self.features_version: str | None = None
        self.max_examples = max_examples
        self.sketch: list[int] = []  # the SKETCH_SIZE smallest id hashes: which posts, roughly

    def __getstate__(self):
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state):
        for name, value in zip(self.__slots__, state, strict=True):
            setattr(self, name, value)

    def add(self, mark: PostMark) -> WindowStats:
        self.posts += 1
        authors, author = self.authors, author_print(mark)
        if author in authors:
            authors[author] += 1
        elif len(authors) < MAX_AUTHORS:
            authors[author] = 1
        elif author < max(authors):
            authors[author] = 1
            self.overflow += _keep_smallest(authors, MAX_AUTHORS)
        else:
            self.overflow += 1
        texts, text_print = self.texts, mark.text_print
        if text_print in texts:
            texts[text_print] += 1
        elif len(texts) < MAX_TEXTS:
            texts[text_print] = 1
        elif text_print < max(texts):
            texts[text_print] = 1
            self.text_overflow += _keep_smallest(texts, MAX_TEXTS)
        else:
            self.text_overflow += 1
        if mark.sentiment is not None:
            self.sentiment_milli += round(mark.sentiment * 1000)
            self.sentiment_n += 1
        sketch, sample_hash = self.sketch, mark.sample_hash
        if len(sketch) < SKETCH_SIZE or sample_hash < sketch[-1]:
            if sample_hash not in sketch:
                bisect.insort(sketch, sample_hash)
                del sketch[SKETCH_SIZE:]
        examples = self.examples
        example = (sample_hash, mark.post_id, mark.text)
        if len(examples) < self.max_examples or example < examples[-1]:
            bisect.insort(examples, example)
            del examples[self.max_examples :]
        region = mark.region
        if region is not None:
            regions = self.regions
            if region in regions:
                regions[region] += 1
            else:
                regions[region] = 1
                _keep_smallest(regions, MAX_REGIONS, _crc)
        for segment in mark.segments:
            self.segments[segment] = self.segments.get(segment, 0) + 1
        if mark.model:
            self.model = _newest(self.model, mark.model)
        if mark.features_version:
            self.features_version = _newest(self.features_version, mark.features_version)
        return self

    def merge(self, other: WindowStats) -> WindowStats:
        self.posts += other.posts
        for author, n in other.authors.items():
            self.authors[author] = self.authors.get(author, 0) + n
        self.overflow += other.overflow + _keep_smallest(self.authors, MAX_AUTHORS)
        for fingerprint, n in other.texts.items():
            self.texts[fingerprint] = self.texts.get(fingerprint, 0) + n
        self.text_overflow += other.text_overflow + _keep_smallest(self.texts, MAX_TEXTS)
        self.sentiment_milli += other.sentiment_milli
        self.sentiment_n += other.sentiment_n
        self._offer_examples(other.examples)
        self.sketch = merge_sketches(self.sketch, other.sketch)
        for region, n in other.regions.items():
            self.regions[region] = self.regions.get(region, 0) + n
        _keep_smallest(self.regions, MAX_REGIONS, _crc)
        for segment, n in other.segments.items():
            self.segments[segment] = self.segments.get(segment, 0) + n
        self.model = _newest(self.model, other.model)
        self.features_version = _newest(self.features_version, other.features_version)
        return self

    def _offer_examples(self, offered: list[tuple[int, str, str]]) -> None:
        if not offered:
            return
        if len(offered) == 1 and len(self.examples) >= self.max_examples and offered[0] >= self.examples[-1]:
            return
        merged = sorted({(h, pid, text) for h, pid, text in [*self.examples, *offered]})
        self.examples = merged[: self.max_examples]

    def counted(self, per_author_cap: int, per_text_cap: int | None = None) -> int:
        """The count the score uses: posts, at most `per_author_cap` per author and at most
        `per_text_cap` per text (so a retweet cascade counts as a couple of posts)."""
        if self.posts <= min(per_author_cap, per_text_cap or per_author_cap):
            return self.posts  # no author or text can be over its cap
        by_author = sum(min(n, per_author_cap) for n in self.authors.values()) + self.overflow
        if per_text_cap is None:
            return by_author
        by_text = sum(min(n, per_text_cap) for n in self.texts.values()) + self.text_overflow
        return min(by_author, by_text)

    def distinct_authors(self) -> int:
        return len(self.authors) + self.overflow

    def distinct_texts(self) -> int:
        return len(self.texts) + self.text_overflow

    def sentiment_mean(self) -> float | None:
        return self.sentiment_sum / self.sentiment_n if self.sentiment_n else None

    @property
    def sentiment_sum(self) -> float:
        return self.sentiment_milli / 1000

    def breakdown(self, top: int = 5) -> dict[str, dict[str, int]]:
        """The window's posts by region and by consumer segment, the `top` of each, most first."""

        def ranked(counts: dict[str, int]) -> dict[str, int]:
            return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top])

        return {"region": ranked(self.regions), "segment": ranked(self.segments)}

    def main_region(self, share: float = 0.6) -> str | None:
        """The region most of the posts come from, when one holds at least `share` of them."""
        if not self.regions:
            return None
        region, n = max(self.regions.items(), key=lambda item: (item[1], item[0]))
        return region if n >= share * self.posts else None
