"""Load shards as Prefect tasks on a Dask cluster (``prefect-dask``'s DaskTaskRunner).

Past one machine, each shard of a load plan runs as a Prefect task on a Dask worker; the results
come back as :class:`~tasks.load.result.ShardResult` and merge exactly like local shards
(histograms added). All shards start at one shared instant; an abort-on-fail threshold or a
breakpoint in any shard stops the others through a ``distributed.Event``.

    from flows.distributed import run_distributed, dask_runner
    results = run_distributed(plan, n_shards=4, address="tcp://scheduler:8786")
    # or, inside the load stage: ctx.options["load_runner"] = dask_runner("tcp://scheduler:8786")

Without ``address`` a ``distributed.LocalCluster`` of ``n_shards`` worker processes is started
for the flow run and closed after it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect_dask import DaskTaskRunner

from tasks.load.plan import Plan
from tasks.load.result import ShardResult

#: seconds between submitting the shards and their common first send
START_MARGIN = 1.5


class _SharedStop:
    """A stop signal shared by every shard of a run: a ``distributed.Event`` polled from a thread,
    so the shard's event loop only ever reads a local flag."""

    def __init__(self, name: str, poll: float = 0.25):
        from distributed import Event

        self._event = Event(name)
        self._local = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(poll,), daemon=True)
        self._thread.start()

    def _watch(self, poll: float) -> None:
        while not self._done.is_set():
            try:
                if self._event.is_set():
                    self._local.set()
                    return
            except Exception:  # noqa: BLE001 - a lost scheduler must not kill the shard
                return
            self._done.wait(poll)

    def is_set(self) -> bool:
        return self._local.is_set()

    def set(self) -> None:
        self._local.set()
        try:
            self._event.set()
        except Exception:  # noqa: BLE001
            pass

    def close(self) -> None:
        self._done.set()


@task(name="load-shard", cache_policy=NO_CACHE, retries=0, log_prints=False)
def load_shard(plan: Plan, shard: int, n_shards: int, start_at: float, stop_name: str | None) -> dict[str, Any]:
    """Run one shard on this worker; return its result as a plain dict."""
    from tasks.load.engine import Control, run_shard

    stop: Any = None
    if stop_name:
        try:
            stop = _SharedStop(stop_name)
        except Exception:  # noqa: BLE001 - no distributed client here: the shard stops alone
            stop = None
    try:
        control = Control(start_at=start_at) if stop is None else Control(stop=stop, start_at=start_at)
        return run_shard(plan, shard, n_shards, control).to_dict()
    finally:
        if stop is not None:
            stop.close()


def _task_runner(n_shards: int, address: str | None) -> DaskTaskRunner:
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                          cluster_kwargs={"n_workers": n_shards, "processes": True, "threads_per_worker": 1})


def run_distributed(plan: Plan, n_shards: int, address: str | None = None,
                    on_result: Callable[[ShardResult], None] | None = None) -> list[ShardResult]:
    """Run ``n_shards`` shards of ``plan`` as Prefect tasks on Dask; results by shard number."""

    @flow(name="load-shards", task_runner=_task_runner(n_shards, address), log_prints=False,
          validate_parameters=False)
    def load_shards(plan: Plan, n_shards: int) -> list[dict[str, Any]]:
        stop_name = f"perfcampaign-load-stop-{uuid.uuid4().hex}"
        start_at = time.time() + START_MARGIN
        futures = [load_shard.submit(plan, k, n_shards, start_at, stop_name) for k in range(n_shards)]
        out = []
        for k, fut in enumerate(futures):
            try:
                data = fut.result()
            except Exception as exc:  # noqa: BLE001 - keep the other shards
                data = ShardResult(shard=k, n_shards=n_shards, model=plan.model, test_type=plan.test_type,
                                   planned_duration=plan.duration, error=f"{type(exc).__name__}: {exc}",
                                   trustworthy=False, reasons=[str(exc)]).to_dict()
            if on_result is not None:
                on_result(ShardResult.from_dict(data))
            out.append(data)
        return out

    with _api_for_workers():
        return [ShardResult.from_dict(d) for d in load_shards(plan, n_shards)]


@contextmanager
def _api_for_workers() -> Iterator[None]:
    """Dask workers are other processes: they need an API URL, not this process's in-memory
    ephemeral server (else each worker tries to start its own). Without ``PREFECT_API_URL``,
    start Prefect's ephemeral server as a subprocess and point the flow's settings (which
    travel with every task to the workers) at it."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer

    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    server = SubprocessASGIServer()
    # a busy machine can take well over Prefect's default 20 s to boot the server
    server.start(timeout=max(90, int(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())))
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield


def dask_runner(address: str | None = None) -> Callable[[Plan, int, Callable[[ShardResult], None]], list[ShardResult]]:
    """A ``load_runner`` for the load stage (``ctx.options["load_runner"]``) that uses Dask."""

    def runner(plan: Plan, n_shards: int, on_result: Callable[[ShardResult], None]) -> list[ShardResult]:
        return run_distributed(plan, n_shards, address, on_result)

    return runner
