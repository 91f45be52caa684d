"""The trend stage's counters of the posts it keys, tallied per bundle and reported at its end."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apache_beam.metrics import Metrics

from tendencias.models.trends.keys import trend_keys


class KeyTally:
    """`trends` metrics: posts_keyed, post_keys, posts_without_keys."""

    def __init__(self):
        self._posts = Metrics.counter("trends", "posts_keyed")
        self._keys = Metrics.counter("trends", "post_keys")
        self._keyless = Metrics.counter("trends", "posts_without_keys")
        self.start()

    def start(self) -> None:
        self.posts = self.keys = self.keyless = 0

    def keys_of(self, post: Mapping[str, Any], kinds: tuple[str, ...]) -> list[tuple[str, str]]:
        """The post's trend keys, tallied."""
        keys = trend_keys(post, kinds)
        self.posts += 1
        self.keys += len(keys)
        self.keyless += not keys
        return keys

    def report(self) -> None:
        self._posts.inc(self.posts)
        self._keys.inc(self.keys)
        self._keyless.inc(self.keyless)
        self.start()
