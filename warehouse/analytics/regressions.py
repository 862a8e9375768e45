"""Change points of every nightly series, as rows: direction, magnitude, significance, and the run
where each new regime began.

For each (campaign, environment, test type, metric) the endpoints' series become one matrix
(endpoints × runs in night order, NaN where an endpoint has no value that night) and go through
:func:`~warehouse.analytics.changepoints.detect_many`; the weekday of each night is the seasonal
phase, so a missing night does not shift the weekly pattern. The direction comes from the metric's
good direction: a higher latency or error rate, or a lower throughput, is a regression.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import polars as pl

from warehouse.analytics.changepoints import DEFAULT, DetectorConfig, detect_many
from warehouse.analytics.metrics import METRICS, SERIES_KEYS

GROUP_KEYS = ["campaign", "environment", "test_type", "metric"]
KEYS = list(SERIES_KEYS)

CHANGE_POINT_SCHEMA = {
    **{k: pl.String for k in KEYS}, "run_id": pl.String, "night": pl.Datetime("us", "UTC"),
    "direction": pl.String, "before_value": pl.Float64, "after_value": pl.Float64, "abs_change": pl.Float64,
    "rel_change": pl.Float64, "t_stat": pl.Float64, "p_value": pl.Float64, "drift": pl.Boolean,
    "nights_after": pl.Int32,
}


def detector_for(metric: str, base: DetectorConfig = DEFAULT) -> DetectorConfig:
    """The detector's settings for a metric (its absolute floor: an error rate of 0 → 0.05 % is noise)."""
    known = METRICS.get(metric)
    if known and known.min_abs_change > base.min_abs_change:
        return replace(base, min_abs_change=known.min_abs_change)
    return base


def _matrix(group: pl.DataFrame) -> tuple[np.ndarray, pl.DataFrame, list[str]]:
    """(endpoints × runs matrix in night order, the runs (run_id, night) by column, endpoint names)."""
    night = group["night"].dt.epoch("us").to_numpy()
    first_col, col = np.unique(night, return_index=True, return_inverse=True)[1:]
    if len(first_col) != group["run_id"].n_unique():  # two runs started at the same instant
        runs = group.select("run_id", "night").unique("run_id").sort("night", "run_id").with_row_index("col")
        col = group.select("run_id").join(runs, on="run_id", how="left", maintain_order="left")["col"].to_numpy()
        first_col = None
    codes = group["endpoint"].cast(pl.Categorical).to_physical().to_numpy()
    first_row, row = np.unique(codes, return_index=True, return_inverse=True)[1:]
    names = group["endpoint"].gather(first_row).to_list()
    runs = group.select("run_id", "night")[first_col] if first_col is not None else runs.drop("col")
    matrix = np.full((len(names), runs.height), np.nan)
    matrix[row, col] = group["value"].to_numpy()
    return matrix, runs, names


def find_change_points(nightly: pl.DataFrame,
                       config_for: Callable[[str], DetectorConfig] = detector_for) -> pl.DataFrame:
    """Every change point of every series in the long nightly frame (see :mod:`.trends`)."""
    rows: list[dict] = []
    if nightly.is_empty():
        return pl.DataFrame(schema=CHANGE_POINT_SCHEMA)
    data = nightly.filter(pl.col("value").is_not_null() & pl.col("value").is_finite())
    for key, group in data.group_by(GROUP_KEYS, maintain_order=True):
        campaign, environment, test_type, metric = key
        matrix, runs, names = _matrix(group)
        season = runs["night"].dt.weekday().to_numpy()
        found = detect_many(matrix, season=season, config=config_for(metric))
        run_ids = runs["run_id"].to_list()
        nights = runs["night"].to_list()
        info = METRICS.get(metric)
        for r, cps in enumerate(found):
            if not cps:
                continue
            present = np.flatnonzero(np.isfinite(matrix[r]))
            for cp in cps:
                after = int(np.sum(present >= cp.index))
                rows.append({
                    "campaign": campaign, "environment": environment, "test_type": test_type,
                    "endpoint": names[r], "metric": metric, "run_id": run_ids[cp.index], "night": nights[cp.index],
                    "direction": info.direction(cp.abs_change) if info else ("up" if cp.abs_change > 0 else "down"),
                    "before_value": cp.before, "after_value": cp.after, "abs_change": cp.abs_change,
                    "rel_change": cp.rel_change, "t_stat": cp.t_stat, "p_value": cp.p_value, "drift": cp.drift,
                    "nights_after": after})
    return pl.DataFrame(rows, schema=CHANGE_POINT_SCHEMA)


def fresh(change_points: pl.DataFrame, nightly: pl.DataFrame, *, within: int = 7) -> pl.DataFrame:
    """Regressions whose regime began within the last ``within`` nights of their series."""
    if change_points.is_empty():
        return change_points
    recent = (nightly.sort("night").group_by(KEYS).agg(recent=pl.col("night").tail(within).first()))
    out = change_points.join(recent, on=KEYS, how="left")
    return out.filter((pl.col("direction") == "regression") & (pl.col("night") >= pl.col("recent"))).drop("recent")
