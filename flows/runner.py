"""Run a campaign: plan the stages per environment, run them in order, store every result.

This is the composition object both entry points share (as Locust's ``Environment`` is): the Prefect
flow in ``flows/campaign.py`` passes a stage executor that makes each stage a Prefect task; the CLI's
``--no-prefect`` and the tests pass one that calls the stage directly. Environments run one at a
time; within one, stages run readiness → smoke → e2e → load → chaos, each result written to the
warehouse in its own transaction as soon as it exists, so a failure later loses nothing before it.

An interrupted run (SIGINT/SIGTERM, ``tasks.stopping``) keeps what the stage under way measured,
starts nothing more and is stored as ``interrupted``; the outputs still publish it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import platform
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from campaigns.errors import UserError
from campaigns.loader import LoadedCampaign
from campaigns.redact import redact, redact_row, redact_text, redact_url
from campaigns.types import UnresolvedSecret, register_resolver
from campaigns.vocabulary import STAGE_ORDER
from flows.repair import RunLease, lease_seconds, repair_runs, this_process
from flows.services import ManagedService, ServiceStartError
from tasks.base import ProgressEvent, RunContext, Stage, StageResult, load_stages, now
from tasks.document import (Audit, EnvironmentRun, RunDocument, Stages, merge_endpoints, stage_outcome, trust_gate,
                            trust_of)
from tasks.stopping import INTERRUPTION
from warehouse.store import Warehouse

TOOL_VERSION = "perfcampaign 0.1.0"


def _prefect_secret(name: str) -> str:
    """``${prefect:NAME}``: the value of a Prefect Secret block."""
    try:
        from prefect.blocks.system import Secret

        return str(Secret.load(name).get())
    except Exception as exc:  # noqa: BLE001 - any failure to load means "unresolved"
        raise UnresolvedSecret(f"Prefect Secret block {name!r} could not be loaded: {exc}") from exc


register_resolver("prefect", _prefect_secret)

StageExecutor = Callable[[Stage, RunContext], Awaitable[StageResult]]


class BadInput(UserError):
    """The request names an unknown environment or stage: exit code 2."""


async def run_directly(stage: Stage, ctx: RunContext) -> StageResult:
    return await stage.run(ctx)


@dataclass
class StagePlan:
    stage: str
    action: str  # run | skipped | refused
    reason: str = ""


@dataclass
class RunOptions:
    environments: list[str] | None = None
    stages: list[str] | None = None
    trigger: str = "cli"
    test_type: str | None = None
    start_services: bool = True
    out_dir: Path | None = None
    flow_run_id: str | None = None
    stage_options: dict[str, Any] = field(default_factory=dict)
    #: wraps each environment's run, e.g. a Prefect global concurrency slot so two runs never load
    #: the same environment at once (``flows.concurrency.environment_slot``)
    env_guard: Callable[[str], contextlib.AbstractAsyncContextManager[Any]] | None = None
    #: who or what started the run and with what (``flows.audit``): triggered_by, deployment,
    #: schedule, parameters — stored with each environment's run and shown by ``perfcampaign runs``
    audit: dict[str, Any] = field(default_factory=dict)


def plan_campaign(loaded: LoadedCampaign, environments: list[str] | None,
                  stages: list[str] | None) -> dict[str, list[StagePlan]]:
    """What runs where, and why the rest does not. Unknown names are :class:`BadInput`."""
    campaign = loaded.campaign
    envs = environments or list(campaign.environments)
    unknown = [e for e in envs if e not in campaign.environments]
    if unknown:
        raise BadInput(f"{loaded.path}: unknown environment {unknown[0]!r} "
                       f"(the campaign has: {', '.join(campaign.environments)})")
    asked = stages or list(STAGE_ORDER)
    bad = [s for s in asked if s not in STAGE_ORDER]
    if bad:
        raise BadInput(f"unknown stage {bad[0]!r} (stages: {', '.join(STAGE_ORDER)})")
    registry = load_stages()
    plans: dict[str, list[StagePlan]] = {}
    for env_name in dict.fromkeys(envs):
        env = campaign.environments[env_name]
        allowed = env.allowed_stages()
        plan = []
        for stage in STAGE_ORDER:
            if stage not in asked:
                continue
            if stage == "chaos" and env.kind == "production":
                plan.append(StagePlan(stage, "refused", "chaos never runs in a production environment"))
            elif stage not in allowed:
                plan.append(StagePlan(stage, "skipped", f"not in environment {env_name!r}'s stages"))
            elif stage not in registry:
                plan.append(StagePlan(stage, "skipped", "stage not available in this version"))
            elif stage in ("load", "chaos", "e2e") and getattr(campaign, stage, None) is None and stages is None:
                plan.append(StagePlan(stage, "skipped", f"the campaign has no {stage} section"))
            else:
                plan.append(StagePlan(stage, "run"))
        plans[env_name] = plan
    return plans


@dataclass
class EnvironmentReport:
    """One environment while it runs; :meth:`to_model` is its part of the run document."""

    env_name: str
    kind: str
    run_id: str
    base_url: str
    status: str = "running"
    results: dict[str, StageResult] = field(default_factory=dict)
    plan: list[StagePlan] = field(default_factory=list)
    error: str | None = None
    infrastructure_failure: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None
    test_type: str | None = None
    trigger: str | None = None
    trust_policy: str = "warn"
    audit: dict[str, Any] = field(default_factory=dict)

    @property
    def gates_passed(self) -> bool:
        return all(r.gates_passed for r in self.results.values())

    def to_model(self) -> EnvironmentRun:
        outcomes: dict[str, Any] = {}
        for step in self.plan:
            result = self.results.get(step.stage)
            if result is None:
                outcomes[step.stage] = stage_outcome(step.stage, step.action, reason=step.reason)
        for name, result in self.results.items():  # the plan's stages, and steps after it (the analysis)
            outcomes[name] = stage_outcome(name, result.status, summary=result.summary, gates=result.gates,
                                           error=result.error, started_at=result.started_at,
                                           finished_at=result.finished_at)
        stages = Stages(**outcomes)
        return EnvironmentRun(
            run_id=self.run_id, kind=self.kind, base_url=redact_url(self.base_url),  # type: ignore[arg-type]
            status=self.status, error=redact_text(self.error) if self.error else None,  # type: ignore[arg-type]
            started_at=self.started_at, finished_at=self.finished_at, test_type=self.test_type,
            trigger=self.trigger, host=platform.node(), tool_version=TOOL_VERSION, stages=stages,
            audit=Audit(**_audit_columns(self.audit)) if self.audit else None,
            endpoints=merge_endpoints({n: r.endpoints for n, r in self.results.items()}),
            trust=trust_of(stages, self.trust_policy))  # type: ignore[arg-type]


@dataclass
class CampaignReport:
    loaded: LoadedCampaign
    warehouse: Path
    flow_run_id: str | None
    environments: dict[str, EnvironmentReport] = field(default_factory=dict)
    #: stages the user asked for by name that an environment refused (chaos in production)
    refused: list[str] = field(default_factory=list)
    trigger: str | None = None

    def document(self) -> RunDocument:
        """The run document every output reads."""
        c = self.loaded.campaign
        return RunDocument(campaign=c.campaign, team=c.team, campaign_file=str(self.loaded.path),
                           campaign_sha256=self.loaded.sha256, warehouse=str(self.warehouse),
                           flow_run_id=self.flow_run_id, trigger=self.trigger, refused=list(self.refused),
                           environments={name: env.to_model() for name, env in self.environments.items()})

    @property
    def exit_code(self) -> int:
        return self.document().exit_code

    @property
    def status(self) -> str:
        return self.document().status

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (``perfcampaign run --json``)."""
        return self.document().to_json()


