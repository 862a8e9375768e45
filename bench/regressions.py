"""Regressions from the second night: detection and false alarms on nights built from REAL runs.

    python -m bench.regressions [--sequences 60] [--nights 12] [--seed 3] [--quick] [--record]

The nights are not generated: ``bench/data/recorded-runs.json.gz`` holds real load runs of the
bundled demo service on loopback (``python -m bench.recorded``: the real load stage, the service
restarted for every run, a third of the runs with two CPU burners beside them, on a 2-core machine
that other work shares), some with the service slowed by its ``/admin/knobs`` (added latency of
0.7, 1.5 or 3 ms on every API route; ``/health`` is never slowed). A simulated campaign is a
sequence of nights, each a recorded run drawn at random: nights of the unchanged service, then,
from the step night on, runs of the slowed service. Every night is judged as the analysis judges
it (:func:`warehouse.analytics.nightly.compare_run`, the campaign defaults, every metric and
endpoint, untrustworthy runs judged on the seconds the generator vouched for), and:

* **false alarms**: the share of nights of the unchanged service whose morning verdict says
  "regression" (any gating series), and per 100 nights;
* **detection that morning**: the share of step nights flagged on the step night itself, and
  within 3 nights, per step size (the effect is printed as the ratio of median ``_overall`` p50 /
  p95 between the slowed and unchanged runs).

The same sequences go through the change-point detector (:mod:`warehouse.analytics.changepoints`)
and Apache Otava (E-divisive means, window 50, p ≤ 0.001, as ``bench.analytics_changepoints``
runs it) on the nightly ``_overall`` p50 and p95: a change point reported at or after the step, on
the morning it is first seen, is a detection; any change point in a prefix of unchanged nights is
a false alarm. Change points need nights after the step, so their "that morning" rate is 0 by
construction; their "within 3 nights" rate is the fair comparison.
"""

from __future__ import annotations

import argparse
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench.analytics_changepoints import otava_detector
from bench.recorded import DEFAULT_OUT, load_recorded
from warehouse.analytics.changepoints import change_points
from warehouse.analytics.metrics import DEFAULT_METRICS
from warehouse.analytics.nightly import (
    HISTORY_SCHEMA,
    SECONDS_SCHEMA,
    CompareSettings,
    RunInfo,
    compare_run,
    plan_references,
)

START = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


@dataclass
class Recorded:
    """One recorded run, ready to be any night."""

    run_id: str
    knob: float
    burn: int
    trusted: bool
    reasons: tuple[str, ...]
    metrics: list[dict[str, Any]]
    seconds: pl.DataFrame

    def overall(self, metric: str) -> float:
        return next(float(m[metric]) for m in self.metrics if m["endpoint"] == "_overall")


def prepare(docs: list[dict[str, Any]]) -> list[Recorded]:
    out = []
    for doc in docs:
        rows = []
        lag = {}
        overall = doc["per_second"].get("_overall")
        if overall:
            for sec, lo, sc in zip(overall["second"], overall.get("loop_lag_ms") or [None] * len(overall["second"]),
                                   overall.get("sched_lag_ms") or [None] * len(overall["second"])):
                lag[sec] = max(lo or 0.0, sc or 0.0)
        for endpoint, s in doc["per_second"].items():
            for i, sec in enumerate(s["second"]):
                rows.append({"run_id": doc["run_id"], "endpoint": endpoint, "second": int(sec),
                             "requests": int(s["requests"][i] or 0), "errors": int(s["errors"][i] or 0),
                             "p50_ms": s["p50_ms"][i], "p95_ms": s["p95_ms"][i], "p99_ms": s["p99_ms"][i],
                             "generator_lag_ms": lag.get(sec, 0.0)})
        frame = pl.DataFrame(rows, schema=SECONDS_SCHEMA) if rows else pl.DataFrame(schema=SECONDS_SCHEMA)
        out.append(Recorded(doc["run_id"], float(doc["knob_ms"]), int(doc.get("burn", 0)), bool(doc["trustworthy"]),
                            tuple(doc.get("reasons") or ()), doc["metrics"], frame))
    return out


@dataclass
class Sequence:
    nights: list[Recorded]
    step: int | None          # index of the first slowed night
    knob: float


