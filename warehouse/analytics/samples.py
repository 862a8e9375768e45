"""Is this night different from that one? Two tests, numpy only, no I/O.

**Within a run** (:func:`within_run`). A load run stores its latency percentiles second by second
(``load_timeseries``). Seconds are not independent samples: a stalled event loop, a GC pause or a
noisy neighbour lasts several seconds, so neighbouring seconds are positively autocorrelated and a
test that counted every second as a sample would be far too sure of itself. So:

1. Seconds with few requests (the partial first and last second, a pause) are dropped: their
   percentiles are mostly noise (:func:`usable`).
2. Values are taken on log scale for latencies and throughput (a slowdown multiplies them).
3. The **integrated autocorrelation time** τ of the per-second series is estimated from both runs:
   the larger of Sokal's windowed sum of autocorrelations (sum up to the first lag M ≥ 5·τ(M);
   A. Sokal, "Monte Carlo methods in statistical mechanics", 1997; the estimator emcee uses) and
   the AR(1) value ``(1+ρ)/(1−ρ)`` from the lag-1 autocorrelation corrected for its small-sample
   bias (``ρ̂ + (1+4ρ̂)/n``, Marriott & Pope 1954). On runs of 15–60 s the windowed sum alone
   underestimates τ badly: the autocorrelations of a mean-centred series sum to −½.
   ``n/τ`` is the series' effective number of samples.
4. Each run is cut into non-overlapping **blocks** of ``max(⌈τ⌉, ⌈n/12⌉)`` seconds (never
   crossing a run), and each block is reduced to its mean: block means are close to independent
   (batch means, e.g. Flegal & Jones, Ann. Statist. 2010). At most 12 blocks a run (a fixed-b
   choice, Kiefer & Vogelsang 2005) keeps long, slowly wandering runs from looking surer than
   they are.
5. A two-sided **Mann–Whitney U** test compares the two runs' block means (exact null distribution
   when the samples are small and have no ties, the normal approximation with tie correction
   otherwise). Its shift estimate is the Hodges–Lehmann median of pairwise differences.

With fewer than ``min_blocks`` blocks on either side the test abstains (``p_value`` None).

How good is it? On simulated AR(1) runs of the same service (``tests/analytics/test_samples.py``)
the false-alarm rate at α = 1 % stays near 1 % for weak autocorrelation (ρ ≤ 0.5, what our
recorded runs show: lag-1 ≈ 0.1–0.4) and rises to 3–8 % for short runs with strong
autocorrelation (15–20 s, ρ ≥ 0.7), against 20–40 % when every second counts as a sample. That
is why it never judges alone: a minimum effect, or the between-nights test, must agree.

**Between nights** (:func:`between_nights`). Two runs of the same build on the same machine differ
by more than their within-run noise says (a different process layout, a busier neighbour): on our
2-core CI machine p95 moved by a factor of 1.7 between two nights of an unchanged service. Given
the earlier nights' values (log scale), a new night is tested with the **prediction** t statistic
``(x − x̄) / (s·√(1 + 1/k))`` against their mean (``vs baseline``), or ``(x − x_prev) / (s·√2)``
against the night before (``vs previous``). With few nights, ``s`` is shrunk towards a prior spread
``s0`` worth ``ν0`` nights, as a weighted mean of **log variances**:
``log s² = (ν0·log s0² + (k−1)·log s_k²) / (ν0 + k − 1)``, with ``ν0 + k − 1`` degrees of freedom,
``log s_k²`` corrected for its bias (``E log s_k² = log σ² + ψ(ν/2) + log(2/ν)``, ν = k − 1: a
chance agreement of two nights must not pull the spread to nothing) and the spread floored at
``s0/20`` (no two nights of a real service agree closer than that).
(The conjugate mean of the variances themselves would let a generous prior outweigh thirty tight
nights for months: a prior of 50 % against nights 2 % apart still gives 21 % after 30 nights; the
log mean gives 3.5 %.) Two nights that happen to agree do not make a third look wildly
significant, and a quiet host's own nights soon replace the prior.

:func:`student_t_sf2` is the two-sided Student t tail for integer degrees of freedom, in closed form
(Abramowitz & Stegun 26.7.3–4), so this module needs no scipy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: Sokal's window constant
SOKAL_C = 5.0
#: at most this many blocks a run (longer runs get longer blocks)
MAX_BLOCKS = 12
#: a second is used when it has at least this many requests and this share of the run's median second
MIN_REQUESTS = 3
MIN_SHARE = 0.25
#: variances below this are taken as this (identical nights; log scale: a 0.1 % spread)
MIN_VARIANCE = 1e-6
#: exact Mann–Whitney distribution up to this many pairs (no ties)
EXACT_PAIRS = 900


@dataclass(frozen=True)
class WithinRun:
    """The within-run test of one series: current run against a reference run (or several)."""

    p_value: float | None        #: two-sided Mann–Whitney p of the block means (None: too few blocks)
    block: int                   #: block length (seconds) from the autocorrelation time
    blocks: tuple[int, int]      #: blocks compared (current, reference)
    tau: float                   #: integrated autocorrelation time (seconds)
    shift: float | None          #: Hodges–Lehmann shift current − reference (log units when on log scale)
    note: str = ""


@dataclass(frozen=True)
class BetweenNights:
    """The new night against earlier nights (log scale for positive metrics)."""

    p_previous: float | None     #: against the night before
    p_reference: float | None    #: against the earlier nights' mean
    spread: float                #: s, shrunk towards the prior (same scale as the values)
    df: int                      #: degrees of freedom of s
    center: float | None         #: mean of the earlier nights (same scale)
    nights: int                  #: earlier nights used


# -- the within-run test -----------------------------------------------------------------------------

def usable(requests: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Seconds worth testing: finite values with at least ``MIN_REQUESTS`` requests and
    ``MIN_SHARE`` of the median second's requests (partial first/last seconds out)."""
    requests = np.asarray(requests, dtype=float)
    values = np.asarray(values, dtype=float)
    ok = np.isfinite(values) & np.isfinite(requests)
    if not ok.any():
        return ok
    floor = max(MIN_REQUESTS, MIN_SHARE * float(np.median(requests[ok])))
    return ok & (requests >= floor)


