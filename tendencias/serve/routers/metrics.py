"""Prometheus metrics of the web app: requests by route and status, and their latency.

/metrics needs credentials like everything else: an API key (what a Prometheus scrape job
sends) or a person with the admin role.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from tendencias.serve.auth import Principal, principal

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "tendencias_http_requests_total",
    "HTTP requests answered",
    ("method", "route", "status"),
    registry=REGISTRY,
)
LATENCY = Histogram(
    "tendencias_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ("route",),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
router = APIRouter(include_in_schema=False)


def record(request: Request, status: int, seconds: float) -> None:
    """One answered request, under its route's template (bounded labels, not raw paths)."""
    route = request.scope.get("route")
    path = getattr(route, "path", "unmatched")
    LATENCY.labels(path).observe(seconds)
    REQUESTS.labels(request.method, path, str(status)).inc()


@router.get("/metrics")
def metrics(who: Principal = Depends(principal)) -> Response:
    if who.via != "api_key" and who.role != "admin":
        raise HTTPException(403, "metrics need an API key or the admin role")
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
