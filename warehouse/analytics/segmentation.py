"""Segmentation of a cleaned series: binary segmentation, Hunter's merge step, slow drift.

The method is described in :mod:`warehouse.analytics.changepoints`. Every statistic here (segment
means and sums of squares, the line and the level + slope + jump fits, the max-t scan) is computed
from prefix sums of y, y² and t·y, so re-testing a candidate costs O(1) and a scan O(length), with
no per-night Python loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from warehouse.analytics.maxt import threshold

#: BIC units by which "fewer regimes + drift" must beat "regimes" before a series is detrended
DRIFT_MARGIN = 2.0


class Settings(Protocol):
    min_segment: int
    alpha: float
    split_alpha: float
    min_rel_change: float
    min_abs_change: float
    window: int
    drift: bool
    screen_alpha: float | None


class Sums:
    """Prefix sums of a series (centred on its mean, so sums of squares keep their precision)."""

    def __init__(self, x: np.ndarray):
        self.x = x
        self.n = len(x)
        self.shift = float(x.mean())
        y = x - self.shift
        t = np.arange(self.n, dtype=float)
        self.c = np.concatenate([[0.0], np.cumsum(y)])
        self.c2 = np.concatenate([[0.0], np.cumsum(y * y)])
        ct = np.concatenate([[0.0], np.cumsum(t * y)])
        self._c, self._c2, self._ct = self.c.tolist(), self.c2.tolist(), ct.tolist()
        #: variance below which prefix-sum rounding, not the data, speaks
        self.floor = 1e-12 * max(self._c2[-1] / max(self.n, 1), 1e-300)
        self._tiny = 1e-9 * max(abs(self.shift), math.sqrt(self._c2[-1] / max(self.n, 1)), 1e-300)

    def level(self, mean: float) -> float:
        """A mean of y back in x's units (0 stays 0 despite rounding)."""
        value = mean + self.shift
        return 0.0 if abs(value) < self._tiny else value

    def moments(self, a: int, b: int) -> tuple[int, float, float]:
        """(count, mean of y, sum of squared deviations) of x[a:b] (y = x − shift)."""
        k = b - a
        s = self._c[b] - self._c[a]
        mean = s / k
        dev = self._c2[b] - self._c2[a] - s * mean
        return k, mean, dev if dev > self.floor * k else 0.0

    def sty(self, a: int, b: int) -> float:
        """Σ t·y over [a, b)."""
        return self._ct[b] - self._ct[a]

    def scan(self, a: int, b: int, m: int) -> tuple[int, float]:
        """The max-t scan of x[a:b]: (split as an absolute index, t)."""
        n = b - a
        t = _splits(n, m)
        cl = self.c[a + m:b - m + 1] - self.c[a]
        cl2 = self.c2[a + m:b - m + 1] - self.c2[a]
        tot, tot2 = self._c[b] - self._c[a], self._c2[b] - self._c2[a]
        ml = cl / t
        mr = (tot - cl) / (n - t)
        ss = (cl2 - t * ml * ml) + (tot2 - cl2 - (n - t) * mr * mr)
        np.maximum(ss, self.floor * (n - 2), out=ss)
        stat = (mr - ml) / np.sqrt(ss / (n - 2) * (1.0 / t + 1.0 / (n - t)))
        i = int(np.argmax(np.abs(stat)))
        return a + m + i, float(stat[i])


_SPLITS: dict[tuple[int, int], np.ndarray] = {}


def _splits(n: int, m: int) -> np.ndarray:
    """The split sizes m … n − m as floats (cached: a scan is called thousands of times)."""
    key = (n, m)
    found = _SPLITS.get(key)
    if found is None:
        if len(_SPLITS) > 4096:
            _SPLITS.clear()
        found = _SPLITS[key] = np.arange(m, n - m + 1, dtype=float)
    return found


def _sum_t(a: int, b: int) -> float:
    return (a + b - 1) * (b - a) / 2.0


def _sum_t2(a: int, b: int) -> float:
    def upto(k: int) -> float:  # Σ_{t<k} t²
        return (k - 1) * k * (2 * k - 1) / 6.0
    return upto(b) - upto(a)


@dataclass
class Local:
    """A candidate re-tested between its neighbours."""

    ok: bool
    score: float
    before: float
    after: float
    jump: float
    rel: float
    t: float
    n: int
    drift: bool


def _rel(jump: float, level: float) -> float:
    if level == 0:
        return 0.0 if jump == 0 else math.copysign(math.inf, jump)
    return jump / abs(level)


