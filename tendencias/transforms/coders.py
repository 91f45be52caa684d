"""Coders of the typed records that cross shuffles and runner boundaries.

A `Post` is encoded as its field values in order (pickled as one tuple, no field names, no
class path per element), registered with Beam's coder registry, so every PCollection typed
`Post` uses it on every runner: between Prism's stages, in a GroupByKey, in state.
"""

from __future__ import annotations

import pickle

from apache_beam import coders

from tendencias.records import Post


class PostCoder(coders.Coder):
    def encode(self, value: Post) -> bytes:
        return pickle.dumps(value.values_tuple(), pickle.HIGHEST_PROTOCOL)

    def decode(self, encoded: bytes) -> Post:
        return Post.from_values(pickle.loads(encoded))

    def is_deterministic(self) -> bool:
        return False  # a post is never a grouping key

    def to_type_hint(self):
        return Post


coders.registry.register_coder(Post, PostCoder)
