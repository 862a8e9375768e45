"""Change points in a nightly series: where a new performance regime begins.

A pure function from a list of floats (one per night) to the sorted indices where a new regime
begins. It imports only numpy and sees no database and no clock.

Method
------
**Binary segmentation** (Vostrikova 1981) with a max-t scan (Worsley 1979, see :mod:`.maxt`), then
the **merge step of Hunter** (Fleming et al., "Hunter: Using Change Point Detection to Hunt for
Performance Regressions", ICPE 2023, https://doi.org/10.1145/3578244.3583719; the algorithm behind
Apache Otava), applied to a cleaned series:

1. *Scale.* A positive series is analysed as log values, so noise and drift proportional to the
   level (latency, throughput) become additive and a 5 % step is the same size at 20 ms and at 2 s.
2. *Seasonality.* A weekly (``period``) profile is estimated from the residuals around a rolling
   median one period wide (robust to steps and outliers) and removed **only if** a one-way ANOVA of
   the phases is significant (F above the 0.1 % point of F(6, ∞)).
3. *Outliers.* Values are winsorised at ``winsor`` robust standard deviations (1.4826·MAD) around a
   centred 5-night rolling median (Huber 1964). A 5-night median follows a step exactly, so a step
   survives while one or two wild nights are pulled back. At most ~10 % of nights are clipped: the
   minority of a bimodal machine population is noise, not outliers.
4. *Candidates.* Binary segmentation: split where the max-t scan is largest, recurse on both halves
   while it is significant at the lenient ``split_alpha`` (Hunter's "weak" change points). The
   pooled within-segment variance contains the spread of a bimodal population, so two machines are
   not two regimes; the null of the scan is calibrated, so ``alpha`` means the same at any length.
5. *Merge.* Every candidate is re-tested between its neighbours (at most ``window`` nights each
   side); the weakest failing one is removed and the others re-tested until all pass, then each is
   re-located at the best split between its neighbours (repeated until stable). A candidate passes
   when it is significant at ``alpha`` **and** the shift is at least ``min_rel_change`` of the level
   before it (and ``min_abs_change`` in the series' units): tiny shifts never alarm.
6. *Slow drift.* A drifting series segmented into regimes looks like a staircase. When one slope
   shared by fewer regimes explains the series better by BIC (Schwarz 1978; the weakest regimes
   removed greedily along the whole backward path), the slope is removed and the series segmented
   again. Locally, a candidate whose window a straight line fits at least as well as a step is kept
   only if its jump beyond the trend (level + slope + jump, least squares) is itself significant.

``min_segment`` nights are needed on each side of a change, so one night (an outlier) can never be
a regime, and a new regime at the end of the series is reported once it has lasted ``min_segment``
nights with enough evidence. ``python -m bench.analytics_changepoints`` scores this detector against
Apache Otava's E-divisive means on generated series with known steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from warehouse.analytics.maxt import pvalue, scan_rows, threshold
from warehouse.analytics.segmentation import Local, find

__all__ = ["ChangePoint", "DetectorConfig", "change_points", "detect", "detect_many"]


@dataclass(frozen=True)
class DetectorConfig:
    """Tuning of :func:`detect` (defaults tuned with ``python -m bench.analytics_changepoints``)."""

    min_segment: int = 3          #: nights needed on each side of a change
    alpha: float = 0.003          #: significance of a kept change (max-t scan, calibrated)
    split_alpha: float = 0.1      #: significance of a candidate in the first pass
    min_rel_change: float = 0.03  #: smallest shift kept, relative to the level before it
    min_abs_change: float = 0.0   #: smallest shift kept, in the series' units (e.g. 0.002 for error rates)
    window: int = 60              #: nights each side used to re-test a candidate
    period: int | None = 7        #: seasonality removed when significant (None: never)
    winsor: float = 3.0           #: robust standard deviations at which values are clipped
    log_scale: bool | None = None  #: analyse log values (None: when every value is positive)
    drift: bool = True            #: model slow drift (global BIC check and local line-vs-step check)
    screen_alpha: float | None = None  #: first scan below this: no change (None: split_alpha, the exact screen)


DEFAULT = DetectorConfig()

#: never clip more than this share of nights (quantile of |residual|)
CLIP_QUANTILE = 0.9
#: F statistic above which a weekly profile is removed (F(6, ∞) 0.1 % point is 3.74)
SEASON_F = 4.0


@dataclass(frozen=True)
class ChangePoint:
    """One change: the night the new regime begins and how it differs from the one before."""

    index: int            #: position in the input list of the first night of the new regime
    before: float         #: level before (mean of cleaned values, ≤ ``window`` nights; geometric for logs)
    after: float          #: level after
    abs_change: float     #: after − before (beyond the trend when drift was modelled)
    rel_change: float     #: abs_change / |before| (±inf when before is 0)
    t_stat: float         #: two-sample t of the cleaned values around the change
    p_value: float        #: p-value of ``t_stat`` under the max-t null for the window's length
    drift: bool = False   #: a trend was modelled around this change

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- cleaning (rows × nights, so one series and a batch share the code) ------------------------------

def _rolling_median(x: np.ndarray, k: int) -> np.ndarray:
    """Centred rolling median of odd width ``k`` along the rows, the ends mirrored (so a last-night
    outlier is judged against the nights before it, not against copies of itself)."""
    h = k // 2
    padded = np.pad(x, ((0, 0), (h, h)), mode="reflect")
    return np.partition(sliding_window_view(padded, k, axis=1), h, axis=2)[:, :, h]  # odd k: the middle one


def _robust_scale(r: np.ndarray) -> np.ndarray:
    """1.4826·MAD per row (falling back to the mean absolute deviation when the MAD is 0)."""
    dev = np.abs(r - np.median(r, axis=1, keepdims=True))
    mad = 1.4826 * np.median(dev, axis=1)
    return np.where(mad > 0, mad, 1.2533 * dev.mean(axis=1))


def _deseasonalize(x: np.ndarray, phase: np.ndarray, period: int) -> np.ndarray:
    rows, n = x.shape
    if period < 2 or n < 3 * period:
        return x
    counts = np.bincount(phase, minlength=period).astype(float)
    if (counts < 2).any():
        return x
    r = x - _rolling_median(x, period if period % 2 else period + 1)
    s = _robust_scale(r)[:, None]
    rc = np.clip(r, -4 * s, 4 * s)
    onehot = np.zeros((n, period))
    onehot[np.arange(n), phase] = 1.0
    means = (rc @ onehot) / counts
    grand = rc.mean(axis=1, keepdims=True)
    between = ((means - grand) ** 2 @ counts) / (period - 1)
    within = np.sum((rc - means[:, phase]) ** 2, axis=1) / (n - period)
    seasonal = (within > 0) & (between > SEASON_F * within)
    if not seasonal.any():
        return x
    rows = np.flatnonzero(seasonal)
    profile = np.column_stack([np.median(r[rows][:, phase == p], axis=1) for p in range(period)])
    profile -= profile.mean(axis=1, keepdims=True)
    out = x.copy()
    out[rows] -= profile[:, phase]
    return out


def _winsorize(x: np.ndarray, c: float) -> np.ndarray:
    if x.shape[1] < 5 or c <= 0:
        return x
    level = _rolling_median(x, 5)
    r = x - level
    s = _robust_scale(r)
    limit = np.maximum(c * s, np.quantile(np.abs(r), CLIP_QUANTILE, axis=1))[:, None]
    return np.where(limit > 0, level + np.clip(r, -limit, limit), x)


def _clean(x: np.ndarray, phase: np.ndarray | None, cfg: DetectorConfig) -> tuple[np.ndarray, np.ndarray]:
    """(cleaned rows, whether each row is in logs) for rows of finite values."""
    if cfg.log_scale is None:
        log = np.all(x > 0, axis=1)
    else:
        log = np.full(x.shape[0], bool(cfg.log_scale))
    y = np.where(log[:, None], np.log(np.where(log[:, None], x, 1.0)), x)
    if phase is not None and cfg.period and cfg.period > 1:
        y = _deseasonalize(y, phase, cfg.period)
    return _winsorize(y, cfg.winsor), log


def _screen(cfg: DetectorConfig) -> float:
    return cfg.screen_alpha if cfg.screen_alpha is not None else max(cfg.split_alpha, cfg.alpha)


def _to_points(found: list[tuple[int, Local]], positions: np.ndarray) -> list[ChangePoint]:
    return [ChangePoint(index=int(positions[cp]), before=r.before, after=r.after, abs_change=r.jump,
                        rel_change=r.rel, t_stat=r.t, p_value=pvalue(r.t, r.n), drift=r.drift)
            for cp, r in found]


# -- public API ---------------------------------------------------------------------------------------

def _phase(positions: np.ndarray, season: Sequence[int] | None, cfg: DetectorConfig) -> np.ndarray | None:
    if not cfg.period or cfg.period < 2:
        return None
    if season is not None:
        return np.asarray(season, dtype=np.int64)[positions] % cfg.period
    return positions % cfg.period


def detect(values: Sequence[float | None], *, season: Sequence[int] | None = None,
           config: DetectorConfig = DEFAULT) -> list[ChangePoint]:
    """Change points of a nightly series, with their levels, magnitude and significance.

    ``values`` may hold ``None``/NaN for missing nights (skipped; indices still refer to ``values``).
    ``season`` gives each night's phase (e.g. its weekday) when nights are not consecutive; by
    default the phase is the position modulo ``config.period``.
    """
    raw = np.array([np.nan if v is None else v for v in values], dtype=float)
    positions = np.flatnonzero(np.isfinite(raw))
    x = raw[positions]
    m = max(int(config.min_segment), 1)
    if len(x) < max(2 * m, 6) or float(np.ptp(x)) == 0.0:
        return []
    cleaned, log = _clean(x[None, :], _phase(positions, season, config), config)
    return _to_points(find(cleaned[0], config, bool(log[0])), positions)


def detect_many(series: np.ndarray, *, season: Sequence[int] | None = None,
                config: DetectorConfig = DEFAULT) -> list[list[ChangePoint]]:
    """:func:`detect` for every row of ``series`` (rows × nights; NaN for a missing night), with the
    cleaning and the first scan vectorised over the rows: most series have no change, and are done
    there. Gives exactly what :func:`detect` gives row by row."""
    x = np.asarray(series, dtype=float)
    rows, n = x.shape
    out: list[list[ChangePoint]] = [[] for _ in range(rows)]
    m = max(int(config.min_segment), 1)
    complete = np.all(np.isfinite(x), axis=1)
    for i in np.flatnonzero(~complete):
        out[i] = detect(x[i].tolist(), season=season, config=config)
    idx = np.flatnonzero(complete & (np.ptp(np.where(np.isfinite(x), x, 0.0), axis=1) > 0))
    if n < max(2 * m, 6) or not len(idx):
        return out
    positions = np.arange(n)
    cleaned, log = _clean(x[idx], _phase(positions, season, config), config)
    _, t = scan_rows(cleaned, m)
    candidates = np.abs(t) >= threshold(_screen(config), n)
    for j in np.flatnonzero(candidates):
        if float(np.ptp(cleaned[j])) > 0:
            out[idx[j]] = _to_points(find(cleaned[j], config, bool(log[j])), positions)
    return out


def change_points(values: Sequence[float | None], **options: Any) -> list[int]:
    """Sorted indices of ``values`` (one per night) where a new regime begins.

    Keyword options are :class:`DetectorConfig` fields (e.g. ``min_rel_change=0.05``), ``config``
    or ``season``.
    """
    season = options.pop("season", None)
    config = options.pop("config", None) or (DetectorConfig(**options) if options else DEFAULT)
    return [cp.index for cp in detect(values, season=season, config=config)]
