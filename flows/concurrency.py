"""Two runs never load the same environment at once — and a run that dies never blocks it for good.

Each environment's run holds a Prefect global concurrency limit (``perfcampaign-env-<campaign>-<env>``,
one slot, created on first use, taken strictly: a missing limit with ``create=False`` is an error,
never an unprotected run). An operator can pre-create or tune it (``prefect gcl create … --limit 1``;
``prefect gcl disable …`` pauses a target). Nightly deployments also cancel a colliding new run of
the same deployment (``concurrency_limit`` with ``CANCEL_NEW`` in ``prefect.yaml``).

**Leases.** The slot is taken with a lease of :data:`SLOT_TTL_S` (Prefect's server refuses renewals
shorter than 60 s) that a thread renews at three quarters of its life; if renewal fails for good
the run is stopped (Prefect's ``strict`` behaviour) rather than going on unprotected. A server
that runs its *repossessor* service frees the slot of a crashed holder once its lease expires.

**A dead holder.** That is not enough: a temporary Prefect server (the CLI's default when no
``PREFECT_API_URL`` is set) runs no repossessor and keeps leases in memory, while the slot count
lives in the database — a run killed there held its environment forever (issue 14: 420 s, then 13
minutes, of silent waiting). So every holder also writes a *holder record* (a Prefect Variable
``perfcampaign_slot__<limit>``: host, pid and start time, flow run, lease id, heartbeat) and
refreshes its heartbeat from a thread. A run that finds the slot taken polls every few seconds and
reclaims it when the record shows its holder is dead:

- same host, and the process is gone (pid and start time): at once;
- the holder's flow run is in a final state (Crashed, Failed, Cancelled, Completed): after one TTL;
- no heartbeat for ``2 × TTL + 15 s`` (another host that vanished; the margin lets a server's own
  repossessor act first): then;
- the slot is taken but no record names a holder for ``2 × TTL + 15 s``: then.

Reclaiming releases the dead holder's lease when the server still has it (the slot count goes down
exactly once), otherwise sets the count back by one; the record is re-read just before, so two
waiters do not both reclaim. The one window left — a third run acquiring between a waiter's last
check and its reclaim — is milliseconds wide and needs a holder silent for minutes.

The runner wraps each environment's run::

    async with environment_slot(campaign.campaign, env_name):
        report.environments[env_name] = await run_environment(...)
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

PREFIX = "perfcampaign-env"
#: lease time-to-live, seconds (the server refuses renewals under 60 s); ``PERFCAMPAIGN_SLOT_TTL``
SLOT_TTL_S = 60.0
#: how often a waiting run looks at the holder record
POLL_S = 3.0
#: the repossessor's default loop: a server that runs it frees an expired lease within this
REPOSSESSOR_S = 15.0
FINAL_STATES = frozenset({"CRASHED", "FAILED", "CANCELLED", "COMPLETED"})

log = logging.getLogger("perfcampaign.concurrency")


def limit_name(campaign: str, environment: str) -> str:
    """``perfcampaign-env-demo-staging``."""
    raw = f"{PREFIX}-{campaign}-{environment}".lower()
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]+", "-", raw)).strip("-")


def record_name(limit: str) -> str:
    """The Prefect Variable holding the slot's holder record."""
    return "perfcampaign_slot__" + limit.replace("-", "_")


def slot_ttl() -> float:
    try:
        return max(60.0, float(os.environ.get("PERFCAMPAIGN_SLOT_TTL", SLOT_TTL_S)))
    except ValueError:
        return SLOT_TTL_S


