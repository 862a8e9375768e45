"""Change-point detection on generated nightly series with known steps: ours against Apache Otava.

    python -m bench.analytics_changepoints [--series 40] [--seed 7] [--tolerance 3] [--no-otava] [--quick]

Every series is one metric, one value per night, around a level of 20–800 (ms). Families:

* ``steps``: 1–3 steps of 2, 5, 10 or 20 % (up or down) at known nights, ≥ 20 nights apart and ≥ 12
  from either end, under one of six kinds of noise:
  ``gaussian`` (σ 1–4 %), ``heavy`` (Student t, 3 d.o.f.), ``outliers`` (Gaussian plus 2–4 % of nights
  ×1.5–3), ``bimodal`` (each night on one of two machines 6–12 % apart), ``weekly`` (a weekend bump or
  a sine of 3–8 %), ``drift`` (a slow trend of 5–20 % over the series);
* ``noise``: the same six kinds with no step at all (365 nights), scored as false alarms per 100 nights.

A detection within ``tolerance`` nights of a true step (one-to-one) is a true positive. Precision,
recall and F1 are printed per step size, false alarms per 100 nights per noise kind, then the time.
Otava runs with its defaults (``otava.analysis.compute_change_points``: window 50, p ≤ 0.001).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from warehouse.analytics import change_points

STEP_SIZES = (0.02, 0.05, 0.10, 0.20)
NOISE_KINDS = ("gaussian", "heavy", "outliers", "bimodal", "weekly", "drift")


@dataclass
class Labeled:
    family: str
    kind: str
    step: float | None
    values: list[float]
    truth: list[int] = field(default_factory=list)


def _noise(rng: np.random.Generator, kind: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(multiplicative factor per night, additive relative noise per night)."""
    sigma = rng.uniform(0.01, 0.04)
    factor = np.ones(n)
    if kind == "heavy":
        noise = rng.standard_t(3, n) * sigma * 0.6
    else:
        noise = rng.normal(0, sigma, n)
    if kind == "outliers":
        k = max(1, int(round(n * rng.uniform(0.02, 0.04))))
        idx = rng.choice(n, size=k, replace=False)
        factor[idx] *= rng.uniform(1.5, 3.0, k)
    elif kind == "bimodal":
        noise = rng.normal(0, sigma * 0.5, n)
        gap = rng.uniform(0.06, 0.12)
        p = rng.uniform(0.3, 0.7)
        factor *= 1 + gap * (rng.random(n) < p)
    elif kind == "weekly":
        amp = rng.uniform(0.03, 0.08)
        phase0 = int(rng.integers(0, 7))
        day = (np.arange(n) + phase0) % 7
        factor *= (1 + amp * (day >= 5)) if rng.random() < 0.5 else (1 + amp * np.sin(2 * np.pi * day / 7))
    elif kind == "drift":
        total = rng.uniform(0.05, 0.20) * rng.choice([-1, 1])
        factor *= 1 + total * np.arange(n) / n
    return factor, noise


