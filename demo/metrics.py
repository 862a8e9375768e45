"""Prometheus metrics for the demo service, one CollectorRegistry per app.

Exposed series:
  http_request_duration_seconds{method,route,status}  histogram
  http_requests_total{method,route,status}            counter
  http_requests_in_flight                             gauge
  service_health_status                               gauge (1 healthy, 0 not)
  circuit_breaker_state{breaker="database"}           gauge (0 closed, 1 open, 2 half-open)
  db_pool_in_use / db_pool_size                       gauges
  process_* (CPU seconds, RSS, fds...) and python_*   from prometheus_client's collectors

``route`` is the route template (``/api/products/{id}``), never the raw URL;
requests that match no route are labelled ``unmatched`` and static files
``/app/{path}``, so the label set stays bounded whatever clients send.
"""

import time
from typing import Callable

from prometheus_client import (CollectorRegistry, Counter, Gauge, GCCollector, Histogram, PlatformCollector,
                               ProcessCollector, generate_latest)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .breaker import OPEN, CircuitBreaker

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0)
UNMATCHED = "unmatched"


class _StateCollector(Collector):
    """Gauges read from live objects at scrape time."""

    def __init__(self, db, breaker: CircuitBreaker, db_healthy: Callable[[], bool]) -> None:
        self._db, self._breaker, self._db_healthy = db, breaker, db_healthy

    def collect(self):
        state = self._breaker.state
        healthy = self._db_healthy() and state != OPEN
        yield GaugeMetricFamily("service_health_status", "1 if the service is healthy, 0 otherwise",
                                value=1 if healthy else 0)
        breaker = GaugeMetricFamily("circuit_breaker_state", "Circuit breaker state: 0 closed, 1 open, 2 half-open",
                                    labels=["breaker"])
        breaker.add_metric(["database"], state)
        yield breaker
        yield GaugeMetricFamily("db_pool_in_use", "Database connections currently executing a query",
                                value=self._db.in_use)
        yield GaugeMetricFamily("db_pool_size", "Database connections in the pool", value=self._db.size)


class Metrics:
    def __init__(self, db, db_healthy: Callable[[], bool]) -> None:
        self.registry = CollectorRegistry()
        labels = ["method", "route", "status"]
        self.requests = Counter("http_requests_total", "HTTP requests answered", labels, registry=self.registry)
        self.duration = Histogram("http_request_duration_seconds", "HTTP request duration in seconds", labels,
                                  buckets=BUCKETS, registry=self.registry)
        self.in_flight = Gauge("http_requests_in_flight", "HTTP requests being served", registry=self.registry)
        self.registry.register(_StateCollector(db, db.breaker, db_healthy))
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            try:
                collector(registry=self.registry)
            except Exception:  # pragma: no cover - platform without /proc etc.
                pass

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, str(status))
        self.requests.labels(*key).inc()
        self.duration.labels(*key).observe(seconds)


def route_template(scope: dict, static_prefix: str) -> str:
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if template:
        return template
    path = scope.get("path", "")
    if path == static_prefix or path.startswith(static_prefix + "/"):
        return static_prefix + "/{path}"
    return UNMATCHED


class MetricsMiddleware:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware) timing every request."""

    def __init__(self, app, metrics: Metrics, static_prefix: str = "/app") -> None:
        self.app, self.metrics, self.static_prefix = app, metrics, static_prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = 500  # if the app raises before answering, the server replies 500

        async def send_and_record_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics = self.metrics
        metrics.in_flight.inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_record_status)
        finally:
            elapsed = time.perf_counter() - start
            metrics.in_flight.dec()
            metrics.observe(scope["method"], route_template(scope, self.static_prefix), status, elapsed)
