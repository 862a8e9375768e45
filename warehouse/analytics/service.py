"""The glue between the warehouse and the pure analytics: read, compute, store, report.

* :func:`read_history` reads every night of the scope with ``trusted`` and the ``reason`` when not
  (excluded by hand, a run that ended in ``error`` / ``interrupted``, load the generator could not
  vouch for); :func:`read_nightly` keeps the trusted nights, which change points, baselines and
  trends learn from. Nothing is dropped silently: trends count the nights they left out, and
  each run's comparison lists them.
* :func:`analyze` computes change points, baselines and trends for a campaign/environment (or all)
  and writes them; with ``incremental=True`` only the campaign × environment groups whose runs
  changed since their last analysis (``analysis_state``) are recomputed.
* :func:`analyze_run` adds what is specific to one run: its :class:`~.comparison.RunComparison`
  (each series against last night and the baseline, :mod:`.nightly`), capacity and bottleneck
  hints, and returns an :class:`AnalysisResult`; :func:`evaluate_gates` turns that into
  ``tasks.base.Gate`` rows.
* :func:`settings_for` builds the settings from a campaign: its ``analytics:`` section and its own
  gates as forecast limits (:func:`campaigns.analytics.gate_limits`).

Every SQL statement is in :mod:`.reads`; the functions this module calls take and return frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from campaigns.analytics import gate_limits
from tasks.base import Gate
from warehouse.analytics import capacity as cap
from warehouse.analytics import reads
from warehouse.analytics.baselines import BASELINE_SCHEMA, BaselinePolicy, compare, update_baselines
from warehouse.analytics.changepoints import DEFAULT, DetectorConfig
from warehouse.analytics.comparison import RunComparison
from warehouse.analytics.gates import threshold_gates
from warehouse.analytics.hints import bottleneck_hints
from warehouse.analytics.metrics import DEFAULT_METRICS, METRICS, OVERALL, SERIES_KEYS
from warehouse.analytics.nightly import (
    HISTORY_SCHEMA,
    SECONDS_SCHEMA,
    BaselineRef,
    CompareSettings,
    RunInfo,
    compare_run,
    comparison_rows,
    plan_references,
)
from warehouse.analytics.regressions import CHANGE_POINT_SCHEMA, detector_for, find_change_points, fresh
from warehouse.analytics.trends import NIGHTLY_SCHEMA, compute_trends, empty_nightly, limits_frame

KEYS = list(SERIES_KEYS)
CAPACITY_TEST_TYPES = ("stress", "breakpoint")

#: seed 001's thresholds (the defaults of ``campaigns.model.Thresholds``), kept for callers that have
#: no campaign at hand; forecasts use the campaign's own gates (:func:`settings_for`)
SEED_LIMITS: dict[str, float] = {"mean_ms": 1500.0, "p95_ms": 3000.0, "error_rate": 0.01, "rps": 50.0}
#: the long history frame: the nightly frame plus whether the night is trusted, and why not
FULL_HISTORY_SCHEMA = {**NIGHTLY_SCHEMA, "trusted": pl.Boolean, "reason": pl.String}


@dataclass(frozen=True)
class AnalyticsSettings:
    """How the analysis runs (``campaigns.analytics.AnalyticsOptions`` builds one from a campaign)."""

    metrics: tuple[str, ...] = DEFAULT_METRICS
    detector: DetectorConfig = DEFAULT
    baseline: BaselinePolicy = BaselinePolicy()
    fresh_nights: int = 7                       #: a regression is fresh while it began this recently
    gate_metrics: tuple[str, ...] = DEFAULT_METRICS
    suspect_sigma: float = 4.0                  #: first-night check, in baseline spreads
    suspect_min_rel: float = 0.10               #: … and relative to the baseline
    compare_min_rel: float = 0.03
    slope_window: int = 30
    history_days: int = 400                     #: nights read per analysis
    #: forecast limits per metric on ``_overall``; None for both: the limits the last analysis of each
    #: series stored (a campaign's own gates, see :func:`settings_for`)
    limits: dict[str, float] | None = None
    endpoint_limits: dict[tuple[str, str], float] | None = None
    cpu_limit_cores: float | None = None
    compare: CompareSettings = CompareSettings()
    gate_vs_baseline: bool = True               #: comparisons against the baseline fail a run


def settings_from(options: Any = None, thresholds: Any = None, targets: dict[str, Any] | None = None, *,
                  limits: dict[tuple[str, str], float] | None = None) -> AnalyticsSettings:
    """Settings from a campaign's ``analytics:`` section (``campaigns.analytics.AnalyticsOptions``, or
    None for the defaults). Forecast limits: ``limits`` ((endpoint, metric) → value, e.g. from
    :func:`campaigns.analytics.gate_limits`) when given; else the campaign ``thresholds`` on
    ``_overall`` and the endpoint ``targets`` (seed 001 / seed 000). Prefer :func:`settings_for`."""
    if limits is None:
        limits = {}
        if thresholds is not None:
            limits.update({(OVERALL, "mean_ms"): thresholds.max_mean_ms, (OVERALL, "p95_ms"): thresholds.max_p95_ms,
                           (OVERALL, "error_rate"): thresholds.max_error_rate})
            if thresholds.min_rps:
                limits[(OVERALL, "rps")] = thresholds.min_rps
        for endpoint, target in (targets or {}).items():
            for attr, metric in (("p50_ms", "p50_ms"), ("p95_ms", "p95_ms"), ("p99_ms", "p99_ms"),
                                 ("mean_ms", "mean_ms"), ("error_rate", "error_rate"), ("min_rps", "rps")):
                if getattr(target, attr, None) is not None:
                    limits[(endpoint, metric)] = float(getattr(target, attr))
        if options is not None:
            limits.update({(OVERALL, m): float(v) for m, v in options.limits.items()})
    endpoint_limits = {k: float(v) for k, v in limits.items() if v is not None}
    if options is None:
        return AnalyticsSettings(limits={}, endpoint_limits=endpoint_limits)
    metrics = tuple(options.metrics)
    b, c = options.baseline, options.compare
    gate_metrics = tuple(options.gate_metrics or metrics)
    return AnalyticsSettings(
        metrics=metrics, gate_metrics=gate_metrics, fresh_nights=options.fresh_nights,
        detector=DetectorConfig(alpha=options.alpha, min_rel_change=options.min_change,
                                min_segment=options.min_segment, period=7 if options.weekly else None),
        baseline=BaselinePolicy(nights=b.nights, min_nights=b.min_nights, band_sigma=b.band_sigma,
                                accept_regression_after=b.accept_regression_after),
        compare_min_rel=options.min_change, limits={}, endpoint_limits=endpoint_limits,
        cpu_limit_cores=options.cpu_limit_cores, gate_vs_baseline=options.suspect.enabled,
        compare=CompareSettings(
            alpha=c.alpha, first_min_change=c.first_min_change, min_change=options.min_change,
            prior_spread=dict(c.prior_spread) or None, prior_nights=c.prior_nights, reference_nights=c.reference_nights,
            max_generator_lag_ms=c.max_generator_lag_ms, use_untrusted=c.untrusted_reference,
            judge_untrusted=c.untrusted == "judge", min_segment=options.min_segment, gate_metrics=gate_metrics,
            accept_regression_after=b.accept_regression_after))


def settings_for(campaign: Any, environment: str) -> AnalyticsSettings:
    """The analysis settings of a campaign's environment: its ``analytics:`` section, and its own
    gates (load thresholds, else campaign thresholds and domain targets) as forecast limits."""
    limits = {key: value for key, (value, _) in gate_limits(campaign, environment).items()}
    return settings_from(campaign.analytics, limits=limits)


# -- reading ------------------------------------------------------------------------------------------

def read_history(store: Any, campaign: str | None = None, environment: str | None = None, *,
                 since: datetime | None = None, metrics: tuple[str, ...] = DEFAULT_METRICS,
                 groups: list[tuple[str, str]] | None = None) -> pl.DataFrame:
    """The long history frame: one row per (campaign, environment, test type, endpoint, metric,
    run), trusted or not (``trusted``, ``reason``)."""
    metrics = tuple(m for m in metrics if m in METRICS)
    where = reads.groups_scope(groups) if groups is not None else reads.scope(campaign, environment)
    wide = reads.history(store, where, since=since, metrics=metrics)
    if wide.is_empty():
        return pl.DataFrame(schema=FULL_HISTORY_SCHEMA)
    long = wide.unpivot(index=["campaign", "environment", "test_type", "endpoint", "run_id", "night", "trusted",
                               "reason"], on=list(metrics), variable_name="metric", value_name="value")
    return (long.filter(pl.col("value").is_not_null())
            .with_columns(pl.col("night").dt.convert_time_zone("UTC"), pl.col("value").cast(pl.Float64))
            .select(list(FULL_HISTORY_SCHEMA)).cast(FULL_HISTORY_SCHEMA))


def read_nightly(store: Any, campaign: str | None = None, environment: str | None = None, *,
                 since: datetime | None = None, metrics: tuple[str, ...] = DEFAULT_METRICS) -> pl.DataFrame:
    """The long nightly frame of the trusted nights (see :func:`read_history`)."""
    full = read_history(store, campaign, environment, since=since, metrics=metrics)
    return full.filter(pl.col("trusted")).select(list(NIGHTLY_SCHEMA)) if not full.is_empty() else empty_nightly()


def excluded_runs(store: Any, campaign: str | None = None, environment: str | None = None) -> pl.DataFrame:
    """Runs left out of the analysis, with why: by hand (``exclude_reason``) or untrustworthy load."""
    return reads.excluded_runs(store, campaign, environment)


# -- analysis -----------------------------------------------------------------------------------------

@dataclass
class AnalysisOutput:
    nightly: pl.DataFrame
    change_points: pl.DataFrame
    trends: pl.DataFrame
    baselines: pl.DataFrame          # current versions after this analysis
    new_baselines: pl.DataFrame
    comparison: pl.DataFrame         # each series' newest night against its baseline band
    history: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=FULL_HISTORY_SCHEMA))
    groups: list[tuple[str, str]] = field(default_factory=list)   # campaign × environment analysed
    skipped: int = 0                 # groups left alone: no run changed since their last analysis


def _read_scoped(store: Any, table: str, where: tuple[str, list[Any]], extra: str = "",
                 schema: dict[str, Any] | None = None) -> pl.DataFrame:
    frame = reads.scoped(store, table, where, extra)
    if frame.is_empty() and schema is not None:
        return pl.DataFrame(schema=schema)
    for column, dtype in (schema or {}).items():
        if column in frame.columns and isinstance(dtype, pl.Datetime):
            frame = frame.with_columns(pl.col(column).dt.convert_time_zone("UTC"))
    return frame


def _sync_change_points(existing: pl.DataFrame, found: pl.DataFrame, now: datetime,
                        analysis_run: str | None) -> list[dict[str, Any]]:
    """Rows to upsert: those found now (their first detection kept) and the open ones no longer
    found (marked ``gone``)."""
    key = [*KEYS, "run_id"]
    stamp = pl.lit(now, dtype=pl.Datetime("us", "UTC"))
    prior = existing.select(*key, pl.col("detected_at").cast(pl.Datetime("us", "UTC")), "detected_run_id")
    current = (found.join(prior, on=key, how="left")
               .with_columns(status=pl.lit("open"), detected_at=pl.coalesce("detected_at", stamp),
                             detected_run_id=pl.coalesce("detected_run_id", pl.lit(analysis_run, pl.String)),
                             last_seen_at=stamp))
    gone = (existing.filter(pl.col("status") == "open").join(found.select(key), on=key, how="anti")
            .with_columns(status=pl.lit("gone")))
    return _records(current) + _records(gone)


def _latest(nightly: pl.DataFrame) -> pl.DataFrame:
    return (nightly.sort("night").group_by(KEYS)
            .agg(run_id=pl.col("run_id").last(), night=pl.col("night").last(), value=pl.col("value").last()))


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows for the store, with NaN and ±inf as NULL (JSON and DuckDB both prefer them so)."""
    if frame.is_empty():
        return []
    floats = [c for c, t in frame.schema.items() if t in (pl.Float64, pl.Float32)]
    if floats:
        frame = frame.with_columns([pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in floats])
    return frame.to_dicts()


