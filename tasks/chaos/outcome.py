"""What one experiment found: its phases, impact, time to detect, recovery, score — and its gates.

Pure data and pure functions over it; ``run`` fills an :class:`ExperimentOutcome`, ``rows`` and
``report`` read it, the stage turns :meth:`ExperimentOutcome.gates` into stage gates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tasks.chaos.activity import ActivityRecord
from tasks.chaos.hypothesis import HypothesisResult
from tasks.chaos.windows import PhaseStats

#: the resolution of time to detect and recovery time: the load engine's per-second rows
RESOLUTION_S = 1.0


@dataclass
class ExperimentOutcome:
    name: str
    description: str | None = None
    target: str = "service"                   # service | dependency
    upstream: str = ""                         # what the proxy forwards to
    proxy_listen: str | None = None
    dry_run: bool = False
    started_at: float = 0.0
    finished_at: float = 0.0
    before: HypothesisResult | None = None
    phases: dict[str, PhaseStats] = field(default_factory=dict)         # baseline | fault | recovery
    seconds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # live per-second rows by phase
    fault_started_at: float | None = None      # first fault added
    fault_ended_at: float | None = None        # method over, every fault removed
    time_to_detect_s: float | None = None
    detected_in: str | None = None             # the phase whose second first broke the hypothesis
    recovered: bool | None = None              # None: not measured
    recovery_time_s: float | None = None
    recovery_bound_s: float = 0.0
    hold_s: float = 0.0
    watchdog: str | None = None                # why the watchdog tripped
    method_error: str | None = None
    aborted: str | None = None                 # time bound, cancellation
    error: str | None = None                   # the experiment could not run (plan, proxy, load)
    journal: list[ActivityRecord] = field(default_factory=list)
    fault_windows: list[dict[str, Any]] = field(default_factory=list)
    failure_classes: dict[str, int] = field(default_factory=dict)
    degradation: str | None = None
    score: float | None = None
    score_parts: dict[str, float] = field(default_factory=dict)
    min_score: float | None = None
    notes: list[str] = field(default_factory=list)
    status: str = "running"

    # -- verdicts --------------------------------------------------------------------------------
    @property
    def rollbacks_ok(self) -> bool:
        return all(r.status == "ok" for r in self.journal if r.phase == "rollback")

    @property
    def steady_before(self) -> bool:
        return self.before is not None and self.before.passed

    def decide(self) -> str:
        if self.error:
            self.status = "error"
        elif self.dry_run:
            self.status = "passed" if self.steady_before else "failed"
        elif (not self.steady_before or self.watchdog or self.method_error or self.aborted or not self.recovered
              or not self.rollbacks_ok or (self.min_score is not None and (self.score or 0) < self.min_score)):
            self.status = "failed"
        else:
            self.status = "passed"
        return self.status

    def gates(self) -> list[dict[str, Any]]:
        """``{name, passed, observed, limit, detail}`` for each decision (the stage makes Gates)."""
        n = self.name
        before = self.before.detail if self.before is not None else (self.error or self.aborted or "not run")
        out = [{"name": f"{n}: steady state before the method", "passed": self.steady_before,
                "observed": "holds" if self.steady_before else "broken", "limit": "tolerances",
                "detail": before}]
        if self.dry_run or self.error:
            return out
        if not self.steady_before:
            return out
        out.append({"name": f"{n}: watchdog not tripped", "passed": self.watchdog is None,
                    "observed": "tripped" if self.watchdog else "quiet", "limit": "safeguards",
                    "detail": self.watchdog or ""})
        out.append({"name": f"{n}: method completed", "passed": not (self.method_error or self.aborted),
                    "observed": "failed" if (self.method_error or self.aborted) else "completed", "limit": None,
                    "detail": self.method_error or self.aborted or ""})
        if self.recovered is None:
            detail = "not measured: " + (self.watchdog or self.aborted or "the experiment stopped early")
        elif self.recovered:
            detail = f"steady state back {self.recovery_time_s:.1f} s after the fault ended"
        else:
            detail = f"steady state not back within {self.recovery_bound_s:g} s"
        out.append({"name": f"{n}: recovered within {self.recovery_bound_s:g} s", "passed": bool(self.recovered),
                    "observed": self.recovery_time_s, "limit": f"<= {self.recovery_bound_s:g}", "detail": detail})
        if any(r.phase == "rollback" and r.kind != "clear" for r in self.journal):
            failed = [f"{r.name}: {r.error}" for r in self.journal if r.phase == "rollback" and r.status != "ok"]
            out.append({"name": f"{n}: rollbacks succeeded", "passed": not failed,
                        "observed": f"{len(failed)} failed" if failed else "ok", "limit": None,
                        "detail": "; ".join(failed)})
        if self.min_score is not None:
            out.append({"name": f"{n}: resilience score >= {self.min_score:g}",
                        "passed": self.score is not None and self.score >= self.min_score,
                        "observed": self.score, "limit": f">= {self.min_score:g}", "detail": ""})
        return out

    def impact(self) -> dict[str, Any]:
        """The fault window against the baseline: the numbers a report shows."""
        base, fault = self.phases.get("baseline"), self.phases.get("fault")

        def delta(key: str) -> float | None:
            a = getattr(base, key, None) if base else None
            b = getattr(fault, key, None) if fault else None
            return round(b - a, 3) if a is not None and b is not None else None

        return {"baseline": base.summary() if base else None, "fault": fault.summary() if fault else None,
                "delta_p50_ms": delta("p50_ms"), "delta_p95_ms": delta("p95_ms"),
                "delta_error_rate": delta("error_rate")}

    def summary(self) -> dict[str, Any]:
        recovery = self.phases.get("recovery")
        return {
            "name": self.name, "status": self.status, "target": self.target, "upstream": self.upstream,
            "dry_run": self.dry_run, "duration_s": round(self.finished_at - self.started_at, 3),
            "steady_state_before": {"holds": self.steady_before,
                                    "detail": self.before.detail if self.before else None},
            "impact": self.impact(), "recovery_window": recovery.summary() if recovery else None,
            "time_to_detect_s": self.time_to_detect_s, "recovered": self.recovered,
            "recovery_time_s": self.recovery_time_s, "recovery_bound_s": self.recovery_bound_s,
            "resolution_s": RESOLUTION_S, "watchdog": self.watchdog, "method_error": self.method_error,
            "aborted": self.aborted, "error": self.error, "degradation": self.degradation,
            "failure_classes": self.failure_classes, "score": self.score, "score_parts": self.score_parts,
            "faults": [{k: w.get(k) for k in ("type", "fraction", "params", "hits")} for w in self.fault_windows],
            "rollbacks": [{"name": r.name, "status": r.status, "error": r.error} for r in self.journal
                          if r.phase == "rollback"],
            "notes": self.notes,
        }
