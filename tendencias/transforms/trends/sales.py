"""LinkSales: does chatter lead sales? Daily series per product and region, their lead/lag
(models/trends/sales_link.py), and `sales_lift` on product trends where the evidence holds.

    posts ─ per local day: posts per (product, region) ─┐
    sales ─ per local day: units per (product, region) ─┴ SalesSeriesFn ─ links ─┐
    trends (kind product) ──────────────────────────────────────── AttachSalesLiftFn ─ trends

Each (product, region) also has a (product, "*") series over all regions. A product trend
takes the link of its segment's region when there is one, else the all-regions link, as known
at the trend's time (both stateful steps take their inputs in event-time order).
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms import window
from apache_beam.transforms.window import TimestampedValue

from tendencias.models.trends.config import TrendScoringConfig
from tendencias.models.trends.keys import label_key
from tendencias.models.trends.sales_link import LeadLag, lead_lag, sales_lift
from tendencias.models.trends.windows import DAY_MS, utc_offset_ms
from tendencias.records import window_end_ms
from tendencias.transforms.trends.ordering import Ordering, load, store, to_timestamp
from tendencias.transforms.trends.periods import CombinePerPeriod

ALL_REGIONS = "*"
_SERIES, _LIFT = Ordering("series"), Ordering("lift")  # states: {day end: [posts, units]}, {region: link}
_KEYED = beam.typehints.Tuple[beam.typehints.Tuple[str, str], Any]
_BY_PRODUCT = beam.typehints.Tuple[str, Any]


def product_regions(record: dict) -> list[tuple[str, str]]:
    product = label_key(record.get("product"))
    if product is None:
        return []
    region = label_key(record.get("region"))
    return [(product, ALL_REGIONS)] + ([(product, region)] if region else [])


class SalesSeriesFn(beam.DoFn):
    """((product, region), (what, day end, value)) -> (product, (region, day end, LeadLag|None))."""

    on_first, on_last = _SERIES.timers()

    def __init__(self, config: TrendScoringConfig):
        self._max_lag, self._min_days = config.sales_max_lag_days, config.sales_min_days
        self._alpha, self._days = config.sales_alpha, config.sales_history_days
        self._links = Metrics.counter("trends", "sales_links_with_evidence")

    process = _SERIES.holding(lambda value: value[1] - 1)  # (what, day end, value): the day's last ms

    def drain(self, key, due, state):
        product, region = key
        days: dict[int, list[float]] = load(state, {})  # day end -> [posts, units]
        ends = sorted({day_end for _, (_, day_end, _) in due})
        for _, (what, day_end, value) in due:
            days.setdefault(day_end, [0.0, 0.0])[0 if what == "posts" else 1] += value
        for day_end in ends:
            link = self.link(days, day_end)
            if link is not None:
                self._links.inc()
            yield TimestampedValue((product, (region, day_end, link)), to_timestamp(day_end - 1))
        horizon = ends[-1] - self._days * DAY_MS
        store(state, {d: v for d, v in days.items() if d > horizon})

    def link(self, days: dict[int, list[float]], day_end: int) -> LeadLag | None:
        """The lead/lag from the daily series up to `day_end` (days without data are zeros)."""
        start = max(min(days), day_end - (self._days - 1) * DAY_MS)
        span = range(start, day_end + 1, DAY_MS)
        chatter = [days.get(d, (0.0, 0.0))[0] for d in span]
        units = [days.get(d, (0.0, 0.0))[1] for d in span]
        return lead_lag(chatter, units, max_lag=self._max_lag, min_days=self._min_days, alpha=self._alpha)


def _lift_instant(value: tuple) -> int:
    """A link counts from its day's last ms, a trend from its window's."""
    what, payload = value
    return payload[1] - 1 if what == "link" else window_end_ms(payload) - 1


class AttachSalesLiftFn(beam.DoFn):
    """(product, ("link", ...) | ("trend", trend)) -> product trends with `sales_lift`."""

    on_first, on_last = _LIFT.timers()

    process = _LIFT.holding(_lift_instant)

    def drain(self, _, due, state):
        known: dict[str, LeadLag | None] = load(state, {})  # region -> latest link
        for at, (what, payload) in due:
            if what == "link":
                region, _, link = payload
                known[region] = link
                continue
            trend = dict(payload)
            region = trend.get("segment") or ALL_REGIONS
            link = known.get(region) if known.get(region) is not None else known.get(ALL_REGIONS)
            lift = sales_lift(link, trend.get("lift") or 0.0)
            if link is not None and lift is not None:
                where = "" if region == ALL_REGIONS or known.get(region) is None else f" in {region.title()}"
                trend["sales_lift"], trend["sales_lag_days"] = lift, link.lag_days
                trend["explanation"] += (
                    f"; sales{where} have followed such chatter after {link.lag_days} days (expect {lift:+.0%} units)"
                )
            yield TimestampedValue(trend, to_timestamp(at))
        store(state, known)


class LinkSales(beam.PTransform):
    """(trends, posts, sales) -> trends, product trends with `sales_lift` where evidence holds."""

    def __init__(self, config: TrendScoringConfig, bounded: bool):
        super().__init__()
        self._config, self._bounded = config, bounded

    def expand(self, inputs):
        trends, posts, sales = inputs
        local_midnight = -utc_offset_ms(self._config.timezone, 0)

        def day_series(pcoll, what: str, value):
            per_day = CombinePerPeriod(
                DAY_MS,
                beam.CombineFn.maybe_from_callable(sum),
                self._config.allowed_lateness,
                self._bounded,
                local_midnight,
            )
            return (
                pcoll
                | f"{what.title()}ByProduct"
                >> beam.FlatMap(lambda r: [(k, value(r)) for k in product_regions(r)])
                | f"Sum{what.title()}PerDay" >> per_day
                | f"Tag{what.title()}" >> beam.ParDo(_TagDayFn(what)).with_output_types(_KEYED)
            )

        links = (
            [
                day_series(posts, "posts", lambda _: 1.0),
                day_series(sales, "units", lambda s: float(s["units"])),
            ]
            | "DailySeries" >> beam.Flatten()
            | "SeriesGlobal" >> beam.WindowInto(window.GlobalWindows())
            | "LeadLag" >> beam.ParDo(SalesSeriesFn(self._config))
            | "TagLinks" >> beam.Map(lambda kv: (kv[0], ("link", kv[1]))).with_output_types(_BY_PRODUCT)
        )
        split = trends | "ProductTrends" >> beam.Partition(lambda t, _: int(t.get("kind") == "product"), 2)
        product_trends = split[1] | "ByProduct" >> beam.Map(
            lambda t: (t["key"], ("trend", t))
        ).with_output_types(_BY_PRODUCT)
        linked = (
            [links, product_trends]
            | "LinksAndTrends" >> beam.Flatten()
            | "JoinGlobal" >> beam.WindowInto(window.GlobalWindows())
            | "AttachSalesLift" >> beam.ParDo(AttachSalesLiftFn())
        )
        return [split[0], linked] | "WithSales" >> beam.Flatten()


class _TagDayFn(beam.DoFn):
    def __init__(self, what: str):
        self._what = what

    def process(self, element, win=beam.DoFn.WindowParam):
        key, value = element
        yield key, (self._what, int(win.end.micros // 1000), value)
