"""Does chatter lead sales, and by how many days: the lead/lag maths, without a runner."""

from __future__ import annotations

import math
import random

import pytest

from tendencias.models.trends.sales_link import LeadLag, lead_lag, log_changes, sales_lift


def chatter_days(n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [float(rng.randint(5, 15) + (rng.random() < 0.15) * rng.randint(20, 60)) for _ in range(n)]


def sales_following(chatter: list[float], lag: int, seed: int, effect: float = 3.0) -> list[float]:
    rng = random.Random(seed)
    return [
        200 + effect * (chatter[t - lag] if t >= lag else 10) + rng.gauss(0, 8) for t in range(len(chatter))
    ]


@pytest.mark.parametrize("lag", [0, 3, 6])
def test_finds_the_lag_by_which_chatter_leads_sales(lag):
    chatter = chatter_days(90, seed=lag)
    link = lead_lag(chatter, sales_following(chatter, lag, seed=10 + lag))
    assert link is not None
    assert link.lag_days == lag
    assert link.correlation > 0.5 and link.p_value < 0.01 and link.slope > 0


def test_no_link_between_independent_series():
    found = [lead_lag(chatter_days(90, seed=s), chatter_days(90, seed=100 + s)) for s in range(20)]
    assert sum(link is not None for link in found) <= 1  # alpha 1% after Bonferroni: rare


def test_two_products_that_simply_grow_are_not_linked():
    rng = random.Random(3)
    chatter = [10 + 0.5 * t + rng.gauss(0, 2) for t in range(90)]
    sales = [100 + 2.0 * t + rng.gauss(0, 5) for t in range(90)]
    assert lead_lag(chatter, sales) is None  # day-over-day changes remove the shared trend


def test_too_few_days_is_no_evidence():
    chatter = chatter_days(20, seed=1)
    assert lead_lag(chatter, sales_following(chatter, 2, seed=2), min_days=28) is None


def test_series_must_cover_the_same_days():
    with pytest.raises(ValueError, match="same days"):
        lead_lag([1.0] * 30, [1.0] * 29)


def test_log_changes_are_day_over_day():
    assert log_changes([0, math.e - 1, math.e - 1]) == pytest.approx([1.0, 0.0])


def test_sales_lift_from_a_trend_lift():
    link = LeadLag(lag_days=3, correlation=0.6, p_value=0.001, days=60, slope=0.2)
    assert sales_lift(link, 3.0) == pytest.approx(3**0.2 - 1, abs=1e-3)
    assert sales_lift(None, 3.0) is None
    assert sales_lift(link._replace(slope=-0.1), 3.0) is None
    assert sales_lift(link._replace(slope=3.0), 100.0) == 5.0  # capped: a forecast, not a promise