async def ensure_limit(name: str, limit: int = 1) -> bool:
    """Create the global concurrency limit ``name`` when it does not exist; True when created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    async with get_client() as client:
        try:
            await client.read_global_concurrency_limit_by_name(name)
            return False
        except ObjectNotFound:
            pass
        try:
            await client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=limit))
        except ObjectAlreadyExists:  # another run created it meanwhile
            return False
        return True


# ---------------------------------------------------------------------------------------------------
# the holder record
# ---------------------------------------------------------------------------------------------------


@dataclass
class Holder:
    token: str
    host: str
    pid: int
    pid_started: float          # the process's start time (a reused pid is another process)
    flow_run_id: str | None
    lease_id: str
    acquired_at: float
    heartbeat_at: float
    ttl: float

    @classmethod
    def me(cls, lease_id: Any, ttl: float) -> Holder:
        now = time.time()
        return cls(token=uuid.uuid4().hex, host=socket.gethostname(), pid=os.getpid(), pid_started=_started(os.getpid()),
                   flow_run_id=_flow_run_id(), lease_id=str(lease_id), acquired_at=now, heartbeat_at=now, ttl=ttl)

    @classmethod
    def from_value(cls, value: Any) -> Holder | None:
        if not isinstance(value, dict):
            return None
        try:
            return cls(**{k: value[k] for k in cls.__dataclass_fields__})
        except (KeyError, TypeError):
            return None


def _started(pid: int) -> float:
    try:
        import psutil

        return round(psutil.Process(pid).create_time(), 2)
    except Exception:  # noqa: BLE001 - gone, or no access
        return 0.0


def _flow_run_id() -> str | None:
    try:
        from prefect.context import FlowRunContext

        ctx = FlowRunContext.get()
        return str(ctx.flow_run.id) if ctx is not None and ctx.flow_run is not None else None
    except Exception:  # noqa: BLE001
        return None


async def read_holder(client: Any, limit: str) -> Holder | None:
    variable = await client.read_variable_by_name(record_name(limit))
    return Holder.from_value(variable.value) if variable is not None else None


async def _write_holder(client: Any, limit: str, holder: Holder) -> None:
    from prefect.client.schemas.actions import VariableCreate, VariableUpdate
    from prefect.exceptions import ObjectAlreadyExists

    value = asdict(holder)
    try:
        await client.create_variable(VariableCreate(name=record_name(limit), value=value,
                                                    tags=["perfcampaign", "concurrency"]))
    except ObjectAlreadyExists:
        await client.update_variable(VariableUpdate(name=record_name(limit), value=value))


async def _forget_holder(client: Any, limit: str, token: str) -> None:
    from prefect.exceptions import ObjectNotFound

    current = await read_holder(client, limit)
    if current is not None and current.token != token:
        return  # someone else's record now
    try:
        await client.delete_variable_by_name(record_name(limit))
    except ObjectNotFound:
        pass


class _Heartbeat:
    """Refreshes the holder record's heartbeat from a thread (the event loop may be busy)."""

    def __init__(self, limit: str, holder: Holder):
        self.limit, self.holder = limit, holder
        self.stop = threading.Event()
        # the caller's context (Prefect settings, the flow run) goes with the thread
        self.thread = threading.Thread(target=contextvars.copy_context().run, args=(self._run,),
                                       name=f"slot-heartbeat-{limit}", daemon=True)

    def _run(self) -> None:
        try:
            self._beat()
        except Exception as exc:  # noqa: BLE001 - never take the run down; the lease renewal protects it
            log.warning("slot %s heartbeat stopped: %s", self.limit, exc)

    def _beat(self) -> None:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.actions import VariableUpdate

        with get_client(sync_client=True) as client:
            while not self.stop.wait(self.holder.ttl / 4):
                self.holder.heartbeat_at = time.time()
                try:
                    variable = client.read_variable_by_name(record_name(self.limit))
                    current = Holder.from_value(variable.value) if variable is not None else None
                    if current is not None and current.token != self.holder.token:
                        log.error("the slot %s was reclaimed from this run: it is no longer protected", self.limit)
                        return
                    client.update_variable(VariableUpdate(name=record_name(self.limit), value=asdict(self.holder)))
                except Exception as exc:  # noqa: BLE001 - the next beat tries again
                    log.warning("slot %s heartbeat failed: %s", self.limit, exc)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


# ---------------------------------------------------------------------------------------------------
# reclaiming a dead holder's slot
# ---------------------------------------------------------------------------------------------------


def _process_gone(holder: Holder) -> bool:
    if holder.host != socket.gethostname():
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    started = _started(holder.pid)
    return bool(holder.pid_started) and bool(started) and abs(started - holder.pid_started) > 1.0


async def why_dead(client: Any, holder: Holder | None, unknown_since: float | None, ttl: float) -> str | None:
    """Why the slot's holder is known to be dead (None while it may be alive)."""
    now = time.time()
    stale_after = 2 * ttl + REPOSSESSOR_S
    if holder is None:
        if unknown_since is not None and now - unknown_since > stale_after:
            return f"the slot has been taken for over {stale_after:.0f} s with no holder record"
        return None
    if _process_gone(holder):
        return f"its process (pid {holder.pid} on {holder.host}) is gone"
    silent = now - holder.heartbeat_at
    if silent > stale_after:
        return f"no heartbeat for {silent:.0f} s (pid {holder.pid} on {holder.host})"
    if holder.flow_run_id and silent > ttl:
        try:
            run = await client.read_flow_run(uuid.UUID(holder.flow_run_id))
            state = run.state.type.value if run.state is not None else None
        except Exception:  # noqa: BLE001 - unknown run: keep waiting for the heartbeat rule
            state = None
        if state in FINAL_STATES:
            return f"its flow run {holder.flow_run_id} is {state.lower()} and it stopped beating {silent:.0f} s ago"
    return None


