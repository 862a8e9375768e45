"""Load shards on a Dask cluster: what runs on a worker, and the coordinator that drives them.

Any scheduler and workers started with Dask's own CLI work (``dask scheduler``, ``dask worker
tcp://host:8786 --nworkers 2``, as on Kubernetes or VMs); the workers need only this package
installed. The functions shipped to workers are module-level (pickled by reference), and what
travels is plain data: the :class:`ShardJob` (the picklable plan), rows and results as dicts.

One run talks through a few named objects on the scheduler, under one prefix::

    <prefix>-rows        Queue     shard → coordinator: {"kind": "ready" | "batch", "shard", …}
    <prefix>-start       Variable  coordinator → shards: the common start instant (epoch s), or "abort"
    <prefix>-stop        Event     anyone → everyone: stop now (abort-on-fail, breakpoint, the caller)
    <prefix>-alive       Variable  the coordinator's heartbeat: shards stop when it goes stale
    <prefix>-claim-<k>   Variable  set by shard k's first attempt: a re-run refuses to load again

The coordinator (:func:`coordinate`):

1. checks the cluster has a worker thread per shard, spreads the shards over distinct workers,
2. waits until every shard says it is ready (engine imported, its worker known), then sets one
   start instant a moment ahead — all shards start together (a shard that cannot start aborts
   the run before any load is sent),
3. passes each shard's batches of per-second rows to ``on_batch`` as they come (a shard's
   batches always before its result) and each result to ``on_result``,
4. watches the workers: a shard whose worker leaves the cluster is *lost* — its result says why,
   the others go on, and Dask's automatic re-run of the task on another worker is refused by the
   claim (it would load the target twice) — and sets the stop event when it is interrupted, so no
   shard keeps loading a target nobody is measuring.
"""

from __future__ import annotations

import os
import queue as queue_mod
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from distributed import Client, Event, Queue, Variable, get_client, get_worker

from tasks.load.engine import Control, run_shard
from tasks.load.plan import Plan
from tasks.load.result import ShardResult
from tasks.load.runner import failed_shard

#: seconds between "every shard is ready" and the first send
START_MARGIN = 1.0
#: how long shards may take to be scheduled and import the engine
READY_TIMEOUT = 120.0
#: a shard stops when the coordinator's heartbeat is older than this
HEARTBEAT_TIMEOUT = 30.0
#: how long a cluster with too few worker threads is waited for before the run is refused
WORKERS_TIMEOUT = 30.0


class ClusterError(RuntimeError):
    """The cluster cannot run the shards (unreachable, too few workers, a shard would not start)."""


@dataclass(frozen=True)
class ShardJob:
    """Everything a worker needs for one shard (plain, picklable data)."""

    plan: Plan
    shard: int
    n_shards: int
    prefix: str
    batch_every: float = 2.0
    ready_timeout: float = READY_TIMEOUT
    heartbeat_timeout: float = HEARTBEAT_TIMEOUT


# -- on the worker --------------------------------------------------------------------------------

class _Sender:
    """Puts messages on the run's queue from its own thread: the shard's event loop never waits
    for the scheduler. :meth:`close` returns once everything queued was accepted."""

    def __init__(self, channel: Queue):
        self.channel = channel
        self.failed = 0
        self._items: queue_mod.SimpleQueue[dict[str, Any] | None] = queue_mod.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name="perfcampaign-shard-sender", daemon=True)
        self._thread.start()

    def put(self, item: dict[str, Any]) -> None:
        self._items.put(item)

    def _main(self) -> None:
        while (item := self._items.get()) is not None:
            try:
                self.channel.put(item, timeout=30)
            except Exception:  # noqa: BLE001 - a lost batch is counted, never raised into the load
                self.failed += 1

    def close(self, timeout: float = 60.0) -> None:
        self._items.put(None)
        self._thread.join(timeout)


