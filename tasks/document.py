"""The run document: the one typed contract between the runner and every output.

A campaign run is one :class:`RunDocument`. The runner (``flows/runner.py``) produces it as the
stages finish; ``warehouse.documents.read_document`` rebuilds the same model from the warehouse
(for ``perfcampaign report`` and ``notify``). Every output — the HTML report and its PNG, Slack,
JUnit, the Prefect artifacts, the Pushgateway, the JSON that ``--json`` prints — reads this model,
never dict keys; ``tests/report/run-document.schema.json`` pins its JSON Schema.

    RunDocument                       campaign, team, trigger, refused, status / exit_code (derived)
    └── environments: {name: EnvironmentRun}
        ├── stages: Stages            readiness, smoke, e2e, load, chaos, analysis
        │   └── StageOutcome[Summary] status, reason, gates, error, summary (a model per stage)
        ├── endpoints: {name: EndpointView}   readiness verdict and what each stage measured
        ├── trust: Trust              can the generator vouch for the numbers? why not?
        └── regression (property)     vs last night / vs baseline: the analysis summary's comparison
    ├── report: ReportInfo            where the report went (filled by the report output)
    ├── notifications: [Delivery]     what Slack said (filled by the Slack output)
    └── outputs: {name: OutputStatus} each output's outcome: an output that failed says so here

Stage summaries are open models (``extra="allow"``): what outputs read is typed and validated,
anything else a stage reports is kept as it came (``model_extra``), so a stage can add a figure
without touching this file. The JSON keeps the shape ``perfcampaign run --json`` always printed.
Pure: pydantic and the vocabulary only (no Prefect, no DuckDB).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, computed_field, model_serializer

from campaigns.vocabulary import BLOCKING_VERDICTS, POST_STAGES, STAGE_ORDER, EnvKind, ExitCode
from tasks.base import Gate

SCHEMA_VERSION = 1
OVERALL = "_overall"
TrustPolicy = Literal["warn", "fail"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Summary(BaseModel):
    """A stage's summary: typed where outputs read it, open for the rest."""

    model_config = ConfigDict(extra="allow")

    reason: str | None = Field(None, description="Why the stage did not run, or what stopped it.")


# -- the regression verdict (the analysis stage's summary carries it) ---------------------------

class Comparison(BaseModel):
    """This night's value of one series against a reference: last night, or the baseline
    (``warehouse.analytics.comparison.Comparison``, read from the analysis summary)."""

    model_config = ConfigDict(extra="allow")
    reference: Literal["previous", "baseline"] = "previous"
    method: str = "none"
    value: float | None = None
    reference_value: float | None = None
    reference_night: datetime | None = None
    rel_change: float | None = Field(None, description="value / reference − 1")
    p_value: float | None = None
    significant: bool = False
    direction: Literal["regression", "improvement", "flat"] = "flat"
    nights_available: int = 0
    nights_needed: int = 0
    note: str = ""

    @property
    def regression(self) -> bool:
        return self.significant and self.direction == "regression"

    @property
    def judged(self) -> bool:
        return self.method != "none" and self.rel_change is not None


class SeriesVerdict(BaseModel):
    """One series (endpoint × metric) of the run against last night and the baseline."""

    model_config = ConfigDict(extra="allow")
    endpoint: str = OVERALL
    metric: str = "p95_ms"
    unit: str = ""
    value: float | None = None
    vs_previous: Comparison = Field(default_factory=Comparison)
    vs_baseline: Comparison = Field(default_factory=lambda: Comparison(reference="baseline"))
    change_point: dict[str, Any] | None = None
    judged_by: str = "none"
    gating: bool = True
    detail: str | None = Field(None, description="the analysis's own one-line description")

    @property
    def regression(self) -> bool:
        cp = self.change_point or {}
        fresh_cp = bool(cp.get("fresh")) and cp.get("direction") == "regression"
        return self.vs_previous.regression or self.vs_baseline.regression or fresh_cp


class MethodStatus(BaseModel):
    model_config = ConfigDict(extra="allow")
    method: str
    nights_needed: int
    nights_available: int

    @property
    def ready(self) -> bool:
        return self.nights_available >= self.nights_needed


