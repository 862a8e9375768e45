"""Baselines (seed 001's performance_baselines): establish, update and compare, per series.

A baseline is learned from the **current regime** of a series, the nights since its last change
point, at most ``policy.nights`` of them: ``center`` is their median, ``spread`` the robust standard
deviation (1.4826·MAD, at least ``min_spread_rel`` of the center) and the variance band
``center ± band_sigma·spread``. Baselines are versioned, never overwritten: an update closes the
current version (``valid_to``) and adds the next one with its reason:

* ``established`` once a regime has ``min_nights`` nights (if the newest regime is shorter, the
  one before it is used, so a fresh regression is never learned as the norm);
* ``refined with N nights`` when the same regime has at least twice the nights it was learned from
  (up to ``nights``);
* ``improvement …`` when a change point in the good direction began after the baseline was learned
  and its regime has ``min_nights`` nights;
* ``regression … accepted after N nights`` when a regression has lasted
  ``accept_regression_after`` nights (``None``: never; the regression keeps showing as such).

Inputs are the long nightly frame (see :mod:`.trends`), the open change points and the current
baselines; all computed with polars over every series at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from warehouse.analytics.metrics import METRICS, SERIES_KEYS

KEYS = list(SERIES_KEYS)

BASELINE_SCHEMA = {
    **{k: pl.String for k in KEYS}, "version": pl.Int32, "center": pl.Float64, "spread": pl.Float64,
    "band_lower": pl.Float64, "band_upper": pl.Float64, "nights": pl.Int32, "first_run_id": pl.String,
    "last_run_id": pl.String, "valid_from": pl.Datetime("us", "UTC"), "valid_to": pl.Datetime("us", "UTC"),
    "reason": pl.String, "created_at": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class BaselinePolicy:
    nights: int = 30                        #: learn from at most this many nights of the regime
    min_nights: int = 5                     #: nights a regime needs before it is learned
    band_sigma: float = 3.0                 #: half-width of the variance band, in spreads
    min_spread_rel: float = 0.005           #: spread floor, relative to the center
    accept_regression_after: int | None = 14


def empty_baselines() -> pl.DataFrame:
    return pl.DataFrame(schema=BASELINE_SCHEMA)


def _regime_starts(change_points: pl.DataFrame | None) -> pl.DataFrame:
    """Per series: the night the newest regime began (and the one before), with its change point."""
    schema = {**{k: pl.String for k in KEYS}, "start": pl.Datetime("us", "UTC"),
              "prev_start": pl.Datetime("us", "UTC"), "cp_direction": pl.String, "cp_rel": pl.Float64,
              "cp_run": pl.String}
    if change_points is None or change_points.is_empty():
        return pl.DataFrame(schema=schema)
    cps = change_points
    if "status" in cps.columns:
        cps = cps.filter(pl.col("status") == "open")
    return (cps.sort("night").group_by(KEYS, maintain_order=True)
            .agg(start=pl.col("night").last(), prev_start=pl.col("night").slice(-2, 1).first(),
                 cp_direction=pl.col("direction").last(), cp_rel=pl.col("rel_change").last(),
                 cp_run=pl.col("run_id").last())
            .with_columns(pl.col("prev_start").cast(pl.Datetime("us", "UTC")),
                          pl.col("start").cast(pl.Datetime("us", "UTC")))
            .select(list(schema)))


def _learn(n: int, prefix: str) -> list[pl.Expr]:
    v = pl.col("value").tail(n)
    return [v.median().alias(f"{prefix}center"),
            ((v - v.median()).abs().median() * 1.4826).alias(f"{prefix}mad"),
            pl.len().alias(f"{prefix}count"),
            pl.col("run_id").tail(n).first().alias(f"{prefix}first"),
            pl.col("run_id").last().alias(f"{prefix}last")]


def update_baselines(nightly: pl.DataFrame, change_points: pl.DataFrame | None, current: pl.DataFrame | None,
                     policy: BaselinePolicy = BaselinePolicy(), now: datetime | None = None
                     ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(new versions to insert, current versions to close) for every series of ``nightly``.

    ``current`` holds the series' current baselines (``valid_to`` null). The closed rows come back
    with ``valid_to`` set; the new rows have ``valid_to`` null.
    """
    now = now or datetime.now().astimezone()
    if nightly.is_empty():
        return empty_baselines(), empty_baselines()
    starts = _regime_starts(change_points)
    # every decision needs at most the last `horizon` nights of a series (regime lengths are only
    # compared with thresholds up to it), so the joins below see those rows only
    horizon = max(2 * policy.nights, policy.accept_regression_after or 0, policy.nights + policy.min_nights) + 1
    data = (nightly.filter(pl.col("value").is_finite()).sort("night").group_by(KEYS, maintain_order=True)
            .tail(horizon).join(starts, on=KEYS, how="left"))
    in_regime = pl.col("start").is_null() | (pl.col("night") >= pl.col("start"))
    in_previous = (pl.col("night") < pl.col("start")) & (
        pl.col("prev_start").is_null() | (pl.col("night") >= pl.col("prev_start")))
    regime = data.filter(in_regime).group_by(KEYS).agg(*_learn(policy.nights, "r_"))
    previous = data.filter(pl.col("start").is_not_null() & in_previous).group_by(KEYS).agg(
        *_learn(policy.nights, "p_"))
    info = starts.select(*KEYS, "start", "cp_direction", "cp_rel", "cp_run")
    cur = (current if current is not None and not current.is_empty() else empty_baselines())
    cur = cur.filter(pl.col("valid_to").is_null()).select(
        *KEYS, pl.col("version").alias("c_version"), pl.col("nights").alias("c_nights"),
        pl.col("valid_from").alias("c_from"), pl.col("last_run_id").alias("c_last"))
    # the night the current baseline was learned up to: its last run's night
    run_nights = nightly.select(pl.col("run_id").alias("c_last"), pl.col("night").alias("c_learned")).unique("c_last")
    frame = (regime.join(previous, on=KEYS, how="left").join(info, on=KEYS, how="left")
             .join(cur, on=KEYS, how="left").join(run_nights, on="c_last", how="left"))

    has = pl.col("c_version").is_not_null()
    regime_ok = pl.col("r_count") >= policy.min_nights
    new_regime = has & pl.col("start").is_not_null() & (
        pl.col("c_learned").is_null() | (pl.col("start") > pl.col("c_learned")))
    accept = policy.accept_regression_after
    pct = (pl.col("cp_rel") * 100).round(1).cast(pl.String)
    since = pl.col("start").dt.strftime("%Y-%m-%d")
    run8 = pl.col("cp_run").str.slice(0, 8)
    action = (
        pl.when(~has & regime_ok).then(pl.lit("established"))
        .when(~has & pl.col("p_count").is_not_null() & (pl.col("p_count") >= policy.min_nights))
        .then(pl.lit("established (from the regime before the newest change)"))
        .when(new_regime & (pl.col("cp_direction") == "improvement") & regime_ok)
        .then(pl.concat_str(pl.lit("improvement of "), pct, pl.lit("% since "), since, pl.lit(" (run "), run8,
                            pl.lit(")")))
        .when(new_regime & (pl.col("cp_direction") == "regression") & pl.lit(accept is not None)
              & (pl.col("r_count") >= (accept or 0)))
        .then(pl.concat_str(pl.lit("regression of +"), pct, pl.lit("% since "), since, pl.lit(" (run "), run8,
                            pl.lit(f") accepted after {accept} nights")))
        .when(has & ~new_regime & (pl.col("c_nights") < policy.nights)
              & (pl.col("r_count") >= 2 * pl.col("c_nights")))
        .then(pl.concat_str(pl.lit("refined with "),
                            pl.min_horizontal(pl.col("r_count"), pl.lit(policy.nights)).cast(pl.String),
                            pl.lit(" nights")))
    )
    frame = frame.with_columns(reason=action).filter(pl.col("reason").is_not_null())
    from_previous = pl.col("reason").str.contains("regime before")
    center = pl.when(from_previous).then(pl.col("p_center")).otherwise(pl.col("r_center"))
    mad = pl.when(from_previous).then(pl.col("p_mad")).otherwise(pl.col("r_mad"))
    count = pl.when(from_previous).then(pl.col("p_count")).otherwise(pl.col("r_count"))
    spread = pl.max_horizontal(mad, center.abs() * policy.min_spread_rel)
    stamp = pl.lit(now, dtype=pl.Datetime("us", "UTC"))
    new = frame.select(
        *KEYS, version=(pl.col("c_version").fill_null(0) + 1).cast(pl.Int32), center=center, spread=spread,
        band_lower=center - policy.band_sigma * spread, band_upper=center + policy.band_sigma * spread,
        nights=pl.min_horizontal(count, pl.lit(policy.nights)).cast(pl.Int32),
        first_run_id=pl.when(from_previous).then(pl.col("p_first")).otherwise(pl.col("r_first")),
        last_run_id=pl.when(from_previous).then(pl.col("p_last")).otherwise(pl.col("r_last")),
        valid_from=stamp, valid_to=pl.lit(None, dtype=pl.Datetime("us", "UTC")), reason=pl.col("reason"),
        created_at=stamp)
    closing = frame.filter(pl.col("c_version").is_not_null()).select(*KEYS, version=pl.col("c_version"))
    closed = (current.join(closing, on=[*KEYS, "version"], how="inner").with_columns(valid_to=stamp)
              if current is not None and not current.is_empty() and not closing.is_empty()
              else empty_baselines())
    return new.cast(BASELINE_SCHEMA), closed.select(list(BASELINE_SCHEMA)).cast(BASELINE_SCHEMA)


