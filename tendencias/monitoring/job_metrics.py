"""Prometheus metrics of a running job, from its Beam metrics (`tendencias run --metrics_port P`).

Beam counters become `tendencias_job_<namespace>_<name>_total` (records read, dead letters per
stage and per parse reason, sentiment sources, LLM tokens and spend, alerts, briefs); gauges
become `tendencias_job_<namespace>_<name>`, except the Kafka reader's per-partition lag gauges,
which become one `tendencias_job_kafka_consumer_lag{topic, partition}`. Values are read from the
runner each time Prometheus scrapes.
"""

from __future__ import annotations

import logging
import re

from apache_beam.metrics.metric import MetricsFilter
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

LOGGER = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^a-zA-Z0-9_]")


def metric_name(namespace: str, name: str) -> str:
    return _UNSAFE.sub("_", f"tendencias_job_{namespace}_{name}").lower()


def _value(result) -> float:
    value = result.committed if result.committed is not None else result.attempted
    return float(getattr(value, "value", value) or 0)


class BeamMetricsCollector:
    def __init__(self, pipeline_result):
        self._result = pipeline_result

    def collect(self):
        try:
            query = self._result.metrics().query(MetricsFilter())
        except Exception as err:  # a runner that cannot answer right now: an empty scrape
            LOGGER.warning("job metrics unavailable: %s", err)
            return
        counters: dict[str, float] = {}
        for counter in query.get("counters", []):
            name = metric_name(counter.key.metric.namespace, counter.key.metric.name)
            counters[name] = counters.get(name, 0.0) + _value(counter)
        for name, total in sorted(counters.items()):
            family = CounterMetricFamily(name, f"Beam counter {name}")
            family.add_metric([], total)
            yield family
        lag = GaugeMetricFamily(
            "tendencias_job_kafka_consumer_lag",
            "Records behind the end of the partition",
            labels=["topic", "partition"],
        )
        gauges: dict[str, float] = {}
        for gauge in query.get("gauges", []):
            namespace, name = gauge.key.metric.namespace, gauge.key.metric.name
            if namespace == "kafka" and name.startswith("lag_"):
                topic, _, partition = name[4:].rpartition("_")
                lag.add_metric([topic, partition], _value(gauge))
            else:
                gauges[metric_name(namespace, name)] = _value(gauge)
        yield lag
        for name, value in sorted(gauges.items()):
            family = GaugeMetricFamily(name, f"Beam gauge {name}")
            family.add_metric([], value)
            yield family


def serve_job_metrics(pipeline_result, port: int, host: str = "127.0.0.1"):
    """Starts the exporter on host:port; returns (server, thread) to shut it down."""
    registry = CollectorRegistry()
    registry.register(BeamMetricsCollector(pipeline_result))
    return start_http_server(port, addr=host, registry=registry)
