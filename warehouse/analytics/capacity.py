"""Capacity planning from stress and breakpoint runs: the Universal Scalability Law.

Gunther's USL (Gunther, *Guerrilla Capacity Planning*, Springer 2007) models throughput at
concurrency N as

    X(N) = λ·N / (1 + σ·(N − 1) + κ·N·(N − 1))

with λ the throughput of one user, σ contention (serialisation) and κ coherency (crosstalk).
Throughput peaks at N* = √((1 − σ)/κ). The fit starts from the linear least squares of the
quadratic N/X(N) = ((1 − σ) + (σ − κ)·N + κ·N²)/λ and is refined by Levenberg–Marquardt
(Marquardt 1963) on the throughput itself, within σ ∈ [0, 1], κ ≥ 0, λ > 0; the standard errors
come from the Jacobian at the optimum. Numpy only (scipy is not a runtime dependency).

The load at which the SLO breaks is read from the data when a load level crossed it (``observed``);
otherwise from the model and Little's law, R(N) = N / X(N) − Z (``usl``, Z the think time), which
gives a *mean* response time and is only as good as the fit.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl


class CapacityError(ValueError):
    """Too few distinct load levels to fit the model."""


@dataclass
class USLFit:
    lam: float
    sigma: float
    kappa: float
    lam_se: float | None
    sigma_se: float | None
    kappa_se: float | None
    r_squared: float
    rmse: float
    mape: float
    points: int

    def throughput(self, n: np.ndarray | float) -> np.ndarray | float:
        n = np.asarray(n, dtype=float)
        return self.lam * n / (1 + self.sigma * (n - 1) + self.kappa * n * (n - 1))

    @property
    def peak_concurrency(self) -> float:
        """N*; infinite when κ = 0 (throughput then levels off at λ/σ)."""
        return math.sqrt(max(1 - self.sigma, 0.0) / self.kappa) if self.kappa > 0 else math.inf

    @property
    def peak_throughput(self) -> float:
        n = self.peak_concurrency
        if math.isinf(n):
            return self.lam / self.sigma if self.sigma > 0 else math.inf
        return float(self.throughput(n))

    def concurrency_at(self, response_s: float, think_s: float = 0.0) -> float | None:
        """The concurrency where the mean response time N/X(N) − Z reaches ``response_s``: the
        positive root of κN² + (σ − κ)N + (1 − σ) − λ(R + Z) = 0 (None if never, or already at N = 1)."""
        c = (1 - self.sigma) - self.lam * (response_s + think_s)
        a, b = self.kappa, self.sigma - self.kappa
        if c >= 0:
            return None if self.response_time_s(1.0, think_s) < response_s else 1.0
        if a > 0:
            return float((-b + math.sqrt(b * b - 4 * a * c)) / (2 * a))
        return float(-c / b) if b > 0 else None

    def response_time_s(self, n: np.ndarray | float, think_s: float = 0.0) -> np.ndarray | float:
        """Mean response time by Little's law: N / X(N) − Z."""
        n = np.asarray(n, dtype=float)
        return n / self.throughput(n) - think_s


