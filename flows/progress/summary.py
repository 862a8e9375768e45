"""The end-of-run summary, per environment, the way k6 closes a test: what each stage found in one
dotted line, the load's latency distribution, every threshold with ✓ or ✗ and its observed value.

    campaign shop-api: failed (exit code 1)

    ✗ staging  failed in 1:02 · run 3f2a1b2c
        ✓ readiness ........ real 12, mock 1 · kept out of load: search
        ✓ smoke ............ 13/13 checks passed
        ✗ load ............. 12,345 requests · 205.7 req/s · 0.12% errors · 30 s
            latency ........ avg=12.1ms min=1.0ms med=10.0ms p(90)=18.0ms p(95)=22.0ms p(99)=40.0ms max=120ms
            ✓ p(95)<300 .... 22
            ✗ error_rate<0.1% 0.0012
        – chaos ............ skipped: not in environment 'staging''s stages

Drawn from the run document (``tasks.document.RunDocument``) only, so it reads the same for a run
just finished and one rebuilt from the warehouse. :func:`summary_lines` is pure (golden-tested);
:func:`print_summary` colours it on a terminal.
"""

from __future__ import annotations

from typing import Any

from flows.progress.tracker import fmt_duration
from tasks.document import EnvironmentRun, RunDocument, StageOutcome

MARK = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "–", "refused": "⊘", "interrupted": "⊘",
        "running": "…", "crashed": "!"}
STYLE = {"passed": "green", "failed": "red", "error": "red", "crashed": "red", "skipped": "dim", "refused": "magenta",
         "interrupted": "yellow", "running": "yellow"}
WIDTH = 20            # the dotted label column
MAX_GATES = 5         # failed gates listed per stage (the rest counted)

Line = tuple[str, str]  # (text, style)


def _dots(label: str, width: int = WIDTH) -> str:
    return f"{label} {'.' * max(width - len(label) - 1, 2)}" if len(label) < width - 2 else f"{label} "


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 1000:
        return f"{value / 1000:.2f}s"
    return f"{value:.1f}ms" if value < 100 else f"{value:.0f}ms"


def _value(gate: Any) -> str:
    """The observed value in the threshold's unit: a rate as a percentage, latencies in ms."""
    observed, name = gate.observed, gate.name.lower()
    if observed is None:
        return "–"
    if not isinstance(observed, (int, float)) or isinstance(observed, bool):
        return str(observed)
    if "error_rate" in name or "rate<" in name and "rps" not in name:
        return f"{observed:.2%}"
    if name.startswith(("p(", "avg", "med", "min", "max", "mean", "p9", "p5")):
        return _ms(float(observed))
    if name.startswith("rps"):
        return f"{observed:,.1f}/s"
    return f"{observed:.4g}" if isinstance(observed, float) else str(observed)


def _stage_text(name: str, outcome: StageOutcome[Any]) -> str:
    """What a stage found, in one line."""
    if not outcome.ran:
        return f"{outcome.status}: {outcome.reason or outcome.summary.reason or ''}".rstrip(": ")
    s = outcome.summary
    parts: list[str] = []
    if name == "readiness":
        parts.append(", ".join(f"{v} {n}" for v, n in s.verdicts.items() if n) or "no endpoint checked")
        if s.blocked:
            parts.append("kept out of load: " + ", ".join(s.blocked))
    elif name == "smoke":
        if s.checked is not None:
            parts.append(f"{s.passed or 0}/{s.checked} checks passed")
    elif name == "e2e":
        if s.journeys:
            ok = sum(j.status == "passed" for j in s.journeys)
            parts.append(f"{ok}/{len(s.journeys)} journeys passed")
        if s.friction:
            parts.append("friction: " + ", ".join(f"{t} {n}" for t, n in s.friction.items()))
    elif name == "load":
        if s.requests is not None:
            parts.append(f"{s.requests:,} requests")
            if s.rps is not None:
                parts.append(f"{s.rps:,.1f} req/s")
            parts.append(f"{(s.error_rate or 0):.2%} errors")
        if s.aborted:
            parts.append(f"aborted: {s.aborted}")
    elif name == "chaos":
        if s.experiments:
            parts.append("; ".join(f"{e.name}: {e.status}" + (f", score {e.score:g}" if e.score is not None else "")
                                   + (f", recovered in {e.recovery_time_s:g} s" if e.recovery_time_s is not None
                                      else "") for e in s.experiments))
    elif name == "analysis":
        verdict = s.comparison
        if verdict is not None and verdict.headline:
            parts.append(verdict.headline)
        elif s.excluded:
            parts.append(f"excluded: {s.excluded}")
    if outcome.duration_s is not None:
        parts.append(fmt_duration(outcome.duration_s))
    if outcome.error:
        parts.append(outcome.error)
    return " · ".join(p for p in parts if p)