def local_test(s: Sums, lo: int, cp: int, hi: int, cfg: Settings, log: bool) -> Local:
    """Re-test the change at ``cp`` on [lo, hi) (its neighbours' regimes, capped to ``window``)."""
    lo, hi = max(lo, cp - cfg.window), min(hi, cp + cfg.window)
    n = hi - lo
    n1, m1, ss1 = s.moments(lo, cp)
    n2, m2, ss2 = s.moments(cp, hi)
    rss_step = ss1 + ss2
    sp2 = max(rss_step / (n - 2), s.floor)
    t = (m2 - m1) / math.sqrt(sp2 * (1 / n1 + 1 / n2))
    before, after = s.level(m1), s.level(m2)
    jump, t_jump, drift = after - before, t, False
    if cfg.drift and n >= 8:
        # a straight line that fits at least as well as the step means drift: then only the jump
        # beyond the trend (level + slope + jump, least squares) counts
        _, my, ssy = s.moments(lo, hi)
        sy = my * n
        st, st2 = _sum_t(lo, hi), _sum_t2(lo, hi)
        sty = s.sty(lo, hi)
        sxx = st2 - st * st / n
        sxy = sty - st * sy / n
        if sxx > 0 and ssy - sxy * sxy / sxx <= rss_step:
            # columns 1, t − cp, [t ≥ cp]; normal equations from the sums
            sp = st - n * cp
            spp = st2 - 2 * cp * st + n * cp * cp
            rp = _sum_t(cp, hi) - n2 * cp
            xtx = np.array([[n, sp, n2], [sp, spp, rp], [n2, rp, n2]], dtype=float)
            xty = np.array([sy, sty - cp * sy, m2 * n2])
            try:
                inv = np.linalg.inv(xtx)
            except np.linalg.LinAlgError:
                inv = None
            if inv is not None and n > 3:
                coef = inv @ xty
                syy = ssy + sy * sy / n
                s2 = max((syy - float(coef @ xty)) / (n - 3), s.floor)
                se = math.sqrt(max(s2 * inv[2, 2], 1e-300))
                drift = True
                jump, t_jump = float(coef[2]), float(coef[2]) / se
                before, after = s.level(float(coef[0])), s.level(float(coef[0] + coef[2]))
    if log:  # levels of log values: back to the series' units
        before, after = math.exp(before), math.exp(after)
        jump = after - before
    rel = _rel(jump, before)
    big_enough = abs(rel) >= cfg.min_rel_change and abs(jump) >= cfg.min_abs_change
    sig = min(abs(t), abs(t_jump)) / threshold(cfg.alpha, n)
    size = abs(rel) / cfg.min_rel_change if cfg.min_rel_change > 0 else math.inf
    return Local(sig >= 1.0 and big_enough, min(sig, size), before, after, jump, rel, t_jump, n, drift)


def _bounds(cps: list[int], i: int, n: int) -> tuple[int, int]:
    return (cps[i - 1] if i > 0 else 0), (cps[i + 1] if i + 1 < len(cps) else n)


def test_at(s: Sums, cps: list[int], i: int, cfg: Settings, log: bool) -> Local:
    lo, hi = _bounds(cps, i, s.n)
    return local_test(s, lo, cps[i], hi, cfg, log)


def settle(s: Sums, cps: list[int], cfg: Settings) -> list[int]:
    """Clear steps (a jump of more than 4 within-regime standard deviations) begin on the first night
    that belongs to the new level: a split that took in the last old night moves right, or is
    dropped when the new regime then has fewer than ``min_segment`` nights (not confirmed yet)."""
    m = max(int(cfg.min_segment), 1)
    out: list[int] = []
    for i, cp in enumerate(cps):
        lo, hi = (out[-1] if out else 0), (cps[i + 1] if i + 1 < len(cps) else s.n)
        n1, m1, ss1 = s.moments(max(lo, cp - cfg.window), cp)
        n2, m2, ss2 = s.moments(cp, min(hi, cp + cfg.window))
        sd = math.sqrt(max((ss1 + ss2) / max(n1 + n2 - 2, 1), s.floor))
        if abs(m2 - m1) > 4 * sd:
            first = float(s.x[cp]) - s.shift
            if abs(first - m1) < abs(first - m2):
                if hi - (cp + 1) < m:
                    continue
                cp += 1
            elif cp - 1 - lo >= m:
                last = float(s.x[cp - 1]) - s.shift
                if abs(last - m2) < abs(last - m1):
                    cp -= 1
        out.append(cp)
    return out