def _limits(store: Any, where: tuple[str, list[Any]], settings: AnalyticsSettings) -> pl.DataFrame:
    """Forecast limits: the settings' (a campaign's gates), else what the last analysis stored per series."""
    if settings.limits is not None or settings.endpoint_limits is not None:
        return limits_frame(settings.limits, settings.endpoint_limits)
    stored = reads.scoped(store, "trends", where, "AND t.threshold IS NOT NULL")
    if stored.is_empty():
        return limits_frame()
    return stored.select(*KEYS, "threshold")


def changed_groups(store: Any, campaign: str | None = None, environment: str | None = None
                   ) -> tuple[list[tuple[str, str]], dict[tuple[str, str], str], int]:
    """(groups whose runs changed since their last analysis, every group's fingerprint, groups unchanged)."""
    now_seen = reads.fingerprints(store, reads.scope(campaign, environment))
    before = reads.analysis_state(store)
    changed = sorted(g for g, f in now_seen.items() if before.get(g) != f)
    return changed, now_seen, len(now_seen) - len(changed)


def analyze(store: Any, campaign: str | None = None, environment: str | None = None, *,
            settings: AnalyticsSettings = AnalyticsSettings(), now: datetime | None = None,
            analysis_run: str | None = None, incremental: bool = False) -> AnalysisOutput:
    """Change points, baselines and trends of every series in scope, computed and stored.

    ``incremental``: only the campaign × environment groups whose runs changed since their last
    analysis (a new night, a run excluded by hand or errored) are read and recomputed; the others
    keep what is stored.
    """
    now = now or datetime.now(UTC)
    since = now - timedelta(days=settings.history_days)
    fingerprints: dict[tuple[str, str], str] = {}
    groups: list[tuple[str, str]] | None = None
    skipped = 0
    if incremental:
        groups, fingerprints, skipped = changed_groups(store, campaign, environment)
        where = reads.groups_scope(groups, alias="t")
        if not groups:
            empty = pl.DataFrame()
            return AnalysisOutput(empty_nightly(), pl.DataFrame(schema=CHANGE_POINT_SCHEMA), empty,
                                  pl.DataFrame(schema=BASELINE_SCHEMA), pl.DataFrame(schema=BASELINE_SCHEMA), empty,
                                  groups=[], skipped=skipped)
    else:
        where = reads.scope(campaign, environment, alias="t")
        fingerprints = reads.fingerprints(store, reads.scope(campaign, environment))
    history = read_history(store, campaign, environment, since=since, metrics=settings.metrics, groups=groups)
    nightly = history.filter(pl.col("trusted")).select(list(NIGHTLY_SCHEMA))
    config_for = (lambda metric: detector_for(metric, settings.detector))
    found = find_change_points(nightly, config_for)
    existing = _read_scoped(store, "change_points", where, schema={
        **CHANGE_POINT_SCHEMA, "status": pl.String, "detected_at": pl.Datetime("us", "UTC"),
        "detected_run_id": pl.String, "last_seen_at": pl.Datetime("us", "UTC")})
    cp_rows = _sync_change_points(existing, found, now, analysis_run)
    current = _read_scoped(store, "baselines", where, "AND t.valid_to IS NULL", BASELINE_SCHEMA)
    new, closed = update_baselines(nightly, found.with_columns(status=pl.lit("open")), current,
                                   settings.baseline, now)
    limits = _limits(store, where, settings)
    trends = compute_trends(nightly, limits, slope_window=settings.slope_window, computed_at=now)
    if not trends.is_empty():
        left_out = (history.filter(~pl.col("trusted")).group_by(KEYS).agg(untrusted_nights=pl.len())
                    if not history.is_empty() else pl.DataFrame(schema={**{k: pl.String for k in KEYS},
                                                                        "untrusted_nights": pl.UInt32}))
        trends = (trends.join(left_out, on=KEYS, how="left")
                  .with_columns(pl.col("untrusted_nights").fill_null(0).cast(pl.Int32)))
    seen = sorted(fingerprints) if groups is None else groups
    state = [{"campaign": c, "environment": e, "fingerprint": fingerprints[(c, e)], "analysed_at": now}
             for c, e in seen if (c, e) in fingerprints]
    store.upsert_rows({"change_points": cp_rows, "baselines": _records(pl.concat([closed, new])),
                       "trends": _records(trends), "analysis_state": state})
    kept = current.join(new.select(KEYS), on=KEYS, how="anti") if not current.is_empty() else current
    baselines = pl.concat([kept.cast(BASELINE_SCHEMA), new]) if not kept.is_empty() else new
    comparison = compare(_latest(nightly), baselines, min_rel_change=settings.compare_min_rel) \
        if not nightly.is_empty() else pl.DataFrame()
    return AnalysisOutput(nightly, found, trends, baselines, new, comparison, history, seen, skipped)