async def reclaim(client: Any, limit: str, holder: Holder | None, why: str) -> bool:
    """Free the slot a dead holder left taken; True when it was freed here."""
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate

    current = await read_holder(client, limit)
    if (current.token if current else None) != (holder.token if holder else None):
        return False  # the record changed: someone reclaimed it or a new holder is in
    gcl = await client.read_global_concurrency_limit_by_name(limit)
    if (gcl.active_slots or 0) < gcl.limit:
        return False
    released = False
    if holder is not None:
        try:  # the server still knows the lease: release it, so its slot goes down exactly once
            await client.renew_concurrency_lease(uuid.UUID(holder.lease_id), lease_duration=60)
            await client.release_concurrency_slots_with_lease(uuid.UUID(holder.lease_id))
            released = True
        except Exception:  # noqa: BLE001 - 410 Gone: the lease went with a temporary server
            released = False
    if not released:
        await client.update_global_concurrency_limit(
            limit, GlobalConcurrencyLimitUpdate(active_slots=max(0, (gcl.active_slots or 0) - 1)))
    if holder is not None:
        await _forget_holder(client, limit, holder.token)
    log.warning("reclaimed environment slot %s from a dead run: %s", limit, why)
    return True


async def _acquire(limit: str, timeout_seconds: float | None, ttl: float) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.concurrency._asyncio import AcquireConcurrencySlotTimeoutError, aacquire_concurrency_slots_with_lease
    from prefect.types._concurrency import ConcurrencyLeaseHolder

    flow_run = _flow_run_id()
    lease_holder = ConcurrencyLeaseHolder(type="flow_run", id=uuid.UUID(flow_run)) if flow_run else None
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    unknown_since: float | None = None
    while True:
        wait = POLL_S if deadline is None else max(0.05, min(POLL_S, deadline - time.monotonic()))
        try:
            return await aacquire_concurrency_slots_with_lease([limit], 1, timeout_seconds=wait, lease_duration=ttl,
                                                               strict=True, holder=lease_holder)
        except AcquireConcurrencySlotTimeoutError:
            pass
        async with get_client() as client:
            holder = await read_holder(client, limit)
            if holder is None:
                unknown_since = unknown_since or time.time()
            else:
                unknown_since = None
            why = await why_dead(client, holder, unknown_since, ttl)
            if why is not None and await reclaim(client, limit, holder, why):
                unknown_since = None
                continue
        if deadline is not None and time.monotonic() >= deadline:
            who = f" (held by pid {holder.pid} on {holder.host} since {time.ctime(holder.acquired_at)})" if holder else ""
            raise TimeoutError(f"environment slot {limit} stayed taken for {timeout_seconds:g} s{who}")


@asynccontextmanager
async def environment_slot(campaign: str, environment: str, *, timeout_seconds: float | None = None,
                           create: bool = True, lease_duration: float | None = None) -> AsyncIterator[str]:
    """Hold the environment's slot for the ``with`` block; yields the limit's name.

    Raises ``TimeoutError`` when the slot stays taken (by a live run) past ``timeout_seconds`` and
    ``ConcurrencySlotAcquisitionError`` when the limit does not exist (``create=False``).
    """
    from prefect.client.orchestration import get_client
    from prefect.concurrency._asyncio import arelease_concurrency_slots_with_lease
    from prefect.concurrency._leases import amaintain_concurrency_lease

    name = limit_name(campaign, environment)
    ttl = max(60.0, lease_duration) if lease_duration is not None else slot_ttl()
    if create:
        await ensure_limit(name)
    response = await _acquire(name, timeout_seconds, ttl)
    holder = Holder.me(response.lease_id, ttl)
    try:
        async with get_client() as client:
            await _write_holder(client, name, holder)
        with _Heartbeat(name, holder):
            async with amaintain_concurrency_lease(response.lease_id, ttl, raise_on_lease_renewal_failure=True):
                yield name
    finally:
        try:
            await asyncio.shield(arelease_concurrency_slots_with_lease(response.lease_id))
        finally:
            async with get_client() as client:
                await _forget_holder(client, name, holder.token)