async def run_environment(loaded: LoadedCampaign, env_name: str, plan: list[StagePlan], store: Warehouse,
                          options: RunOptions, emit: Callable[[ProgressEvent], None],
                          execute: StageExecutor = run_directly) -> EnvironmentReport:
    campaign = loaded.campaign
    env = campaign.environments[env_name]
    run_id = str(uuid.uuid4())
    report = EnvironmentReport(env_name, env.kind, run_id, env.base_url, plan=plan, started_at=now(),
                               test_type=options.test_type, trigger=options.trigger,
                               trust_policy=campaign.verdict.untrustworthy, audit=options.audit)
    out_dir = (options.out_dir or store.path.parent / "runs") / run_id
    store.start_run({
        "run_id": run_id, "campaign": campaign.campaign, "environment": env_name, "env_kind": env.kind,
        "started_at": report.started_at, "status": "running", "trigger": options.trigger, "flow_run_id": options.flow_run_id,
        "campaign_sha256": loaded.sha256, "campaign_file": str(loaded.path),
        "stages": [p.stage for p in plan], "test_type": options.test_type, "base_url": env.base_url,
        "tool_version": TOOL_VERSION, "host": platform.node(), "team": campaign.team,
        "requested_stages": options.stages, "trust_policy": report.trust_policy,
        **_audit_columns(options.audit), **this_process(), "heartbeat_at": report.started_at,
        "lease_s": lease_seconds()})
    lease = RunLease(store, run_id).start()  # a run whose process dies is marked crashed (flows.repair)
    ctx = RunContext(loaded=loaded, env_name=env_name, run_id=run_id, out_dir=out_dir, test_type=options.test_type,
                     options=_stage_options(options.stage_options), emit=emit, write_rows=store.write_rows)
    service = ManagedService(campaign.campaign, env_name, env, loaded.base_dir, store.path.parent)
    final = "error"
    try:
        if options.start_services and env.service is not None:
            emit(ProgressEvent(env_name, "service", "info", f"checking the service at {env.base_url}"))
            await service.start()
            emit(ProgressEvent(env_name, "service", "info",
                               "service already running" if service.reused else f"started service (log {service.log_path})"))
        registry = load_stages()
        for step in plan:
            if step.action != "run":
                result = StageResult(stage=step.stage, status=step.action, summary={"reason": step.reason})  # type: ignore[arg-type]
                store.record_stage(run_id, result)
                emit(ProgressEvent(env_name, step.stage, "stage-end", f"{step.action}: {step.reason}",
                                   {"status": step.action}))
                continue
            if report.infrastructure_failure:
                culprit = next((r for r in report.results.values() if r.infrastructure_failure), None)
                crashed = culprit is not None and "traceback" in (culprit.summary or {})
                step.action, step.reason = "skipped", (
                    f"the {culprit.stage} stage stopped on an internal error ({(culprit.error or '')[:160]})"
                    if crashed else "an earlier stage found the target unreachable")
                continue
            if INTERRUPTION.requested or any(r.status == "interrupted" for r in report.results.values()):
                step.action, step.reason = "skipped", f"the run was {INTERRUPTION.describe()} before this stage"
                continue
            per_endpoint = step.stage in ("readiness", "smoke")  # one item per endpoint: a bar with an ETA
            emit(ProgressEvent(env_name, step.stage, "stage-start", f"{step.stage} started",
                               total=len(campaign.endpoints) if per_endpoint else None,
                               unit="endpoints" if per_endpoint else ""))
            result = await _run_stage(registry[step.stage](), ctx, execute)
            if step.stage == "load" and (gate := trust_gate(result.summary, report.trust_policy)) is not None:
                result.gates.append(gate)
                result.status = "failed" if result.status == "passed" else result.status
            report.results[step.stage] = result
            ctx.results[step.stage] = result
            store.record_stage(run_id, result)
            if result.backlog_scope is not None:
                store.sync_backlog(campaign.campaign, env_name, run_id, result.finished_at, result.backlog,
                                   result.backlog_scope)
            if result.infrastructure_failure:
                report.infrastructure_failure = True
                report.error = result.error
            emit(ProgressEvent(env_name, step.stage, "stage-end", f"{step.stage} {result.status}",
                               {"status": result.status, "gates": len(result.gates),
                                "failed": sum(not g.passed for g in result.gates), "error": result.error}))
        if INTERRUPTION.requested or any(r.status == "interrupted" for r in report.results.values()):
            raise _Interrupted
        if "load" in report.results and not report.infrastructure_failure:
            analysis = _analyze(store, run_id, loaded, env_name)
            report.results["analysis"] = analysis
            store.record_stage(run_id, analysis)
            emit(ProgressEvent(env_name, "analysis", "stage-end", f"analysis {analysis.status}",
                               {"status": analysis.status}))
        final = "error" if report.infrastructure_failure else ("passed" if report.gates_passed else "failed")
    except ServiceStartError as exc:
        report.infrastructure_failure = True
        report.error = str(exc)
        emit(ProgressEvent(env_name, "service", "warning", str(exc)))
    except _Interrupted:
        final = "interrupted"
        report.error = INTERRUPTION.describe()
    except KeyboardInterrupt:
        final = "interrupted"
        report.error = INTERRUPTION.describe()
        raise
    except asyncio.CancelledError:
        final = "interrupted"
        report.error = INTERRUPTION.describe()
        if not INTERRUPTION.requested:
            raise
        _uncancel()  # a stop asked for by a signal: the run is stored and its outputs published
    finally:
        service.stop()
        lease.stop()
        report.status = final
        report.finished_at = now()
        store.finish_run(run_id, final, report.finished_at, report.error)
    return report