def current_trends(store: Any, campaign: str | None = None, environment: str | None = None, *,
                   since: datetime | None = None, endpoint: str | None = None, metric: str | None = None,
                   settings: AnalyticsSettings = AnalyticsSettings()) -> pl.DataFrame:
    """Trends of the trusted nights in scope (nothing stored), each series forecast against the
    limit its campaign's last analysis stored (the campaign's own gates; none when it has none), with
    ``untrusted_nights``: the nights left out, never silently. What ``perfcampaign trends`` shows."""
    history = read_history(store, campaign, environment, since=since, metrics=settings.metrics)
    if endpoint is not None:
        history = history.filter(pl.col("endpoint") == endpoint)
    if metric is not None:
        history = history.filter(pl.col("metric") == metric)
    nightly = history.filter(pl.col("trusted")).select(list(NIGHTLY_SCHEMA))
    if nightly.is_empty():
        return pl.DataFrame()
    limits = _limits(store, reads.scope(campaign, environment, alias="t"), settings)
    trends = compute_trends(nightly, limits, slope_window=settings.slope_window)
    left_out = history.filter(~pl.col("trusted")).group_by(KEYS).agg(untrusted_nights=pl.len())
    return (trends.join(left_out, on=KEYS, how="left")
            .with_columns(pl.col("untrusted_nights").fill_null(0).cast(pl.Int32)))


