"""Campaign-file sections for analytics, scraping and Prometheus export (pydantic, unknown keys rejected).

Used by ``campaigns/model.py``; it imports only pydantic and ``campaigns.types`` (campaigns never
import the warehouse). ``warehouse.analytics.service.settings_from`` turns an
:class:`AnalyticsOptions` into the analysis settings. Example::

    environments:
      staging:
        base_url: http://127.0.0.1:8101
        metrics:                        # scrape the target's /metrics during load
          url: /metrics                 # a path (joined to base_url) or a URL on an allowed host
          interval: 2s
    prometheus:
      pushgateway: http://127.0.0.1:9091
    analytics:
      fresh_nights: 7
      min_change: 3%
      suspect: {sigma: 4, min_change: 10%}
      baseline: {nights: 30, min_nights: 5, accept_regression_after: 14}
      limits: {p99_ms: 5000}            # forecast limits beyond the campaign thresholds
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from campaigns.types import Duration, StrictModel

MetricName = Literal["p50_ms", "p95_ms", "p99_ms", "mean_ms", "error_rate", "rps"]
ALL_METRICS: tuple[str, ...] = ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "error_rate", "rps")


class Strict(StrictModel):
    """Unknown keys are errors; numbers are finite and bounded (campaigns.types.StrictModel)."""


def _fraction(value: Any) -> Any:
    """``'3%'`` → 0.03; numbers pass through."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return float(value.strip()[:-1]) / 100
    return value


class MetricsSource(Strict):
    """The target's Prometheus endpoint, scraped during the load stage (``Environment.metrics``)."""

    url: str = Field("/metrics", description="A path joined to base_url, or an absolute URL on an allowed host.")
    interval: Duration = Field(5.0, gt=0, description="Time between scrapes, e.g. '2s'.")
    timeout: Duration = Field(5.0, gt=0)
    families: list[str] | None = Field(None, description="Keep only these metric families (default: all).")

    def resolve(self, base_url: str) -> str:
        return self.url if "://" in self.url else base_url.rstrip("/") + "/" + self.url.lstrip("/")


class PrometheusExport(Strict):
    """Push each run's results to a Pushgateway (``Campaign.prometheus``)."""

    pushgateway: str = Field(description="Pushgateway address, e.g. http://127.0.0.1:9091.")
    job: str = "perfcampaign"
    timeout: Duration = Field(5.0, gt=0)

    @field_validator("pushgateway")
    @classmethod
    def _address(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("pushgateway needs an address, e.g. http://127.0.0.1:9091")
        return value.rstrip("/")


class BaselineOptions(Strict):
    nights: int = Field(30, ge=3, description="Learn from at most this many nights of the current regime.")
    min_nights: int = Field(5, ge=2, description="Nights a regime needs before it becomes a baseline.")
    band_sigma: float = Field(3.0, gt=0, description="Half-width of the variance band, in robust spreads.")
    accept_regression_after: int | None = Field(
        14, ge=1, description="Nights after which a lasting regression becomes the baseline (null: never).")


class SuspectOptions(Strict):
    """First-night check: the newest night far outside its baseline band fails the run."""

    enabled: bool = True
    sigma: float = Field(4.0, gt=0)
    min_change: float = Field(0.10, ge=0)

    _pct = field_validator("min_change", mode="before")(classmethod(lambda cls, v: _fraction(v)))


class AnalyticsOptions(Strict):
    """The ``analytics:`` section of a campaign (every field optional)."""

    metrics: list[MetricName] = Field(default_factory=lambda: list(ALL_METRICS))
    gate_metrics: list[MetricName] | None = Field(None, description="Metrics whose regressions fail a run "
                                                                    "(default: all followed).")
    fresh_nights: int = Field(7, ge=1, description="A regression fails runs while it began this recently.")
    min_change: float = Field(0.03, ge=0, description="Smallest relative shift reported as a change, e.g. 3%.")
    alpha: float = Field(0.003, gt=0, lt=0.5, description="Significance of a change point.")
    min_segment: int = Field(3, ge=2, description="Nights a new regime needs before it is reported.")
    weekly: bool = Field(True, description="Remove a weekly pattern when one is significant.")
    baseline: BaselineOptions = Field(default_factory=BaselineOptions)
    suspect: SuspectOptions = Field(default_factory=SuspectOptions)
    limits: dict[MetricName, float] = Field(default_factory=dict,
                                            description="Forecast limits per metric beyond the campaign thresholds.")
    cpu_limit_cores: float | None = Field(None, gt=0, description="The target's CPU limit, for bottleneck hints.")

    _pct = field_validator("min_change", mode="before")(classmethod(lambda cls, v: _fraction(v)))