class RegressionVerdict(BaseModel):
    """The analysis's regression verdict of the run (``warehouse.analytics.comparison.RunComparison``)."""

    model_config = ConfigDict(extra="allow")
    trusted: bool = True
    untrusted_reasons: list[str] = Field(default_factory=list)
    nights: int = 0
    methods: list[MethodStatus] = Field(default_factory=list)
    series: list[SeriesVerdict] = Field(default_factory=list)
    previous_run_id: str | None = None
    note: str = ""
    headline: str | None = Field(None, description="the analysis's one line: the worst regression, or why none")

    @property
    def regressions(self) -> list[SeriesVerdict]:
        return [s for s in self.series if s.gating and s.regression] if self.trusted else []


# -- stage summaries ------------------------------------------------------------------------------

class ReadinessSummary(Summary):
    verdicts: dict[str, int] = Field(default_factory=dict, description="verdict → endpoints (real, mock, …)")
    mocked: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    unverified: list[str] = Field(default_factory=list)
    blocked: dict[str, str] = Field(default_factory=dict, description="endpoint → why it is kept out of load")
    probe_writes: bool | None = None


class SmokeSummary(Summary):
    checked: int | None = None
    passed: int | None = None
    failed: int | None = None
    not_gating: list[str] = Field(default_factory=list, description="endpoints checked but not gating")
    skipped: dict[str, str | None] = Field(default_factory=dict)


class Vital(_Model):
    value: float
    unit: str
    rating: Literal["good", "needs-improvement", "poor"]


class PageVitals(BaseModel):
    model_config = ConfigDict(extra="allow")
    page: int | None = None
    url: str | None = None
    step_index: int | None = None
    metrics: dict[str, Vital] = Field(default_factory=dict)


class Friction(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    severity: str = "medium"
    title: str = ""
    key: str | None = None
    endpoint: str | None = None
    target: str | None = None
    page_url: str | None = None
    screenshot: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)


