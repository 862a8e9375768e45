"""Shards in local worker processes (spawn), started together and merged exactly.

Each worker imports the engine, says it is ready, waits for the common start instant, runs its
shard and sends back a :class:`ShardResult` (as a dict). Results are handed to ``on_result`` as
they arrive, so a caller can store each shard in its own transaction; a worker that dies yields a
result with ``error`` set and the others are kept. A shared stop event lets any shard (an
abort-on-fail threshold, a breakpoint) or the caller stop them all.

With ``on_batch``, shards stream: every ``batch_every`` seconds each sends its per-second rows
(``{"shard", "seq", "rows"}``) and keeps none; a shard's batches always reach ``on_batch`` before
its result reaches ``on_result`` (one queue, in order). This is the contract every shard runner
keeps (``tasks.load.cluster`` for Dask).

``halt`` (set when the run is interrupted) stops every shard at once, without a graceful stop;
they still send back what they measured. A worker dies with this process: the kernel kills it
when its parent goes (``PR_SET_PDEATHSIG``) and it watches its parent's pid besides, so a
SIGKILLed perfcampaign leaves no shard loading the target.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_mod
import time
import traceback
from collections.abc import Callable
from typing import Any

from tasks.load.plan import Plan
from tasks.load.result import ShardResult
from tasks.stopping import die_with_parent, watch_parent

START_MARGIN = 0.3      # seconds between "all ready" and the first send
READY_TIMEOUT = 60.0


def _child(plan: Plan, shard: int, n_shards: int, stop: Any, go: Any, start_at: Any, out: Any,
           stream: bool, batch_every: float, tick: float, halt: Any = None, parent: int = 0) -> None:
    die_with_parent()
    if parent:  # the parent may have died before the line above: then nothing would ever kill us
        watch_parent(parent, lambda: os._exit(0))
    try:
        from tasks.load.engine import Control, run_shard  # imported in the child: the slow part

        out.put(("ready", shard, None))
        go.wait(READY_TIMEOUT)

        def on_batch(batch: dict[str, Any]) -> None:  # mp.Queue pickles and sends from its own thread
            out.put(("batch", shard, batch))

        control = Control(stop=stop, start_at=start_at.value, on_batch=on_batch if stream else None,
                          batch_every=batch_every, tick=tick)
        if halt is not None:
            control.halt = halt
        result = run_shard(plan, shard, n_shards, control)
        out.put(("result", shard, result.to_dict()))
    except BaseException as exc:  # noqa: BLE001 - report, never hang the parent
        out.put(("error", shard, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"))


OnBatch = Callable[[int, dict[str, Any]], None]


def run_local(plan: Plan, n_shards: int, on_result: Callable[[ShardResult], None] | None = None,
              on_batch: OnBatch | None = None, stop: Any = None, margin: float = 60.0,
              batch_every: float = 2.0, tick: float = 1.0, halt: Any = None) -> list[ShardResult]:
    """Run ``n_shards`` shards of ``plan`` in worker processes; return their results by shard."""
    ctx = mp.get_context("spawn")
    stop = stop if stop is not None else ctx.Event()
    halt = halt if halt is not None else ctx.Event()
    go = ctx.Event()
    start_at = ctx.Value("d", 0.0)
    out: Any = ctx.Queue()
    procs = [ctx.Process(target=_child, args=(plan, k, n_shards, stop, go, start_at, out, on_batch is not None,
                                              batch_every, tick, halt, os.getpid()),
                         name=f"perfcampaign-load-shard-{k}", daemon=True) for k in range(n_shards)]
    results: dict[int, ShardResult] = {}
    ready: set[int] = set()

    def finish(k: int, result: ShardResult) -> None:
        results[k] = result
        if on_result is not None:
            on_result(result)

    for p in procs:
        p.start()
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while len(ready) + len(results) < n_shards and time.monotonic() < deadline:
            try:
                kind, k, data = out.get(timeout=0.2)
            except queue_mod.Empty:
                for k, p in enumerate(procs):
                    if not p.is_alive() and k not in ready and k not in results:
                        finish(k, failed_shard(plan, k, n_shards, f"worker exited with code {p.exitcode} before start"))
                continue
            if kind == "ready":
                ready.add(k)
            elif kind == "error":
                finish(k, failed_shard(plan, k, n_shards, data))
        start_at.value = time.time() + START_MARGIN
        go.set()
        deadline = time.monotonic() + START_MARGIN + plan.duration + plan.graceful_stop + margin
        while len(results) < n_shards and time.monotonic() < deadline:
            try:
                kind, k, data = out.get(timeout=0.2)
            except queue_mod.Empty:
                for k, p in enumerate(procs):
                    if k not in results and not p.is_alive():
                        # the result may still be in the pipe: drain once more before declaring it dead
                        time.sleep(0.2)
                        _drain(out, results, finish, plan, n_shards, on_batch)
                        if k not in results:
                            finish(k, failed_shard(plan, k, n_shards, f"worker process died (exit code {p.exitcode})"))
                continue
            _handle(kind, k, data, finish, plan, n_shards, on_batch)
        for k in range(n_shards):
            if k not in results:
                finish(k, failed_shard(plan, k, n_shards, "no result before the deadline"))
    finally:
        stop.set()
        go.set()
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.terminate()
                p.join(2)
        out.close()
    return [results[k] for k in range(n_shards)]


def _handle(kind: str, k: int, data: Any, finish: Callable[[int, ShardResult], None], plan: Plan, n: int,
            on_batch: OnBatch | None) -> None:
    if kind == "result":
        finish(k, ShardResult.from_dict(data))
    elif kind == "error":
        finish(k, failed_shard(plan, k, n, data))
    elif kind == "batch" and on_batch is not None:
        on_batch(k, data)


def _drain(out: Any, results: dict[int, ShardResult], finish: Callable[[int, ShardResult], None], plan: Plan,
           n: int, on_batch: OnBatch | None) -> None:
    while True:
        try:
            kind, k, data = out.get_nowait()
        except queue_mod.Empty:
            return
        _handle(kind, k, data, finish, plan, n, on_batch)


def failed_shard(plan: Plan, shard: int, n_shards: int, error: str) -> ShardResult:
    """The result of a shard that never returned one (its process or worker died, …)."""
    return ShardResult(shard=shard, n_shards=n_shards, model=plan.model, test_type=plan.test_type,
                       planned_duration=plan.duration, error=error, trustworthy=False, reasons=[error])
