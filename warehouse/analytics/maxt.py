"""The max-t scan for one change in mean, and its null distribution.

For a series x₀…xₙ₋₁ and every split t with at least ``m`` values on each side, the two-sample
t statistic with pooled variance compares x[:t] with x[t:]; the scan returns the split where |t| is
largest. This is the likelihood-ratio statistic for one change in a Gaussian mean with unknown
variance (Worsley, "On the likelihood ratio test for a shift in location of normal populations",
JASA 1979). Its maximum over splits does not follow Student's t: the null quantiles below were
simulated (i.i.d. Gaussian series, seed 20240611; 4·10⁵ series per length up to n = 65, 2·10⁵ up to
200, 10⁵ beyond) with ``m = 3``. A larger ``m`` scans fewer splits, so they are conservative for it.

Numpy only; ``scan_rows`` scans many series of one length at once.
"""

from __future__ import annotations

import math

import numpy as np

#: n → quantiles 0.5, 0.9, 0.99, 0.999 of max_{3≤t≤n-3} |t| under the null
NULL_QUANTILES: tuple[tuple[int, float, float, float, float], ...] = (
    (6, 0.740, 2.129, 4.584, 8.499), (7, 1.037, 2.457, 4.756, 8.028), (8, 1.205, 2.585, 4.663, 7.239),
    (9, 1.315, 2.641, 4.528, 6.759), (10, 1.393, 2.676, 4.456, 6.480), (12, 1.501, 2.710, 4.262, 5.970),
    (14, 1.575, 2.716, 4.142, 5.556), (16, 1.626, 2.722, 4.032, 5.301), (20, 1.697, 2.737, 3.934, 5.048),
    (25, 1.755, 2.746, 3.834, 4.846), (30, 1.797, 2.756, 3.799, 4.716), (40, 1.855, 2.771, 3.749, 4.594),
    (50, 1.896, 2.790, 3.710, 4.510), (65, 1.937, 2.802, 3.691, 4.462), (80, 1.968, 2.814, 3.676, 4.400),
    (100, 2.005, 2.839, 3.685, 4.380), (130, 2.034, 2.857, 3.680, 4.360), (160, 2.066, 2.879, 3.684, 4.355),
    (200, 2.088, 2.891, 3.687, 4.352), (260, 2.122, 2.913, 3.690, 4.352), (365, 2.158, 2.945, 3.714, 4.355),
    (500, 2.188, 2.968, 3.731, 4.360), (730, 2.222, 2.992, 3.748, 4.364), (1000, 2.252, 3.011, 3.772, 4.379),
)
_LOG_N = np.log([r[0] for r in NULL_QUANTILES])
_T = np.array([r[1:] for r in NULL_QUANTILES])
_LOG10P = np.array([math.log10(0.5), -1.0, -2.0, -3.0])


def _quantiles(n: int) -> np.ndarray:
    ln = math.log(max(n, 6))
    return np.array([np.interp(ln, _LOG_N, _T[:, j]) for j in range(_T.shape[1])])


def _tail_slope(q: np.ndarray) -> float:
    """d log10(p) / d t² beyond the 0.1 % point (a Gaussian-like tail)."""
    return float((_LOG10P[-1] - _LOG10P[-2]) / (q[-1] ** 2 - q[-2] ** 2))


def pvalue(t: float, n: int) -> float:
    """p-value of a max-t statistic ``|t|`` over ``n`` values (interpolated in the table, then the
    Gaussian tail extrapolated: log p linear in t²)."""
    q = _quantiles(n)
    t = abs(t)
    if t <= q[-1]:
        return float(10 ** np.interp(t, q, _LOG10P, left=0.0))
    return float(max(10 ** (_LOG10P[-1] + _tail_slope(q) * (t * t - q[-1] ** 2)), 1e-300))


_THRESHOLDS: dict[tuple[float, int], float] = {}


def threshold(alpha: float, n: int) -> float:
    """The |t| a max-t scan over ``n`` values exceeds with probability ``alpha`` under the null."""
    key = (alpha, n)
    found = _THRESHOLDS.get(key)
    if found is None:
        q = _quantiles(n)
        target = math.log10(alpha)
        if target >= _LOG10P[-1]:
            found = float(np.interp(-target, -_LOG10P, q))
        else:
            found = math.sqrt(q[-1] ** 2 + (target - _LOG10P[-1]) / _tail_slope(q))
        _THRESHOLDS[key] = found
    return found


def scan_rows(x: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``x`` (shape rows × n): the split maximising |t| and that t."""
    rows, n = x.shape
    y = x - x.mean(axis=1, keepdims=True)
    c = np.cumsum(y, axis=1)
    c2 = np.cumsum(y * y, axis=1)
    t = np.arange(m, n - m + 1)
    cl, cl2 = c[:, t - 1], c2[:, t - 1]
    ml = cl / t
    mr = (c[:, -1:] - cl) / (n - t)
    ss = (cl2 - t * ml * ml) + (c2[:, -1:] - cl2 - (n - t) * mr * mr)
    sp2 = np.maximum(ss / (n - 2), 1e-300)
    stat = (mr - ml) / np.sqrt(sp2 * (1.0 / t + 1.0 / (n - t)))
    best = np.argmax(np.abs(stat), axis=1)
    return t[best], stat[np.arange(rows), best]


def scan(x: np.ndarray, m: int) -> tuple[int, float]:
    """(split, t): the split (first index of the right part) maximising |t|, ≥ m values each side."""
    split, stat = scan_rows(x[None, :], m)
    return int(split[0]), float(stat[0])


def two_sample_t(left: np.ndarray, right: np.ndarray) -> float:
    """Pooled-variance two-sample t of ``right`` against ``left``."""
    n1, n2 = len(left), len(right)
    ss = float(np.sum((left - left.mean()) ** 2) + np.sum((right - right.mean()) ** 2))
    sp2 = max(ss / (n1 + n2 - 2), 1e-300)
    return float((right.mean() - left.mean()) / math.sqrt(sp2 * (1 / n1 + 1 / n2)))


def simulate(n: int, m: int = 3, reps: int = 100_000, seed: int = 20240611) -> np.ndarray:
    """Quantiles 0.5/0.9/0.99/0.999 of the null max-t for length ``n`` (how the table was made)."""
    rng = np.random.default_rng(seed)
    chunk = max(1000, min(reps, 4_000_000 // n))
    found = np.concatenate([np.abs(scan_rows(rng.standard_normal((chunk, n)), m)[1])
                            for _ in range(max(reps // chunk, 1))])
    return np.quantile(found, [0.5, 0.9, 0.99, 0.999])
