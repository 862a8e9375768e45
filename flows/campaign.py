"""The Prefect flow ``campaign``: one campaign, its environments one at a time, each stage a task.

Parameters are what the Prefect UI renders as a form for ad-hoc runs: the campaign file, the
environments and stages (empty means all the campaign allows), the test type, the warehouse file
and the trigger (``outputs``: what the outputs do, e.g. a JUnit file). The flow run's id is stored
with every run row, the outputs (``flows.outputs``, the composition root the CLI's ``--no-prefect``
shares) publish the run, and the flow returns the same JSON document the CLI prints with ``--json``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from campaigns.loader import load_campaign
from flows.concurrency import environment_slot
from flows.outputs import OutputContext, OutputOptions, build_outputs
from flows.report_cli import flow_run_url
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
    outputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run a performance campaign, store every result in the warehouse, publish the outputs.

    ``dask_address`` (e.g. ``tcp://scheduler:8786``) runs the load shards as tasks on that Dask
    cluster, through Prefect's Dask task runner (it overrides the campaign's ``load.dask_address``).
    ``outputs`` (``flows.outputs.OutputOptions``): what the outputs do, e.g. ``{"junit": "perf.xml"}``.
    """
    logger = get_run_logger()
    loaded = load_campaign(campaign_file)
    store = Warehouse(warehouse)
    run_id = str(flow_run.id) if flow_run.id else None
    manager = build_outputs()
    ctx = OutputContext(store=store, campaign=loaded.campaign, options=OutputOptions.model_validate(outputs or {}),
                        trigger=trigger, flow_run_url=flow_run_url(run_id), in_flow=True)
    manager.start(ctx)

    def emit(event: ProgressEvent) -> None:
        for listener in list(PROGRESS_LISTENERS):
            listener(event)
        manager.emit(event)
        if event.kind in ("stage-end", "warning"):
            logger.info("[%s] %s: %s", event.env, event.stage, event.message)

    options = RunOptions(environments=environments or None, stages=list(stages) if stages else None,
                         trigger=trigger, test_type=test_type, start_services=start_services,
                         flow_run_id=run_id,
                         stage_options={**(stage_options or {}), **({"dask_address": dask_address}
                                                                    if dask_address else {})},
                         env_guard=lambda env: environment_slot(loaded.campaign.campaign, env))
    try:
        report = await run_campaign(loaded, store, options, emit, _as_task)
        # report, JUnit, Pushgateway, Slack (once per run), the flow run's artifacts, run.json
        doc = await asyncio.to_thread(manager.publish, report.document(), ctx)
    finally:
        manager.stop()
    for name, status in doc.outputs.items():
        if status.status == "error":
            logger.warning("output %s failed: %s", name, status.error)
    logger.info("campaign %s: %s (exit code %s)", doc.campaign, doc.status, doc.exit_code)
    return doc.to_json()  # the run document's JSON (a flow's result is JSON for the Prefect API)
