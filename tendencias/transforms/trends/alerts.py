"""Trend records out of the scorer, and alerts grouped across keys and horizons.

`emit_trend` timestamps a Scored record at its window's last instant (end - 1 ms), counted.
Episode records (new and ongoing alerts) then meet in one place, window by window in
event-time order, where the grouper (`StoryGrouper`, models/stories/grouping.py, over
`AlertGrouper`, models/trends/groups.py) makes keys bursting on the same posts, or telling the
same story, one alert: `GroupAlertsFn` in the stream (a single key, its records held until the
watermark passes their window), `GroupAlertsBatchFn` after a GroupByKey for a bounded input.
"""

from __future__ import annotations

import copy

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import TimestampedValue

from tendencias.models.trends.groups import AlertGrouper, Scored
from tendencias.records import is_alert, window_end_ms
from tendencias.transforms.trends.ordering import Ordering, load, store, to_timestamp

_GROUP = Ordering("group")  # its state: the AlertGrouper


def emit_trend(scored: Scored | None, emitted, alerts):
    """A Scored Trend (None: nothing to say), counted, timestamped at its window's last ms."""
    if scored is None:
        return
    emitted.inc()
    if is_alert(scored.record):
        alerts.inc()
    yield TimestampedValue(scored, to_timestamp(window_end_ms(scored.record) - 1))


class GroupAlertsFn(beam.DoFn):
    """(any key, Scored episode record) -> the records, alerts on the same posts grouped across
    horizons, window by window in event-time order (models/trends/groups.py). A single key:
    only episode records (new and ongoing) come here, a handful per window. A window's records
    are taken once the watermark reaches the window's end, not its last instant: the shards'
    scorers hold the watermark at that instant until each has fired, so all of them are in."""

    on_first, on_last = _GROUP.timers()

    def __init__(self, grouper: AlertGrouper):
        self._grouper = grouper
        self._related = Metrics.counter("trends", "alerts_grouped_as_related")

    process = _GROUP.holding(lambda scored: window_end_ms(scored.record))

    def drain(self, _, due: list[tuple[int, Scored]], state):
        grouper = load(state) or copy.deepcopy(self._grouper)
        yield from group_by_window(grouper, [scored for _, scored in due], self._related)
        store(state, grouper)


class GroupAlertsBatchFn(beam.DoFn):
    """Bounded input: all Scored episode records after a GroupByKey -> the records, grouped."""

    def __init__(self, grouper: AlertGrouper):
        self._grouper = grouper
        self._related = Metrics.counter("trends", "alerts_grouped_as_related")

    def process(self, element):
        _, records = element
        yield from group_by_window(copy.deepcopy(self._grouper), records, self._related)


def group_by_window(grouper: AlertGrouper, episodes, related):
    """The Scored episode records through `grouper`, window by window in event-time order;
    yields the Trend records."""
    by_end: dict[int, list[Scored]] = {}
    for scored in episodes:
        by_end.setdefault(window_end_ms(scored.record), []).append(scored)
    for end in sorted(by_end):
        for record in grouper.window(end, by_end[end]):
            if record.get("status") == "related":
                related.inc()
            yield TimestampedValue(record, to_timestamp(end - 1))