def compare(latest: pl.DataFrame, baselines: pl.DataFrame, *, min_rel_change: float = 0.03) -> pl.DataFrame:
    """The latest night of each series against its current baseline.

    ``latest`` has the series keys plus ``run_id``, ``night`` and ``value``. ``status`` is
    ``regressed`` / ``improved`` when the value is outside the band in the bad / good direction and at
    least ``min_rel_change`` (and the metric's absolute floor) away from the center, else ``within``;
    ``no-baseline`` when the series has none yet. ``z`` is the deviation in spreads.
    """
    cur = baselines.filter(pl.col("valid_to").is_null()).select(
        *KEYS, "version", "center", "spread", "band_lower", "band_upper")
    out = latest.join(cur, on=KEYS, how="left")
    sign = pl.col("metric").replace_strict({m: METRICS[m].sign for m in METRICS}, default=1, return_dtype=pl.Int8)
    floor = pl.col("metric").replace_strict({m: METRICS[m].min_abs_change for m in METRICS}, default=0.0,
                                            return_dtype=pl.Float64)
    dev = pl.col("value") - pl.col("center")
    rel = pl.when(pl.col("center") != 0).then(dev / pl.col("center").abs())
    big = (rel.abs().fill_null(float("inf")) >= min_rel_change) & (dev.abs() >= floor)
    outside_bad = pl.when(sign > 0).then(pl.col("value") > pl.col("band_upper")).otherwise(
        pl.col("value") < pl.col("band_lower"))
    outside_good = pl.when(sign > 0).then(pl.col("value") < pl.col("band_lower")).otherwise(
        pl.col("value") > pl.col("band_upper"))
    return out.with_columns(
        deviation=dev, rel_change=rel,
        z=pl.when(pl.col("spread") > 0).then(dev / pl.col("spread")),
        status=pl.when(pl.col("center").is_null()).then(pl.lit("no-baseline"))
        .when(outside_bad & big).then(pl.lit("regressed"))
        .when(outside_good & big).then(pl.lit("improved"))
        .otherwise(pl.lit("within")))