def _model(p: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lam, sigma, kappa = p
    d = 1 + sigma * (n - 1) + kappa * n * (n - 1)
    x = lam * n / d
    jac = np.column_stack([n / d, -lam * n * (n - 1) / d ** 2, -lam * n * n * (n - 1) / d ** 2])
    return x, jac


def _project(p: np.ndarray) -> np.ndarray:
    return np.array([max(p[0], 1e-12), min(max(p[1], 0.0), 1.0), max(p[2], 0.0)])


def _initial(n: np.ndarray, x: np.ndarray) -> np.ndarray:
    a, b, c = np.linalg.lstsq(np.column_stack([np.ones_like(n), n, n * n]), n / x, rcond=None)[0]
    total = a + b + c
    lam = 1 / total if total > 0 else float(np.max(x / n))
    kappa = max(c * lam, 0.0)
    sigma = min(max(b * lam + kappa, 0.0), 1.0)
    return _project(np.array([lam, sigma, kappa]))


def fit_usl(concurrency: np.ndarray | list[float], throughput: np.ndarray | list[float],
            max_iter: int = 200) -> USLFit:
    """Least-squares USL fit of throughput against concurrency (at least 3 distinct levels)."""
    n = np.asarray(concurrency, dtype=float)
    x = np.asarray(throughput, dtype=float)
    keep = np.isfinite(n) & np.isfinite(x) & (n > 0) & (x > 0)
    n, x = n[keep], x[keep]
    if len(np.unique(n)) < 3:
        raise CapacityError(f"need throughput at 3 or more concurrency levels, got {len(np.unique(n))}")
    p = _initial(n, x)
    f, jac = _model(p, n)
    sse = float(np.sum((x - f) ** 2))
    mu = 1e-3
    for _ in range(max_iter):
        jtj = jac.T @ jac
        g = jac.T @ (x - f)
        try:
            step = np.linalg.solve(jtj + mu * np.diag(np.maximum(np.diag(jtj), 1e-12)), g)
        except np.linalg.LinAlgError:
            break
        trial = _project(p + step)
        f_t, jac_t = _model(trial, n)
        sse_t = float(np.sum((x - f_t) ** 2))
        if sse_t < sse:
            converged = sse - sse_t <= 1e-12 * max(sse, 1e-300)
            p, f, jac, sse, mu = trial, f_t, jac_t, sse_t, max(mu / 3, 1e-12)
            if converged:
                break
        else:
            mu *= 4
            if mu > 1e12:
                break
    dof = len(n) - 3
    ses: list[float | None] = [None, None, None]
    if dof > 0:
        try:
            cov = np.linalg.inv(jac.T @ jac) * (sse / dof)
            ses = [float(math.sqrt(v)) if v >= 0 else None for v in np.diag(cov)]
        except np.linalg.LinAlgError:
            pass
    sst = float(np.sum((x - x.mean()) ** 2))
    return USLFit(lam=float(p[0]), sigma=float(p[1]), kappa=float(p[2]), lam_se=ses[0], sigma_se=ses[1],
                  kappa_se=ses[2], r_squared=1 - sse / sst if sst > 0 else 1.0,
                  rmse=math.sqrt(sse / len(n)), mape=float(np.mean(np.abs(x - f) / x)), points=len(n))


def load_levels(timeseries: pl.DataFrame, max_levels: int = 25) -> pl.DataFrame:
    """Per-second rows of one run (``load_timeseries``, merged shard, one endpoint) grouped into load
    levels: ``concurrency`` (VUs when they vary, else the requests in flight: Little's N), median
    ``throughput`` (rps), median ``p95_ms``, ``error_rate`` and ``seconds``."""
    ts = timeseries.filter(pl.col("rps").is_not_null() & (pl.col("rps") > 0))
    if ts.is_empty():
        return pl.DataFrame(schema={"concurrency": pl.Float64, "throughput": pl.Float64, "p95_ms": pl.Float64,
                                    "error_rate": pl.Float64, "seconds": pl.UInt32})
    use_vus = "vus" in ts.columns and ts["vus"].drop_nulls().n_unique() > 2
    source = "vus" if use_vus else "in_flight"
    ts = ts.filter(pl.col(source).is_not_null() & (pl.col(source) > 0))
    values = ts[source].cast(pl.Float64)
    distinct = values.n_unique()
    if distinct > max_levels:
        lo, hi = float(values.min()), float(values.max())
        edges = np.geomspace(max(lo, 1e-9), hi, max_levels + 1) if lo > 0 else np.linspace(lo, hi, max_levels + 1)
        bins = np.clip(np.searchsorted(edges, values.to_numpy(), side="right") - 1, 0, max_levels - 1)
        ts = ts.with_columns(level=pl.Series(bins))
    else:
        ts = ts.with_columns(level=pl.col(source))
    return (ts.group_by("level").agg(
        concurrency=pl.col(source).cast(pl.Float64).median(), throughput=pl.col("rps").median(),
        p95_ms=pl.col("p95_ms").median(),
        error_rate=pl.col("errors").sum() / pl.col("requests").sum().clip(1), seconds=pl.len())
        .drop("level").sort("concurrency"))


@dataclass
class CapacityEstimate:
    fit: USLFit
    slo_metric: str
    slo_limit_ms: float | None
    slo_break_concurrency: float | None
    slo_break_throughput: float | None
    slo_break_source: str | None
    levels: list[dict[str, Any]] = field(default_factory=list)

    def to_row(self) -> dict[str, Any]:
        f = self.fit
        finite = (lambda v: v if v is not None and math.isfinite(v) else None)
        return {"points": f.points, "usl_lambda": f.lam, "usl_sigma": f.sigma, "usl_kappa": f.kappa,
                "usl_lambda_se": f.lam_se, "usl_sigma_se": f.sigma_se, "usl_kappa_se": f.kappa_se,
                "r_squared": f.r_squared, "rmse": f.rmse, "mape": f.mape,
                "peak_concurrency": finite(f.peak_concurrency), "peak_throughput": finite(f.peak_throughput),
                "slo_metric": self.slo_metric, "slo_limit_ms": self.slo_limit_ms,
                "slo_break_concurrency": self.slo_break_concurrency,
                "slo_break_throughput": self.slo_break_throughput, "slo_break_source": self.slo_break_source,
                "detail": {"levels": self.levels, "fit": asdict(f)}}


def estimate(levels: pl.DataFrame, *, slo_p95_ms: float | None = None, slo_mean_ms: float | None = None,
             think_s: float = 0.0) -> CapacityEstimate:
    """Fit the USL to load levels and find where the SLO breaks (observed p95 first, else the model's
    mean response time against ``slo_mean_ms``)."""
    fit = fit_usl(levels["concurrency"].to_numpy(), levels["throughput"].to_numpy())
    rows = levels.sort("concurrency").to_dicts()
    source = n_break = x_break = None
    if slo_p95_ms is not None:
        crossed = [r for r in rows if r.get("p95_ms") is not None and r["p95_ms"] > slo_p95_ms]
        if crossed:
            source, n_break, x_break = "observed", crossed[0]["concurrency"], crossed[0]["throughput"]
    if source is None and slo_mean_ms is not None:
        n_break = fit.concurrency_at(slo_mean_ms / 1000, think_s)
        if n_break is not None:
            source, x_break = "usl", float(fit.throughput(n_break))
    metric = "p95_ms" if source == "observed" or (source is None and slo_p95_ms is not None) else "mean_ms"
    limit = slo_p95_ms if metric == "p95_ms" else slo_mean_ms
    return CapacityEstimate(fit, metric, limit, n_break, x_break, source, rows)