class _ClusterStop:
    """The engine's stop signal on a cluster: the run's ``Event`` and the coordinator's heartbeat,
    polled from a thread so the shard's loop only reads a local flag."""

    def __init__(self, client: Client, prefix: str, heartbeat_timeout: float, poll: float = 0.25):
        self._event = Event(f"{prefix}-stop", client=client)
        self._alive = Variable(f"{prefix}-alive", client=client)
        self._timeout = heartbeat_timeout
        self._local = threading.Event()
        self._publish = threading.Event()
        self._done = threading.Event()
        self.reason: str | None = None
        self._thread = threading.Thread(target=self._watch, args=(poll,), name="perfcampaign-shard-stop", daemon=True)
        self._thread.start()

    def _watch(self, poll: float) -> None:
        last_ok = last_beat_check = time.monotonic()
        while not self._done.is_set():
            try:
                if self._publish.is_set():
                    self._event.set()
                    self._publish.clear()
                if self._event.is_set():
                    self._stop("stopped by another shard or the coordinator")
                if time.monotonic() - last_beat_check >= 2.0:
                    last_beat_check = time.monotonic()
                    beat = float(self._alive.get(timeout=5))
                    if time.time() - beat > self._timeout:
                        self._stop(f"the coordinator's heartbeat is {time.time() - beat:.0f} s old")
                last_ok = time.monotonic()
            except Exception:  # noqa: BLE001 - the scheduler unreachable: stop once it has been for long
                if time.monotonic() - last_ok > self._timeout:
                    self._stop(f"the scheduler has been unreachable for {self._timeout:.0f} s")
            self._done.wait(poll)

    def _stop(self, reason: str) -> None:
        if not self._local.is_set():
            self.reason = reason
            self._local.set()

    def is_set(self) -> bool:
        return self._local.is_set()

    def set(self) -> None:
        """Called on the shard's loop (an abort-on-fail threshold, a breakpoint): tell the others."""
        self._local.set()
        self._publish.set()

    def close(self) -> None:
        if self._publish.is_set():  # an abort raised just before the end still reaches the others
            try:
                self._event.set()
            except Exception:  # noqa: BLE001
                pass
        self._done.set()
        self._thread.join(5)


#: what a shard re-run by Dask after its worker died says (it refuses: the target is never loaded twice)
RERUN_REFUSED = "whose worker left the cluster"


def run_cluster_shard(job: ShardJob) -> dict[str, Any]:
    """Run one shard on this Dask worker (see the module docstring); its result as a dict."""
    client = get_client()
    where = get_worker().address
    claim = Variable(f"{job.prefix}-claim-{job.shard}", client=client)
    try:
        first = claim.get(timeout=0.5)
    except TimeoutError:
        first = None
    if first is not None:
        return failed_shard(job.plan, job.shard, job.n_shards,
                            f"shard {job.shard} already ran on {first}, {RERUN_REFUSED}; Dask re-ran "
                            f"the task on {where}: refused, the target must not be loaded twice").to_dict()
    claim.set(where)
    sender = _Sender(Queue(f"{job.prefix}-rows", client=client))
    sender.put({"kind": "ready", "shard": job.shard, "worker": where, "host": socket.gethostname(), "pid": os.getpid()})
    try:
        start = Variable(f"{job.prefix}-start", client=client).get(timeout=job.ready_timeout)
    except TimeoutError:
        sender.close()
        return failed_shard(job.plan, job.shard, job.n_shards,
                            f"no start signal within {job.ready_timeout:.0f} s").to_dict()
    if start == "abort":
        sender.close()
        return failed_shard(job.plan, job.shard, job.n_shards, "the coordinator aborted the run before its start").to_dict()
    stop = _ClusterStop(client, job.prefix, job.heartbeat_timeout)
    try:
        result = run_shard(job.plan, job.shard, job.n_shards, Control(
            stop=stop, start_at=float(start), batch_every=job.batch_every,
            on_batch=lambda batch: sender.put({"kind": "batch", **batch})))
    finally:
        stop.close()
        sender.close()  # every batch is on the scheduler before the result leaves
    if sender.failed:
        result.reasons.append(f"{sender.failed} batch(es) of per-second rows could not reach the coordinator")
    if stop.reason and (result.aborted or "").startswith("stopped"):
        result.aborted = f"stopped: {stop.reason}"
    return result.to_dict()


# -- on the coordinator ---------------------------------------------------------------------------

@dataclass
class Submitted:
    """A shard handed to the cluster: its Dask future, how to read its result, what to do if lost."""

    future: Any                                         # distributed.Future
    fetch: Callable[[], dict[str, Any]]                 # the shard's result dict; raises if it failed
    on_lost: Callable[[str], None] = lambda reason: None


Submit = Callable[[ShardJob, str | None], Submitted]


@dataclass
class _Shard:
    k: int
    handle: Submitted
    worker: str | None = None
    ready: bool = False
    seq: int = 0
    result: ShardResult | None = None


@dataclass
class ClusterInfo:
    """What the coordinator saw, for the run's summary."""

    address: str = ""
    workers: dict[int, str] = field(default_factory=dict)     # shard → worker address
    lost: dict[int, str] = field(default_factory=dict)        # shard → why
    ready_s: float | None = None                              # submit → every shard ready
    batches: int = 0
    duplicate_batches: int = 0


