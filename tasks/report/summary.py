"""The verdict of a campaign run, per environment, from the run document: pure, no I/O.

The executive summary (HTML, PNG), Slack, the Prefect artifacts and JUnit all start here, so the
morning's views never disagree. The input is :class:`tasks.document.RunDocument` (what the runner
produces and ``warehouse.documents`` rebuilds).

Verdicts, worst first (the campaign's verdict is its worst environment's):

    error       the target was unreachable or the machinery failed: nothing was measured
    failed      a gate failed (an expectation, a threshold, a journey)
    regressed   only regression gates failed: slower than last night or the baseline, within the SLOs
    interrupted the run was stopped
    passed      every gate passed (mocked or missing endpoints are reported, not failed)

Orthogonal to the verdict, a run whose numbers the load generator could not vouch for is *in
doubt* (``EnvSummary.doubt``): every view says so with the reason, beside the verdict. With the
campaign's ``verdict.untrustworthy: fail`` the doubt is also a failed gate (``trustworthy numbers``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tasks.base import Gate
from tasks.document import OVERALL, EnvironmentRun, RegressionVerdict, RunDocument, SeriesVerdict, Trust

#: verdict → (rank, label, colour, Slack emoji); rank orders severity (higher is worse)
VERDICTS: dict[str, tuple[int, str, str, str]] = {
    "passed": (0, "Passed", "#1a7f37", ":large_green_circle:"),
    "running": (1, "Running", "#6e7781", ":white_circle:"),
    "interrupted": (2, "Interrupted", "#6e7781", ":white_circle:"),
    "regressed": (3, "Regressed", "#bc4c00", ":large_orange_circle:"),
    "failed": (4, "Failed", "#cf222e", ":red_circle:"),
    "error": (5, "Error", "#8250df", ":purple_circle:"),
    "crashed": (5, "Crashed", "#8250df", ":purple_circle:"),
}
DOUBT_COLOUR, DOUBT_EMOJI = "#9a6700", ":warning:"
REGRESSION_PREFIXES = ("regression", "suspect")
#: stages whose gates are service levels (numbers with units), not expectations
SLO_STAGES = ("load", "analysis", "chaos")
METRIC_LABELS = {"p50_ms": "p50", "p95_ms": "p95", "p99_ms": "p99", "mean_ms": "mean", "error_rate": "error rate",
                 "rps": "throughput"}


def is_regression_gate(gate: Gate) -> bool:
    """Analytics' gates: ``regression p95`` (vs last night, the baseline or a change point) and
    ``suspect p95`` (a first night far outside the baseline band)."""
    return gate.name.lower().startswith(REGRESSION_PREFIXES)


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
    journeys_passed: int | None = None
    journeys: int | None = None
    chaos_score: float | None = None

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
        if self.journeys:
            out.append(f"journeys {self.journeys_passed}/{self.journeys}")
        if self.verdicts:
            out.append(f"{self.verdicts.get('real', 0)}/{sum(self.verdicts.values())} endpoints real")
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
    failed_gates: list[Gate]
    regressions: list[Gate]
    mocked: list[str]
    missing: list[str]
    not_run: list[tuple[str, str, str]]          # (stage, skipped|refused, reason)
    stages: dict[str, str]                        # stage → status
    trust: Trust = field(default_factory=Trust)
    comparison: RegressionVerdict | None = None
    gates_total: int = 0
    error: str | None = None

    @property
    def doubt(self) -> str:
        """``numbers not trustworthy: event loop stalled for up to 176 ms`` (empty when trustworthy)."""
        return self.trust.line

    @property
    def vs(self) -> str:
        """``p95 +252% vs last night (p=0.0004, within-run)``: the analysis's one line, or ``""``."""
        c = self.comparison
        return (c.headline or "") if c is not None else ""

    @property
    def brief(self) -> str:
        """Why, in one line: ``2 gates failed — p(95)<300 on product: 412 ms; product p95 +23% …``."""
        if self.verdict in ("error", "interrupted", "crashed"):
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
        if self.doubt and not any(g.name == "trustworthy numbers" for g in self.failed_gates):
            parts.append(self.doubt)
        return "; ".join(parts) or self.label

    @property
    def attention(self) -> bool:
        """Something to read: a verdict other than passed, or numbers in doubt."""
        return self.verdict != "passed" or bool(self.doubt)


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
    def doubtful(self) -> list[EnvSummary]:
        return [e for e in self.environments if e.doubt]

    @property
    def headline(self) -> str:
        """``demo: Failed — staging (1 of 3)``, ``demo: Passed — 3 environments green``; numbers in
        doubt add ``· numbers in doubt in dev``."""
        envs = self.environments
        bad = [e for e in envs if e.verdict != "passed"]
        if not envs:
            return f"{self.campaign}: nothing ran"
        if not bad:
            line = f"{self.campaign}: Passed — {_count(len(envs), 'environment')} green"
        else:
            worst = [e for e in envs if e.verdict == self.verdict]
            line = f"{self.campaign}: {self.label} — {', '.join(e.name for e in worst)} ({len(worst)} of {len(envs)})"
        doubtful = self.doubtful
        if doubtful:
            line += f" · numbers in doubt in {', '.join(e.name for e in doubtful)}"
        return line

    @property
    def regressions(self) -> list[tuple[str, Gate]]:
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


