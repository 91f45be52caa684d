"""A bundle's shard part (transforms/trends/batch.py) names the same posts for every key and
period whether it carries only the marks its keys hold or all of the bundle's."""

from __future__ import annotations

import pytest

from tendencias.models.trends.stats import PostMark
from tendencias.transforms.trends.batch import _compact


def marks(n: int) -> list[PostMark]:
    return [PostMark(f"p{i}", f"a{i}", i, i, None, f"text {i}", None, None, None) for i in range(n)]


@pytest.mark.parametrize(
    "cells",
    [
        {("term", "a"): {(100, 0): [1, 5]}, ("term", "b"): {(100, 0): [5], (200, 1): [7]}},  # few: re-indexed
        {
            ("term", "a"): {(100, 0): [0, 1, 2, 3, 4, 5]},
            ("term", "b"): {(200, 1): [6, 3]},
        },  # most: as they are
    ],
)
def test_a_shard_part_names_the_same_posts(cells):
    bundle = marks(8)
    part = _compact(bundle, cells)
    assert part.cells.keys() == cells.keys()
    for pair, by_period in cells.items():
        assert part.cells[pair].keys() == by_period.keys()
        for cell, indices in by_period.items():
            assert [part.marks[i] for i in part.cells[pair][cell]] == [bundle[i] for i in indices]
    used = {i for by_period in cells.values() for indices in by_period.values() for i in indices}
    assert len(part.marks) == (len(bundle) if len(used) >= 6 else len(used))
