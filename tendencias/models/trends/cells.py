"""Posts counted into cells: each key's posts per period, a bundle of posts at a time.

The counting half of the trend stage, shared by both plans (transforms/trends/count.py): a
post's keys and its `PostMark` are made once, whatever the horizons, and a bundle's cells (a
key's posts in one period of one horizon) are lists of indices into the bundle's marks, so no
accumulator is made, pickled or merged per key and period on the way to the scorer. Keys are
spread over `SHARDS` shards; every shard's part also carries the bundle's volumes (posts per
period of each horizon, of every key), so a shard's scorer learns the stream's volumes from
its own parts.

    ShardPart(marks, cells {pair: {(period end, horizon rank): [mark index]}}, volumes {rank: {end: (posts, first ms)}})

In the stream, a part is also split by the window it travels in (`window_ms`: the short
horizon's period): a cell of period end E goes in the window holding E's last instant, so a
window's pane brings every horizon's periods that end in it, at once.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from tendencias.models.trends.config import Horizon
from tendencias.models.trends.keys import trend_keys
from tendencias.models.trends.stats import PostMark, post_mark
from tendencias.models.trends.volumes import Volumes, merge_volumes

SHARDS = 8  # a shard's keys are scored together; enough of them that one is not one hot key

Cell = tuple[int, int]  # (period end ms, horizon rank)
Cells = dict[tuple[str, str], dict[Cell, list[int]]]  # pair -> cell -> mark indices


def shard_of(pair: tuple[str, str]) -> int:
    return zlib.crc32(f"{pair[0]}\x1f{pair[1]}".encode()) % SHARDS


class ShardPart(NamedTuple):
    """Posts of one shard's keys: the marks its cells hold, the cells, and the volumes of all
    the posts the part was counted from (every shard gets them)."""

    marks: list[PostMark]
    cells: Cells
    volumes: dict[int, Volumes]  # horizon rank -> {period end: (posts, earliest event ms)}


def window_end(end: int, window_ms: int) -> int:
    """The end of the `window_ms` window that holds period end `end`'s last instant."""
    return ((end - 1) // window_ms + 1) * window_ms


class BundleCounter:
    """Posts -> ShardParts: `add` each post of a bundle, then take `parts()`.

    `horizons`: (Horizon, the kinds it scores), shortest first; their rank is their index."""

    def __init__(self, horizons: Sequence[tuple[Horizon, tuple[str, ...]]], window_ms: int | None = None):
        self._periods = [h.period_ms for h, _ in horizons]
        kinds = [frozenset(k) for _, k in horizons]
        self._all_kinds = tuple(sorted(frozenset().union(*kinds)))
        self._same_kinds = all(k == kinds[0] for k in kinds)
        self._kinds = kinds
        self._window = window_ms
        self.marks: list[PostMark] = []
        self._cells: list[Cells] = [{} for _ in range(SHARDS)]
        self._shard: dict[tuple[str, str], Cells] = {}
        self._volumes: dict[int, Volumes] = {rank: {} for rank in range(len(horizons))}
        self.posts = self.keys = self.keyless = 0

    def add(self, post: Mapping[str, Any]) -> None:
        t = int(post["event_time_ms"])
        ends = []
        for rank, period in enumerate(self._periods):
            end = (t // period + 1) * period
            table = self._volumes[rank]
            n, first = table.get(end, (0, t))
            table[end] = (n + 1, min(first, t))
            ends.append((end, rank))
        keys = trend_keys(post, self._all_kinds)
        self.posts += 1
        if not keys:
            self.keyless += 1
            return
        self.keys += len(keys)
        index = len(self.marks)
        self.marks.append(post_mark(post))
        for pair in keys:
            cells = self._shard.get(pair)
            if cells is None:
                cells = self._shard[pair] = self._cells[shard_of(pair)]
            by_period = cells.get(pair)
            if by_period is None:
                by_period = cells[pair] = {}
            for cell in ends if self._same_kinds else [c for c in ends if pair[0] in self._kinds[c[1]]]:
                marks = by_period.get(cell)
                if marks is None:
                    by_period[cell] = [index]
                else:
                    marks.append(index)

    def parts(self) -> Iterator[tuple[int, int | None, ShardPart]]:
        """(shard, window end or None, its part): one a shard, or, with `window_ms`, one per
        shard and window the bundle's posts fall in; every shard gets the volumes."""
        if not self.posts:
            return
        if self._window is None:
            for shard, cells in enumerate(self._cells):
                yield shard, None, _compact(self.marks, cells, self._volumes)
            return
        window = self._window
        volumes: dict[int, dict[int, Volumes]] = {}  # window end -> its volumes
        for rank, table in self._volumes.items():
            for end, value in table.items():
                volumes.setdefault(window_end(end, window), {}).setdefault(rank, {})[end] = value
        for shard, cells in enumerate(self._cells):
            by_window: dict[int, Cells] = {w: {} for w in volumes}
            for pair, by_period in cells.items():
                for cell, indices in by_period.items():
                    by_window[window_end(cell[0], window)].setdefault(pair, {})[cell] = indices
            for w, window_cells in by_window.items():
                yield shard, w, _compact(self.marks, window_cells, volumes[w])


def _compact(marks: list[PostMark], cells: Cells, volumes: dict[int, Volumes]) -> ShardPart:
    """The part of a shard: only the marks its cells hold, re-indexed in their order."""
    used = sorted({i for by_period in cells.values() for indices in by_period.values() for i in indices})
    if len(used) == len(marks):
        return ShardPart(marks, cells, volumes)
    where = {old: new for new, old in enumerate(used)}
    remapped = {
        pair: {cell: [where[i] for i in indices] for cell, indices in by_period.items()}
        for pair, by_period in cells.items()
    }
    return ShardPart([marks[i] for i in used], remapped, volumes)


def merge_parts(parts: Iterable[ShardPart]) -> ShardPart:
    """Parts of one shard as one: marks appended, cells joined in part order, volumes added."""
    parts = list(parts)
    if len(parts) == 1:
        return parts[0]
    marks: list[PostMark] = []
    cells: Cells = {}
    volumes: dict[int, list[Volumes]] = {}
    for part in parts:
        offset = len(marks)
        marks += part.marks
        for pair, by_period in part.cells.items():
            into = cells.setdefault(pair, {})
            for cell, indices in by_period.items():
                if offset:
                    indices = [i + offset for i in indices]
                known = into.get(cell)
                if known is None:
                    into[cell] = list(indices)
                else:
                    known.extend(indices)
        for rank, table in part.volumes.items():
            volumes.setdefault(rank, []).append(table)
    return ShardPart(marks, cells, {rank: merge_volumes(tables) for rank, tables in volumes.items()})
