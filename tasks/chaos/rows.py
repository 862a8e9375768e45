"""Warehouse rows of a chaos stage (pure): column names are those of ``0006_chaos.sql``.

The flow adds ``run_id`` to every row (``Warehouse.record_stage``); values bound for JSON columns
are plain lists and dicts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from campaigns.chaos import Experiment
from tasks.chaos import hypothesis
from tasks.chaos.outcome import RESOLUTION_S, ExperimentOutcome
from tasks.chaos.windows import PhaseStats


def _ts(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


def _j(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def experiment_row(out: ExperimentOutcome) -> dict[str, Any]:
    base, fault = out.phases.get("baseline"), out.phases.get("fault")
    impact = out.impact()
    return {
        "experiment": out.name, "description": out.description, "status": out.status, "dry_run": out.dry_run,
        "target": out.target, "upstream": out.upstream or None, "started_at": _ts(out.started_at),
        "finished_at": _ts(out.finished_at),
        "steady_state_before": out.before.passed if out.before is not None else None,
        "steady_state_detail": out.before.detail if out.before is not None else None,
        "baseline_requests": base.requests if base else None, "baseline_error_rate": base.error_rate if base else None,
        "baseline_p50_ms": base.p50_ms if base else None, "baseline_p95_ms": base.p95_ms if base else None,
        "fault_requests": fault.requests if fault else None, "fault_error_rate": fault.error_rate if fault else None,
        "fault_p50_ms": fault.p50_ms if fault else None, "fault_p95_ms": fault.p95_ms if fault else None,
        "fault_p99_ms": fault.p99_ms if fault else None, "delta_p50_ms": impact["delta_p50_ms"],
        "delta_p95_ms": impact["delta_p95_ms"], "fault_started_at": _ts(out.fault_started_at),
        "fault_ended_at": _ts(out.fault_ended_at), "time_to_detect_s": out.time_to_detect_s,
        "recovered": out.recovered, "recovery_time_s": out.recovery_time_s, "recovery_bound_s": out.recovery_bound_s,
        "resolution_s": RESOLUTION_S, "watchdog": out.watchdog, "method_error": out.method_error,
        "aborted": out.aborted, "error": out.error, "degradation": out.degradation,
        "failure_classes": _j(out.failure_classes) if out.failure_classes else None, "score": out.score,
        "score_parts": _j(out.score_parts) if out.score_parts else None,
        "details": _j({"impact": impact, "notes": out.notes, "detected_in": out.detected_in, "hold_s": out.hold_s,
                       "probes": [{"name": p.probe.name, "holds": p.verdict.passed, "detail": p.verdict.detail}
                                  for p in (out.before.probes if out.before else [])]}),
    }


def activity_rows(out: ExperimentOutcome) -> list[dict[str, Any]]:
    rows = []
    for seq, r in enumerate(out.journal):
        d = r.detail
        rows.append({
            "experiment": out.name, "seq": seq, "phase": r.phase, "activity_index": r.index, "kind": r.kind,
            "name": r.name, "fault_type": d.get("fault"), "fraction": d.get("fraction"),
            "params": _j(d["params"]) if "params" in d else None, "started_at": _ts(r.started_at),
            "ended_at": _ts(r.ended_at),
            "duration_s": round(r.ended_at - r.started_at, 3) if r.ended_at is not None else None,
            "status": r.status, "hits": d.get("hits"), "exit_code": d.get("exit_code"), "error": r.error,
            "details": _j({k: v for k, v in d.items() if k not in ("fault", "fraction", "params", "hits", "exit_code")}),
        })
    return rows


def _phase_row(out: ExperimentOutcome, stats: PhaseStats, holds: bool | None) -> dict[str, Any]:
    return {"experiment": out.name, "phase": stats.phase, "started_at": _ts(stats.started_at),
            "elapsed_s": stats.elapsed, "requests": stats.requests, "errors": stats.errors,
            "error_rate": stats.error_rate, "rps": stats.rps, "mean_ms": stats.mean_ms, "p50_ms": stats.p50_ms,
            "p95_ms": stats.p95_ms, "p99_ms": stats.p99_ms, "max_ms": stats.max_ms,
            "errors_by_kind": _j(stats.errors_by_kind), "status_codes": _j(stats.status_codes),
            "hypothesis_holds": holds, "trustworthy": stats.trustworthy, "histogram": stats.histogram}


def _series_rows(out: ExperimentOutcome, exp: Experiment, stats: PhaseStats) -> list[dict[str, Any]]:
    tol = exp.steady_state.tolerances
    origin = out.fault_started_at or out.fault_ended_at
    rows = []
    for r in stats.series:
        rows.append({"experiment": out.name, "phase": stats.phase, "second": r["second"],
                     "t_s": round(stats.started_at + r["second"] - origin, 3) if origin else None,
                     "requests": r.get("requests") or 0, "errors": r.get("errors") or 0, "rps": r.get("rps"),
                     "p50_ms": r.get("p50_ms"), "p95_ms": r.get("p95_ms"), "p99_ms": r.get("p99_ms"),
                     "hypothesis_holds": hypothesis.check_second(tol, r).passed})
    return rows


def stage_rows(pairs: list[tuple[Experiment, ExperimentOutcome]]) -> dict[str, list[dict[str, Any]]]:
    """Every chaos table's rows for the experiments that ran."""
    out: dict[str, list[dict[str, Any]]] = {"chaos_experiments": [], "chaos_activities": [], "chaos_phases": [],
                                            "chaos_timeseries": []}
    for exp, o in pairs:
        out["chaos_experiments"].append(experiment_row(o))
        out["chaos_activities"] += activity_rows(o)
        tol = exp.steady_state.tolerances
        for probe in (o.before.probes if o.before else []):
            out["chaos_phases"].append(_phase_row(o, probe.stats, probe.verdict.passed))
            out["chaos_timeseries"] += _series_rows(o, exp, probe.stats)
        for stats in o.phases.values():
            out["chaos_phases"].append(_phase_row(o, stats, hypothesis.check_stats(tol, stats).passed))
            out["chaos_timeseries"] += _series_rows(o, exp, stats)
    return out
