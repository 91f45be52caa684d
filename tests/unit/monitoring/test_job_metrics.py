"""The job's Prometheus exporter over the metrics of a real (DirectRunner) pipeline result."""

from __future__ import annotations

import socket

import apache_beam as beam
import httpx
from apache_beam.metrics import Metrics

from tendencias.monitoring.job_metrics import serve_job_metrics


class CountFn(beam.DoFn):
    def __init__(self):
        self.read = Metrics.counter("kafka", "records_read")
        self.bad = Metrics.counter("parse", "not_json")

    def process(self, x):
        self.read.inc()
        if x % 3 == 0:
            self.bad.inc()
        Metrics.gauge("kafka", "lag_consumer.posts_0").set(7)
        yield x


def test_counters_and_lag_reach_prometheus():
    p = beam.Pipeline("DirectRunner")
    _ = p | beam.Create(range(9)) | beam.ParDo(CountFn())
    result = p.run()
    result.wait_until_finish()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server, thread = serve_job_metrics(result, port)
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        server.shutdown()
    assert "tendencias_job_kafka_records_read_total 9.0" in text
    assert "tendencias_job_parse_not_json_total 3.0" in text
    assert 'tendencias_job_kafka_consumer_lag{partition="0",topic="consumer.posts"} 7.0' in text


def test_grafana_dashboard_queries_metrics_the_code_exports():
    import json
    import re
    from pathlib import Path

    dashboard = json.loads(
        (Path(__file__).resolve().parents[3] / "infra/grafana/tendencias.json").read_text()
    )
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for name in (
        "tendencias_job_kafka_records_read_total",
        "tendencias_job_kafka_consumer_lag",
        "tendencias_job_sentiment_spend_microusd_total",
        "tendencias_job_trends_alerts_total",
        "tendencias_http_requests_total",
        "tendencias_http_request_duration_seconds_bucket",
    ):
        assert name in exprs
    assert not re.search(r"[^_a-z]seconds_total", exprs)  # naming: _total counters, _seconds base units
