"""Ordering's release (transforms/trends/ordering.py) against what it promises: each firing takes,
in time order, every held element up to the timer's time (and up to any earlier firing's), on a
random stream with late elements and firings out of order; the same with this process's copy of
the kept entries thrown away before every firing (rebuilt from state) or left stale; and the
kept bag is written a bounded number of times per element, not once a firing."""

from __future__ import annotations

import random

import pytest

from tendencias.transforms.trends import ordering
from tendencias.transforms.trends.ordering import Held, hold, release, to_timestamp
from tests.unit.transforms.fake_state import Bag, Timer, Value


def _held() -> Held:
    return Held(Bag(), Bag(), Value(), Value(), Value(), Timer(), Timer())


def _scenario(seed: int, firings: int = 300):
    """[(elements to hold, firing time)]: a clock moving in small steps, some elements late
    (behind earlier firings), some firings at an earlier time than the one before."""
    rng, clock, out, n = random.Random(seed), 1_000, [], 0
    for _ in range(firings):
        batch = []
        for _ in range(rng.randint(0, 6)):
            late = rng.random() < 0.1
            batch.append((clock + (rng.randint(-400, 0) if late else rng.randint(1, 300)), f"e{n}"))
            n += 1
        clock += rng.randint(0, 40)
        out.append((batch, clock - (rng.randint(0, 200) if rng.random() < 0.1 else 0)))
    return out


def _expected(scenario) -> list[list[tuple[int, str]]]:
    held, released_to, out = [], -(10**18), []
    for batch, fired in scenario:
        held += batch
        limit = max(fired, released_to)
        due = sorted((e for e in held if e[0] <= limit), key=lambda e: e[0])
        held = [e for e in held if e[0] > limit]
        if due:
            released_to = limit
        out.append(due)
    return out


def _run(scenario, before_firing=lambda: None) -> tuple[list[list[tuple[int, str]]], Held]:
    held, out = _held(), []
    for batch, fired in scenario:
        for at, name in batch:
            hold(at, name, held.pending, held.first_at, held.last_at, held.first, held.last)
        before_firing()
        out.append(release(to_timestamp(fired), held, ("test", "k", None)))
    return out, held


@pytest.fixture(autouse=True)
def fresh_copies(monkeypatch):
    monkeypatch.setattr(ordering, "_KEPT", {})
    monkeypatch.setattr(ordering, "COMPACT_AT_LEAST", 16)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_each_firing_takes_what_is_due_in_time_order(seed):
    scenario = _scenario(seed)
    expected = _expected(scenario)
    out, held = _run(scenario)
    assert [[name for _, name in due] for due in out] == [[name for _, name in due] for due in expected]
    assert sum(len(due) for due in out) + len(ordering._KEPT[("test", "k", None)].live) + len(
        held.pending.items
    ) == sum(len(batch) for batch, _ in scenario)
    assert held.kept.reads == 0  # this process's copy is all a firing reads of it
    # every kept entry is written once, and again at most once per rewrite, which halves what is gone
    assert held.kept.adds <= 3 * sum(len(batch) for batch, _ in scenario)


@pytest.mark.parametrize("seed", [4, 5])
def test_rebuilt_before_every_firing_releases_the_same(seed):
    scenario = _scenario(seed)
    out, held = _run(scenario, before_firing=ordering._KEPT.clear)
    assert [[name for _, name in due] for due in out] == [
        [name for _, name in due] for due in _expected(scenario)
    ]
    first_release = next(i for i, due in enumerate(out) if due)
    assert held.kept.reads == len(scenario) - first_release - 1  # each firing after the first release


def test_a_copy_with_another_token_is_rebuilt():
    """A copy left by a firing whose bundle failed (state rolled back) is not used."""
    held, key = _held(), ("test", "k", None)
    for at in (10, 20, 30, 40, 50):
        hold(at, f"e{at}", held.pending, held.first_at, held.last_at, held.first, held.last)
    assert [e for _, e in release(to_timestamp(15), held, key)] == ["e10"]
    mark, kept_items = held.mark.value, list(held.kept.items)
    assert [e for _, e in release(to_timestamp(35), held, key)] == ["e20", "e30"]
    held.mark.value, held.kept.items = mark, kept_items  # the runner kept none of that firing's writes
    assert [e for _, e in release(to_timestamp(35), held, key)] == ["e20", "e30"]
    assert held.kept.reads == 1
    assert [e for _, e in release(to_timestamp(60), held, key)] == ["e40", "e50"]