def _audit_columns(audit: dict[str, Any]) -> dict[str, Any]:
    return {"triggered_by": audit.get("triggered_by"), "deployment": audit.get("deployment"),
            "schedule": audit.get("schedule"), "parameters": redact(audit.get("parameters"))}


def _analyze(store: Warehouse, run_id: str, loaded: LoadedCampaign, env_name: str) -> StageResult:
    """Trends, baselines and change points for this run's series; fresh regressions gate the run."""
    from warehouse.analytics.service import analyze_run, evaluate_gates, settings_for

    campaign = loaded.campaign
    started = now()
    try:
        result = analyze_run(store, run_id, settings=settings_for(campaign, env_name))
    except Exception as exc:  # noqa: BLE001 - analysis trouble is reported, never loses the run
        return StageResult("analysis", "error", started_at=started, finished_at=now(),
                           error=f"{type(exc).__name__}: {exc}", summary={"traceback": traceback.format_exc(limit=8)})
    gates = evaluate_gates(result)
    return StageResult("analysis", "passed" if all(g.passed for g in gates) else "failed", started_at=started,
                       finished_at=now(), summary=result.summary(), gates=gates)


def _stage_options(given: dict[str, Any]) -> dict[str, Any]:
    """JSON-able options (flow parameters) → what stages read. The load stage turns a Dask address
    (``dask_address`` here or in the campaign) into a runner with this factory: Prefect's Dask task
    runner inside a flow run, plain Dask otherwise."""
    options = dict(given)
    options.setdefault("dask_runner", _dask_runner)
    return options