def fmt_s(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} s"


def fmt_pct(value: float | None) -> str:
    if value is None:
        return "–"
    pct = value * 100
    return f"{pct:.0f}%" if pct >= 10 else f"{pct:.2f}%" if pct < 1 else f"{pct:.1f}%"


def fmt_change(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.0f}%" if abs(value) >= 0.1 else f"{value * 100:+.1f}%"


def fmt_metric(metric: str, value: float | None) -> str:
    """A series' value in its unit: ms, a percentage, or requests per second."""
    if value is None:
        return "–"
    if metric == "error_rate":
        return fmt_pct(value)
    if metric == "rps":
        return f"{value:,.1f} req/s"
    return fmt_ms(value)


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
    """A gate's number in the unit its name implies: ``error_rate<1%`` → percent, ``p(95)`` → ms,
    ``score`` → points, ``recovery``/``detect`` → seconds.

    Latencies keep their tenths (``200.4 ms`` against a limit of ``200 ms`` must not read as 200)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        if isinstance(value, str):
            match = re.match(r"^\s*([<>]=?|==)\s*([0-9.eE+-]+)\s*$", value)
            if match:
                return f"{match.group(1)} {fmt_gate_value(name, float(match.group(2)))}"
        return fmt_value(value)
    lowered = name.lower().rsplit(": ", 1)[-1]        # chaos gates are "<experiment>: <decision>"
    if not lowered:
        return fmt_value(value)
    if "score" in lowered:
        return f"{value:,.0f} / 100"
    if any(k in lowered for k in ("recover", "detect", "seconds")) or lowered.endswith("_s"):
        return fmt_s(float(value))
    if "error" in lowered or "fail" in lowered:
        return fmt_pct(float(value))
    if "rps" in lowered or "rate" in lowered or "throughput" in lowered:
        return f"{value:,.1f}/s"
    if any(k in lowered for k in ("p(", "p50", "p90", "p95", "p99", "mean", "avg", "latency", "_ms", "med", "max")):
        value = float(value)
        return f"{value:,.0f} ms" if value == int(value) else f"{value:,.1f} ms"
    return fmt_value(value)


def _where(gate: Gate) -> str:
    return f" on {gate.endpoint}" if gate.endpoint and gate.endpoint not in gate.name else ""


def _unit_name(gate: Gate) -> str:
    return gate.name if gate.stage in SLO_STAGES else ""


def gate_line(gate: Gate) -> str:
    """``load · p(95)<300 on product: 412.3 ms (limit < 300 ms)`` — one failed gate."""
    line = f"{gate.stage} · {gate.name}{_where(gate)}"
    detail = gate.detail or ""
    if re.search(r"\d", detail):               # the stage already said it with its numbers
        return f"{line}: {detail}"
    if gate.observed is not None or gate.limit is not None:
        name = _unit_name(gate)
        line += f": {fmt_gate_value(name, gate.observed)} (limit {fmt_gate_value(name, gate.limit)})"
    return f"{line} — {detail}" if detail else line


def gate_short(gate: Gate) -> str:
    """``p(95)<300 on product: 412.3 ms`` — a failed gate, shortest form."""
    observed = gate.observed
    return f"{gate.name}{_where(gate)}" + (f": {fmt_gate_value(_unit_name(gate), observed)}"
                                           if observed is not None else "")


def regression_line(gate: Gate, short: bool = False) -> str:
    """``product p95 +23.0% (180 → 222) since 2026-11-19`` from an analytics gate; ``short`` drops
    the statistics (run id, t, p) after the date."""
    endpoint = gate.endpoint or "_overall"
    name = gate.name.split(" ", 1)
    metric = name[1] if len(name) > 1 else ""
    who = "whole run" if endpoint == "_overall" else endpoint
    detail = gate.detail or ""
    if short:
        detail = re.split(r" \(run |; t=", detail)[0]
    if detail.startswith(f"{endpoint} "):      # the analysis names the series itself
        text = detail if endpoint != "_overall" else f"{who} {detail[len(endpoint) + 1:]}"
    elif detail and metric and detail.startswith(metric):
        text = f"{who} {detail}"
    elif detail:
        text = f"{who} {metric}: {detail}"
    else:
        text = (f"{who} {metric}: {fmt_gate_value(metric, gate.observed)} "
                f"(baseline {fmt_gate_value(metric, gate.limit)})")
    return f"{name[0]}: {text}" if name[0] == "suspect" else text


def series_line(series: SeriesVerdict) -> str:
    """``whole run p95 36.6 ms: +490% vs last night (p=0.0004, within-run); …``."""
    if series.detail:
        return series.detail.replace(f"{OVERALL} ", "whole run ", 1) if series.detail.startswith(OVERALL) \
            else series.detail
    who = "whole run" if series.endpoint == OVERALL else series.endpoint
    parts = []
    for c, where in ((series.vs_previous, "vs last night"), (series.vs_baseline, "vs baseline")):
        if c.judged:
            p = f"p={c.p_value:.2g}, " if c.p_value is not None else ""
            parts.append(f"{fmt_change(c.rel_change)} {where} ({p}{c.method}"
                         + ("" if c.significant else ", not significant") + ")")
    label = METRIC_LABELS.get(series.metric, series.metric)
    return f"{who} {label} {fmt_metric(series.metric, series.value)}: " + ("; ".join(parts) or "not judged")


def _numbers(env: EnvironmentRun) -> KeyNumbers:
    numbers = KeyNumbers()
    stages = env.stages
    load = stages.load
    if load is not None and load.status in ("passed", "failed") and load.summary.requests:
        s = load.summary
        numbers.p95_ms = s.latency_ms.p95 if s.latency_ms else None
        numbers.p99_ms = s.latency_ms.p99 if s.latency_ms else None
        numbers.error_rate, numbers.rps, numbers.requests, numbers.test_type = s.error_rate, s.rps, s.requests, \
            s.test_type
    smoke = stages.smoke
    if smoke is not None and smoke.summary.checked is not None:
        numbers.smoke_checked = len(smoke.gates) if smoke.gates else smoke.summary.checked
        numbers.smoke_passed = sum(g.passed for g in smoke.gates) if smoke.gates else smoke.summary.passed
    if stages.readiness is not None:
        numbers.verdicts = dict(stages.readiness.summary.verdicts)
    if stages.e2e is not None and stages.e2e.summary.journeys:
        journeys = stages.e2e.summary.journeys
        numbers.journeys, numbers.journeys_passed = len(journeys), sum(j.status == "passed" for j in journeys)
    if stages.chaos is not None and stages.chaos.ran:
        numbers.chaos_score = stages.chaos.summary.score
    return numbers


def summarize_env(name: str, env: EnvironmentRun) -> EnvSummary:
    gates = env.gates
    failed = [g for g in gates if not g.passed]
    regressions = [g for g in failed if is_regression_gate(g)]
    other_failed = [g for g in failed if not is_regression_gate(g)]
    status = env.status
    # an analysis that could not run is reported, not a verdict: the run itself was measured
    errored = [(s, o) for s, o in env.stages.items() if o.status == "error" and s != "analysis"]
    reasons: list[str] = []
    if status in ("error", "crashed") or errored:
        verdict = "crashed" if status == "crashed" else "error"
        reasons.append(env.error or next((o.error for _, o in errored if o.error), "the machinery failed"))
    elif status == "interrupted":
        verdict = "interrupted"
        reasons.append(env.error or "the run was interrupted")
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
    analysis = env.stages.analysis
    if analysis is not None and analysis.status == "error":
        reasons.append(f"the trend analysis failed: {analysis.error or 'unknown error'}")
    if env.trust.line and not any(g.name == "trustworthy numbers" for g in other_failed):
        reasons.append(env.trust.line)
    readiness = env.stages.readiness
    not_run = [(s, o.status, o.reason or "") for s, o in env.stages.items() if not o.ran]
    return EnvSummary(
        name=name, kind=env.kind, run_id=env.run_id, status=status, verdict=verdict,
        reasons=[r for r in reasons if r], numbers=_numbers(env), failed_gates=other_failed,
        regressions=regressions, mocked=list(readiness.summary.mocked) if readiness else [],
        missing=list(readiness.summary.missing) if readiness else [], not_run=not_run,
        stages=env.stages.statuses(), trust=env.trust, comparison=env.regression, gates_total=len(gates),
        error=env.error)


def summarize(doc: RunDocument) -> RunSummary:
    """The run's verdict and each environment's."""
    envs = [summarize_env(name, env) for name, env in doc.environments.items()]
    verdict = max((e.verdict for e in envs), key=lambda v: VERDICTS[v][0], default="passed")
    return RunSummary(campaign=doc.campaign, team=doc.team, verdict=verdict, environments=envs,
                      refused=list(doc.refused), exit_code=doc.exit_code, flow_run_id=doc.flow_run_id)
