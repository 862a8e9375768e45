"""Trends of nightly series: rolling medians, change against the last 7 and 30 nights, and when an
SLO threshold will be crossed at the current slope.

Input is the long *nightly* frame every analytics function shares: one row per series and night,
columns ``campaign, environment, test_type, endpoint, metric, run_id, night, value`` (``night`` is
the run's start). Everything is a polars expression over all series at once; no row loops. Frames are sorted by
``night`` only: ``group_by`` keeps the row order within each group, and sorting by the five string
keys as well would cost more than the whole analysis.

Definitions (pinned by ``tests/analytics/test_trends.py``):

* ``median_7`` / ``median_30``: median of the last 7 / 30 nights, the latest included;
* ``change_7`` / ``change_30``: the latest night against the median of the 7 / 30 nights *before*
  it (``latest / median − 1``);
* ``slope_per_night``: least squares over the last ``slope_window`` nights (units per night), with
  its t statistic ``r·√((n−2)/(1−r²))``;
* ``threshold``: the series' limit, from :func:`limits_frame` (a campaign's gates: whole-run rules
  on ``_overall``, endpoint rules and targets on their endpoint) or from the thresholds stored by
  the last analysis (a frame with all five series keys);
* ``nights_to_threshold``: from the current level (``median_7``) to the threshold at that slope,
  when the slope points the bad way with |t| ≥ ``min_slope_t``; 0 when the level is already past
  it; null otherwise (no claim without a trend). ``forecast_crossing`` turns it into a date with
  the series' own spacing between nights.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import polars as pl

from warehouse.analytics.metrics import METRICS, SERIES_KEYS

NIGHTLY_SCHEMA = {"campaign": pl.String, "environment": pl.String, "test_type": pl.String, "endpoint": pl.String,
                  "metric": pl.String, "run_id": pl.String, "night": pl.Datetime("us", "UTC"), "value": pl.Float64}

KEYS = list(SERIES_KEYS)


def empty_nightly() -> pl.DataFrame:
    return pl.DataFrame(schema=NIGHTLY_SCHEMA)


def rolling_medians(nightly: pl.DataFrame, windows: tuple[int, ...] = (7, 30)) -> pl.DataFrame:
    """Every night of every series with its trailing rolling medians (``median_7``, ``median_30``…)."""
    frame = nightly.sort([*KEYS, "night"])  # grouped, for reading
    return frame.with_columns([
        pl.col("value").rolling_median(window_size=w, min_samples=1).over(KEYS).alias(f"median_{w}")
        for w in windows])


def limits_frame(limits: Mapping[str, float] | None = None,
                 endpoint_limits: Mapping[tuple[str, str], float] | None = None) -> pl.DataFrame:
    """Thresholds as a frame: ``limits`` per metric (every endpoint), ``endpoint_limits`` per
    (endpoint, metric) taking precedence. The endpoint ``*`` means every endpoint."""
    rows = [{"endpoint": "*", "metric": m, "threshold": float(v)} for m, v in (limits or {}).items()]
    rows += [{"endpoint": e, "metric": m, "threshold": float(v)} for (e, m), v in (endpoint_limits or {}).items()]
    return pl.DataFrame(rows, schema={"endpoint": pl.String, "metric": pl.String, "threshold": pl.Float64})


def compute_trends(nightly: pl.DataFrame, limits: pl.DataFrame | None = None, *, slope_window: int = 30,
                   min_slope_t: float = 2.0, computed_at: datetime | None = None) -> pl.DataFrame:
    """One row per series: the columns of the ``trends`` table."""
    if nightly.is_empty():
        return pl.DataFrame()
    value = pl.col("value")
    x = pl.int_range(pl.len()).tail(slope_window).cast(pl.Float64)
    y = value.tail(slope_window)
    frame = (nightly.filter(value.is_not_null() & value.is_finite())
             .sort("night")
             .group_by(KEYS, maintain_order=True)
             .agg(run_id=pl.col("run_id").last(), night=pl.col("night").last(), nights=pl.len(),
                  value=value.last(), median_7=value.tail(7).median(), median_30=value.tail(30).median(),
                  prev_7=value.slice(-8, 7).median(), prev_30=value.slice(-31, 30).median(),
                  slope_per_night=pl.cov(x, y) / x.var(), r=pl.corr(x, y), window=y.len(),
                  first_of_window=pl.col("night").tail(slope_window).first()))
    frame = frame.with_columns(
        change_7=pl.when(pl.col("prev_7") != 0).then(pl.col("value") / pl.col("prev_7") - 1),
        change_30=pl.when(pl.col("prev_30") != 0).then(pl.col("value") / pl.col("prev_30") - 1),
        slope_t=pl.when((pl.col("window") > 2) & (pl.col("r").abs() < 1))
        .then(pl.col("r") * ((pl.col("window") - 2) / (1 - pl.col("r") ** 2)).sqrt())
        .when(pl.col("r").abs() >= 1).then(pl.col("r").sign() * float("inf")),
        spacing=pl.when(pl.col("window") > 1).then(
            (pl.col("night") - pl.col("first_of_window")) / (pl.col("window") - 1)),
    )
    frame = _join_limits(frame, limits)
    bad_up = pl.col("metric").replace_strict({m: METRICS[m].sign for m in METRICS}, default=1, return_dtype=pl.Int8)
    level = pl.col("median_7")
    # distance to go in the bad direction, and the slope's speed in that direction
    room = (pl.col("threshold") - level) * bad_up
    speed = pl.col("slope_per_night") * bad_up
    frame = frame.with_columns(
        nights_to_threshold=pl.when(pl.col("threshold").is_null()).then(None)
        .when(room <= 0).then(0.0)
        .when((speed > 0) & (pl.col("slope_t").abs() >= min_slope_t)).then(room / speed)
        .otherwise(None),
    )
    frame = frame.with_columns(
        forecast_crossing=pl.when(pl.col("nights_to_threshold").is_not_null() & pl.col("spacing").is_not_null())
        .then(pl.col("night") + pl.col("spacing") * pl.col("nights_to_threshold"))
        .when(pl.col("nights_to_threshold") == 0).then(pl.col("night")),
        computed_at=pl.lit(computed_at or datetime.now().astimezone(), dtype=pl.Datetime("us", "UTC")),
    )
    return frame.select(*KEYS, "run_id", "night", pl.col("nights").cast(pl.Int32), "value", "median_7",
                        "median_30", "change_7", "change_30", "slope_per_night", "slope_t", "threshold",
                        "nights_to_threshold", "forecast_crossing", "computed_at")


def _join_limits(frame: pl.DataFrame, limits: pl.DataFrame | None) -> pl.DataFrame:
    """Thresholds joined on the series keys the limits frame has: (endpoint, metric) from a
    campaign (``*`` for every endpoint), or all five keys when they come from stored trends."""
    if limits is None or limits.is_empty():
        return frame.with_columns(threshold=pl.lit(None, dtype=pl.Float64))
    if "campaign" in limits.columns:
        stored = limits.select(*KEYS, "threshold").unique(KEYS, keep="last")
        return frame.join(stored, on=KEYS, how="left")
    specific = limits.filter(pl.col("endpoint") != "*")
    general = limits.filter(pl.col("endpoint") == "*").drop("endpoint").rename({"threshold": "_general"})
    out = frame.join(specific, on=["endpoint", "metric"], how="left")
    out = out.join(general, on="metric", how="left")
    return out.with_columns(threshold=pl.coalesce("threshold", "_general")).drop("_general")