def latest_night_regressions(store: Any, campaign: str | None = None, environment: str | None = None, *,
                             since: datetime | None = None, endpoint: str | None = None, metric: str | None = None,
                             improvements: bool = False) -> pl.DataFrame:
    """The newest judged night of each campaign × environment: its significant regressions (and
    improvements) vs last night and vs baseline, one row per series and reference."""
    frame = reads.latest_night_comparisons(store, reads.scope(campaign, environment, alias="n"), since=since,
                                           directions=("regression", "improvement") if improvements
                                           else ("regression",))
    if frame.is_empty():
        return frame
    if endpoint is not None:
        frame = frame.filter(pl.col("endpoint") == endpoint)
    if metric is not None:
        frame = frame.filter(pl.col("metric") == metric)
    return frame.with_columns(pl.col("night").dt.convert_time_zone("UTC"))


def _groups(frame: pl.DataFrame) -> list[tuple[str, str]]:
    if frame.is_empty():
        return []
    return sorted(tuple(r) for r in frame.select("campaign", "environment").unique().iter_rows())


@dataclass
class AnalysisResult:
    """What one run's analysis found: the verdict inputs and what was stored."""

    run_id: str
    campaign: str
    environment: str
    test_type: str
    excluded: str | None                          # why the run itself is left out, if it is
    nights: int
    comparison: RunComparison | None              # each series against last night and the baseline
    change_points: list[dict[str, Any]]           # every open change point of the campaign/environment
    fresh_regressions: list[dict[str, Any]]       # … those in the bad direction that began recently
    baselines_updated: list[dict[str, Any]]
    trends: list[dict[str, Any]]
    capacity: list[dict[str, Any]] = field(default_factory=list)
    hints: list[dict[str, Any]] = field(default_factory=list)
    run_metrics: pl.DataFrame = field(default_factory=pl.DataFrame, repr=False)
    settings: AnalyticsSettings = field(default_factory=AnalyticsSettings, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("run_metrics", "settings", "comparison")}
        out["comparison"] = self.comparison.model_dump(mode="json") if self.comparison else None
        return _jsonable(out)

    def summary(self) -> dict[str, Any]:
        """A compact document for ``stage_results.summary`` and the run report."""
        comparison = None
        if self.comparison is not None:
            comparison = self.comparison.model_dump(mode="json")
            comparison["headline"] = self.comparison.headline()
            for doc, s in zip(comparison["series"], self.comparison.series, strict=True):
                doc["detail"] = s.describe()
        return _jsonable({
            "run_id": self.run_id, "test_type": self.test_type, "excluded": self.excluded, "nights": self.nights,
            "comparison": comparison,
            "headline": self.comparison.headline() if self.comparison else self.excluded,
            "fresh_regressions": self.fresh_regressions,
            "open_change_points": len(self.change_points),
            "regressions": sum(1 for c in self.change_points if c["direction"] == "regression"),
            "baselines_updated": [{k: b[k] for k in ("endpoint", "metric", "version", "center", "reason")}
                                  for b in self.baselines_updated],
            "forecasts": [{k: t.get(k) for k in ("endpoint", "metric", "threshold", "nights_to_threshold",
                                                 "forecast_crossing")}
                          for t in self.trends if t.get("nights_to_threshold") is not None],
            "capacity": self.capacity, "hints": self.hints})


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _capacity(store: Any, run_id: str, thresholds: Any) -> list[dict[str, Any]]:
    levels = cap.load_levels(reads.overall_timeseries(store, run_id, OVERALL))
    try:
        est = cap.estimate(levels, slo_p95_ms=getattr(thresholds, "max_p95_ms", SEED_LIMITS["p95_ms"]),
                           slo_mean_ms=getattr(thresholds, "max_mean_ms", SEED_LIMITS["mean_ms"]))
    except cap.CapacityError:
        return []
    return [{"run_id": run_id, "endpoint": OVERALL, **est.to_row()}]


