"""The nightly metrics analytics follows, each with its good direction (as Otava's metrics carry one).

A metric is an ``endpoint_metrics`` column. Latency and error rate are better lower; throughput is
better higher. A change in the bad direction is a *regression*, in the good one an *improvement*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Metric:
    name: str
    better: Literal["lower", "higher"]
    unit: str
    label: str
    #: smallest change worth a regression, in the metric's units (an error rate going 0 → 0.0005 is noise)
    min_abs_change: float = 0.0

    @property
    def sign(self) -> int:
        """+1 when an increase is a regression, −1 when a decrease is."""
        return 1 if self.better == "lower" else -1

    def direction(self, change: float) -> str:
        """``regression`` or ``improvement`` for a change of this sign (0 is neither: ``flat``)."""
        if change == 0:
            return "flat"
        return "regression" if change * self.sign > 0 else "improvement"

    def worse(self, value: float, limit: float) -> bool:
        """Whether ``value`` is past ``limit`` in the bad direction."""
        return value > limit if self.better == "lower" else value < limit


#: a latency change smaller than this is never a regression, however consistent: a sub-millisecond
#: endpoint moving 0.36 → 0.67 ms on a loaded machine is the machine (seen on ten noise nights), and
#: no team acts on half a millisecond
LATENCY_FLOOR_MS = 0.5

METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("p50_ms", "lower", "ms", "p50", min_abs_change=LATENCY_FLOOR_MS),
    Metric("p95_ms", "lower", "ms", "p95", min_abs_change=LATENCY_FLOOR_MS),
    Metric("p99_ms", "lower", "ms", "p99", min_abs_change=LATENCY_FLOOR_MS),
    Metric("mean_ms", "lower", "ms", "mean", min_abs_change=LATENCY_FLOOR_MS),
    Metric("error_rate", "lower", "", "error rate", min_abs_change=0.002),
    Metric("rps", "higher", "req/s", "rps"),
)}

#: what trends, baselines and change points follow by default (the issue's list, plus the mean of seed 001)
DEFAULT_METRICS: tuple[str, ...] = ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "error_rate", "rps")

#: the whole run's row in endpoint_metrics
OVERALL = "_overall"

SERIES_KEYS: tuple[str, ...] = ("campaign", "environment", "test_type", "endpoint", "metric")


def metric(name: str) -> Metric:
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r} (known: {', '.join(METRICS)})") from None
