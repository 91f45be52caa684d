"""Many keys at once: the batch path's scorer, numpy across the keys of a period.

`HorizonScorers` scores one key and period at a time, ~20 us of Python each; a backfill has
about 20 key-periods a post. Nearly all of them take the same short path: the history moves to
the period (decay, missed periods), the window cannot reach "watch", and the period is learned.
`score_shard` runs that path for all keys of one (period end, horizon) at once, each key's
history a row of arrays, and hands the few windows that could matter (and every window of an
always-emitted kind or of a key in an episode) to the very `KeyScorer.score_window` the stream
runs, on a `KeyHistory` made from the row and stored back after.

The records are byte-identical to scoring key by key (tests/unit/models/trends/test_shard_scorer.py,
tests/unit/pipelines/test_backfill_pinned.py): every float is made by the same IEEE operations
in the same order as in `KeyHistory` and `scoring.py`, element by element (numpy's `+ - * /`
round exactly as Python's; sums are written out term by term, never `np.sum`, which adds
pairwise; powers, logs and tail probabilities are computed by the scalar code, per distinct
value). Those functions keep the per-key definition; the array steps below mirror
`KeyHistory.advance`, `KeyHistory.expected`, `could_matter`, `learn` and `WindowStats.counted`, and
must change with them.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain
from typing import NamedTuple

import numpy as np

from tendencias.models.trends.baseline import C_DOW, C_HOD, SENT, X_DOW, X_HOD, KeyHistory, missed_exposure
from tendencias.models.trends.groups import Scored
from tendencias.models.trends.key_scorer import HorizonScorers, KeyScorer, KeyState, Recent, window_input
from tendencias.models.trends.scoring import SeverityParams, lift, min_watch_count, tail_surprise
from tendencias.models.trends.stats import MAX_AUTHORS, MAX_TEXTS, PostMark, WindowStats, author_print
from tendencias.models.trends.volumes import PeriodVolumes
from tendencias.models.trends.windows import local_bins, midpoint

Cells = dict[tuple[str, str], dict[tuple[int, int], list[int]]]  # pair -> (end, rank) -> mark indices


class _Histories:
    """The `KeyHistory` of every key of one horizon, a row each."""

    def __init__(self, rows: int):
        self.bins = np.zeros((rows, 63))
        self.sent_n = np.zeros(rows)
        self.last_end = np.zeros(rows, dtype=np.int64)
        self.stream_start = np.zeros(rows, dtype=np.int64)
        self.episode_start = np.zeros(rows, dtype=np.int64)
        self.quiet = np.zeros(rows, dtype=np.int64)
        self.opened_min = np.zeros(rows, dtype=np.int64)

    def get(self, row: int) -> KeyHistory:
        history = KeyHistory()
        history.bins = self.bins[row].tolist()
        history.sent_n = float(self.sent_n[row])
        history.last_end = int(self.last_end[row])
        history.stream_start = int(self.stream_start[row])
        history.episode_start = int(self.episode_start[row])
        history.quiet = int(self.quiet[row])
        history.opened_min = int(self.opened_min[row])
        return history

    def put(self, row: int, history: KeyHistory) -> None:
        self.bins[row] = history.bins
        self.sent_n[row] = history.sent_n
        self.last_end[row] = history.last_end
        self.stream_start[row] = history.stream_start
        self.episode_start[row] = history.episode_start
        self.quiet[row] = history.quiet
        self.opened_min[row] = history.opened_min


class _Periods(NamedTuple):
    """Every key-period of one horizon (an entry each, in the order they are scored per key)."""

    entries: np.ndarray  # entry ids, by key then period end
    window_posts: np.ndarray  # the key's posts in the window ending at the entry's period
    previous: np.ndarray  # ... in the window one period earlier
    window_first: np.ndarray  # position (in `entries`) of the window's first period


def score_shard(
    scorers: HorizonScorers,
    ranks: list[str],
    examples: int,
    marks: list[PostMark],
    cells: Cells,
    volumes_at: Callable[[int, int], PeriodVolumes],
    histories: dict[tuple[str, str, str], KeyHistory] | None = None,
) -> tuple[list[Scored], int]:
    """(Scored records of every key in `cells`, in the order scoring key by key gives them: keys
    in `cells` order, each key's periods in (end, horizon rank) order; key-periods scored).
    `ranks`: the horizons' names by the rank the cells name them by; `volumes_at(rank, end)`:
    the stream's volumes around period `end` of horizon `rank`. `histories`, when given, gets
    each key's KeyHistory after its last period, by (horizon, kind, key)."""
    if not cells:
        return [], 0
    horizons = [scorers.scorers[name] for name in ranks]
    pairs = list(cells)
    cell_list: list[tuple[int, int]] = []
    indices_of: list[list[int]] = []  # per key-period (an entry): its marks
    for by_period in cells.values():
        cell_list += by_period
        indices_of += by_period.values()
    n = len(cell_list)
    pair_of = np.repeat(np.arange(len(pairs)), [len(by_period) for by_period in cells.values()])
    ends, rank_of = np.array(cell_list, dtype=np.int64).T.copy()
    posts = np.fromiter(map(len, indices_of), dtype=np.int64, count=n)
    flat = np.fromiter(chain.from_iterable(indices_of), dtype=np.int64, count=int(posts.sum()))
    starts = np.concatenate(([0], np.cumsum(posts)[:-1]))
    scored_mark = np.array([m.sentiment is not None for m in marks], dtype=np.int64)
    milli_mark = np.array(
        [0 if m.sentiment is None else round(m.sentiment * 1000) for m in marks], dtype=np.int64
    )
    sent_milli = np.add.reduceat(milli_mark[flat], starts)  # WindowStats.sentiment_milli: ints, exact
    sent_n = np.add.reduceat(scored_mark[flat], starts)
    counted = _counted(marks, indices_of, flat, starts, posts, rank_of, [s.severity for s in horizons])
    always = np.array([[kind in s.always for kind, _ in pairs] for s in horizons])[rank_of, pair_of]
    present = [np.unique(pair_of[rank_of == rank]) for rank in range(len(horizons))]  # row -> pair
    row_of = np.empty(n, dtype=np.int64)
    for rank, keys in enumerate(present):
        mine = rank_of == rank
        row_of[mine] = np.searchsorted(keys, pair_of[mine])
    periods = [
        _windows(np.flatnonzero(rank_of == rank), row_of, ends, posts, s) for rank, s in enumerate(horizons)
    ]
    where = np.empty(n, dtype=np.int64)  # entry -> position in its horizon's _Periods
    for p in periods:
        where[p.entries] = np.arange(len(p.entries))
    states = [_Histories(len(keys)) for keys in present]
    stats: dict[int, WindowStats] = {}

    def stats_of(entry: int) -> WindowStats:
        if entry not in stats:
            out = stats[entry] = WindowStats(examples)
            for i in indices_of[entry]:
                out.add(marks[i])
        return stats[entry]

    order = np.lexsort((rank_of, ends))
    bounds = np.flatnonzero(np.diff(ends[order]) | np.diff(rank_of[order])) + 1
    out: list[tuple[int, Scored]] = []
    for group in np.split(order, bounds):
        if not len(group):
            continue
        end, rank = int(ends[group[0]]), int(rank_of[group[0]])
        scorer, state, at = horizons[rank], states[rank], periods[rank]
        pv = volumes_at(rank, end)
        rows = row_of[group]
        period_volume = np.maximum(pv.period, posts[group].astype(float))
        _prepare(state, rows, end, pv, scorer)
        window = at.window_posts[where[group]]
        full = always[group] | (state.episode_start[rows] != 0)
        maybe = np.flatnonzero(~full & (window >= min_watch_count(scorer.severity)))
        if len(maybe):
            full[maybe] = _could_matter(
                state, rows[maybe], window[maybe], pv, posts[group][maybe], end, scorer
            )
        learn = ~full
        _learn(
            state,
            rows[learn],
            end,
            counted[group[learn]].astype(float),
            period_volume[learn],
            sent_milli[group[learn]] / 1000,
            sent_n[group[learn]],
            scorer,
        )
        for entry in group[full].tolist():
            row, here = int(row_of[entry]), int(where[entry])
            history = state.get(row)
            kept = [
                Recent(int(ends[e]), stats_of(e), ())
                for e in at.entries[int(at.window_first[here]) : here + 1].tolist()
            ]
            w = window_input(pv.counts(kept[-1].stats), int(at.previous[here]))
            kind, key = pairs[pair_of[entry]]
            scored = scorer.score_window(kind, key, history, w, kept)
            state.put(row, history)
            if scored is not None:
                if scored.record["status"] == "new":
                    opened = _opened_of(states, present, int(pair_of[entry]), ranks)
                    scorers.relate_to_shorter(kind, key, scorer.horizon, end, scored.record, opened)
                out.append((entry, scored))
    if histories is not None:
        for rank, keys in enumerate(present):
            for row, p in enumerate(keys.tolist()):
                histories[(ranks[rank], *pairs[p])] = states[rank].get(row)
    out.sort(key=lambda item: (pair_of[item[0]], ends[item[0]], rank_of[item[0]]))
    return [scored for _, scored in out], n


def score_shard_key_by_key(
    scorers: HorizonScorers,
    ranks: list[str],
    examples: int,
    marks: list[PostMark],
    cells: Cells,
    volumes_at: Callable[[int, int], PeriodVolumes],
    histories: dict[tuple[str, str, str], KeyHistory] | None = None,
) -> tuple[list[Scored], int]:
    """What `score_shard` must equal, the stream's way: each key on its own, period by period,
    with `HorizonScorers.score` (tests/unit/models/trends/test_shard_scorer.py, benchmarks)."""
    out, scored = [], 0
    for (kind, key), by_period in cells.items():
        state = KeyState()
        for end, rank in sorted(by_period):
            stats = WindowStats(examples)
            for i in by_period[end, rank]:
                stats.add(marks[i])
            out.append(scorers.score(kind, key, state, ranks[rank], volumes_at(rank, end).counts(stats)))
            scored += 1
        if histories is not None:
            for horizon, (history, _) in state.horizons.items():
                histories[(horizon, kind, key)] = history
    return [s for s in out if s is not None], scored


def _opened_of(
    states: list[_Histories], present: list[np.ndarray], pair: int, ranks: list[str]
) -> Callable[[str], int]:
    def opened_min(horizon: str) -> int:
        rank = ranks.index(horizon)
        row = int(np.searchsorted(present[rank], pair))
        seen = row < len(present[rank]) and present[rank][row] == pair
        return int(states[rank].opened_min[row]) if seen else 0

    return opened_min


def _counted(
    marks: list[PostMark],
    indices_of: list[list[int]],
    flat: np.ndarray,
    starts: np.ndarray,
    posts: np.ndarray,
    rank_of: np.ndarray,
    severities: list[SeverityParams],
) -> np.ndarray:
    """`WindowStats.counted` of each entry's marks (`flat[starts[e]:][:posts[e]]`), without the
    rest of its stats: sums over distinct authors and texts of their posts, capped. Exact while
    no author or text is dropped (at most MAX_AUTHORS and MAX_TEXTS distinct); else WindowStats'."""
    author_cap = np.array([s.per_author_cap for s in severities])[rank_of]
    none = 1 << 40  # per_text_cap None: no text cap
    text_cap = np.array([s.per_text_cap or none for s in severities])[rank_of]
    counted = posts.copy()  # no author or text can be over its cap in a period of so few posts
    over = np.flatnonzero(posts > np.minimum(author_cap, text_cap))
    if not len(over):
        return counted
    lengths = posts[over]
    owner = np.repeat(np.arange(len(over), dtype=np.int64), lengths)
    first = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    mark = flat[np.repeat(starts[over] - first, lengths) + np.arange(int(lengths.sum()))]

    def capped(prints: np.ndarray, cap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per entry: the sum over distinct prints of min(posts, cap), and how many are distinct."""
        both, n = np.unique((owner << 32) | prints[mark], return_counts=True)  # prints: 32 bits
        who = both >> 32
        total = np.zeros(len(over), dtype=np.int64)
        np.add.at(total, who, np.minimum(n, cap[who]))
        return total, np.bincount(who, minlength=len(over))

    authors = np.array([author_print(m) for m in marks], dtype=np.int64)
    texts = np.array([m.text_print for m in marks], dtype=np.int64)
    by_author, distinct_authors = capped(authors, author_cap[over])
    by_text, distinct_texts = capped(texts, text_cap[over])
    counted[over] = np.minimum(by_author, by_text)
    for i in np.flatnonzero((distinct_authors > MAX_AUTHORS) | (distinct_texts > MAX_TEXTS)).tolist():
        e = int(over[i])
        stats = WindowStats()
        for m in indices_of[e]:
            stats.add(marks[m])
        severity = severities[rank_of[e]]
        counted[e] = stats.counted(severity.per_author_cap, severity.per_text_cap)
    return counted


def _windows(
    entries: np.ndarray, rows: np.ndarray, ends: np.ndarray, posts: np.ndarray, scorer: KeyScorer
) -> _Periods:
    """Each key-period's window posts and the one before (`KeyScorer.score`'s `posts` and
    `previous`): sums of the key's posts over periods in (end - size, end] and one period earlier."""
    period, size = scorer.baseline.period_ms, scorer.size_ms
    entries = entries[np.lexsort((ends[entries], rows[entries]))]
    row, end = rows[entries], ends[entries]
    q = end // period  # period ends are multiples of the period
    reach = size // period + 2
    lo_q, hi_q = (int(q.min()), int(q.max())) if len(q) else (0, 0)
    stride = hi_q - lo_q + 2 * reach + 1

    def at(row_: np.ndarray, q_: np.ndarray) -> np.ndarray:  # one sorted axis: row, then period
        return row_ * stride + (q_ - lo_q + reach)

    key = at(row, q)
    total = np.concatenate(([0], np.cumsum(posts[entries])))
    here = np.arange(len(entries))
    first = np.searchsorted(key, at(row, (end - size) // period + 1))
    before = np.searchsorted(key, at(row, (end - period - size) // period + 1))
    return _Periods(entries, total[here + 1] - total[first], total[here] - total[before], first)


def _prepare(state: _Histories, rows: np.ndarray, end: int, pv: PeriodVolumes, scorer: KeyScorer) -> None:
    """`scoring.prepare` (the warm-up clock, then `KeyHistory.advance`) of the rows' keys."""
    params, period = scorer.baseline, scorer.baseline.period_ms
    start = state.stream_start[rows]
    if pv.first:
        start = np.where((start == 0) | (pv.first < start), pv.first, start)
        state.stream_start[rows] = start
    last = state.last_end[rows]
    fresh = last == 0
    if fresh.any():
        first_end = np.where(start != 0, (start // period + 1) * period, end)
        last = np.where(fresh, np.minimum(first_end, end) - period, last)
        state.last_end[rows] = last
    gap = (end - last) // period
    moving = gap > 0
    if not moving.any():
        return
    rows, gap = rows[moving], gap[moving]
    decay = params.window_decay
    distinct, which = np.unique(gap, return_inverse=True)
    factor = np.array([decay ** int(g) for g in distinct])[which]
    state.bins[rows] *= factor[:, None]
    state.sent_n[rows] *= factor
    missed = gap - 1
    some = missed > 0
    if not some.any():
        return
    rows, missed = rows[some], missed[some]
    distinct, which = np.unique(missed, return_inverse=True)
    exposure = np.array([sum(missed_exposure(end, int(m), pv.hourly, params), ()) for m in distinct])[which]
    state.bins[rows, X_HOD:C_DOW] += exposure[:, :24]
    state.bins[rows, X_DOW:SENT] += exposure[:, 24:]


def _sum(columns: np.ndarray) -> np.ndarray:
    """Python's sum() of each row, term by term from the left (np.sum adds pairwise)."""
    total = np.add(0.0, columns[:, 0])
    for j in range(1, columns.shape[1]):
        total += columns[:, j]
    return total


def _expected(bins: np.ndarray, window: tuple, params) -> np.ndarray:
    """`KeyHistory.expected` of each row of `bins` over the window's (period end, posts) pairs."""
    share = (_sum(bins[:, C_HOD:X_HOD]) + params.prior_count) / (
        _sum(bins[:, X_HOD:C_DOW]) + params.prior_posts
    )
    prior = params.seasonal_prior
    total = np.zeros(len(bins))
    for end, volume in window:
        hour, day = local_bins(midpoint(end, params.period_ms), params.tz)
        by_hour = (bins[:, C_HOD + hour] + prior) / (share * bins[:, X_HOD + hour] + prior)
        by_day = (bins[:, C_DOW + day] + prior) / (share * bins[:, X_DOW + day] + prior)
        total += volume * by_hour * by_day
    return share * total


def _could_matter(
    state: _Histories,
    rows: np.ndarray,
    window_posts: np.ndarray,
    pv: PeriodVolumes,
    period_posts: np.ndarray,
    end: int,
    scorer: KeyScorer,
) -> np.ndarray:
    """`scoring.could_matter` of the rows' windows (all of at least min_watch_count posts)."""
    severity = scorer.severity
    if pv.window:
        expected = _expected(state.bins[rows], pv.window, scorer.baseline)
    else:  # no volumes: PeriodVolumes.counts makes the window the key's own period
        expected = _expected(state.bins[rows], ((end, period_posts.astype(float)),), scorer.baseline)
    out = lift(window_posts, expected) >= severity.min_lift / 2
    for i in np.flatnonzero(out).tolist():
        out[i] = (
            tail_surprise(int(window_posts[i]), float(expected[i]), severity.dispersion)
            >= severity.watch_score
        )
    return out


def _learn(
    state: _Histories,
    rows: np.ndarray,
    end: int,
    count: np.ndarray,
    period_volume: np.ndarray,
    sentiment_sum: np.ndarray,
    sentiment_n: np.ndarray,
    scorer: KeyScorer,
) -> None:
    """`scoring.learn` (`KeyHistory.observe` of the period, outside an episode) of the rows' keys."""
    params = scorer.baseline
    hour, day = local_bins(midpoint(end, params.period_ms), params.tz)
    bins = state.bins
    bins[rows, C_HOD + hour] += count
    bins[rows, C_DOW + day] += count
    bins[rows, X_HOD + hour] += period_volume
    bins[rows, X_DOW + day] += period_volume
    bins[rows, SENT] += sentiment_sum
    state.sent_n[rows] += sentiment_n
    state.last_end[rows] = end
