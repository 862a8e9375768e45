"""Load shards as Prefect tasks on a Dask cluster, through prefect-dask's ``DaskTaskRunner``.

Inside a Prefect flow run (the ``campaign`` flow), the load stage's shards run as the tasks of a
``load-shards`` subflow whose task runner is ``DaskTaskRunner(address=…)``: each shard is one
``load-shard`` task run in the Prefect UI, executed on a worker of the cluster. Outside a flow run
(``perfcampaign run --no-prefect``) the same shards go to Dask directly. Either way the
coordination — common start, rows streamed to this process, stop across shards, lost workers —
is :mod:`tasks.load.cluster`'s; this module only decides how shards are submitted.

    from flows.dask_cluster import dask_runner
    ctx.options["load_runner"] = dask_runner("tcp://scheduler:8786")

What must not travel to the workers, and how it is kept home:

- Prefect ships each task with the flow run's context. The task and the flow are module-level
  and their bodies call plain module functions, so they pickle by reference.
- The plan never becomes a flow parameter: Prefect's API stores flow parameters, and a plan
  carries resolved secrets (auth headers). The subflow receives a token naming the job held in
  this process (:data:`_JOBS`), with its callbacks.
- The load stage's own task-run context is not inherited: its parameters hold the stage's run
  context, whose callbacks are bound to an event loop (``cannot pickle '_asyncio.Future'``).
  The subflow stays a child of the campaign flow run.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import dask
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext, TaskRunContext
from prefect_dask import DaskTaskRunner

from tasks.load.cluster import (ClusterInfo, ShardJob, Submitted, connect, coordinate, run_cluster_shard, run_on_dask,
                                wait_for_capacity)
from tasks.load.plan import Plan
from tasks.load.result import ShardResult

OnResult = Callable[[ShardResult], None]
OnBatch = Callable[[int, dict[str, Any]], None]


@dataclass
class _Job:
    plan: Plan
    n_shards: int
    on_result: OnResult | None
    on_batch: OnBatch | None
    info: ClusterInfo
    results: list[ShardResult] = field(default_factory=list)


#: jobs of the ``load-shards`` flow runs in this process, by token
_JOBS: dict[str, _Job] = {}


@task(name="load-shard", task_run_name="load-shard-{job.shard}", cache_policy=NO_CACHE, retries=0,
      persist_result=False, log_prints=False)
def load_shard(job: ShardJob) -> dict[str, Any]:
    """One shard of load on the Dask worker running this task."""
    return run_cluster_shard(job)


@flow(name="load-shards", persist_result=False, log_prints=False, validate_parameters=False)
def load_shards(token: str, n_shards: int, address: str | None = None) -> dict[str, Any]:
    """The load stage's shards as tasks on the flow's Dask task runner (the job is named by ``token``)."""
    return _coordinate_job(token)


def _coordinate_job(token: str) -> dict[str, Any]:
    job = _JOBS[token]
    ctx = FlowRunContext.get()
    runner = ctx.task_runner if ctx is not None else None
    if not isinstance(runner, DaskTaskRunner):
        raise RuntimeError("load-shards must run with a DaskTaskRunner")

    def submit(shard_job: ShardJob, where: str | None) -> Submitted:
        placement = dask.annotate(workers=[where], allow_other_workers=True) if where else nullcontext()
        with placement:
            fut = load_shard.submit(shard_job)
        return Submitted(future=fut.wrapped_future, fetch=fut.result, on_lost=lambda why: _crashed(fut, why))

    job.results = coordinate(job.plan, job.n_shards, runner.client, submit, job.on_result, job.on_batch,
                             info=job.info)
    return {"shards": job.n_shards, "lost": {str(k): v for k, v in job.info.lost.items()},
            "requests": sum(e.requests for r in job.results for e in r.endpoints)}


def _crashed(fut: Any, why: str) -> None:
    """A lost shard: cancel its Dask future, and say so in Prefect (its task run would stay Running)."""
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed

    fut.wrapped_future.cancel()
    with get_client(sync_client=True) as client:
        client.set_task_run_state(fut.task_run_id, Crashed(message=why), force=True)


def run_with_prefect(address: str | None, plan: Plan, n_shards: int, on_result: OnResult | None = None,
                     on_batch: OnBatch | None = None, info: ClusterInfo | None = None) -> list[ShardResult]:
    """Run the shards as the ``load-shards`` subflow (or flow, outside a flow run) on Dask.

    Without ``address``, a ``distributed.LocalCluster`` of ``n_shards`` processes is started for
    the flow run and closed after it.
    """
    if address:  # a wrong address or too small a cluster is the user's to fix: say so before Prefect runs
        with connect(address) as client:
            wait_for_capacity(client, n_shards)
    token = uuid.uuid4().hex
    job = _JOBS[token] = _Job(plan, n_shards, on_result, on_batch, info if info is not None else ClusterInfo())
    runner = (DaskTaskRunner(address=address) if address else DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={"n_workers": n_shards, "processes": True, "threads_per_worker": 1,
                        "dashboard_address": None}))
    try:
        contextvars.copy_context().run(_run_detached, runner, token, n_shards, address)
        return job.results
    finally:
        _JOBS.pop(token, None)


def _run_detached(runner: DaskTaskRunner, token: str, n_shards: int, address: str | None) -> None:
    TaskRunContext.__var__.set(None)  # not the stage task's context (see the module docstring)
    with _api_for_workers():
        load_shards.with_options(task_runner=runner)(token, n_shards, address)


@contextmanager
def _api_for_workers() -> Iterator[None]:
    """Dask workers are other processes: they need an API URL, not this process's in-memory
    ephemeral server (else each worker tries to start its own). Without ``PREFECT_API_URL``,
    use Prefect's ephemeral server as a subprocess (the one this process already runs, if any)
    and point the flow's settings (which travel with every task to the workers) at it."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    server = SubprocessASGIServer()  # a singleton: the ephemeral server the campaign flow started
    # a busy machine can take well over Prefect's default 20 s to boot the server
    server.start(timeout=max(90, int(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())))
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield


def in_flow_run() -> bool:
    return FlowRunContext.get() is not None


def run_distributed(plan: Plan, n_shards: int, address: str | None = None, on_result: OnResult | None = None,
                    on_batch: OnBatch | None = None, info: ClusterInfo | None = None,
                    prefect: bool | None = None) -> list[ShardResult]:
    """Shards on Dask: as Prefect tasks when ``prefect`` (default: inside a flow run, or when no
    address is given), else as plain Dask tasks."""
    use_prefect = prefect if prefect is not None else (in_flow_run() or not address)
    if use_prefect or not address:
        return run_with_prefect(address, plan, n_shards, on_result, on_batch, info)
    return run_on_dask(address, plan, n_shards, on_result, on_batch, info=info)


def dask_runner(address: str | None = None, prefect: bool | None = None) -> Callable[..., list[ShardResult]]:
    """A ``load_runner`` for the load stage: Prefect tasks on the Dask task runner inside a flow
    run, plain Dask tasks outside one (``--no-prefect``)."""

    def runner(plan: Plan, n_shards: int, on_result: OnResult | None = None, on_batch: OnBatch | None = None,
               info: ClusterInfo | None = None) -> list[ShardResult]:
        return run_distributed(plan, n_shards, address, on_result, on_batch, info, prefect)

    runner.dask_address = address  # type: ignore[attr-defined]
    return runner