class Journey(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    kind: str = "api"
    status: str = "passed"
    duration_ms: float | None = None
    error: str | None = None
    steps: list[dict[str, Any]] = Field(default_factory=list)
    web_vitals: list[PageVitals] = Field(default_factory=list)
    friction: list[Friction] = Field(default_factory=list)
    screenshots: list[str] = Field(default_factory=list)
    network: dict[str, Any] = Field(default_factory=dict)
    console_errors: int = 0


class E2ESummary(Summary):
    journeys: list[Journey] = Field(default_factory=list)
    passed: int | None = None
    failed: int | None = None
    friction: dict[str, int] = Field(default_factory=dict, description="friction type → points")
    poor_web_vitals: dict[str, list[str]] = Field(default_factory=dict)
    screenshots_dir: str | None = None


class Latency(BaseModel):
    """Milliseconds."""

    model_config = ConfigDict(extra="allow")
    mean: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None


class LoadSummary(Summary):
    test_type: str | None = None
    model: str | None = None
    engine: str | None = None
    requests: int | None = None
    errors: int | None = None
    error_rate: float | None = Field(None, description="errors / requests (0.01 = 1 %)")
    rps: float | None = Field(None, description="requests per second")
    latency_ms: Latency | None = None
    trustworthy: bool = Field(True, description="the generator can vouch for these numbers")
    reasons: list[str] = Field(default_factory=list, description="why it cannot, when it cannot")
    aborted: str | None = None
    excluded: dict[str, str] = Field(default_factory=dict, description="endpoints left out of load, and why")
    notes: list[str] = Field(default_factory=list)


class Experiment(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    status: str = "passed"
    target: str | None = None
    impact: dict[str, Any] | None = None
    time_to_detect_s: float | None = None
    recovered: bool | None = None
    recovery_time_s: float | None = None
    recovery_bound_s: float | None = None
    score: float | None = None
    degradation: str | None = None
    error: str | None = None
    faults: list[dict[str, Any]] = Field(default_factory=list)
    rollbacks: list[dict[str, Any]] = Field(default_factory=list)


class ChaosSummary(Summary):
    experiments: list[Experiment] = Field(default_factory=list)
    score: float | None = Field(None, description="mean resilience score, 0–100")
    dry_run: bool = False
    passed: int | None = None
    failed: int | None = None
    notes: list[str] = Field(default_factory=list)


class AnalysisSummary(Summary):
    comparison: RegressionVerdict | None = Field(None, description="vs last night and vs baseline, per series")
    nights: int | None = None
    excluded: str | None = Field(None, description="why this run is left out of the analysis")
    fresh_regressions: list[dict[str, Any]] = Field(default_factory=list)
    suspects: list[dict[str, Any]] = Field(default_factory=list)
    forecasts: list[dict[str, Any]] = Field(default_factory=list)


SUMMARIES: dict[str, type[Summary]] = {"readiness": ReadinessSummary, "smoke": SmokeSummary, "e2e": E2ESummary,
                                       "load": LoadSummary, "chaos": ChaosSummary, "analysis": AnalysisSummary}

S = TypeVar("S", bound=Summary)


class StageOutcome(_Model, Generic[S]):
    """One stage of one environment: its status, gates and summary."""

    stage: str
    status: Literal["passed", "failed", "skipped", "refused", "error", "interrupted", "running"]
    reason: str | None = Field(None, description="why it was skipped or refused")
    started_at: datetime | None = None
    finished_at: datetime | None = None
    summary: S
    gates: list[Gate] = Field(default_factory=list)
    error: str | None = None

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    @property
    def ran(self) -> bool:
        return self.status not in ("skipped", "refused")

    @property
    def gates_passed(self) -> bool:
        return all(g.passed for g in self.gates)

    @model_serializer(mode="wrap")
    def _compact(self, handler: Any) -> dict[str, Any]:
        """A stage that never ran is ``{stage, status, reason}``; one that ran says when and how long."""
        data = handler(self)
        if not self.ran and not self.gates and set(self.summary.model_dump(exclude_defaults=True)) <= {"reason"}:
            return {"stage": self.stage, "status": self.status, "reason": self.reason or self.summary.reason}
        data["duration_s"] = self.duration_s
        return data


class Stages(_Model):
    """The stages of one environment, in pipeline order (absent: not asked for)."""

    readiness: StageOutcome[ReadinessSummary] | None = None
    smoke: StageOutcome[SmokeSummary] | None = None
    e2e: StageOutcome[E2ESummary] | None = None
    load: StageOutcome[LoadSummary] | None = None
    chaos: StageOutcome[ChaosSummary] | None = None
    analysis: StageOutcome[AnalysisSummary] | None = None

    @model_serializer(mode="wrap")
    def _present(self, handler: Any) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}

    def items(self) -> list[tuple[str, StageOutcome[Any]]]:
        return [(name, outcome) for name in (*STAGE_ORDER, *POST_STAGES)
                if (outcome := getattr(self, name)) is not None]

    def get(self, name: str) -> StageOutcome[Any] | None:
        return getattr(self, name, None) if name in (*STAGE_ORDER, *POST_STAGES) else None

    def statuses(self) -> dict[str, str]:
        return {name: outcome.status for name, outcome in self.items()}


def stage_outcome(stage: str, status: str, *, summary: dict[str, Any] | None = None, gates: list[Any] | None = None,
                  error: str | None = None, reason: str | None = None, started_at: datetime | None = None,
                  finished_at: datetime | None = None) -> StageOutcome[Any]:
    """A stage's outcome from plain values; an unreadable summary is kept, with a note, never lost."""
    model = SUMMARIES.get(stage, Summary)
    data = dict(summary or {})
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:  # a stage reported a field in another shape: keep it aside, say so
        bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        kept = {k: v for k, v in data.items() if k not in bad}
        parsed = model.model_validate({**kept, "unreadable": {k: data[k] for k in bad if k in data},
                                       "summary_problem": "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                                                    for e in exc.errors())[:500]})
    gate_objects = [g if isinstance(g, Gate) else Gate(**g) for g in (gates or [])]
    return StageOutcome[model](stage=stage, status=status, summary=parsed, gates=gate_objects,  # type: ignore[valid-type]
                               error=error, reason=reason or parsed.reason, started_at=started_at,
                               finished_at=finished_at)


# -- endpoints, trust, comparisons ----------------------------------------------------------------

class EndpointView(BaseModel):
    """One endpoint across the stages: readiness's verdict and what each stage measured of it."""

    model_config = ConfigDict(extra="allow")
    name: str
    verdict: str | None = Field(None, description="readiness: real | mock | missing | unverified | error | unreachable")
    confidence: float | None = None
    evidence: list[dict[str, Any]] = Field(default_factory=list)
    smoke: dict[str, Any] | None = None
    e2e: dict[str, Any] | None = None
    load: dict[str, Any] | None = None
    chaos: dict[str, Any] | None = None

    @property
    def blocked(self) -> bool:
        return self.verdict in BLOCKING_VERDICTS


class Trust(_Model):
    """Whether the numbers of a run can be vouched for (the load generator watches its own CPU and
    event-loop lag); the campaign's ``verdict.untrustworthy`` says whether doubt warns or fails."""

    trustworthy: bool = True
    reasons: list[str] = Field(default_factory=list)
    policy: TrustPolicy = "warn"
    sources: list[str] = Field(default_factory=list, description="stages whose numbers are in doubt")

    @property
    def line(self) -> str:
        """``numbers not trustworthy: event loop stalled for up to 176 ms`` (empty when trustworthy)."""
        if self.trustworthy:
            return ""
        return "numbers not trustworthy: " + ("; ".join(self.reasons) or "the generator could not vouch for them")


TRUST_GATE = "trustworthy numbers"


def trust_of(stages: Stages, policy: TrustPolicy = "warn") -> Trust:
    """Whether the run's numbers can be vouched for: the load stage's self-monitoring says."""
    load = stages.load
    if load is None or not load.ran or load.summary.trustworthy:
        return Trust(policy=policy)
    return Trust(trustworthy=False, reasons=list(load.summary.reasons), policy=policy, sources=["load"])


def trust_gate(summary: dict[str, Any], policy: TrustPolicy) -> Gate | None:
    """With ``verdict.untrustworthy: fail``, a load whose numbers are in doubt fails this gate."""
    if policy != "fail" or summary.get("trustworthy", True) or not summary.get("requests"):
        return None
    reasons = "; ".join(summary.get("reasons") or []) or "the generator could not vouch for its numbers"
    return Gate(stage="load", name=TRUST_GATE, passed=False, observed="untrustworthy", limit="trustworthy",
                detail=reasons)


def merge_endpoints(per_stage: dict[str, list[dict[str, Any]]]) -> dict[str, EndpointView]:
    """Per endpoint, readiness's verdict and each stage's own figures (``stage → [{name, …}]``)."""
    merged: dict[str, dict[str, Any]] = {}
    for stage, docs in per_stage.items():
        for doc in docs:
            entry = merged.setdefault(doc["name"], {"name": doc["name"]})
            if stage == "readiness":
                entry.update(verdict=doc.get("verdict"), confidence=doc.get("confidence"),
                             evidence=list(doc.get("evidence") or []))
                if doc.get("reason"):
                    entry["reason"] = doc["reason"]
            else:
                entry[stage] = {k: v for k, v in doc.items() if k != "name"}
    return {name: EndpointView.model_validate(entry) for name, entry in merged.items()}


# -- environment and run -------------------------------------------------------------------------

class EnvironmentRun(_Model):
    """One environment's run (one row of ``runs``)."""

    run_id: str
    kind: EnvKind
    base_url: str | None = None
    status: Literal["running", "passed", "failed", "error", "interrupted", "crashed"] = "running"
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    test_type: str | None = None
    trigger: str | None = None
    host: str | None = None
    tool_version: str | None = None
    excluded: str | None = Field(None, description="why the run is left out of the analysis")
    stages: Stages = Field(default_factory=Stages)
    endpoints: dict[str, EndpointView] = Field(default_factory=dict)
    trust: Trust = Field(default_factory=Trust)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def gates(self) -> list[Gate]:
        return [g for _, outcome in self.stages.items() for g in outcome.gates]

    @property
    def gates_passed(self) -> bool:
        return all(g.passed for g in self.gates)

    @property
    def regression(self) -> RegressionVerdict | None:
        """vs last night and vs baseline (the analysis stage's verdict), when the analysis ran."""
        analysis = self.stages.analysis
        return analysis.summary.comparison if analysis is not None else None

    @property
    def infrastructure_failure(self) -> bool:
        return self.status in ("error", "crashed")


class ReportInfo(_Model):
    """Where the executive summary went."""

    html: str | None = None
    link: str | None = Field(None, description="what a person clicks: an http(s) URL when the reports "
                                               "folder is served, else the file's path")
    url: str | None = Field(None, description="the http(s) URL, when there is one")
    pngs: list[str] = Field(default_factory=list)
    summary_png: str | None = None
    dir: str | None = None
    seconds: float = 0.0
    png_seconds: float = 0.0
    png_error: str | None = None
    verdict: str | None = None
    error: str | None = None
    rebuild: str | None = None


class Delivery(_Model):
    id: str | None = None
    status: str
    channel: str | None = None
    attempts: int = 0
    error: str | None = None
    message_ts: str | None = None
    file_ids: list[str] = Field(default_factory=list)


class OutputStatus(_Model):
    status: Literal["done", "skipped", "error"]
    detail: str | None = None
    error: str | None = None
    seconds: float = 0.0


class RunDocument(_Model):
    """A campaign run: every environment asked for, and what the outputs did with it."""

    schema_version: int = SCHEMA_VERSION
    campaign: str
    team: str | None = None
    campaign_file: str | None = None
    campaign_sha256: str | None = None
    warehouse: str | None = None
    flow_run_id: str | None = None
    trigger: str | None = None
    refused: list[str] = Field(default_factory=list, description="stages asked for by name that were refused")
    environments: dict[str, EnvironmentRun] = Field(default_factory=dict)
    report: ReportInfo | None = None
    notifications: list[Delivery] = Field(default_factory=list)
    outputs: dict[str, OutputStatus] = Field(default_factory=dict)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def exit_code(self) -> int:
        """One rule for every entry point (``campaigns.vocabulary.ExitCode``)."""
        envs = self.environments.values()
        if self.refused:
            return int(ExitCode.BAD_INPUT)
        if any(e.infrastructure_failure for e in envs):
            return int(ExitCode.INFRA)
        if any(e.status == "interrupted" for e in envs):
            return int(ExitCode.INTERRUPTED)
        if any(not e.gates_passed or e.status == "failed" for e in envs):
            return int(ExitCode.GATE_FAILED)
        return int(ExitCode.OK)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> str:
        return {ExitCode.OK: "passed", ExitCode.GATE_FAILED: "failed", ExitCode.INFRA: "error",
                ExitCode.BAD_INPUT: "refused", ExitCode.INTERRUPTED: "interrupted"}[ExitCode(self.exit_code)]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def run_ids(self) -> dict[str, str]:
        return {name: env.run_id for name, env in self.environments.items()}

    def to_json(self) -> dict[str, Any]:
        """The JSON document ``perfcampaign run --json`` prints."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunDocument:
        """Read a document back (computed fields in ``data`` are ignored: they are derived)."""
        clean = {k: v for k, v in data.items() if k not in ("exit_code", "status", "run_ids")}
        envs = {}
        for name, env in (clean.get("environments") or {}).items():
            env = {k: v for k, v in env.items() if k != "gates"}
            stages = {}
            for stage, outcome in (env.get("stages") or {}).items():
                outcome = {k: v for k, v in outcome.items() if k not in ("duration_s", "endpoints")}
                outcome.setdefault("summary", {"reason": outcome.get("reason")} if outcome.get("reason") else {})
                stages[stage] = outcome
            envs[name] = {**env, "stages": stages}
        clean["environments"] = envs
        return cls.model_validate(clean)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of what ``perfcampaign run --json`` prints.

    The stages' serializers (a stage that never ran is ``{stage, status, reason}``) hide their shape
    from pydantic's serialization schema, so ``Stages`` is described from its fields: every stage
    outcome with its summary model, ``summary`` optional (the compact form) and ``duration_s`` added."""
    schema = RunDocument.model_json_schema(mode="serialization")
    stages = Stages.model_json_schema(mode="validation", ref_template="#/$defs/{model}")
    for name, definition in stages.pop("$defs", {}).items():
        if name.startswith("StageOutcome"):
            definition["required"] = [r for r in definition.get("required", []) if r != "summary"]
            definition["properties"]["duration_s"] = {"anyOf": [{"type": "number"}, {"type": "null"}],
                                                      "title": "Duration S"}
        schema["$defs"].setdefault(name, definition)
    schema["$defs"]["Stages"] = stages
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "perfcampaign run document"
    return schema


__all__ = ["SCHEMA_VERSION", "AnalysisSummary", "ChaosSummary", "Comparison", "Delivery", "MethodStatus", "RegressionVerdict", "SeriesVerdict", "E2ESummary",
           "EndpointView", "EnvironmentRun", "Experiment", "Friction", "Journey", "LoadSummary", "OutputStatus",
           "ReadinessSummary", "ReportInfo", "RunDocument", "SmokeSummary", "StageOutcome", "Stages", "Summary",
           "TRUST_GATE", "Trust", "json_schema", "merge_endpoints", "stage_outcome", "trust_gate", "trust_of"]
