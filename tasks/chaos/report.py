"""The chaos section of a run's report, as Markdown (pure; golden-tested).

:func:`markdown` reads the chaos stage's ``summary`` (what ``stage_results.summary`` stores), so
a report can be drawn from the warehouse long after the run.
"""

from __future__ import annotations

from typing import Any


def _ms(value: Any, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.0f} ms" if signed else f"{value:.0f} ms"


def _s(value: Any) -> str:
    return "–" if value is None else f"{value:.1f} s"


def _pct(value: Any) -> str:
    return "–" if value is None else f"{value:.1%}"


def _faults(exp: dict[str, Any]) -> str:
    parts = []
    for f in exp.get("faults") or []:
        params = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in (f.get("params") or {}).items() if k != "direction")
        share = "" if (f.get("fraction") or 1) >= 1 else f" on {f['fraction']:.0%}"
        parts.append(f"{f['type']}{' (' + params + ')' if params else ''}{share}")
    return "; ".join(parts) or ("dry run" if exp.get("dry_run") else "–")


def markdown(summary: dict[str, Any], env_name: str | None = None) -> str:
    experiments = summary.get("experiments") or []
    title = f"### Chaos{' — ' + env_name if env_name else ''}"
    if summary.get("reason") and not experiments:
        return f"{title}\n\n{summary['reason']}\n"
    lines = [title, "",
             "| experiment | status | fault | Δ p50 | Δ p95 | errors under fault | time to detect | recovery time "
             "| degradation | score |",
             "|---|---|---|---:|---:|---:|---:|---:|---|---:|"]
    notes = []
    for exp in experiments:
        impact = exp.get("impact") or {}
        fault = impact.get("fault") or {}
        if exp.get("recovered") is None:
            recovery = "not measured"
        elif exp.get("recovered"):
            recovery = _s(exp.get("recovery_time_s"))
        else:
            recovery = f"> {exp.get('recovery_bound_s', 0):g} s"
        ttd = _s(exp.get("time_to_detect_s")) if exp.get("time_to_detect_s") is not None else (
            "not detected" if fault else "–")
        score = "–" if exp.get("score") is None else f"{exp['score']:.1f}"
        lines.append(f"| {exp['name']} | {exp['status']} | {_faults(exp)} | {_ms(impact.get('delta_p50_ms'), True)} "
                     f"| {_ms(impact.get('delta_p95_ms'), True)} | {_pct(fault.get('error_rate'))} | {ttd} "
                     f"| {recovery} | {exp.get('degradation') or '–'} | {score} |")
        for key in ("error", "watchdog", "method_error", "aborted"):
            if exp.get(key):
                notes.append(f"- {exp['name']}: {exp[key]}")
        before = exp.get("steady_state_before") or {}
        if before and not before.get("holds"):
            notes.append(f"- {exp['name']}: steady state did not hold before the method ({before.get('detail')})")
        for rb in exp.get("rollbacks") or []:
            if rb.get("status") != "ok":
                notes.append(f"- {exp['name']}: rollback {rb['name']} {rb['status']}: {rb.get('error') or ''}".rstrip())
    if summary.get("score") is not None:
        lines += ["", f"Resilience score {summary['score']:.1f} / 100 (mean of the experiments; "
                      f"{summary.get('score_formula', '')}). Time to detect and recovery time have 1 s resolution."]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"