def _env_lines(name: str, env: EnvironmentRun) -> list[Line]:
    lines: list[Line] = []
    took = ""
    if env.started_at and env.finished_at:
        took = f" in {fmt_duration((env.finished_at - env.started_at).total_seconds())}"
    kind = f" ({env.kind})" if env.kind != name else ""
    lines.append((f"{MARK.get(env.status, '?')} {name}{kind}  {env.status}{took} · run {env.run_id[:8]}",
                  "bold " + STYLE.get(env.status, "")))
    if env.error:
        lines.append((f"    {env.error}", "red"))
    if not env.trust.trustworthy:
        lines.append((f"    ⚠ {env.trust.line}", "yellow"))
    for stage, outcome in env.stages.items():
        lines.append((f"    {MARK.get(outcome.status, '?')} {_dots(stage)} {_stage_text(stage, outcome)}",
                      STYLE.get(outcome.status, "")))
        if stage == "load" and outcome.ran and outcome.summary.latency_ms is not None:
            lat = outcome.summary.latency_ms
            values = {"avg": lat.mean, "min": (lat.model_extra or {}).get("min"), "med": lat.p50, "p(90)": lat.p90,
                      "p(95)": lat.p95, "p(99)": lat.p99, "max": lat.max}
            shown = " ".join(f"{k}={_ms(v)}" for k, v in values.items() if v is not None)
            lines.append((f"        {_dots('latency', WIDTH - 4)} {shown}", ""))
        gates = outcome.gates if stage == "load" else [g for g in outcome.gates if not g.passed]
        for gate in gates[:MAX_GATES if stage != "load" else None]:
            label = (gate.name if gate.endpoint is None or gate.endpoint in gate.name
                     else f"{gate.name} ({gate.endpoint})")
            text = f"        {'✓' if gate.passed else '✗'} {_dots(label, WIDTH - 4)} {_value(gate)}"
            if not gate.passed and gate.detail and stage != "load":
                text += f" — {gate.detail}"
            lines.append((text, "green" if gate.passed else "red"))
        hidden = len(gates) - MAX_GATES if stage != "load" else 0
        if hidden > 0:
            lines.append((f"        … and {hidden} more failed gates (--json or the report lists them)", "red"))
    return lines


def summary_lines(doc: RunDocument) -> list[Line]:
    """The summary as (text, style) lines, one block per environment."""
    lines: list[Line] = [(f"campaign {doc.campaign}: {doc.status} (exit code {doc.exit_code})",
                          "bold " + STYLE.get(doc.status, ""))]
    for refused in doc.refused:
        lines.append((f"⊘ refused: {refused}", "magenta"))
    for name, env in doc.environments.items():
        lines.append(("", ""))
        lines.extend(_env_lines(name, env))
    return lines


def summary_text(doc: RunDocument) -> str:
    return "\n".join(text for text, _ in summary_lines(doc))


def print_summary(doc: RunDocument, console: Any) -> None:
    """Print on a rich Console (colours on a terminal, plain text otherwise)."""
    console.print()
    for text, style in summary_lines(doc):
        console.print(text, style=style or None, markup=False, highlight=False, soft_wrap=True)
    console.print()
