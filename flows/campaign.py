"""The Prefect flow ``campaign``: one campaign, its environments one at a time, each stage a task.

Its parameters are :class:`flows.parameters.CampaignParameters`, which the Prefect UI renders as
the form of an ad-hoc run: the campaign file, the environments and stages (empty means all the
campaign allows), the test type, the duration scale and a Dask scheduler — with titles,
descriptions and drop-downs; the warehouse file, the trigger and the stages' internal options
are parameters the CLI and ``prefect.yaml`` pass, hidden from the form. :func:`campaign_form` is
the same flow for one campaign file, its environments offered as a drop-down (``flows/forms.py``).
``outputs`` (hidden, ``flows.outputs.OutputOptions``) says what the outputs do, e.g. a JUnit file;
the outputs (``flows.outputs``, the composition root the CLI's ``--no-prefect`` shares) publish the
run.

A mistake in the parameters (an unknown environment, a missing or invalid campaign file, an
unset secret) ends the flow run Failed with one line saying what, before anything is sent; no
traceback. While it runs the flow keeps a progress artifact up to date and logs each stage and
load phase (``flows.progress.flowrun``). The flow run's id is stored with every run row, and the
flow returns the same JSON document the CLI prints with ``--json``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import Flow, flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Failed
from pydantic import ValidationError

from campaigns.errors import UserError
from campaigns.loader import CampaignError, load_campaign
from flows.artifacts import artifact_key
from flows.concurrency import environment_slot
from flows.outputs import OutputContext, OutputOptions, build_outputs
from flows.parameters import CampaignParameters, flow_signature, form_for, one_line
from flows.progress.flowrun import FlowProgress
from flows.report_cli import flow_run_url
from flows.runner import RunOptions, plan_campaign, run_campaign
from tasks.base import ProgressEvent, RunContext, Stage, StageResult
from warehouse.store import Warehouse

#: in-process listeners for live progress (the CLI's terminal display); not a flow parameter,
#: since parameters must be JSON for the Prefect API
PROGRESS_LISTENERS: list[Callable[[ProgressEvent], None]] = []

DESCRIPTION = ("Run a performance campaign — readiness, smoke, e2e, load and chaos per environment — and store "
               "every result in the warehouse.")


@task(name="stage", task_run_name="{env_name}-{stage_name}", cache_policy=NO_CACHE, log_prints=True)
async def run_stage(stage_name: str, env_name: str, stage: Stage, ctx: RunContext) -> StageResult:
    """One stage of one environment, as a Prefect task run named ``<env>-<stage>``."""
    return await stage.run(ctx)


async def _as_task(stage: Stage, ctx: RunContext) -> StageResult:
    return await run_stage(stage.name, ctx.env_name, stage, ctx)


def _refuse(logger: Any, message: str) -> Any:
    """A user's mistake: the flow run ends Failed with this one line (no traceback)."""
    logger.error(message)
    return Failed(message=message)


def _trigger() -> str:
    """What started this flow run, when no ``trigger`` parameter says: ``schedule`` for a run a
    deployment's schedule created, else ``manual`` (the UI's form, the API, a direct call)."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    run = context.flow_run if context is not None else None
    return "schedule" if run is not None and getattr(run, "auto_scheduled", False) else "manual"


async def run_campaign_flow(model: type[CampaignParameters], given: dict[str, Any]) -> Any:
    """The flow's body: check the parameters, run, publish; a Failed state for a user's mistake."""
    logger = get_run_logger()
    try:
        params = model.model_validate(given)
        loaded = load_campaign(params.campaign_file)
        plans = plan_campaign(loaded, params.environments or None, list(params.stages) or None)
        from campaigns import preflight  # nothing is sent while a reference the run needs is unset

        problems = preflight.problems(loaded, secrets=True, environments=list(plans))
    except ValidationError as exc:
        return _refuse(logger, one_line(exc))
    except CampaignError as exc:
        return _refuse(logger, "invalid campaign: " + "; ".join(str(p) for p in exc.problems))
    except UserError as exc:
        return _refuse(logger, str(exc))
    if problems:
        return _refuse(logger, "; ".join(str(p) for p in problems))
    store = Warehouse(params.warehouse)
    trigger = params.trigger or _trigger()
    run_id = str(flow_run.id) if flow_run.id else None
    progress = FlowProgress(logger, artifact_key(loaded.campaign.campaign, "progress"),
                            {env: [p.stage for p in plan if p.action == "run"] for env, plan in plans.items()},
                            endpoints=len(loaded.campaign.endpoints))
    await progress.start()
    manager = build_outputs()
    ctx = OutputContext(store=store, campaign=loaded.campaign,
                        options=OutputOptions.model_validate(params.outputs or {}), trigger=trigger, flow_run_url=flow_run_url(run_id), in_flow=True)
    manager.start(ctx)

    def emit(event: ProgressEvent) -> None:
        for listener in list(PROGRESS_LISTENERS):
            listener(event)
        progress(event)
        manager.emit(event)

    options = RunOptions(environments=params.environments or None, stages=list(params.stages) or None,
                         trigger=trigger, test_type=params.test_type_or_none, start_services=params.start_services,
                         flow_run_id=run_id, stage_options=params.stage_options_with_form(),
                         env_guard=lambda env: environment_slot(loaded.campaign.campaign, env))
    status = "error"
    try:
        report = await run_campaign(loaded, store, options, emit, _as_task)
        status = report.document().status
        emit(ProgressEvent(loaded.campaign.campaign, "outputs", "info",
                           "writing the report, Slack and the artifacts"))
        # report, JUnit, Pushgateway, Slack (once per run), the flow run's artifacts, run.json
        doc = await asyncio.to_thread(manager.publish, report.document(), ctx)
    finally:
        manager.stop()
        await progress.finish(f"{loaded.campaign.campaign}: {status}")
    for name, output in doc.outputs.items():
        if output.status == "error":
            logger.warning("output %s failed: %s", name, output.error)
    logger.info("campaign %s: %s (exit code %s)", doc.campaign, doc.status, doc.exit_code)
    return doc.to_json()  # the run document's JSON (a flow's result is JSON for the Prefect API)


def _flow_for(model: type[CampaignParameters], name: str = "campaign") -> Flow[..., Any]:
    """The flow whose parameters (and form) are ``model``'s fields."""

    async def campaign(**parameters: Any) -> Any:
        return await run_campaign_flow(model, parameters)

    campaign.__signature__ = flow_signature(model)  # type: ignore[attr-defined]
    campaign.__doc__ = DESCRIPTION
    # Prefect would validate against the signature and log a traceback; the model does it, in one line
    return flow(name=name, log_prints=True, validate_parameters=False, description=DESCRIPTION)(campaign)


campaign = _flow_for(CampaignParameters)


def campaign_form(campaign_file: str, root: str | Path | None = None) -> Flow[..., Any]:
    """The ``campaign`` flow for one campaign file: its form offers the campaign's environments as a
    drop-down and the file as the default (``root``: where relative paths start; default the
    project folder)."""
    return _flow_for(form_for(campaign_file, Path(root) if root else Path(__file__).resolve().parents[1]))
