"""The Prefect flow ``campaign``: one campaign, its environments one at a time, each stage a task.

Parameters are what the Prefect UI renders as a form for ad-hoc runs: the campaign file, the
environments and stages (empty means all the campaign allows), the test type, the warehouse file
and the trigger. The flow run's id is stored with every run row, and the flow returns the same
JSON document the CLI prints with ``--json``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from campaigns.loader import load_campaign
from flows.artifacts import publish_artifacts
from flows.concurrency import environment_slot
from flows.report_cli import publish_run
from flows.runner import RunOptions, run_campaign
from campaigns.vocabulary import Stage as StageName
from campaigns.vocabulary import TestType
from tasks.base import ProgressEvent, RunContext, Stage, StageResult
from warehouse.store import Warehouse

#: in-process listeners for live progress (the CLI's terminal display); not a flow parameter,
#: since parameters must be JSON for the Prefect API
PROGRESS_LISTENERS: list[Callable[[ProgressEvent], None]] = []


@task(name="stage", task_run_name="{env_name}-{stage_name}", cache_policy=NO_CACHE, log_prints=True)
async def run_stage(stage_name: str, env_name: str, stage: Stage, ctx: RunContext) -> StageResult:
    """One stage of one environment, as a Prefect task run named ``<env>-<stage>``."""
    return await stage.run(ctx)


async def _as_task(stage: Stage, ctx: RunContext) -> StageResult:
    return await run_stage(stage.name, ctx.env_name, stage, ctx)


@flow(name="campaign", log_prints=True)
async def campaign(
    campaign_file: str = "campaigns/demo.yaml",
    environments: list[str] | None = None,
    stages: list[StageName] | None = None,
    test_type: TestType | None = None,
    warehouse: str | None = None,
    trigger: str = "manual",
    start_services: bool = True,
    stage_options: dict[str, Any] | None = None,
    dask_address: str | None = None,
) -> dict[str, Any]:
    """Run a performance campaign and store every result in the warehouse.

    ``dask_address`` (e.g. ``tcp://scheduler:8786``) runs the load shards as tasks on that Dask
    cluster, through Prefect's Dask task runner (it overrides the campaign's ``load.dask_address``).
    """
    logger = get_run_logger()
    loaded = load_campaign(campaign_file)
    store = Warehouse(warehouse)

    def emit(event: ProgressEvent) -> None:
        for listener in list(PROGRESS_LISTENERS):
            listener(event)
        if event.kind in ("stage-end", "warning"):
            logger.info("[%s] %s: %s", event.env, event.stage, event.message)

    options = RunOptions(environments=environments or None, stages=list(stages) if stages else None,
                         trigger=trigger, test_type=test_type, start_services=start_services,
                         flow_run_id=str(flow_run.id) if flow_run.id else None,
                         stage_options={**(stage_options or {}), **({"dask_address": dask_address}
                                                                    if dask_address else {})},
                         env_guard=lambda env: environment_slot(loaded.campaign.campaign, env))
    report = await run_campaign(loaded, store, options, emit, _as_task)
    doc = report.to_dict()  # the run document's JSON (a flow's result is JSON for the Prefect API)
    # the executive summary, the Slack message (once per run) and the flow run's artifacts
    doc.update(await asyncio.to_thread(publish_run, doc, store=store, campaign=loaded.campaign, trigger=trigger))
    await publish_artifacts(doc, doc.get("report"))
    logger.info("campaign %s: %s (exit code %s)", loaded.campaign.campaign, doc["status"], doc["exit_code"])
    return doc
