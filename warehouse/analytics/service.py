"""The glue between the warehouse and the pure analytics: read, compute, store, report.

* :func:`read_nightly` reads every trustworthy night: ``endpoint_metrics`` (stage ``load``) joined to
  ``runs`` (``started_at`` is the night), leaving out runs marked ``exclude_from_analysis``, runs that
  ended in ``error`` or were ``interrupted``, and load runs the load stage found untrustworthy
  (``load_runs.trustworthy``, when that table exists).
* :func:`analyze` computes change points, baselines and trends for a campaign/environment (or all)
  and writes them in one transaction; :func:`analyze_run` adds what is specific to one run (its
  fresh regressions, its nights against the baselines, capacity and bottleneck hints) and returns
  an :class:`AnalysisResult`; :func:`evaluate_gates` turns that into ``tasks.base.Gate`` rows.

Only this module (and the CLI) talk to the store; the functions it calls take and return DataFrames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from tasks.base import Gate
from warehouse.analytics import capacity as cap
from warehouse.analytics.baselines import BASELINE_SCHEMA, BaselinePolicy, compare, update_baselines
from warehouse.analytics.changepoints import DEFAULT, DetectorConfig
from warehouse.analytics.gates import regression_gates, suspect_gates, threshold_gates
from warehouse.analytics.hints import bottleneck_hints
from warehouse.analytics.metrics import DEFAULT_METRICS, METRICS, OVERALL, SERIES_KEYS
from warehouse.analytics.regressions import CHANGE_POINT_SCHEMA, detector_for, find_change_points, fresh
from warehouse.analytics.trends import NIGHTLY_SCHEMA, compute_trends, empty_nightly, limits_frame

KEYS = list(SERIES_KEYS)
CAPACITY_TEST_TYPES = ("stress", "breakpoint")

#: seed 001's thresholds as forecast limits per metric
SEED_LIMITS: dict[str, float] = {"mean_ms": 1500.0, "p95_ms": 3000.0, "error_rate": 0.01, "rps": 50.0}


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
    limits: dict[str, float] = field(default_factory=lambda: dict(SEED_LIMITS))
    endpoint_limits: dict[tuple[str, str], float] = field(default_factory=dict)
    cpu_limit_cores: float | None = None


def settings_from(options: Any = None, thresholds: Any = None, targets: dict[str, Any] | None = None
                  ) -> AnalyticsSettings:
    """Settings from a campaign: its ``analytics:`` section (``campaigns.analytics.AnalyticsOptions``, or None for
    the defaults), forecast limits from its thresholds (seed 001) and endpoint targets (seed 000)."""
    limits = dict(SEED_LIMITS)
    if thresholds is not None:
        limits.update({"mean_ms": thresholds.max_mean_ms, "p95_ms": thresholds.max_p95_ms,
                       "error_rate": thresholds.max_error_rate})
        limits["rps"] = thresholds.min_rps or None
    endpoint_limits: dict[tuple[str, str], float] = {}
    for endpoint, target in (targets or {}).items():
        for attr, metric in (("p50_ms", "p50_ms"), ("p95_ms", "p95_ms"), ("p99_ms", "p99_ms"),
                             ("mean_ms", "mean_ms"), ("error_rate", "error_rate"), ("min_rps", "rps")):
            if getattr(target, attr, None) is not None:
                endpoint_limits[(endpoint, metric)] = float(getattr(target, attr))
    if options is None:
        return AnalyticsSettings(limits={k: v for k, v in limits.items() if v is not None},
                                 endpoint_limits=endpoint_limits)
    limits.update(options.limits)
    metrics = tuple(options.metrics)
    b, s = options.baseline, options.suspect
    return AnalyticsSettings(
        metrics=metrics, gate_metrics=tuple(options.gate_metrics or metrics), fresh_nights=options.fresh_nights,
        detector=DetectorConfig(alpha=options.alpha, min_rel_change=options.min_change,
                                min_segment=options.min_segment, period=7 if options.weekly else None),
        baseline=BaselinePolicy(nights=b.nights, min_nights=b.min_nights, band_sigma=b.band_sigma,
                                accept_regression_after=b.accept_regression_after),
        suspect_sigma=s.sigma if s.enabled else math.inf, suspect_min_rel=s.min_change,
        compare_min_rel=options.min_change, limits={k: float(v) for k, v in limits.items() if v is not None},
        endpoint_limits=endpoint_limits, cpu_limit_cores=options.cpu_limit_cores)


# -- reading ------------------------------------------------------------------------------------------

_SCHEMA_SEEN: dict[tuple[str, str, str | None], bool] = {}


def _has_table(store: Any, table: str, column: str | None = None) -> bool:
    """Whether the warehouse has ``table`` (and ``column``); a yes is remembered (tables are only added)."""
    key = (str(store.path), table, column)
    if _SCHEMA_SEEN.get(key):
        return True
    sql = "SELECT count(*) FROM information_schema.columns WHERE table_name = ?"
    params: list[Any] = [table]
    if column:
        sql += " AND column_name = ?"
        params.append(column)
    found = bool(store.fetchall(sql, params)[0][0])
    if found:
        _SCHEMA_SEEN[key] = True
    return found


def _scope(campaign: str | None, environment: str | None, alias: str = "r") -> tuple[str, list[Any]]:
    clauses, params = [], []
    if campaign is not None:
        clauses.append(f"{alias}.campaign = ?")
        params.append(campaign)
    if environment is not None:
        clauses.append(f"{alias}.environment = ?")
        params.append(environment)
    return (" AND ".join(clauses) or "TRUE"), params


def read_nightly(store: Any, campaign: str | None = None, environment: str | None = None, *,
                 since: datetime | None = None, metrics: tuple[str, ...] = DEFAULT_METRICS) -> pl.DataFrame:
    """The long nightly frame: one row per (campaign, environment, test type, endpoint, metric, run)."""
    metrics = tuple(m for m in metrics if m in METRICS)
    where, params = _scope(campaign, environment)
    load_join, trust, test_type = "", "", "COALESCE(r.test_type, 'load')"
    if _has_table(store, "load_runs", "trustworthy"):
        load_join = "LEFT JOIN load_runs l ON l.run_id = r.run_id"
        trust = "AND COALESCE(l.trustworthy, TRUE)"
        test_type = "COALESCE(l.test_type, r.test_type, 'load')"
    if since is not None:
        where += " AND r.started_at >= ?"
        params.append(since)
    cols = ", ".join(f"m.{m}" for m in metrics)
    wide = store.query(
        f"SELECT r.campaign, r.environment, {test_type} AS test_type, m.endpoint, r.run_id, "
        f"r.started_at AS night, {cols} FROM endpoint_metrics m JOIN runs r ON r.run_id = m.run_id {load_join} "
        f"WHERE m.stage = 'load' AND NOT r.exclude_from_analysis AND r.status NOT IN ('error', 'interrupted') "
        f"{trust} AND {where}", params)
    if wide.is_empty():
        return empty_nightly()
    long = wide.unpivot(index=["campaign", "environment", "test_type", "endpoint", "run_id", "night"],
                        on=list(metrics), variable_name="metric", value_name="value")
    return (long.filter(pl.col("value").is_not_null())
            .with_columns(pl.col("night").dt.convert_time_zone("UTC"), pl.col("value").cast(pl.Float64))
            .select(list(NIGHTLY_SCHEMA)).cast(NIGHTLY_SCHEMA))


def excluded_runs(store: Any, campaign: str | None = None, environment: str | None = None) -> pl.DataFrame:
    """Runs left out of the analysis, with why: by hand (``exclude_reason``) or untrustworthy load."""
    where, params = _scope(campaign, environment)
    untrusted = ""
    if _has_table(store, "load_runs", "trustworthy"):
        untrusted = (" UNION ALL SELECT r.run_id, r.campaign, r.environment, r.started_at, "
                     "'untrustworthy load: ' || COALESCE(CAST(l.reasons AS VARCHAR), '') FROM runs r "
                     f"JOIN load_runs l ON l.run_id = r.run_id WHERE NOT l.trustworthy AND {where}")
        params = params + params
    return store.query(
        "SELECT r.run_id, r.campaign, r.environment, r.started_at, r.exclude_reason AS reason FROM runs r "
        f"WHERE r.exclude_from_analysis AND {where}{untrusted} ORDER BY 4", params)


# -- analysis -----------------------------------------------------------------------------------------

@dataclass
class AnalysisOutput:
    nightly: pl.DataFrame
    change_points: pl.DataFrame
    trends: pl.DataFrame
    baselines: pl.DataFrame          # current versions after this analysis
    new_baselines: pl.DataFrame
    comparison: pl.DataFrame         # each series' newest night against its baseline


def _groups(frame: pl.DataFrame) -> list[tuple[str, str]]:
    if frame.is_empty():
        return []
    return [tuple(r) for r in frame.select("campaign", "environment").unique().iter_rows()]


def _read_scoped(store: Any, table: str, campaign: str | None, environment: str | None, extra: str = "",
                 schema: dict[str, Any] | None = None) -> pl.DataFrame:
    where, params = _scope(campaign, environment, alias="t")
    frame = store.query(f"SELECT * FROM {table} t WHERE {where} {extra}", params)
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


def analyze(store: Any, campaign: str | None = None, environment: str | None = None, *,
            settings: AnalyticsSettings = AnalyticsSettings(), now: datetime | None = None,
            analysis_run: str | None = None) -> AnalysisOutput:
    """Change points, baselines and trends of every series in scope, computed and stored."""
    now = now or datetime.now(UTC)
    since = now - timedelta(days=settings.history_days)
    nightly = read_nightly(store, campaign, environment, since=since, metrics=settings.metrics)
    config_for = (lambda metric: detector_for(metric, settings.detector))
    found = find_change_points(nightly, config_for)
    existing = _read_scoped(store, "change_points", campaign, environment, schema={
        **CHANGE_POINT_SCHEMA, "status": pl.String, "detected_at": pl.Datetime("us", "UTC"),
        "detected_run_id": pl.String, "last_seen_at": pl.Datetime("us", "UTC")})
    cp_rows = _sync_change_points(existing, found, now, analysis_run)
    current = _read_scoped(store, "baselines", campaign, environment, "AND t.valid_to IS NULL", BASELINE_SCHEMA)
    new, closed = update_baselines(nightly, found.with_columns(status=pl.lit("open")), current,
                                   settings.baseline, now)
    limits = limits_frame(settings.limits, settings.endpoint_limits)
    trends = compute_trends(nightly, limits, slope_window=settings.slope_window, computed_at=now)
    store.upsert_rows({"change_points": cp_rows, "baselines": _records(pl.concat([closed, new])),
                       "trends": _records(trends)})
    kept = current.join(new.select(KEYS), on=KEYS, how="anti") if not current.is_empty() else current
    baselines = pl.concat([kept.cast(BASELINE_SCHEMA), new]) if not kept.is_empty() else new
    comparison = compare(_latest(nightly), baselines, min_rel_change=settings.compare_min_rel) \
        if not nightly.is_empty() else pl.DataFrame()
    return AnalysisOutput(nightly, found, trends, baselines, new, comparison)


@dataclass
class AnalysisResult:
    """What one run's analysis found: the verdict inputs and what was stored."""

    run_id: str
    campaign: str
    environment: str
    test_type: str
    excluded: str | None                          # why the run itself is left out, if it is
    nights: int
    fresh_regressions: list[dict[str, Any]]
    change_points: list[dict[str, Any]]           # every open change point of the campaign/environment
    suspects: list[dict[str, Any]]                # this run's nights far outside their baseline band
    comparison: list[dict[str, Any]]              # this run's nights against the baselines
    baselines_updated: list[dict[str, Any]]
    trends: list[dict[str, Any]]
    capacity: list[dict[str, Any]] = field(default_factory=list)
    hints: list[dict[str, Any]] = field(default_factory=list)
    run_metrics: pl.DataFrame = field(default_factory=pl.DataFrame, repr=False)
    settings: AnalyticsSettings = field(default_factory=AnalyticsSettings, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("run_metrics", "settings")}
        return _jsonable(out)

    def summary(self) -> dict[str, Any]:
        """A compact document for ``stage_results.summary`` and the run report."""
        return _jsonable({
            "run_id": self.run_id, "test_type": self.test_type, "excluded": self.excluded, "nights": self.nights,
            "fresh_regressions": self.fresh_regressions, "suspects": self.suspects,
            "open_change_points": len(self.change_points),
            "regressions": sum(1 for c in self.change_points if c["direction"] == "regression"),
            "baselines_updated": [{k: b[k] for k in ("endpoint", "metric", "version", "center", "reason")}
                                  for b in self.baselines_updated],
            "forecasts": [{k: t[k] for k in ("endpoint", "metric", "threshold", "nights_to_threshold",
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
    if not _has_table(store, "load_timeseries"):
        return []
    ts = store.query("SELECT * FROM load_timeseries WHERE run_id = ? AND shard = -1 AND endpoint = ? "
                     "ORDER BY second", [run_id, OVERALL])
    if ts.is_empty():
        ts = store.query("SELECT second, endpoint, sum(requests) AS requests, sum(errors) AS errors, "
                         "sum(rps) AS rps, max(p95_ms) AS p95_ms, sum(in_flight) AS in_flight, sum(vus) AS vus "
                         "FROM load_timeseries WHERE run_id = ? AND endpoint = ? GROUP BY 1, 2 ORDER BY 1",
                         [run_id, OVERALL])
    levels = cap.load_levels(ts)
    try:
        est = cap.estimate(levels, slo_p95_ms=getattr(thresholds, "max_p95_ms", SEED_LIMITS["p95_ms"]),
                           slo_mean_ms=getattr(thresholds, "max_mean_ms", SEED_LIMITS["mean_ms"]))
    except cap.CapacityError:
        return []
    return [{"run_id": run_id, "endpoint": OVERALL, **est.to_row()}]


def _hints(store: Any, run_id: str, settings: AnalyticsSettings) -> list[dict[str, Any]]:
    samples = store.query("SELECT * FROM metric_samples WHERE run_id = ? ORDER BY scraped_at", [run_id])
    if samples.is_empty():
        return []
    load = pl.DataFrame()
    if _has_table(store, "load_timeseries"):
        load = store.query("SELECT second, rps, p95_ms, errors, requests FROM load_timeseries WHERE run_id = ? "
                           "AND shard = -1 AND endpoint = ? ORDER BY second", [run_id, OVERALL])
    found = bottleneck_hints(samples, load, cpu_limit_cores=settings.cpu_limit_cores)
    return [{"run_id": run_id, **h.to_dict()} for h in found]


def analyze_run(store: Any, run_id: str, *, settings: AnalyticsSettings | None = None, thresholds: Any = None,
                now: datetime | None = None) -> AnalysisResult:
    """Analyse the campaign/environment of ``run_id`` and return this run's verdict inputs.

    Call it after the run's load stage has written its rows (its ``endpoint_metrics``), before the
    run's verdict; then add :func:`evaluate_gates` to the run's gates.
    """
    settings = settings or AnalyticsSettings()
    now = now or datetime.now(UTC)
    runs = store.query("SELECT * FROM runs WHERE run_id = ?", [run_id]).to_dicts()
    if not runs:
        raise LookupError(f"no run {run_id!r} in the warehouse")
    run = runs[0]
    out = analyze(store, run["campaign"], run["environment"], settings=settings, now=now, analysis_run=run_id)
    in_series = out.nightly.filter(pl.col("run_id") == run_id)
    test_type = in_series["test_type"][0] if not in_series.is_empty() else (run.get("test_type") or "load")
    excluded = run.get("exclude_reason") if run.get("exclude_from_analysis") else None
    if excluded is None and in_series.is_empty():
        excluded = "no trustworthy load metrics in this run"
    same = (pl.col("test_type") == test_type)
    fresh_cps = fresh(out.change_points.filter(same), out.nightly.filter(same), within=settings.fresh_nights) \
        if not out.change_points.is_empty() else out.change_points
    comparison = (out.comparison.filter(pl.col("run_id") == run_id)
                  if not out.comparison.is_empty() and excluded is None else pl.DataFrame())
    explained = set() if fresh_cps.is_empty() else set(fresh_cps.select("endpoint", "metric").iter_rows())
    if not comparison.is_empty() and explained:  # a confirmed regression is reported as such, once
        comparison_for_suspects = comparison.filter(
            ~pl.struct("endpoint", "metric").is_in([{"endpoint": e, "metric": m} for e, m in explained]))
    else:
        comparison_for_suspects = comparison
    suspects = [g.to_dict() for g in suspect_gates(comparison_for_suspects, sigma=settings.suspect_sigma,
                                                   min_rel_change=settings.suspect_min_rel,
                                                   metrics=settings.gate_metrics)] if excluded is None else []
    capacity = _capacity(store, run_id, thresholds) if test_type in CAPACITY_TEST_TYPES and excluded is None else []
    hints = _hints(store, run_id, settings)
    stamp = {"computed_at": now}
    store.upsert_rows({"capacity_estimates": [{**r, **stamp} for r in capacity],
                       "bottleneck_hints": [{**r, **stamp} for r in hints]})
    run_metrics = store.query("SELECT * FROM endpoint_metrics WHERE run_id = ? AND stage = 'load'", [run_id])
    trends_here = out.trends.filter(same & (pl.col("run_id") == run_id)) if not out.trends.is_empty() else out.trends
    return AnalysisResult(
        run_id=run_id, campaign=run["campaign"], environment=run["environment"], test_type=test_type,
        excluded=excluded, nights=out.nightly.filter(same)["run_id"].n_unique() if not out.nightly.is_empty() else 0,
        fresh_regressions=_records(fresh_cps) if excluded is None else [],
        change_points=_records(out.change_points.filter(same)) if not out.change_points.is_empty() else [],
        suspects=suspects, comparison=_records(comparison),
        baselines_updated=_records(out.new_baselines.filter(same)) if not out.new_baselines.is_empty() else [],
        trends=_records(trends_here), capacity=capacity, hints=hints, run_metrics=run_metrics, settings=settings)


def evaluate_gates(result: AnalysisResult, *, thresholds: Any = None, targets: dict[str, Any] | None = None
                   ) -> list[Gate]:
    """The analysis stage's gates for the run: fresh regressions and first-night suspects, plus the
    campaign thresholds and domain targets when given (the load stage gates those by default)."""
    gates: list[Gate] = []
    if thresholds is not None or targets:
        gates += threshold_gates(result.run_metrics, thresholds, targets)
    if result.excluded is not None:
        gates.append(Gate("analysis", "run left out of the analysis", True, detail=result.excluded))
        return gates
    fresh_frame = pl.DataFrame(result.fresh_regressions) if result.fresh_regressions else pl.DataFrame()
    gates += regression_gates(fresh_frame, within=result.settings.fresh_nights, metrics=result.settings.gate_metrics)
    gates += [Gate(**s) for s in result.suspects]
    return gates


def with_detector(settings: AnalyticsSettings, **changes: Any) -> AnalyticsSettings:
    return replace(settings, detector=replace(settings.detector, **changes))


__all__ = ["AnalysisOutput", "AnalysisResult", "AnalyticsSettings", "analyze", "analyze_run", "evaluate_gates",
           "excluded_runs", "read_nightly", "settings_from", "NIGHTLY_SCHEMA"]