def sequences(runs: list[Recorded], *, count: int, nights: int, steps: tuple[int, ...], seed: int
              ) -> list[Sequence]:
    rng = np.random.default_rng(seed)
    base = [r for r in runs if r.knob == 0]
    knobs = sorted({r.knob for r in runs if r.knob > 0})
    out = []
    for _ in range(count):
        pick = rng.choice(len(base), size=min(nights, len(base)), replace=False)
        out.append(Sequence([base[i] for i in pick], None, 0.0))
    for knob in knobs:
        slowed = [r for r in runs if r.knob == knob]
        for step in steps:
            for _ in range(count):
                before = [base[i] for i in rng.choice(len(base), size=step, replace=False)]
                after = [slowed[i] for i in rng.choice(len(slowed), size=min(3, len(slowed)),
                                                       replace=len(slowed) < 3)]
                out.append(Sequence(before + after, step, knob))
    return out


def _history_rows(night: int, run: Recorded, run_id: str) -> list[dict[str, Any]]:
    rows = []
    for m in run.metrics:
        for metric in DEFAULT_METRICS:
            value = m.get(metric)
            if value is None or not math.isfinite(float(value)):
                continue
            rows.append({"endpoint": m["endpoint"], "metric": metric, "run_id": run_id,
                         "night": START + timedelta(days=night), "value": float(value), "trusted": run.trusted,
                         "reason": None if run.trusted else "untrustworthy load: " + "; ".join(run.reasons)})
    return rows


def judge(seq: Sequence, settings: CompareSettings, upto: int) -> list[bool]:
    """The morning verdict (any gating regression) of nights 0…upto, judged one after another as the
    nightly analysis would (flags of earlier regressions kept)."""
    history: list[dict[str, Any]] = []
    seconds: list[pl.DataFrame] = []
    flags: dict[tuple[str, str, str], datetime] = {}
    verdicts = []
    for i, run in enumerate(seq.nights[: upto + 1]):
        run_id = f"n{i:02d}"
        history += _history_rows(i, run, run_id)
        seconds.append(run.seconds.with_columns(run_id=pl.lit(run_id)))
        hist = pl.DataFrame(history, schema=HISTORY_SCHEMA)
        info = RunInfo(run_id, "bench", "dev", "load", START + timedelta(days=i), run.trusted, run.reasons)
        refs = plan_references(info, hist, flags=flags, baselines={}, settings=settings)
        wanted = set(refs.run_ids(settings))
        per_second = pl.concat([s for s in seconds if s["run_id"][0] in wanted]) if seconds else None
        result = compare_run(refs, per_second, settings=settings)
        for s in result.series:
            if s.vs_baseline.regression:
                flags[(run_id, s.endpoint, s.metric)] = info.night
        verdicts.append(bool(result.regressions))
    return verdicts


def cp_verdicts(seq: Sequence, detector: Any, metric: str) -> list[bool]:
    """Per night: did a prefix ending that night show a change point in the bad direction that the
    previous prefix did not (a new alarm that morning)?"""
    values = [r.overall(metric) for r in seq.nights]
    seen: set[int] = set()
    out = []
    for n in range(1, len(values) + 1):
        found = {i for i in detector(values[:n]) if values[i:n] and np.median(values[i:n]) > np.median(values[:i])}
        out.append(bool(found - seen))
        seen |= found
    return out


@dataclass
class Tally:
    nights: int = 0
    alarms: int = 0
    trusted_nights: int = 0           # nights the generator vouched for (the ones a verdict judges)
    trusted_alarms: int = 0
    steps: int = 0
    morning: int = 0
    within3: int = 0
    trusted_steps: int = 0            # step nights the generator vouched for
    trusted_morning: int = 0
    seconds: float = 0.0


