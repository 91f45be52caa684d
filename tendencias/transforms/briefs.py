"""Briefs in the stream: each alert that opens a story becomes a Brief on a Kafka topic.

`BriefAlertsFn` builds the brief's facts from the alert record alone (its numbers, region,
examples; the archive's posts are not at hand in the stream) and writes it with
models/briefs/writer.BriefWriter: the OpenAI-compatible model when OPENAI_API_KEY is set on
the worker, the template otherwise or when the model fails. A brief that cannot be built
becomes a dead letter; the stream never stops for one.
"""

from __future__ import annotations

import json

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.metrics import Metrics

from tendencias.models.briefs.facts import brief_facts
from tendencias.models.briefs.select import is_story_lead
from tendencias.models.briefs.writer import BriefWriter
from tendencias.records import dead_letter
from tendencias.transforms.kafka.read import WriteToKafka


class BriefAlertsFn(beam.DoFn):
    DEAD_LETTER = "dead_letter"

    def __init__(self, writer_args: dict | None = None):
        self._writer_args = dict(writer_args or {})
        self._written = Metrics.counter("briefs", "briefs_written")
        self._writer: BriefWriter | None = None

    def setup(self):
        self._writer = BriefWriter(**self._writer_args)

    def process(self, trend: dict):
        if not is_story_lead(trend):
            return
        try:
            story = trend.get("episode") or f"{trend['kind']}:{trend['key']}@{trend['window_end']}"
            brief = self._writer.write(brief_facts([trend], [], story=story))
        except Exception as err:  # a bad record or a template bug: a dead letter, never a crash
            yield pvalue.TaggedOutput(
                self.DEAD_LETTER,
                dead_letter(
                    json.dumps(trend, default=str), stage="briefs", reason="brief_failed", error=str(err)
                ),
            )
            return
        self._written.inc()
        yield brief


class BriefAlerts(beam.PTransform):
    """Alerts -> Briefs on `topic` (keyed by story id); returns the dead letters."""

    def __init__(self, bootstrap_servers: str, topic: str = "trends.briefs", writer_args: dict | None = None):
        super().__init__()
        self._bootstrap, self._topic, self._writer_args = bootstrap_servers, topic, writer_args

    def expand(self, alerts):
        briefs = alerts | "WriteBriefs" >> beam.ParDo(BriefAlertsFn(self._writer_args)).with_outputs(
            BriefAlertsFn.DEAD_LETTER, main="briefs"
        )
        _ = briefs.briefs | "BriefsToKafka" >> WriteToKafka(
            self._bootstrap, self._topic, key_fn=lambda b: b["id"]
        )
        return briefs[BriefAlertsFn.DEAD_LETTER]