def autocorrelation_time(series: Sequence[np.ndarray], c: float = SOKAL_C) -> float:
    """Integrated autocorrelation time of one or more runs of the same series (their autocovariances
    pooled, each around its own mean): the larger of Sokal's windowed estimate and the bias-corrected
    AR(1) one (see the module docstring). At least 1."""
    runs = [np.asarray(x, dtype=float) for x in series if len(x) >= 4]
    if not runs:
        return 1.0
    longest = max(len(x) for x in runs)
    cov = np.zeros(longest)
    count = np.zeros(longest)
    for x in runs:
        d = x - x.mean()
        n = len(d)
        f = np.fft.rfft(d, 2 * n)
        acov = np.fft.irfft(f * np.conj(f))[:n]
        cov[:n] += acov
        count[:n] += n  # biased estimator (÷ n): a positive-definite sequence
    if cov[0] <= 0:
        return 1.0
    rho = cov / cov[0]
    tau = 1.0
    for m in range(1, longest):
        tau += 2 * rho[m]
        if m >= c * tau:
            break
    n = float(np.mean([len(x) for x in runs]))
    r1 = float(rho[1]) if longest > 1 else 0.0
    r1 = min(max(r1 + (1 + 4 * r1) / n, 0.0), 0.95)
    return max(1.0, float(tau), (1 + r1) / (1 - r1))


