"""The verdict of a campaign run, per environment, from the run's JSON document: pure, no I/O.

The executive summary (HTML, PNG) and the Slack message both start here, so the morning's three
views never disagree. The input is the shape ``CampaignReport.to_dict()`` prints with ``--json``
(``environments.<name>.{kind, status, error, stages.<stage>.{status, summary, gates, error,
reason}}``); ``tasks.report.data`` rebuilds the same shape from the warehouse.

Verdicts, worst first (the campaign's verdict is its worst environment's):

    error       the target was unreachable or the machinery failed: nothing was measured
    failed      a gate failed (an expectation, a threshold, a journey)
    regressed   only regression gates failed: slower than the baseline, within the SLOs
    interrupted the run was stopped
    passed      every gate passed (mocked or missing endpoints are reported, not failed)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

#: verdict → (rank, label, colour, Slack emoji); rank orders severity (higher is worse)
VERDICTS: dict[str, tuple[int, str, str, str]] = {
    "passed": (0, "Passed", "#1a7f37", ":large_green_circle:"),
    "running": (1, "Running", "#6e7781", ":white_circle:"),
    "interrupted": (2, "Interrupted", "#6e7781", ":white_circle:"),
    "regressed": (3, "Regressed", "#bc4c00", ":large_orange_circle:"),
    "failed": (4, "Failed", "#cf222e", ":red_circle:"),
    "error": (5, "Error", "#8250df", ":purple_circle:"),
}
STAGE_ORDER = ("readiness", "smoke", "e2e", "load", "chaos", "analysis")
REGRESSION_PREFIXES = ("regression", "suspect")
#: stages whose gates are service levels (numbers with units), not expectations
SLO_STAGES = ("load", "analysis", "chaos")


def is_regression_gate(gate: dict[str, Any]) -> bool:
    """Analytics' gates: ``regression p95`` (a change point) and ``suspect p95`` (a first night far
    outside the baseline band)."""
    return str(gate.get("name", "")).lower().startswith(REGRESSION_PREFIXES)


@dataclass
class KeyNumbers:
    """What a manager reads first: load figures when load ran, else smoke and readiness counts."""

    p95_ms: float | None = None
    p99_ms: float | None = None
    error_rate: float | None = None
    rps: float | None = None
    requests: int | None = None
    test_type: str | None = None
    smoke_passed: int | None = None
    smoke_checked: int | None = None
    verdicts: dict[str, int] = field(default_factory=dict)   # readiness: real/mock/missing/…

    def phrases(self) -> list[str]:
        out = []
        if self.p95_ms is not None:
            out.append(f"p95 {fmt_ms(self.p95_ms)}")
        if self.error_rate is not None:
            out.append(f"errors {fmt_pct(self.error_rate)}")
        if self.rps is not None:
            out.append(f"{self.rps:,.0f} req/s")
        if self.smoke_checked:
            out.append(f"smoke {self.smoke_passed}/{self.smoke_checked}")
        if self.verdicts:
            real = self.verdicts.get("real", 0)
            total = sum(self.verdicts.values())
            out.append(f"{real}/{total} endpoints real")
        return out


class _Verdict:
    """Label, colour and emoji of a ``verdict`` attribute, from :data:`VERDICTS`."""

    verdict: str

    @property
    def label(self) -> str:
        return VERDICTS[self.verdict][1]

    @property
    def colour(self) -> str:
        return VERDICTS[self.verdict][2]

    @property
    def emoji(self) -> str:
        return VERDICTS[self.verdict][3]


@dataclass
class EnvSummary(_Verdict):
    name: str
    kind: str
    run_id: str | None
    status: str
    verdict: str
    reasons: list[str]
    numbers: KeyNumbers
    failed_gates: list[dict[str, Any]]
    regressions: list[dict[str, Any]]
    mocked: list[str]
    missing: list[str]
    not_run: list[tuple[str, str, str]]          # (stage, skipped|refused, reason)
    stages: dict[str, str]                        # stage → status
    gates_total: int = 0
    error: str | None = None

    @property
    def brief(self) -> str:
        """Why, in one line: ``2 gates failed — p(95)<300 on product: 412 ms; product p95 +23% …``."""
        if self.verdict in ("error", "interrupted"):
            return self.reasons[0] if self.reasons else self.label
        parts = []
        if self.failed_gates:
            n = len(self.failed_gates)
            parts.append(f"{n} gate{'s' if n > 1 else ''} failed — {gate_short(self.failed_gates[0])}"
                         + (f" and {n - 1} more" if n > 1 else ""))
        if self.regressions:
            n = len(self.regressions)
            parts.append(regression_line(self.regressions[0], short=True)
                         + (f" (and {n - 1} more regression{'s' if n > 2 else ''})" if n > 1 else ""))
        return "; ".join(parts) or self.label


@dataclass
class RunSummary(_Verdict):
    campaign: str
    team: str | None
    verdict: str
    environments: list[EnvSummary]
    refused: list[str]
    exit_code: int | None
    flow_run_id: str | None

    @property
    def headline(self) -> str:
        """``demo: Failed — 1 of 3 environments failed``."""
        envs = self.environments
        bad = [e for e in envs if e.verdict != "passed"]
        if not envs:
            return f"{self.campaign}: nothing ran"
        if not bad:
            return f"{self.campaign}: Passed — {_count(len(envs), 'environment')} green"
        worst = [e for e in envs if e.verdict == self.verdict]
        names = ", ".join(e.name for e in worst)
        return f"{self.campaign}: {self.label} — {names} ({len(worst)} of {len(envs)})"

    @property
    def regressions(self) -> list[tuple[str, dict[str, Any]]]:
        return [(e.name, r) for e in self.environments for r in e.regressions]

    @property
    def mocked(self) -> dict[str, list[str]]:
        """endpoint → environments where readiness found it mocked or missing."""
        out: dict[str, list[str]] = {}
        for env in self.environments:
            for name in [*env.mocked, *env.missing]:
                out.setdefault(name, []).append(env.name)
        return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 10_000:
        return f"{value / 1000:,.1f} s"
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def fmt_pct(value: float | None) -> str:
    if value is None:
        return "–"
    pct = value * 100
    return f"{pct:.0f}%" if pct >= 10 else f"{pct:.2f}%" if pct < 1 else f"{pct:.1f}%"


def fmt_value(value: Any) -> str:
    """A gate's observed value or limit, short."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def fmt_gate_value(name: str, value: Any) -> str:
    """A gate's number in the unit its name implies: ``error_rate<1%`` → percent, ``p(95)`` → ms.

    Latencies keep their tenths (``200.4 ms`` against a limit of ``200 ms`` must not read as 200)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        if isinstance(value, str):
            match = re.match(r"^\s*([<>]=?|==)\s*([0-9.eE+-]+)\s*$", value)
            if match:
                return f"{match.group(1)} {fmt_gate_value(name, float(match.group(2)))}"
        return fmt_value(value)
    lowered = name.lower()
    if not lowered:
        return fmt_value(value)
    if "error" in lowered or "fail" in lowered:
        return fmt_pct(float(value))
    if "rps" in lowered or "rate" in lowered or "throughput" in lowered:
        return f"{value:,.1f}/s"
    if any(k in lowered for k in ("p(", "p50", "p90", "p95", "p99", "mean", "avg", "latency", "_ms", "med")):
        value = float(value)
        return f"{value:,.0f} ms" if value == int(value) else f"{value:,.1f} ms"
    return fmt_value(value)


def _where(gate: dict[str, Any]) -> str:
    endpoint = gate.get("endpoint")
    return f" on {endpoint}" if endpoint and endpoint not in str(gate.get("name", "")) else ""


def gate_line(gate: dict[str, Any]) -> str:
    """``load · p(95)<300 on product: observed 412.3 ms, wanted < 300 ms`` — one failed gate."""
    line = f"{gate.get('stage', '?')} · {gate.get('name', '?')}{_where(gate)}"
    detail = str(gate.get("detail") or "")
    if re.search(r"\d", detail):               # the stage already said it with its numbers
        return f"{line}: {detail}"
    if gate.get("observed") is not None or gate.get("limit") is not None:
        name = str(gate.get("name", "")) if gate.get("stage") in SLO_STAGES else ""
        line += f": {fmt_gate_value(name, gate.get('observed'))} (limit {fmt_gate_value(name, gate.get('limit'))})"
    return f"{line} — {detail}" if detail else line


def gate_short(gate: dict[str, Any]) -> str:
    """``p(95)<300 on product: 412.3 ms`` — a failed gate, shortest form."""
    name = str(gate.get("name", "?"))
    unit_name = name if gate.get("stage") in SLO_STAGES else ""
    observed = gate.get("observed")
    return f"{name}{_where(gate)}" + (f": {fmt_gate_value(unit_name, observed)}" if observed is not None else "")


def regression_line(gate: dict[str, Any], short: bool = False) -> str:
    """``product p95 +23.0% (180 → 222) since 2026-11-19`` from an analytics gate; ``short`` drops
    the statistics (run id, t, p) after the date."""
    endpoint = gate.get("endpoint") or "_overall"
    name = str(gate.get("name", "")).split(" ", 1)
    metric = name[1] if len(name) > 1 else ""
    who = "whole run" if endpoint == "_overall" else endpoint
    detail = str(gate.get("detail") or "")
    if short:
        detail = re.split(r" \(run |; ", detail)[0]
    if detail and metric and detail.startswith(metric):
        text = f"{who} {detail}"
    elif detail:
        text = f"{who} {metric}: {detail}"
    else:
        text = (f"{who} {metric}: {fmt_gate_value(metric, gate.get('observed'))} "
                f"(baseline {fmt_gate_value(metric, gate.get('limit'))})")
    return f"{name[0]}: {text}" if name[0] == "suspect" else text


def _numbers(stages: dict[str, Any]) -> KeyNumbers:
    numbers = KeyNumbers()
    load = stages.get("load") or {}
    summary = load.get("summary") or {}
    if load.get("status") in ("passed", "failed") and summary.get("requests"):
        latency = summary.get("latency_ms") or {}
        numbers.p95_ms = latency.get("p95")
        numbers.p99_ms = latency.get("p99")
        numbers.error_rate = summary.get("error_rate")
        numbers.rps = summary.get("rps")
        numbers.requests = summary.get("requests")
        numbers.test_type = summary.get("test_type")
    smoke = (stages.get("smoke") or {}).get("summary") or {}
    if "checked" in smoke:
        gating = [g for g in (stages.get("smoke") or {}).get("gates") or []]
        numbers.smoke_checked = len(gating) if gating else smoke.get("checked")
        numbers.smoke_passed = sum(1 for g in gating if g.get("passed")) if gating else smoke.get("passed")
    readiness = (stages.get("readiness") or {}).get("summary") or {}
    numbers.verdicts = dict(readiness.get("verdicts") or {})
    return numbers


def summarize_env(name: str, env: dict[str, Any]) -> EnvSummary:
    stages: dict[str, Any] = env.get("stages") or {}
    gates = [g for s in stages.values() for g in (s.get("gates") or [])]
    if not gates:
        gates = list(env.get("gates") or [])
    failed = [g for g in gates if not g.get("passed")]
    regressions = [g for g in failed if is_regression_gate(g)]
    other_failed = [g for g in failed if not is_regression_gate(g)]
    status = env.get("status") or "running"
    # an analysis that could not run is reported, not a verdict: the run itself was measured
    errored = [s for s, r in stages.items() if r.get("status") == "error" and s != "analysis"]
    reasons: list[str] = []
    if status == "error" or errored:
        verdict = "error"
        reasons.append(env.get("error") or next((stages[s].get("error") for s in errored if stages[s].get("error")),
                                                "the machinery failed"))
    elif status == "interrupted":
        verdict = "interrupted"
        reasons.append("the run was interrupted")
    elif other_failed:
        verdict = "failed"
    elif regressions:
        verdict = "regressed"
    elif status == "running":
        verdict = "running"
    else:
        verdict = "passed"
    reasons += [gate_line(g) for g in other_failed]
    reasons += [regression_line(g, short=True) for g in regressions]
    analysis = stages.get("analysis") or {}
    if analysis.get("status") == "error":
        reasons.append(f"the trend analysis failed: {analysis.get('error') or 'unknown error'}")
    readiness = (stages.get("readiness") or {}).get("summary") or {}
    not_run = [(s, r.get("status"), r.get("reason") or (r.get("summary") or {}).get("reason") or "")
               for s, r in stages.items() if r.get("status") in ("skipped", "refused")]
    return EnvSummary(
        name=name, kind=env.get("kind") or "", run_id=env.get("run_id"), status=status, verdict=verdict,
        reasons=[r for r in reasons if r], numbers=_numbers(stages), failed_gates=other_failed,
        regressions=regressions, mocked=list(readiness.get("mocked") or []),
        missing=list(readiness.get("missing") or []), not_run=not_run,
        stages={s: r.get("status", "?") for s, r in stages.items()}, gates_total=len(gates),
        error=env.get("error"))


def summarize(doc: dict[str, Any]) -> RunSummary:
    """The run's verdict and each environment's, from its JSON document."""
    envs = [summarize_env(name, env) for name, env in (doc.get("environments") or {}).items()]
    verdict = max((e.verdict for e in envs), key=lambda v: VERDICTS[v][0], default="passed")
    return RunSummary(campaign=doc.get("campaign", "?"), team=doc.get("team"), verdict=verdict, environments=envs,
                      refused=list(doc.get("refused") or []), exit_code=doc.get("exit_code"),
                      flow_run_id=doc.get("flow_run_id"))