def _hints(store: Any, run_id: str, settings: AnalyticsSettings) -> list[dict[str, Any]]:
    samples = reads.metric_samples(store, run_id)
    if samples.is_empty():
        return []
    load = reads.overall_timeseries(store, run_id, OVERALL)
    if not load.is_empty():
        load = load.select("second", "rps", "p95_ms", "errors", "requests")
    found = bottleneck_hints(samples, load, cpu_limit_cores=settings.cpu_limit_cores)
    return [{"run_id": run_id, **h.to_dict()} for h in found]


def _run_info(run: dict[str, Any], test_type: str) -> RunInfo:
    reasons: list[str] = []
    if run.get("exclude_from_analysis"):
        reasons.append("excluded by hand: " + (run.get("exclude_reason") or ""))
    if run.get("load_trustworthy") is False:
        reasons += [str(r) for r in (run.get("load_reasons") or [])] or ["the load generator could not vouch for it"]
    night = run["started_at"]
    if night.tzinfo is None:
        night = night.replace(tzinfo=UTC)
    return RunInfo(run_id=run["run_id"], campaign=run["campaign"], environment=run["environment"],
                   test_type=test_type, night=night.astimezone(UTC), trusted=not reasons, reasons=tuple(reasons))


def compare_with_history(store: Any, run: RunInfo, history: pl.DataFrame, change_points: pl.DataFrame,
                         baselines: pl.DataFrame, settings: AnalyticsSettings, now: datetime) -> RunComparison:
    """The run's :class:`RunComparison` against the group's history, stored in ``night_comparisons``."""
    same = (pl.col("test_type") == run.test_type)
    hist = history.filter(same & (pl.col("night") <= run.night)).select(list(HISTORY_SCHEMA)) \
        if not history.is_empty() else pl.DataFrame(schema=HISTORY_SCHEMA)
    trusted_nights = hist.filter(pl.col("trusted")).select("night").unique().sort("night")["night"]
    window = 3 * settings.compare.reference_nights  # the pool reaches this far back only past many flagged nights
    since = trusted_nights[-window] if len(trusted_nights) >= window else None
    flags_frame = reads.regression_flags(store, run.campaign, run.environment, run.test_type, since)
    flags = {(r, e, m): (t if t.tzinfo else t.replace(tzinfo=UTC)) for r, e, m, t in flags_frame.iter_rows()
             if r != run.run_id}
    refs_base = {}
    if not baselines.is_empty():
        for row in baselines.filter(same & pl.col("valid_to").is_null()).to_dicts():
            refs_base[(row["endpoint"], row["metric"])] = BaselineRef(
                row["first_run_id"], row["valid_from"], row["center"],
                accepted_regression=str(row.get("reason") or "").startswith("regression"))
    refs = plan_references(run, hist, flags=flags, baselines=refs_base, settings=settings.compare)
    seconds = reads.seconds(store, refs.run_ids(settings.compare))
    seconds = seconds.select(list(SECONDS_SCHEMA)).cast(SECONDS_SCHEMA) if not seconds.is_empty() \
        else pl.DataFrame(schema=SECONDS_SCHEMA)
    cps = change_points.filter(same) if not change_points.is_empty() else change_points
    if not cps.is_empty():
        fresh_keys = fresh(cps, history.filter(same & pl.col("trusted")).select(list(NIGHTLY_SCHEMA)),
                           within=settings.fresh_nights).select("endpoint", "metric", "run_id")
        cps = cps.join(fresh_keys.with_columns(fresh=pl.lit(True)), on=["endpoint", "metric", "run_id"],
                       how="left").with_columns(pl.col("fresh").fill_null(False))
    result = compare_run(refs, seconds, settings=settings.compare, change_points=cps,
                         fresh_nights=settings.fresh_nights)
    if not settings.gate_vs_baseline:
        result = result.model_copy(update={"series": [
            s.model_copy(update={"vs_baseline": s.vs_baseline.model_copy(update={"significant": False})})
            for s in result.series]})
    store.upsert_rows({"night_comparisons": comparison_rows(result, now)})
    return result