def block_means(x: np.ndarray, block: int) -> np.ndarray:
    """Means of non-overlapping blocks of ``block`` values (a last partial block of at least half a
    block kept, a shorter one dropped)."""
    x = np.asarray(x, dtype=float)
    full = len(x) // block
    out = list(x[: full * block].reshape(full, block).mean(axis=1)) if full else []
    rest = len(x) - full * block
    if rest and rest * 2 >= block:
        out.append(float(x[full * block:].mean()))
    return np.asarray(out, dtype=float)


def within_run(current: np.ndarray, reference: np.ndarray | Sequence[np.ndarray], *, log: bool = True,
               min_blocks: int = 4) -> WithinRun:
    """The current run's per-second values against a reference run's (or several runs', pooled).

    Values must already be the usable seconds (:func:`usable`); ``log`` takes logs (values ≤ 0
    dropped).
    """
    refs = [np.asarray(reference, dtype=float)] if isinstance(reference, np.ndarray) else \
        [np.asarray(r, dtype=float) for r in reference]
    cur = np.asarray(current, dtype=float)
    if log:
        cur = np.log(cur[cur > 0])
        refs = [np.log(r[r > 0]) for r in refs]
    refs = [r for r in refs if len(r)]
    tau = autocorrelation_time([cur, *refs])
    shortest = min([len(cur), *[len(r) for r in refs]]) if refs else len(cur)
    block = int(min(max(math.ceil(tau), math.ceil(shortest / MAX_BLOCKS)), max(1, shortest // min_blocks)))
    a = block_means(cur, block)
    b = np.concatenate([block_means(r, block) for r in refs]) if refs else np.array([])
    if len(a) < min_blocks or len(b) < min_blocks:
        return WithinRun(None, block, (len(a), len(b)), tau, None,
                         f"too few per-second samples ({len(cur)} s against {sum(len(r) for r in refs)} s)")
    return WithinRun(mann_whitney(a, b), block, (len(a), len(b)), tau, hodges_lehmann(a, b))


def hodges_lehmann(a: np.ndarray, b: np.ndarray) -> float:
    """Median of the pairwise differences a_i − b_j."""
    return float(np.median(np.subtract.outer(a, b)))


def _ranks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mid-ranks (1-based) and the sizes of tied groups."""
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    sizes = np.diff(np.r_[starts, len(x)])
    mid = starts + (sizes + 1) / 2.0
    ranks = np.empty(len(x))
    ranks[order] = np.repeat(mid, sizes)
    return ranks, sizes


@lru_cache(maxsize=256)
def _u_distribution(n1: int, n2: int) -> np.ndarray:
    """Counts of each U = 0 … n1·n2 under the null, no ties (the classic recursion)."""
    # f[i][j] = distribution for sizes (i, j); build up over i with j fixed by dynamic programming
    prev = [np.ones(1, dtype=float) for _ in range(n2 + 1)]  # i = 0: U = 0 only
    for i in range(1, n1 + 1):
        cur = [np.ones(1, dtype=float)]  # j = 0
        for j in range(1, n2 + 1):
            size = i * j + 1
            dist = np.zeros(size)
            a = prev[j]               # (i−1, j) shifted by j: the largest value is in sample 1
            dist[j:j + len(a)] += a
            b = cur[j - 1]            # (i, j−1): the largest value is in sample 2
            dist[:len(b)] += b
            cur.append(dist)
        prev = cur
    return prev[n2]


def mann_whitney(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p-value of the Mann–Whitney U test of ``a`` against ``b``."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return 1.0
    ranks, ties = _ranks(np.concatenate([a, b]))
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    if (ties == 1).all() and n1 * n2 <= EXACT_PAIRS:
        dist = _u_distribution(n1, n2)
        total = dist.sum()
        k = int(round(u1))
        lower = dist[: k + 1].sum() / total
        upper = dist[k:].sum() / total
        return float(min(1.0, 2 * min(lower, upper)))
    n = n1 + n2
    mean = n1 * n2 / 2
    var = n1 * n2 / 12 * ((n + 1) - float((ties ** 3 - ties).sum()) / (n * (n - 1)))
    if var <= 0:
        return 1.0
    z = (abs(u1 - mean) - 0.5) / math.sqrt(var)
    return float(min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2))))


# -- between nights ------------------------------------------------------------------------------------

def student_t_sf2(t: float, df: int) -> float:
    """P(|T| ≥ |t|) for Student's t with integer ``df`` ≥ 1 (closed form; large df → normal)."""
    t = abs(float(t))
    if not math.isfinite(t):
        return 0.0
    df = max(int(df), 1)
    if df > 200:
        return math.erfc(t / math.sqrt(2))
    theta = math.atan(t / math.sqrt(df))
    s, c = math.sin(theta), math.cos(theta)
    if df % 2 == 1:
        total, term = 0.0, 1.0  # term_k = cos^(2k−1) · (2·4…(2k−2))/(1·3…(2k−1)) built up
        if df > 1:
            term = c
            total = c
            for k in range(2, (df - 1) // 2 + 1):
                term *= c * c * (2 * k - 2) / (2 * k - 1)
                total += term
        inside = (2 / math.pi) * (theta + (s * total if df > 1 else 0.0))
    else:
        total, term = 1.0, 1.0
        for k in range(1, (df - 2) // 2 + 1):
            term *= c * c * (2 * k - 1) / (2 * k)
            total += term
        inside = s * total
    return float(min(1.0, max(0.0, 1.0 - inside)))


def _digamma_half(n2: int) -> float:
    """ψ(n2/2) for a positive integer n2."""
    euler = 0.5772156649015329
    if n2 % 2 == 0:
        return -euler + sum(1.0 / j for j in range(1, n2 // 2))
    return -euler - 2 * math.log(2) + sum(2.0 / (2 * j - 1) for j in range(1, (n2 - 1) // 2 + 1))


def _log_chi2_bias(nu: int) -> float:
    """E[log s²] − log σ² for a sample variance on ``nu`` degrees of freedom."""
    return _digamma_half(nu) + math.log(2.0 / nu)


def between_nights(value: float, earlier: Sequence[float], *, previous: float | None = None,
                   prior_spread: float, prior_nights: float) -> BetweenNights:
    """``value`` (this night) against ``earlier`` nights and the one before (``previous``), all on
    the scale the caller chose (logs for positive metrics). ``prior_spread`` is s0, ``prior_nights``
    ν0 (see the module docstring)."""
    x = np.asarray([v for v in earlier if v is not None and math.isfinite(v)], dtype=float)
    k = len(x)
    nu = max(k - 1, 0)
    df_f = prior_nights + nu
    if df_f <= 0:
        return BetweenNights(None, None, float("nan"), 0, float(x.mean()) if k else None, k)
    s0_2 = max(prior_spread ** 2, MIN_VARIANCE)
    floor = max(s0_2 / 400, MIN_VARIANCE)
    log_s2 = prior_nights * math.log(s0_2)
    if nu:
        log_s2 += nu * (math.log(max(float(x.var(ddof=1)), floor)) - _log_chi2_bias(nu))
    s = math.sqrt(max(math.exp(log_s2 / df_f), floor))
    df = max(1, int(math.floor(df_f)))
    center = float(x.mean()) if k else None
    p_ref = None
    if k and s > 0:
        p_ref = student_t_sf2((value - center) / (s * math.sqrt(1 + 1 / k)), df)
    p_prev = None
    if previous is not None and math.isfinite(previous) and s > 0:
        p_prev = student_t_sf2((value - previous) / (s * math.sqrt(2)), df)
    return BetweenNights(p_prev, p_ref, s, df, center, k)


__all__ = ["BetweenNights", "WithinRun", "autocorrelation_time", "between_nights", "block_means",
           "hodges_lehmann", "mann_whitney", "student_t_sf2", "usable", "within_run"]