def _steps(rng: np.random.Generator, n: int, count: int, gap: int = 20, margin: int = 12) -> list[int]:
    for _ in range(1000):
        picks = sorted(rng.choice(np.arange(margin, n - margin), size=count, replace=False).tolist())
        if all(b - a >= gap for a, b in zip(picks, picks[1:])):
            return picks
    return [n // 2]


def generate(n_series: int = 40, seed: int = 7) -> list[Labeled]:
    """``n_series`` step series per (step size, noise kind) and ``n_series // 4`` noise series per kind."""
    rng = np.random.default_rng(seed)
    out: list[Labeled] = []
    for step in STEP_SIZES:
        for kind in NOISE_KINDS:
            for _ in range(n_series):
                n = int(rng.integers(90, 241))
                level = float(rng.uniform(20, 800))
                truth = _steps(rng, n, int(rng.integers(1, 4)))
                mean = np.full(n, level)
                for cp in truth:
                    sign = rng.choice([-1.0, 1.0])
                    mean[cp:] *= 1 + sign * step
                factor, noise = _noise(rng, kind, n)
                values = mean * factor * (1 + noise)
                out.append(Labeled("steps", kind, step, values.tolist(), truth))
    for kind in NOISE_KINDS:
        for _ in range(max(n_series // 4, 1)):
            n = 365
            level = float(rng.uniform(20, 800))
            factor, noise = _noise(rng, kind, n)
            out.append(Labeled("noise", kind, None, (level * factor * (1 + noise)).tolist()))
    return out


def match(found: list[int], truth: list[int], tolerance: int) -> int:
    """True positives: one-to-one matches within ``tolerance`` nights (greedy, nearest first)."""
    pairs = sorted((abs(f - t), i, j) for i, f in enumerate(found) for j, t in enumerate(truth)
                   if abs(f - t) <= tolerance)
    used_f, used_t, tp = set(), set(), 0
    for _, i, j in pairs:
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
            tp += 1
    return tp


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    nights: int = 0
    series: int = 0
    seconds: float = 0.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def false_per_100(self) -> float:
        return 100 * self.fp / self.nights if self.nights else 0.0


Detector = Callable[[list[float]], list[int]]


def otava_detector() -> Detector | None:
    try:
        from otava.analysis import compute_change_points
    except ImportError:
        return None

    def run(values: list[float]) -> list[int]:
        # a list, as otava's own Series passes: with a numpy array its sliding windows are not sliced
        cps, _ = compute_change_points([float(v) for v in values], window_len=50, max_pvalue=0.001)
        return sorted(int(c.index) for c in cps)
    return run


def evaluate(detector: Detector, data: list[Labeled], tolerance: int = 3) -> dict[str, Score]:
    """Scores keyed ``step:0.05``, ``kind:gaussian`` (step series), ``noise:gaussian`` and ``noise:all``."""
    scores: dict[str, Score] = defaultdict(Score)
    for item in data:
        start = time.perf_counter()
        found = detector(item.values)
        elapsed = time.perf_counter() - start
        tp = match(found, item.truth, tolerance)
        keys = ([f"step:{item.step:.2f}", f"kind:{item.kind}"] if item.family == "steps"
                else [f"noise:{item.kind}", "noise:all"])
        if item.family == "steps" and item.step >= 0.05:
            keys.append("step:>=0.05")
        keys.append("all")
        for key in keys:
            s = scores[key]
            s.tp += tp
            s.fp += len(found) - tp
            s.fn += len(item.truth) - tp
            s.nights += len(item.values)
            s.series += 1
            s.seconds += elapsed
    return dict(scores)


def report(results: dict[str, dict[str, Score]], tolerance: int = 3) -> str:
    names = list(results)
    lines = []
    head = f"{'':<16}" + "".join(f"{n:>27}" for n in names)
    lines.append(f"steps (tolerance ±{tolerance} nights)      precision / recall / F1")
    lines.append(head)
    for key in [f"step:{s:.2f}" for s in STEP_SIZES] + ["step:>=0.05"]:
        label = key.replace("step:", "step ")
        row = f"{label:<16}"
        for n in names:
            s = results[n].get(key, Score())
            row += f"{s.precision:>9.3f}{s.recall:>9.3f}{s.f1:>9.3f}"
        lines.append(row)
    lines.append("")
    lines.append("by noise kind (all step sizes)      precision / recall / F1")
    for kind in NOISE_KINDS:
        row = f"{kind:<16}"
        for n in names:
            s = results[n].get(f"kind:{kind}", Score())
            row += f"{s.precision:>9.3f}{s.recall:>9.3f}{s.f1:>9.3f}"
        lines.append(row)
    lines.append("")
    lines.append("pure noise: false alarms per 100 nights")
    for kind in (*NOISE_KINDS, "all"):
        row = f"{kind:<16}"
        for n in names:
            s = results[n].get(f"noise:{kind}", Score())
            row += f"{s.false_per_100:>27.3f}"
        lines.append(row)
    lines.append("")
    row = f"{'ms per series':<16}"
    for n in names:
        s = results[n]["all"]
        row += f"{1000 * s.seconds / max(s.series, 1):>27.2f}"
    lines.append(row)
    return "\n".join(lines)



def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics_changepoints", description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=40, help="series per (step size, noise kind)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tolerance", type=int, default=3)
    parser.add_argument("--no-otava", action="store_true")
    parser.add_argument("--quick", action="store_true", help="10 series per cell instead of --series")
    args = parser.parse_args(argv)
    if args.quick:
        args.series = 10
    data = generate(args.series, args.seed)
    print(f"{len(data)} series ({sum(len(d.values) for d in data)} nights), seed {args.seed}")
    detectors: dict[str, Detector] = {"perfcampaign": change_points}
    if not args.no_otava:
        otava = otava_detector()
        if otava is None:
            print("otava is not installed (pip install apache-otava): scoring ours only")
        else:
            detectors["otava"] = otava
    results = {name: evaluate(det, data, args.tolerance) for name, det in detectors.items()}
    print(report(results, args.tolerance))


if __name__ == "__main__":
    main()
