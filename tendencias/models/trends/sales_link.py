"""Does chatter about a product lead its sales, and by how many days?

Per product and region we keep two daily series, posts about the product and units sold.
Both are turned into day-over-day changes of log(1 + x), which removes level and slow trend
(a product that simply grows in both would otherwise correlate with everything), and the
chatter change on day t is correlated with the sales change on day t + lag for lags 0..7.
The best lag counts as evidence only when the correlation is positive, enough days overlap,
and it passes a Fisher-z test at `alpha` after a Bonferroni correction for the lags tried.

With evidence, `sales_lift` turns a trend's lift into the expected relative change in units
`lag` days later, through the regression slope (an elasticity on the log scale): a lift of
x3 with slope 0.2 gives 3**0.2 - 1 = +25%.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from scipy import special


class LeadLag(NamedTuple):
    lag_days: int
    correlation: float
    p_value: float  # Bonferroni-corrected, one-sided
    days: int  # overlapping days the correlation used
    slope: float  # sales change per unit of chatter change (log scale)


def log_changes(series: Sequence[float]) -> list[float]:
    logs = [math.log1p(max(0.0, value)) for value in series]
    return [b - a for a, b in zip(logs, logs[1:], strict=False)]


def _correlation(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """(Pearson r, least-squares slope of y on x); (0, 0) when either is constant."""
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    if sxx <= 1e-12 or syy <= 1e-12:
        return 0.0, 0.0
    return sxy / math.sqrt(sxx * syy), sxy / sxx


def _one_sided_p(r: float, n: int) -> float:
    if n <= 3:
        return 1.0
    z = math.atanh(max(-0.999999, min(0.999999, r))) * math.sqrt(n - 3)
    return 0.5 * special.erfc(z / math.sqrt(2))


def lead_lag(
    chatter: Sequence[float],
    sales: Sequence[float],
    *,
    max_lag: int = 7,
    min_days: int = 28,
    alpha: float = 0.01,
) -> LeadLag | None:
    """The lag (days) by which `chatter` leads `sales` (aligned daily series), or None.

    None means "no evidence": too few days, or no lag with a significant positive link.
    """
    if len(chatter) != len(sales):
        raise ValueError(f"chatter and sales must cover the same days ({len(chatter)} != {len(sales)})")
    x, y = log_changes(chatter), log_changes(sales)
    best: LeadLag | None = None
    for lag in range(max_lag + 1):
        days = len(x) - lag
        if days < min_days:
            break
        r, slope = _correlation(x[:days], y[lag:])
        p = min(1.0, _one_sided_p(r, days) * (max_lag + 1))
        if r > 0 and p < alpha and (best is None or p < best.p_value):
            best = LeadLag(lag, r, p, days, slope)
    return best


def sales_lift(link: LeadLag | None, trend_lift: float, cap: float = 5.0) -> float | None:
    """Expected relative change in units `link.lag_days` after a trend of `trend_lift`."""
    if link is None or trend_lift <= 0 or link.slope <= 0:
        return None
    return round(min(cap, trend_lift**link.slope - 1.0), 3)
