"""Push a run's results to a Prometheus Pushgateway (prometheus-client, its own registry per push).

Pushed under ``job="perfcampaign"`` and the grouping key ``campaign``, ``environment``, ``run``
(one group per run: delete old groups with :func:`delete_run`, or let the gateway's persistence
age them out). Series, one per endpoint of the load stage (``_overall`` for the whole run):

* ``http_request_duration_seconds`` histogram (``endpoint``, ``method``): cumulative bucket counts
  from the run's HDR histogram (latency from the intended send time), ``_sum`` from the mean;
* ``http_requests_total`` counter (``endpoint``, ``method``, ``outcome`` = success | error);
* ``perfcampaign_error_rate`` and ``perfcampaign_requests_per_second`` gauges (``endpoint``);
* ``perfcampaign_latency_seconds`` gauge (``endpoint``, ``quantile`` 0.5 / 0.95 / 0.99);
* ``perfcampaign_run_verdict`` gauge, 1 for the run's verdict (``verdict`` = passed | failed | error…)
  and ``perfcampaign_run_passed`` (1 or 0), ``perfcampaign_run_timestamp_seconds``;
* ``perfcampaign_run_trustworthy`` (1 or 0): whether the load generator could vouch for the numbers,
  so a dashboard can grey out the runs it could not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, delete_from_gateway, push_to_gateway
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

JOB = "perfcampaign"
#: bucket upper bounds in seconds (prometheus-client's defaults, widened to a minute)
BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
                              30.0, 60.0)


def bucket_counts(histoblob: str | None, buckets: Iterable[float] = BUCKETS) -> list[tuple[str, float]] | None:
    """Cumulative counts ``[(le, count), …, ("+Inf", total)]`` of an HDR histoblob (µs values)."""
    if not histoblob:
        return None
    from tasks.load.histogram import decode  # the blob format's one reader

    hist = decode(histoblob)
    total = hist.get_total_count()
    bounds = [b * 1e6 for b in buckets]
    counts = [0] * len(bounds)
    for item in hist.get_recorded_iterator():
        value = item.value_iterated_to
        for i, bound in enumerate(bounds):
            if value <= bound:
                counts[i] += item.count_added_in_this_iter_step
                break
    out, running = [], 0
    for b, c in zip(buckets, counts):
        running += c
        out.append((repr(float(b)), float(running)))
    out.append(("+Inf", float(total)))
    return out


class RunCollector(Collector):
    """The series of one run, built from its ``endpoint_metrics`` rows (stage ``load``)."""

    def __init__(self, run: dict[str, Any], endpoints: list[dict[str, Any]], verdict: str | None,
                 trustworthy: bool | None = None):
        self.run = run
        self.endpoints = endpoints
        self.verdict = verdict
        self.trustworthy = trustworthy

    def collect(self):  # noqa: ANN201 - prometheus-client's protocol
        hist = HistogramMetricFamily("http_request_duration_seconds",
                                     "Request latency from the intended send time, by endpoint",
                                     labels=["endpoint", "method"])
        total = CounterMetricFamily("http_requests", "Requests sent by the load stage",
                                    labels=["endpoint", "method", "outcome"])
        errors = GaugeMetricFamily("perfcampaign_error_rate", "Errors / requests", labels=["endpoint"])
        rps = GaugeMetricFamily("perfcampaign_requests_per_second", "Requests completed per second",
                                labels=["endpoint"])
        quant = GaugeMetricFamily("perfcampaign_latency_seconds", "Latency percentiles (HDR histogram)",
                                  labels=["endpoint", "quantile"])
        for e in self.endpoints:
            name, method = e["endpoint"], e.get("method") or ""
            buckets = bucket_counts(e.get("histogram"))
            requests, failed = int(e.get("requests") or 0), int(e.get("errors") or 0)
            if buckets is not None:
                count = buckets[-1][1]
                mean_s = (e.get("mean_ms") or 0.0) / 1000
                hist.add_metric([name, method], buckets=buckets, sum_value=mean_s * count)
            total.add_metric([name, method, "success"], requests - failed)
            total.add_metric([name, method, "error"], failed)
            if e.get("error_rate") is not None:
                errors.add_metric([name], float(e["error_rate"]))
            if e.get("rps") is not None:
                rps.add_metric([name], float(e["rps"]))
            for q, column in (("0.5", "p50_ms"), ("0.95", "p95_ms"), ("0.99", "p99_ms")):
                if e.get(column) is not None:
                    quant.add_metric([name, q], float(e[column]) / 1000)
        yield from (hist, total, errors, rps, quant)
        if self.verdict is not None:
            verdict = GaugeMetricFamily("perfcampaign_run_verdict", "1 for the run's verdict", labels=["verdict"])
            verdict.add_metric([self.verdict], 1.0)
            yield verdict
            yield GaugeMetricFamily("perfcampaign_run_passed", "1 if the run passed, else 0",
                                    value=1.0 if self.verdict == "passed" else 0.0)
        if self.trustworthy is not None:
            yield GaugeMetricFamily("perfcampaign_run_trustworthy", "1 if the load generator could vouch for the "
                                    "run's numbers, else 0", value=1.0 if self.trustworthy else 0.0)
        started = self.run.get("started_at")
        if isinstance(started, datetime):
            yield GaugeMetricFamily("perfcampaign_run_timestamp_seconds", "When the run started (Unix time)",
                                    value=started.timestamp())


def grouping_key(run: dict[str, Any]) -> dict[str, str]:
    return {"campaign": str(run["campaign"]), "environment": str(run["environment"]), "run": str(run["run_id"])}


def build_registry(run: dict[str, Any], endpoints: list[dict[str, Any]], verdict: str | None,
                   trustworthy: bool | None = None) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(RunCollector(run, endpoints, verdict, trustworthy))
    return registry


def push_run(gateway: str, run: dict[str, Any], endpoints: list[dict[str, Any]], verdict: str | None = None, *,
             job: str = JOB, timeout: float = 5.0, handler: Callable[..., Any] | None = None,
             trustworthy: bool | None = None) -> dict[str, str]:
    """Push one run (its ``runs`` row and its load ``endpoint_metrics`` rows); returns the grouping key."""
    key = grouping_key(run)
    kwargs: dict[str, Any] = {"grouping_key": key, "timeout": timeout}
    if handler is not None:
        kwargs["handler"] = handler
    push_to_gateway(gateway, job=job, registry=build_registry(run, endpoints, verdict, trustworthy), **kwargs)
    return key


def push_run_from_store(store: Any, run_id: str, gateway: str, verdict: str | None = None, **options: Any
                        ) -> dict[str, str]:
    """Read the run and its load metrics from the warehouse (its queries), then :func:`push_run`.
    The verdict defaults to the run's status."""
    runs = store.run_rows([run_id])
    if not runs:
        raise LookupError(f"no run {run_id!r} in the warehouse")
    rows = store.endpoint_metric_rows(run_id, "load")
    run = runs[0]
    return push_run(gateway, run, rows, verdict if verdict is not None else run.get("status"), **options)


def delete_run(gateway: str, run: dict[str, Any], *, job: str = JOB, timeout: float = 5.0) -> None:
    delete_from_gateway(gateway, job=job, grouping_key=grouping_key(run), timeout=timeout)