def score(seqs: list[Sequence], verdicts_of: Any) -> dict[Any, Tally]:
    tallies: dict[Any, Tally] = defaultdict(Tally)
    for seq in seqs:
        t0 = time.perf_counter()
        verdicts = verdicts_of(seq)
        elapsed = time.perf_counter() - t0
        trusted = [r.trusted for r in seq.nights]
        noise_nights = range(1, len(verdicts)) if seq.step is None else range(1, seq.step)
        noise = tallies["noise" if seq.step is None else "noise-before-step"]
        for i in noise_nights:                      # the first night is never judged
            noise.nights += 1
            noise.alarms += verdicts[i]
            noise.trusted_nights += trusted[i]
            noise.trusted_alarms += verdicts[i] and trusted[i]
        if seq.step is not None:
            t = tallies[(seq.knob, seq.step)]
            t.steps += 1
            t.morning += verdicts[seq.step]
            t.within3 += any(verdicts[seq.step: seq.step + 3])
            t.trusted_steps += trusted[seq.step]
            t.trusted_morning += verdicts[seq.step] and trusted[seq.step]
        else:
            t = noise
        t.seconds += elapsed
    return tallies


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.regressions", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--sequences", type=int, default=60, help="sequences per cell")
    parser.add_argument("--nights", type=int, default=12, help="nights of a noise-only sequence")
    parser.add_argument("--steps", default="1,2,7", help="step nights (0-based: 1 = the second night)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20 sequences per cell")
    parser.add_argument("--no-otava", action="store_true")
    parser.add_argument("--untrusted", choices=("judge", "skip"), default="skip")
    parser.add_argument("--record", action="store_true", help="record the runs first (python -m bench.recorded)")
    args = parser.parse_args(argv)
    if args.record:
        from bench.recorded import record_main as record

        record(["--runs", "56", "--knobs", "0,0,0.7,0,1.5,0,3", "--duration", "15", "--burn", "2",
                "--burn-every", "3", "--out", str(args.data)])
    if args.quick:
        args.sequences = 20
    runs = prepare(load_recorded(args.data))
    base = [r for r in runs if r.knob == 0]
    print(f"{len(runs)} recorded runs ({len(base)} of the unchanged service, "
          f"{sum(not r.trusted for r in runs)} untrustworthy, {sum(r.burn > 0 for r in runs)} with CPU burners)")
    for knob in sorted({r.knob for r in runs}):
        part = [r for r in runs if r.knob == knob]
        ratio = {m: float(np.median([r.overall(m) for r in part]) / np.median([r.overall(m) for r in base]))
                 for m in ("p50_ms", "p95_ms")}
        print(f"  knob +{knob:.1f} ms: {len(part):2d} runs, _overall p50 ×{ratio['p50_ms']:.2f}, "
              f"p95 ×{ratio['p95_ms']:.2f} (medians against the unchanged service)")
    steps = tuple(int(s) for s in args.steps.split(","))
    seqs = sequences(runs, count=args.sequences, nights=args.nights, steps=steps, seed=args.seed)
    settings = CompareSettings(judge_untrusted=args.untrusted == "judge")
    print(f"{len(seqs)} sequences; step nights {', '.join(str(s + 1) for s in steps)} (1-based); "
          f"untrustworthy runs: {args.untrusted}")
    detectors: dict[str, Any] = {
        "night vs night": lambda seq: judge(seq, settings, len(seq.nights) - 1),
        "change points p50": lambda seq: cp_verdicts(seq, change_points, "p50_ms"),
        "change points p95": lambda seq: cp_verdicts(seq, change_points, "p95_ms"),
    }
    otava = None if args.no_otava else otava_detector()
    if otava is not None:
        detectors["otava p50"] = lambda seq: cp_verdicts(seq, otava, "p50_ms")
        detectors["otava p95"] = lambda seq: cp_verdicts(seq, otava, "p95_ms")
    results = {name: score(seqs, fn) for name, fn in detectors.items()}
    names = list(results)
    width = max(max(len(n) for n in names) + 2, 24)
    print()
    print("false alarms: nights of the unchanged service flagged (all nights | nights the generator vouched for)")
    print(f"{'':<28}" + "".join(f"{n:>{width}}" for n in names))
    for key, label in (("noise", f"{args.nights}-night sequences"), ("noise-before-step", "nights before a step")):
        row = f"{label:<28}"
        for n in names:
            t = results[n].get(key, Tally())
            cell = (f"{t.alarms}/{t.nights} | {t.trusted_alarms}/{t.trusted_nights}")
            row += f"{cell:>{width}}"
        print(row)
    total = {n: (sum(results[n].get(k, Tally()).alarms for k in ("noise", "noise-before-step")),
                 sum(results[n].get(k, Tally()).nights for k in ("noise", "noise-before-step"))) for n in names}
    print(f"{'per 100 nights':<28}" + "".join(f"{100 * a / max(b, 1):>{width}.2f}" for a, b in total.values()))
    print()
    print("detected: that morning / within 3 nights (all step nights) | that morning, step nights vouched for")
    print(f"{'':<28}" + "".join(f"{n:>{width}}" for n in names))
    for key in sorted(k for k in results[names[0]] if isinstance(k, tuple)):
        knob, step = key
        row = f"{f'+{knob:.1f} ms, night {step + 1}':<28}"
        for n in names:
            t = results[n][key]
            trusted = f"{t.trusted_morning / t.trusted_steps:.0%}" if t.trusted_steps else "–"
            row += f"{f'{t.morning / t.steps:.0%} / {t.within3 / t.steps:.0%} | {trusted}':>{width}}"
        print(row)
    print()
    row = f"{'ms per sequence':<28}"
    for n in names:
        t = results[n]
        total = sum(v.seconds for v in t.values())
        count = sum(1 for _ in seqs)
        row += f"{1000 * total / count:>{width}.1f}"
    print(row)


if __name__ == "__main__":
    main()
