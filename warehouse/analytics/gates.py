"""Quality gates of the analysis stage: thresholds, fresh regressions, first-night suspects.

Each function returns :class:`tasks.base.Gate` rows (``stage="analysis"``) the run's verdict adds
to the other stages' gates; the CLI's exit code follows (1 when one fails).

* :func:`threshold_gates`: the run's load metrics against the campaign's thresholds (seed 001:
  mean ≤ 1500 ms, p95 ≤ 3000 ms, error rate ≤ 1 %, ≥ 50 rps on ``_overall``) and each endpoint's
  domain targets (seed 000). The load stage already gates these when it runs its default rules;
  pass them here only when that stage did not.
* :func:`regression_gates`: one failing gate per *fresh* regression, a change point in the bad
  direction whose regime began within the last few nights, with its magnitude, significance and
  first run; one passing gate when there is none.
* :func:`suspect_gates`: the newest night far outside its baseline band in the bad direction
  (``sigma`` spreads and ``min_rel_change``): a regression big enough to be caught on the first
  night, before a change point can have ``min_segment`` nights. A single wild night trips it too,
  only when it is that far out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from tasks.base import Gate
from warehouse.analytics.metrics import METRICS, OVERALL

STAGE = "analysis"

#: (threshold attribute, metric, comparison) of seed 001's campaign thresholds
THRESHOLD_RULES: tuple[tuple[str, str, str], ...] = (
    ("max_mean_ms", "mean_ms", "<="), ("max_p95_ms", "p95_ms", "<="),
    ("max_error_rate", "error_rate", "<="), ("min_rps", "rps", ">="))
#: (target attribute, metric, comparison) of seed 000's per-domain targets
TARGET_RULES: tuple[tuple[str, str, str], ...] = (
    ("p50_ms", "p50_ms", "<="), ("p95_ms", "p95_ms", "<="), ("p99_ms", "p99_ms", "<="),
    ("mean_ms", "mean_ms", "<="), ("error_rate", "error_rate", "<="), ("min_rps", "rps", ">="))


def _fmt(metric: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if metric == "error_rate":
        return f"{value * 100:.2f}%"
    return f"{value:.1f}{' ' + METRICS[metric].unit if metric in METRICS else ''}"


def _check(metric: str, op: str, value: Any, limit: float) -> bool:
    if value is None:
        return False  # no samples never passes silently
    return value <= limit if op == "<=" else value >= limit


def threshold_gates(run_metrics: pl.DataFrame, thresholds: Any = None,
                    targets: Mapping[str, Any] | None = None) -> list[Gate]:
    """Gates of the run's ``endpoint_metrics`` rows (stage 'load') against thresholds and targets.

    ``thresholds`` has seed 001's attributes (``campaigns.model.Thresholds``); ``targets`` maps an
    endpoint name to its domain's ``campaigns.model.Target``.
    """
    gates: list[Gate] = []
    by_endpoint = {r["endpoint"]: r for r in run_metrics.to_dicts()}
    overall = by_endpoint.get(OVERALL)
    if thresholds is not None:
        for attr, metric, op in THRESHOLD_RULES:
            limit = getattr(thresholds, attr, None)
            if limit is None or (attr == "min_rps" and not limit):
                continue
            value = overall.get(metric) if overall else None
            gates.append(Gate(STAGE, f"threshold {metric} {op} {_fmt(metric, limit)}", _check(metric, op, value, limit),
                              observed=value, limit=f"{op} {limit:g}", endpoint=OVERALL,
                              detail="campaign thresholds" + ("" if overall else ": the run has no load metrics")))
    for endpoint, target in (targets or {}).items():
        row = by_endpoint.get(endpoint)
        for attr, metric, op in TARGET_RULES:
            limit = getattr(target, attr, None)
            if limit is None:
                continue
            value = row.get(metric) if row else None
            gates.append(Gate(STAGE, f"target {metric} {op} {_fmt(metric, limit)}", _check(metric, op, value, limit),
                              observed=value, limit=f"{op} {limit:g}", endpoint=endpoint,
                              detail="domain target" + ("" if row else ": no load metrics for this endpoint")))
    return gates


def regression_gates(fresh: pl.DataFrame, *, within: int, metrics: tuple[str, ...] | None = None) -> list[Gate]:
    """One failing gate per fresh regression (``metrics`` limits which count), or one passing gate."""
    rows = fresh.to_dicts() if not fresh.is_empty() else []
    if metrics is not None:
        rows = [r for r in rows if r["metric"] in metrics]
    if not rows:
        return [Gate(STAGE, "no fresh regression", True, observed=0, limit=0,
                     detail=f"no change point in the bad direction began in the last {within} nights")]
    gates = []
    for r in sorted(rows, key=lambda r: (r["endpoint"], r["metric"])):
        m = r["metric"]
        label = METRICS[m].label if m in METRICS else m
        gates.append(Gate(
            STAGE, f"regression {label}", False, observed=r["after_value"], limit=r["before_value"],
            endpoint=r["endpoint"],
            detail=(f"{label} {r['rel_change'] * 100:+.1f}% ({_fmt(m, r['before_value'])} → {_fmt(m, r['after_value'])}) "
                    f"since {r['night']:%Y-%m-%d} (run {r['run_id'][:8]}), {r['nights_after']} night(s); "
                    f"t={r['t_stat']:.1f}, p={r['p_value']:.2g}" + (", beyond a slow drift" if r.get("drift") else ""))))
    return gates


def suspect_gates(comparison: pl.DataFrame, *, sigma: float = 4.0, min_rel_change: float = 0.10,
                  metrics: tuple[str, ...] | None = None) -> list[Gate]:
    """Failing gates for newest nights ``sigma`` spreads and ``min_rel_change`` past the baseline,
    in the bad direction (see the module docstring)."""
    if comparison.is_empty():
        return []
    sign = pl.col("metric").replace_strict({m: METRICS[m].sign for m in METRICS}, default=1, return_dtype=pl.Int8)
    floor = pl.col("metric").replace_strict({m: METRICS[m].min_abs_change for m in METRICS}, default=0.0,
                                            return_dtype=pl.Float64)
    bad = comparison.filter(
        pl.col("center").is_not_null() & (pl.col("z") * sign >= sigma)
        & (pl.col("rel_change").fill_null(float("inf")).abs() >= min_rel_change)
        & (pl.col("deviation").abs() >= floor))
    if metrics is not None:
        bad = bad.filter(pl.col("metric").is_in(list(metrics)))
    gates = []
    for r in bad.sort("endpoint", "metric").to_dicts():
        m = r["metric"]
        label = METRICS[m].label if m in METRICS else m
        rel = r["rel_change"]
        gates.append(Gate(
            STAGE, f"suspect {label}", False, observed=r["value"], limit=r["band_upper"] if sign_of(m) > 0 else r["band_lower"],
            endpoint=r["endpoint"],
            detail=(f"newest night {_fmt(m, r['value'])} is {r['z']:+.1f} spreads from baseline v{r['version']} "
                    f"{_fmt(m, r['center'])}" + (f" ({rel * 100:+.1f}%)" if rel is not None else "")
                    + "; a change point needs more nights to confirm it")))
    return gates


def sign_of(metric: str) -> int:
    return METRICS[metric].sign if metric in METRICS else 1
