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
      min_change: 3%                    # smallest change judged significant from the third night
      compare:                          # each night against last night and the baseline
        alpha: 0.01
        first_min_change: 50%           # … with only one earlier night to go by
        prior_spread: {p95_ms: 30%}     # how far apart nights fall, until the nights tell
        untrusted: skip                 # untrustworthy runs: shown, not judged (or: judge)
      baseline: {nights: 30, min_nights: 5, accept_regression_after: 14}
      limits: {p99_ms: 5000}            # forecast limits beyond the campaign's gates (on _overall)

Forecasts (``trends``) cross the campaign's **own gates**, as :func:`gate_limits` reads them: the
load section's thresholds when it has some (``p(95)<300`` on the whole run, ``p(95){endpoint:x}<200``
on endpoint ``x``), else the campaign thresholds on the whole run plus each endpoint's domain
targets, exactly the rules the load stage gates; ``analytics.limits`` adds limits on the whole run.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

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


class CompareOptions(Strict):
    """Each night against last night and the baseline (``warehouse.analytics.nightly``)."""

    alpha: float = Field(0.01, gt=0, lt=0.5, description="Significance of each test.")
    first_min_change: float = Field(0.50, ge=0, description="Smallest change judged significant with only one "
                                                            "earlier night, e.g. 50%.")
    prior_spread: dict[MetricName, float] = Field(
        default_factory=dict, description="Spread between nights assumed per metric until the nights tell "
        "(relative, e.g. {p95_ms: 30%}; error_rate absolute). Defaults: p50 15%, p95 70%, p99 80%, mean 40%, "
        "rps 10%, error rate 0.5 points.")
    prior_nights: float = Field(6.0, ge=0, description="How many nights that assumption is worth.")
    reference_nights: int = Field(30, ge=2, description="Baseline nights compared with at most.")
    untrusted: Literal["judge", "skip"] = Field(
        "skip", description="An untrustworthy run: compare and show it but do not judge it (skip), or judge it "
                            "on the seconds the generator vouched for (judge).")
    untrusted_reference: bool = Field(False, description="Let untrustworthy nights be last night or the baseline.")
    max_generator_lag_ms: float = Field(25.0, gt=0, description="Seconds in which the generator lagged more are "
                                                                "not samples.")

    _pct = field_validator("first_min_change", mode="before")(classmethod(lambda cls, v: _fraction(v)))

    @field_validator("prior_spread", mode="before")
    @classmethod
    def _spreads(cls, value: Any) -> Any:
        return {k: _fraction(v) for k, v in value.items()} if isinstance(value, dict) else value


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
    compare: CompareOptions = Field(default_factory=CompareOptions)
    suspect: SuspectOptions = Field(default_factory=SuspectOptions,
                                    description="Superseded by compare (vs baseline); enabled: false stops "
                                                "comparisons against the baseline from failing a run.")
    limits: dict[MetricName, float] = Field(default_factory=dict,
                                            description="Forecast limits on the whole run beyond the campaign's "
                                                        "gates.")
    cpu_limit_cores: float | None = Field(None, gt=0, description="The target's CPU limit, for bottleneck hints.")

    _pct = field_validator("min_change", mode="before")(classmethod(lambda cls, v: _fraction(v)))


#: threshold statistic (``campaigns.load.normalize_metric``) → analytics metric
THRESHOLD_METRICS = {"p(50)": "p50_ms", "p(95)": "p95_ms", "p(99)": "p99_ms", "mean": "mean_ms",
                     "error_rate": "error_rate", "rps": "rps"}
OVERALL = "_overall"


def gate_limits(campaign: Any, environment: str) -> dict[tuple[str, str], tuple[float, str]]:
    """(endpoint, metric) → (limit, where it comes from): the campaign's own gates as forecast limits.

    Mirrors the load stage's rules (``tasks.load.planner``): the load section's thresholds when it
    names some, else the campaign thresholds on ``_overall`` and each endpoint's domain targets.
    ``analytics.limits`` adds limits on ``_overall``. Where two rules bound the same series, the
    stricter wins. Statistics no series follows (``p(90)``, ``min``, ``max``) and rules pointing
    the good way (``p(95)>1``) are not limits.
    """
    found: dict[tuple[str, str], tuple[float, str]] = {}

    def add(endpoint: str, metric: str, value: float, source: str) -> None:
        key = (endpoint, metric)
        lower_is_better = metric != "rps"
        old = found.get(key)
        if old is None or (value < old[0] if lower_is_better else value > old[0]):
            found[key] = (float(value), source)

    load = getattr(campaign, "load", None)
    rules = list(getattr(load, "thresholds", None) or [])
    if rules:
        for th in rules:
            metric = THRESHOLD_METRICS.get(th.metric or "")
            if metric is None:
                continue
            upper = th.op in ("<", "<=")
            if upper != (metric != "rps"):
                continue
            add(th.endpoint or OVERALL, metric, th.value, th.label)
    else:
        t = campaign.thresholds
        add(OVERALL, "mean_ms", t.max_mean_ms, f"mean<{t.max_mean_ms:g} (campaign thresholds)")
        add(OVERALL, "p95_ms", t.max_p95_ms, f"p(95)<{t.max_p95_ms:g} (campaign thresholds)")
        add(OVERALL, "error_rate", t.max_error_rate, f"error_rate<={t.max_error_rate:g} (campaign thresholds)")
        if t.min_rps:
            add(OVERALL, "rps", t.min_rps, f"rps>={t.min_rps:g} (campaign thresholds)")
        for ep in campaign.endpoints:
            target = campaign.target_for(environment, ep.domain)
            if target is None:
                continue
            for attr, metric in (("p50_ms", "p50_ms"), ("p95_ms", "p95_ms"), ("p99_ms", "p99_ms"),
                                 ("mean_ms", "mean_ms"), ("error_rate", "error_rate"), ("min_rps", "rps")):
                value = getattr(target, attr, None)
                if value is not None:
                    add(ep.name, metric, value, f"targets.{ep.domain}.{attr}")
    options = getattr(campaign, "analytics", None)
    for metric, value in (getattr(options, "limits", None) or {}).items():
        add(OVERALL, metric, value, f"analytics.limits.{metric}")
    return found