def spread(nthreads: dict[str, int], n_shards: int) -> list[str]:
    """Preferred worker per shard: distinct workers first, then their further threads."""
    slots: list[str] = []
    level = 0
    while len(slots) < n_shards and any(n > level for n in nthreads.values()):
        slots += [w for w, n in sorted(nthreads.items()) if n > level]
        level += 1
    return slots[:n_shards]


def wait_for_capacity(client: Client, n_shards: int, timeout: float = WORKERS_TIMEOUT) -> dict[str, int]:
    """The cluster's worker threads, once there are at least ``n_shards`` (else :class:`ClusterError`)."""
    deadline = time.monotonic() + timeout
    while True:
        threads = client.nthreads()
        if sum(threads.values()) >= n_shards:
            return threads
        if time.monotonic() >= deadline:
            raise ClusterError(f"the Dask cluster at {client.scheduler.address} has {sum(threads.values())} worker "
                               f"thread(s) on {len(threads)} worker(s); {n_shards} shards need {n_shards} (every "
                               f"shard runs for the whole load): start more workers or lower the shard count")
        time.sleep(0.5)


def coordinate(plan: Plan, n_shards: int, client: Client, submit: Submit,
               on_result: Callable[[ShardResult], None] | None = None,
               on_batch: Callable[[int, dict[str, Any]], None] | None = None, *,
               batch_every: float = 2.0, start_margin: float = START_MARGIN, ready_timeout: float = READY_TIMEOUT,
               margin: float = 60.0, info: ClusterInfo | None = None) -> list[ShardResult]:
    """Run ``n_shards`` shards of ``plan`` on the cluster behind ``client``; results by shard number."""
    info = info if info is not None else ClusterInfo()
    info.address = str(client.scheduler.address)
    prefix = f"perfcampaign-load-{uuid.uuid4().hex[:16]}"
    channel = Queue(f"{prefix}-rows", client=client)
    start = Variable(f"{prefix}-start", client=client)
    alive = Variable(f"{prefix}-alive", client=client)
    stop = Event(f"{prefix}-stop", client=client)
    alive.set(time.time())
    threads = wait_for_capacity(client, n_shards)
    places = spread(threads, n_shards)
    t_submit = time.monotonic()
    shards = [_Shard(k, submit(ShardJob(plan, k, n_shards, prefix, batch_every, ready_timeout), places[k]))
              for k in range(n_shards)]
    completed = False

    def finish(s: _Shard, result: ShardResult) -> None:
        s.result = result
        if on_result is not None:
            on_result(result)

    def lose(s: _Shard, why: str) -> None:
        info.lost[s.k] = why
        try:
            s.handle.on_lost(why)
        except Exception:  # noqa: BLE001 - best effort (cancel the future, mark the task run)
            pass
        finish(s, failed_shard(plan, s.k, n_shards, why))

    def handle(item: dict[str, Any]) -> None:
        s = shards[item["shard"]]
        if item.get("kind") == "ready":
            s.ready, s.worker = True, item.get("worker")
            info.workers[s.k] = s.worker or ""
        elif item.get("kind") == "batch" and s.result is None:
            if item["seq"] <= s.seq:
                info.duplicate_batches += 1
                return
            s.seq = item["seq"]
            info.batches += 1
            if on_batch is not None:
                on_batch(s.k, {"seq": item["seq"], "rows": item["rows"]})

    def pump(timeout: float) -> None:
        try:
            handle(channel.get(timeout=timeout))
        except TimeoutError:
            return
        for item in channel.get(batch=True):
            handle(item)

    def collect(s: _Shard) -> None:
        """The shard's future is done: every batch it sent is on the scheduler; read them, then its result."""
        try:
            data = s.handle.fetch()
        except Exception as exc:  # noqa: BLE001 - the shard failed: keep the others
            pump(0.05)
            finish(s, failed_shard(plan, s.k, n_shards, f"{type(exc).__name__}: {exc}"))
            return
        result = ShardResult.from_dict(data)
        if result.error and RERUN_REFUSED in result.error:
            # Dask re-ran the shard of a lost worker before the next check saw the worker go: lost all the same
            info.lost[s.k] = result.error
        deadline = time.monotonic() + 10.0
        while s.seq < result.batches and time.monotonic() < deadline:
            pump(0.2)
        if s.seq < result.batches:
            result.reasons.append(f"{result.batches - s.seq} batch(es) of per-second rows never arrived")
        finish(s, result)

    try:
        # -- 1. every shard ready (or the run is aborted before any load) ------------------------
        deadline = time.monotonic() + ready_timeout
        while not all(s.ready for s in shards):
            pump(0.2)
            broken = [s for s in shards if not s.ready and s.handle.future.done()]
            if broken or time.monotonic() >= deadline:
                start.set("abort")
                why = []
                for s in shards:
                    if s.handle.future.done():
                        try:
                            s.handle.fetch()
                            why.append(f"shard {s.k} ended before its start")
                        except Exception as exc:  # noqa: BLE001
                            why.append(f"shard {s.k}: {type(exc).__name__}: {exc}")
                    elif not s.ready:
                        why.append(f"shard {s.k} was not running after {ready_timeout:.0f} s")
                raise ClusterError("the shards could not all start on the Dask cluster, no load was sent: "
                                   + "; ".join(why))
        info.ready_s = round(time.monotonic() - t_submit, 3)
        start_at = time.time() + start_margin
        start.set(start_at)
        # -- 2. batches and results; lost workers -------------------------------------------------
        end = time.monotonic() + start_margin + plan.duration + plan.graceful_stop + margin
        next_check = 0.0
        while any(s.result is None for s in shards):
            pump(0.25)
            for s in shards:
                if s.result is None and s.handle.future.done():
                    collect(s)
            now = time.monotonic()
            if now >= next_check:
                next_check = now + 1.0
                alive.set(time.time())
                workers = set(client.nthreads())
                for s in shards:
                    if s.result is None and s.worker and s.worker not in workers:
                        lose(s, f"its worker {s.worker} left the cluster mid-run (died or was killed); "
                                "the other shards went on")
            if now >= end:
                for s in shards:
                    if s.result is None:
                        lose(s, f"no result {margin:.0f} s after the planned end (worker {s.worker} hung?)")
        completed = True
    finally:
        if not completed:
            try:
                stop.set()  # never leave shards loading a target nobody measures
            except Exception:  # noqa: BLE001
                pass
            for s in shards:
                if s.result is None:
                    try:
                        s.handle.on_lost("the coordinator stopped")
                    except Exception:  # noqa: BLE001
                        pass
        _cleanup(client, prefix, n_shards, channel)
    return [s.result for s in shards]  # type: ignore[misc]