def analyze_run(store: Any, run_id: str, *, settings: AnalyticsSettings | None = None, thresholds: Any = None,
                now: datetime | None = None) -> AnalysisResult:
    """Analyse the campaign/environment of ``run_id`` and return this run's verdict inputs.

    Call it after the run's load stage has written its rows (its ``endpoint_metrics``), before the
    run's verdict; then add :func:`evaluate_gates` to the run's gates.
    """
    settings = settings or AnalyticsSettings()
    now = now or datetime.now(UTC)
    run = reads.run(store, run_id)
    if run is None:
        raise LookupError(f"no run {run_id!r} in the warehouse")
    out = analyze(store, run["campaign"], run["environment"], settings=settings, now=now, analysis_run=run_id)
    mine = out.history.filter(pl.col("run_id") == run_id) if not out.history.is_empty() else out.history
    test_type = mine["test_type"][0] if not mine.is_empty() else (run.get("load_test_type") or run.get("test_type")
                                                                   or "load")
    excluded = ("excluded by hand: " + (run.get("exclude_reason") or "")) if run.get("exclude_from_analysis") else None
    if excluded is None and mine.is_empty():
        excluded = "no load metrics in this run"
    same = (pl.col("test_type") == test_type)
    comparison = None
    if excluded is None:
        comparison = compare_with_history(store, _run_info(run, test_type), out.history, out.change_points,
                                          out.baselines, settings, now)
    fresh_cps = fresh(out.change_points.filter(same), out.nightly.filter(same), within=settings.fresh_nights) \
        if not out.change_points.is_empty() else out.change_points
    capacity = _capacity(store, run_id, thresholds) if test_type in CAPACITY_TEST_TYPES and excluded is None else []
    hints = _hints(store, run_id, settings)
    stamp = {"computed_at": now}
    store.upsert_rows({"capacity_estimates": [{**r, **stamp} for r in capacity],
                       "bottleneck_hints": [{**r, **stamp} for r in hints]})
    trends_here = out.trends.filter(same & (pl.col("run_id") == run_id)) if not out.trends.is_empty() else out.trends
    return AnalysisResult(
        run_id=run_id, campaign=run["campaign"], environment=run["environment"], test_type=test_type,
        excluded=excluded, nights=comparison.nights if comparison else 0, comparison=comparison,
        change_points=_records(out.change_points.filter(same)) if not out.change_points.is_empty() else [],
        fresh_regressions=_records(fresh_cps) if excluded is None else [],
        baselines_updated=_records(out.new_baselines.filter(same)) if not out.new_baselines.is_empty() else [],
        trends=_records(trends_here), capacity=capacity, hints=hints, run_metrics=reads.run_metrics(store, run_id),
        settings=settings)


def evaluate_gates(result: AnalysisResult, *, thresholds: Any = None, targets: dict[str, Any] | None = None
                   ) -> list[Gate]:
    """The analysis stage's gates for the run: a significant regression against last night or the
    baseline, or a fresh change point (:meth:`RunComparison.gates`), plus the campaign thresholds and
    domain targets when given (the load stage gates those by default)."""
    gates: list[Gate] = []
    if thresholds is not None or targets:
        gates += threshold_gates(result.run_metrics, thresholds, targets)
    if result.comparison is None:
        gates.append(Gate("analysis", "run left out of the analysis", True, detail=result.excluded or ""))
        return gates
    return gates + result.comparison.gates()


def with_detector(settings: AnalyticsSettings, **changes: Any) -> AnalyticsSettings:
    return replace(settings, detector=replace(settings.detector, **changes))


__all__ = ["AnalysisOutput", "AnalysisResult", "AnalyticsSettings", "analyze", "analyze_run", "changed_groups",
           "compare_with_history", "current_trends", "evaluate_gates", "latest_night_regressions", "excluded_runs",
           "read_history", "read_nightly",
           "settings_for", "settings_from", "NIGHTLY_SCHEMA"]
