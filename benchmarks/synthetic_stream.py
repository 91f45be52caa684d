"""A seasonal Poisson stream of invented chatter with planted bursts (all text made up here).

Background: posts arrive as an inhomogeneous Poisson process with a Lima day/night rhythm and
quieter weekends; words follow a Zipf law over an invented vocabulary; some words have their
own hour (breakfast words in the morning) or weekday; a few accounts post a lot; and, as on
any social network, several times a day: retweet cascades (one text copied by many accounts
within an hour), chatty accounts (one account posting a dozen times in 20 minutes about one
thing) and ordinary surges (a word used twice as much as usual for an hour). None of these
should alert. Bursts: extra posts about one word, from distinct people with varied
texts, over `burst_minutes`; half use a word never seen before, half a word of the vocabulary.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from tendencias.models.text.normalise import post_tokens
from tendencias.models.trends.windows import HOUR_MS, local_bins

MIN_MS = 60_000
DAY_MS = 24 * HOUR_MS
START_MS = 1_704_085_200_000  # Monday 2024-01-01 00:00 in Lima
REGIONS = ["lima"] * 6 + ["arequipa", "cusco", "trujillo", "piura", "iquitos"]
_SYLLABLES = [c + v for c in "bcdfgklmnprstvz" for v in "aeiou"]
# Lima rhythm: posts per hour relative to the daily mean, by local hour.
DIURNAL = [
    0.35,
    0.2,
    0.12,
    0.1,
    0.12,
    0.25,
    0.55,
    0.9,
    1.1,
    1.15,
    1.2,
    1.3,
    1.5,
    1.45,
    1.2,
    1.1,
    1.1,
    1.2,
    1.4,
    1.6,
    1.75,
    1.6,
    1.2,
    0.7,
]


def pseudo_word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 3, 3, 4))))


@dataclass
class Burst:
    word: str
    start_ms: int
    posts: int
    novel: bool


class SyntheticStream:
    def __init__(self, seed: int = 7, vocabulary: int = 6000, posts_per_day: float = 5000.0):
        self.rng = random.Random(seed)
        words: set[str] = set()
        while len(words) < vocabulary:
            words.add(pseudo_word(self.rng))
        self.words = sorted(words)
        self.rng.shuffle(self.words)
        self.weights = [1.0 / (rank + 8) ** 1.05 for rank in range(vocabulary)]
        self.hour_words = {w: self.rng.choice(((6, 10), (12, 15), (19, 23))) for w in self.words[20:60]}
        self.weekend_words = set(self.words[60:75])
        self.hashtags = ["#" + w for w in self.words[:150]]
        self.posts_per_day = posts_per_day
        self.authors = [f"user{i}" for i in range(30_000)]
        self.author_weights = [1.0 / (i + 20) for i in range(30_000)]
        self._n = 0

    def _author(self) -> str:
        return self.rng.choices(self.authors, self.author_weights)[0]

    def _text_words(self, t_ms: int, k: int) -> list[str]:
        hour, dow = local_bins(t_ms, "America/Lima")
        out = []
        for word in self.rng.choices(self.words, self.weights, k=k * 2):
            span = self.hour_words.get(word)
            keep = 1.0
            if span is not None:
                keep = 1.0 if span[0] <= hour < span[1] else 0.12
            if word in self.weekend_words:
                keep = 1.0 if dow >= 5 else 0.2
            if self.rng.random() < keep:
                out.append(word)
            if len(out) == k:
                break
        return out

    def post(self, t_ms: int, words: list[str], author: str | None = None, text: str | None = None) -> dict:
        self._n += 1
        if text is None:
            text = " ".join(words)
            if self.rng.random() < 0.2:
                text += " " + self.rng.choice(
                    self.hashtags[:60] if self.rng.random() < 0.7 else self.hashtags
                )
        features = post_tokens(text)
        return {
            "id": f"s{self._n}",
            "event_time_ms": int(t_ms),
            "text_clean": text,
            "tokens": features["tokens"],
            "hashtags": features["hashtags"],
            "author": author or self._author(),
            "region": self.rng.choice(REGIONS),
            "sentiment": {"score": round(self.rng.uniform(-1, 1), 2), "model": "synthetic"},
            "features_version": "synthetic",
        }

    def rate_per_ms(self, t_ms: int) -> float:
        hour, dow = local_bins(t_ms, "America/Lima")
        weekly = 0.8 if dow >= 5 else 1.05
        return self.posts_per_day / DAY_MS * DIURNAL[hour] * weekly

    def background(
        self,
        days: float,
        cascades_per_day: float = 6.0,
        chatty_per_day: float = 5.0,
        surges_per_day: float = 10.0,
    ) -> list[dict]:
        posts, t = [], float(START_MS)
        peak = self.posts_per_day / DAY_MS * max(DIURNAL) * 1.05
        end = START_MS + days * DAY_MS
        while True:  # thinning: candidate arrivals at the peak rate, kept with rate/peak
            t += self.rng.expovariate(peak)
            if t >= end:
                break
            if self.rng.random() < self.rate_per_ms(int(t)) / peak:
                posts.append(self.post(t, self._text_words(int(t), self.rng.randint(4, 12))))
        for _ in range(int(chatty_per_day * days)):
            at, who, topic = (
                self.rng.choice(posts)["event_time_ms"],
                self._author(),
                self.rng.choice(self.words[50:3000]),
            )
            for _ in range(self.rng.randint(8, 20)):
                words = self._text_words(int(at), self.rng.randint(3, 8)) + [topic]
                posts.append(self.post(at + self.rng.uniform(0, 20 * MIN_MS), words, author=who))
        for _ in range(int(surges_per_day * days)):
            at, word = self.rng.choice(posts)["event_time_ms"], self.rng.choice(self.words[30:1000])
            usual = (
                self.posts_per_day
                / DAY_MS
                * HOUR_MS
                * self.weights[self.words.index(word)]
                / sum(self.weights)
            )
            for _ in range(max(1, round(usual * 8))):  # ~8 words a post: as many again for an hour
                when = at + self.rng.uniform(0, HOUR_MS)
                words = self._text_words(int(when), self.rng.randint(3, 8)) + [word]
                posts.append(self.post(when, words))
        for _ in range(int(cascades_per_day * days)):
            original = self.rng.choice(posts)
            copies = min(60, int(self.rng.expovariate(1 / 10)) + 3)
            for _ in range(copies):
                at = original["event_time_ms"] + self.rng.expovariate(1 / (20 * MIN_MS))
                if at < end:
                    posts.append(self.post(at, [], text="RT " + original["text_clean"]))
        return posts

    def bursts(
        self, sizes: list[int], per_size: int, first_ms: int, last_ms: int, burst_minutes: float = 30.0
    ) -> tuple[list[Burst], list[dict]]:
        """Planted bursts at random times in [first_ms, last_ms], at least 3 hours apart."""
        count = len(sizes) * per_size
        slots = sorted(self.rng.sample(range(int((last_ms - first_ms) // (3 * HOUR_MS))), count))
        plan = [s for s in sizes for _ in range(per_size)]
        self.rng.shuffle(plan)
        bursts, posts = [], []
        for slot, size in zip(slots, plan, strict=True):
            start = first_ms + slot * 3 * HOUR_MS + self.rng.randrange(HOUR_MS)
            novel = self.rng.random() < 0.5
            word = pseudo_word(self.rng) + "x" if novel else self.rng.choice(self.words[200:2000])
            bursts.append(Burst(word, start, size, novel))
            for i in range(size):  # arrivals speed up then calm down: a triangular profile
                at = start + burst_minutes * MIN_MS * self.rng.triangular(0, 1, 0.3)
                words = self._text_words(int(at), self.rng.randint(3, 8))
                words.insert(self.rng.randrange(len(words) + 1), word)
                posts.append(self.post(at, words, author=f"fan{self._n}_{i}"))
        return bursts, posts


def match_alerts(alerts: list[dict], bursts: list[Burst], window_ms: int = 2 * HOUR_MS):
    """(detection delay in minutes per burst or None, number of alerts matching no burst)."""
    from tendencias.records import parse_time_ms

    delays: list[float | None] = [None] * len(bursts)
    unmatched = 0
    for alert in alerts:
        end = parse_time_ms(alert["window_end"], "window_end")
        hit = False
        for i, burst in enumerate(bursts):
            words = alert["key"].lstrip("#").split()
            if burst.word in words and burst.start_ms < end <= burst.start_ms + window_ms:
                hit = True
                delay = (end - burst.start_ms) / MIN_MS
                delays[i] = delay if delays[i] is None else min(delays[i], delay)
        unmatched += not hit
    return delays, unmatched


def median(values: list[float]) -> float:
    values = sorted(values)
    if not values:
        return math.nan
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