def _cleanup(client: Client, prefix: str, n_shards: int, channel: Queue) -> None:
    for name in [f"{prefix}-start", f"{prefix}-alive"] + [f"{prefix}-claim-{k}" for k in range(n_shards)]:
        try:
            Variable(name, client=client).delete()
        except Exception:  # noqa: BLE001 - the scheduler may be gone
            pass
    try:
        channel.close()
    except Exception:  # noqa: BLE001
        pass


# -- without Prefect ------------------------------------------------------------------------------

def connect(address: str, timeout: float = 20.0) -> Client:
    try:
        return Client(address, set_as_default=False, timeout=f"{timeout}s")
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc


def submit_plain(client: Client) -> Submit:
    """Submit shards as plain Dask tasks (no Prefect)."""

    def submit(job: ShardJob, where: str | None) -> Submitted:
        fut = client.submit(run_cluster_shard, job, key=f"load-shard-{job.shard}-{job.prefix}", pure=False,
                            workers=[where] if where else None, allow_other_workers=bool(where), retries=0)
        return Submitted(future=fut, fetch=fut.result, on_lost=lambda why: fut.cancel())

    return submit


def run_on_dask(address: str, plan: Plan, n_shards: int, on_result: Callable[[ShardResult], None] | None = None,
                on_batch: Callable[[int, dict[str, Any]], None] | None = None,
                info: ClusterInfo | None = None, **kw: Any) -> list[ShardResult]:
    """Shards as plain Dask tasks on the scheduler at ``address`` (``--no-prefect``)."""
    with connect(address) as client:
        return coordinate(plan, n_shards, client, submit_plain(client), on_result, on_batch, info=info, **kw)


def dask_runner(address: str) -> Callable[..., list[ShardResult]]:
    """A ``load_runner`` for the load stage: plain Dask tasks on ``address``."""

    def runner(plan: Plan, n_shards: int, on_result: Callable[[ShardResult], None],
               on_batch: Callable[[int, dict[str, Any]], None] | None = None,
               info: ClusterInfo | None = None) -> list[ShardResult]:
        return run_on_dask(address, plan, n_shards, on_result, on_batch, info=info)

    runner.dask_address = address  # type: ignore[attr-defined]
    return runner