def _dask_runner(address: str) -> Any:
    from flows.dask_cluster import dask_runner  # imports prefect-dask: only when a cluster is asked for

    return dask_runner(address)


class _Interrupted(Exception):
    """The run was interrupted: store it as such, start nothing more."""


def _uncancel() -> None:
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        task.uncancel()


def redact_result(result: StageResult) -> StageResult:
    """A stage's result with its secrets masked (``campaigns.redact``): what the document, the
    outputs and the logs show. Rows are redacted where they are written (``Warehouse.write_rows``)."""
    result.summary = redact(result.summary)
    result.error = redact_text(result.error) if result.error else result.error
    for gate in result.gates:
        gate.name, gate.detail = redact_text(gate.name), redact_text(gate.detail)
        gate.observed, gate.limit = redact(gate.observed), redact(gate.limit)
    result.endpoints = [redact_row(e) for e in result.endpoints]
    result.backlog = [redact_row(b) for b in result.backlog]
    return result


def redacting(emit: Callable[[ProgressEvent], None]) -> Callable[[ProgressEvent], None]:
    """Progress events with their secrets masked: they reach the terminal, logs and artifacts."""

    def out(event: ProgressEvent) -> None:
        numbers = event.stage == "load" and event.kind == "item"  # the per-second row: numbers only
        emit(dataclasses.replace(event, message=redact_text(event.message),
                                 data=event.data if numbers else redact(event.data)))

    return out


async def _run_stage(stage: Stage, ctx: RunContext, execute: StageExecutor) -> StageResult:
    started = now()
    try:
        return redact_result(await execute(stage, ctx))
    except asyncio.CancelledError:
        if not INTERRUPTION.requested:
            raise
        _uncancel()  # the stop a signal asked for: the stage ends here, the run is stored
        return StageResult(stage=stage.name, status="interrupted", started_at=started, finished_at=now(),
                           error=INTERRUPTION.describe(), summary={"interrupted": True})
    except Exception as exc:  # noqa: BLE001 - a broken stage is reported and stored, never loses the run
        return StageResult(stage=stage.name, status="error", started_at=started, finished_at=now(),
                           error=f"{type(exc).__name__}: {exc}", infrastructure_failure=True,
                           summary={"traceback": traceback.format_exc(limit=8)})


async def run_campaign(loaded: LoadedCampaign, store: Warehouse, options: RunOptions,
                       emit: Callable[[ProgressEvent], None] = lambda e: None,
                       execute: StageExecutor = run_directly) -> CampaignReport:
    """Every environment asked for, one after the other."""
    plans = plan_campaign(loaded, options.environments, options.stages)
    emit = redacting(emit)
    from campaigns import preflight  # nothing is sent while a reference the run needs is unset

    problems = preflight.problems(loaded, secrets=True, environments=list(plans))
    if problems:
        raise BadInput("\n".join(str(p) for p in problems))
    try:  # runs whose process died since (a SIGKILL, a power cut) are marked crashed first
        for crashed in repair_runs(store):
            emit(ProgressEvent(crashed["environment"], "service", "warning",
                               f"run {crashed['run_id'][:8]} of {crashed['campaign']} marked crashed: {crashed['why']}"))
    except Exception:  # noqa: BLE001 - repairing old runs must never stop a new one
        pass
    report = CampaignReport(loaded, store.path, options.flow_run_id, trigger=options.trigger)
    if options.stages:
        report.refused = [f"{env}: {p.stage}: {p.reason}" for env, plan in plans.items() for p in plan
                          if p.action == "refused"]
    for env_name, plan in plans.items():
        if INTERRUPTION.requested:  # the environments after an interrupted one never start
            break
        guard = options.env_guard(env_name) if options.env_guard else contextlib.nullcontext()
        async with guard:
            report.environments[env_name] = await run_environment(loaded, env_name, plan, store, options, emit,
                                                                  execute)
    return report