def binary_segmentation(s: Sums, m: int, alpha: float) -> list[int]:
    found: list[int] = []
    stack = [(0, s.n)]
    while stack:
        a, b = stack.pop()
        if b - a < max(2 * m, 6) or s.moments(a, b)[2] == 0.0:
            continue
        split, t = s.scan(a, b, m)
        if abs(t) < threshold(alpha, b - a):
            continue
        found.append(split)
        stack.append((a, split))
        stack.append((split, b))
    return sorted(found)


def merge(s: Sums, cps: list[int], cfg: Settings, log: bool) -> list[int]:
    """Hunter's merge step: drop the weakest failing candidate, re-test, until all pass."""
    cps = list(cps)
    while cps:
        results = [test_at(s, cps, i, cfg, log) for i in range(len(cps))]
        failing = [i for i, r in enumerate(results) if not r.ok]
        if not failing:
            break
        del cps[min(failing, key=lambda i: results[i].score)]
    return cps


def relocate(s: Sums, cps: list[int], m: int) -> list[int]:
    out = list(cps)
    for i in range(len(out)):
        lo, hi = _bounds(out, i, s.n)
        if hi - lo >= max(2 * m, 6):
            out[i] = s.scan(lo, hi, m)[0]
    return out


def segment(s: Sums, cfg: Settings, log: bool) -> list[int]:
    """Binary segmentation, then merge and re-locate until the set is stable."""
    m = max(int(cfg.min_segment), 1)
    cps = binary_segmentation(s, m, max(cfg.split_alpha, cfg.alpha))
    previous: list[int] | None = None
    for _ in range(4):
        cps = sorted(set(relocate(s, merge(s, cps, cfg, log), m)))
        if cps == previous:
            break
        previous = cps
    return merge(s, cps, cfg, log)


# -- slow drift ---------------------------------------------------------------------------------------

def _fit(s: Sums, cps: list[int], with_slope: bool) -> tuple[float, float]:
    """(rss, slope) of regime means (+ one slope shared by every regime)."""
    edges = [0, *cps, s.n]
    ss = sxy = sxx = 0.0
    for a, b in zip(edges, edges[1:]):
        k, mean, dev = s.moments(a, b)
        st = _sum_t(a, b)
        ss += dev
        sxy += s.sty(a, b) - st * mean
        sxx += _sum_t2(a, b) - st * st / k
    slope = sxy / sxx if with_slope and sxx > 0 else 0.0
    return max(ss - slope * sxy, 1e-300), slope


def _bic(n: int, rss: float, params: int) -> float:
    return n * math.log(rss / n) + params * math.log(n)


def drift_slope(s: Sums, cps: list[int]) -> float:
    """The slope of a slow drift, or 0 when the regimes alone explain the series better (BIC).

    A drifting series cut into regimes looks like a staircase; one slope shared by fewer regimes
    explains it with fewer parameters. Regimes are removed greedily along the whole backward path
    (a staircase may need several removed before the criterion improves).
    """
    n = s.n
    plain = _bic(n, _fit(s, cps, False)[0], 2 * len(cps) + 1)
    current = list(cps)
    rss, slope = _fit(s, current, True)
    best = _bic(n, rss, 2 * len(current) + 2)
    while current:
        trials = []
        for i in range(len(current)):
            trial = current[:i] + current[i + 1:]
            r, sl = _fit(s, trial, True)
            trials.append((_bic(n, r, 2 * len(trial) + 2), trial, sl))
        score, current, sl = min(trials, key=lambda item: item[0])
        if score < best:
            best, slope = score, sl
    return slope if best < plain - DRIFT_MARGIN else 0.0


def find(x: np.ndarray, cfg: Settings, log: bool) -> list[tuple[int, Local]]:
    """Change points of a cleaned series with their re-test results."""
    m = max(int(cfg.min_segment), 1)
    s = Sums(x)
    screen = cfg.screen_alpha if cfg.screen_alpha is not None else max(cfg.split_alpha, cfg.alpha)
    if abs(s.scan(0, s.n, m)[1]) < threshold(screen, s.n):
        return []  # nothing to split (what detect_many decides for a whole batch at once)
    cps = segment(s, cfg, log)
    if cfg.drift:
        centred = np.arange(s.n) - (s.n - 1) / 2
        base = s
        for _ in range(3):  # remove the drift shared by the regimes, segment again, re-estimate
            slope = drift_slope(base, cps)
            if not slope:
                break
            s = Sums(x - slope * centred)
            found = segment(s, cfg, log)
            if found == cps:
                break
            cps = found
    cps = merge(s, settle(s, cps, cfg), cfg, log)
    return [(cp, test_at(s, cps, i, cfg, log)) for i, cp in enumerate(cps)]
