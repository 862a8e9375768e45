"""The steady-state hypothesis: tolerances checked on a whole probe, and on one second of load.

- :func:`check_stats` — a probe's (or a phase's) exact numbers against the tolerances; a probe
  with no answer at all fails.
- :func:`check_second` — one per-second ``_overall`` row of the load engine (p50/p95/p99 from that
  second's histogram, errors / requests); a second with no answer while load was sent fails
  ("nothing answered"). ``mean_ms`` is a whole-probe tolerance and is not checked per second.
- :func:`first_violation` / :func:`first_hold` — where in a series the hypothesis first breaks,
  and where it starts holding ``hold`` seconds in a row (the recovery).
- :func:`verify` — runs the probes (the pre-check) and returns their verdicts.

Latencies are the load engine's: from the intended send time (so queueing counts), in ms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from campaigns.chaos import Experiment, Probe, Tolerances
from tasks.chaos.windows import PhaseStats, build_plan, run_window

_LATENCY = (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99"), ("mean_ms", "mean"))


@dataclass
class Verdict:
    passed: bool
    observed: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def detail(self) -> str:
        return "; ".join(self.failures) if self.failures else "holds"


def _check(tol: Tolerances, values: dict[str, Any], requests: int, errors: int, per_second: bool) -> Verdict:
    failures: list[str] = []
    observed: dict[str, Any] = {"requests": requests, "errors": errors}
    if requests == 0:
        return Verdict(False, observed, ["nothing answered"])
    rate = errors / requests
    observed["error_rate"] = round(rate, 6)
    if tol.error_rate is not None and rate > tol.error_rate:
        failures.append(f"error rate {rate:.1%} > {tol.error_rate:.1%}")
    for key, label in _LATENCY:
        bound = getattr(tol, key)
        if bound is None or (per_second and key == "mean_ms"):
            continue
        value = values.get(key)
        observed[key] = value
        if value is None:
            failures.append(f"{label}: no latency measured")
        elif value > bound:
            failures.append(f"{label} {value:.1f} ms > {bound:g} ms")
    return Verdict(not failures, observed, failures)


def check_stats(tol: Tolerances, stats: PhaseStats) -> Verdict:
    values = {"p50_ms": stats.p50_ms, "p95_ms": stats.p95_ms, "p99_ms": stats.p99_ms, "mean_ms": stats.mean_ms}
    return _check(tol, values, stats.requests, stats.errors, per_second=False)


def check_second(tol: Tolerances, row: dict[str, Any]) -> Verdict:
    return _check(tol, row, int(row.get("requests") or 0), int(row.get("errors") or 0), per_second=True)


def first_violation(tol: Tolerances, rows: Sequence[dict[str, Any]]) -> int | None:
    """Index of the first row where the hypothesis does not hold."""
    for i, row in enumerate(rows):
        if not check_second(tol, row).passed:
            return i
    return None


def first_hold(tol: Tolerances, rows: Sequence[dict[str, Any]], hold: int) -> int | None:
    """Index of the first row that starts ``hold`` rows in a row where the hypothesis holds."""
    run = 0
    for i, row in enumerate(rows):
        run = run + 1 if check_second(tol, row).passed else 0
        if run >= hold:
            return i - hold + 1
    return None


@dataclass
class ProbeResult:
    probe: Probe
    stats: PhaseStats
    verdict: Verdict


@dataclass
class HypothesisResult:
    probes: list[ProbeResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.probes) and all(p.verdict.passed for p in self.probes)

    @property
    def detail(self) -> str:
        return "; ".join(f"{p.probe.name}: {p.verdict.detail}" for p in self.probes) or "no probe ran"


async def verify(exp: Experiment, cc: Any, base_url: str, timeout: float = 2.0,
                 on_row: Callable[[str, dict[str, Any]], None] | None = None) -> HypothesisResult:
    """Run every probe of the hypothesis, one after the other, at ``base_url``."""
    out = HypothesisResult()
    names = [p.name for p in exp.steady_state.probes]
    for j, probe in enumerate(exp.steady_state.probes):
        plan, _ = build_plan(cc, list(probe.endpoints), probe.rate, probe.duration, base_url, timeout=timeout)
        label = f"probe:{probe.name}" if names.count(probe.name) == 1 else f"probe:{probe.name}-{j}"
        stats = await run_window(plan, label, on_row)
        tol = probe.tolerances or exp.steady_state.tolerances
        out.probes.append(ProbeResult(probe, stats, check_stats(tol, stats)))
    return out
