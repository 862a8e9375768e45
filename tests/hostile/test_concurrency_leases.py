"""No environment stays locked: a run killed while it holds its environment's Prefect slot does not
block the next run — on a long-lived server, after a server restart (the CLI's temporary server
keeps leases in memory and runs no repossessor), and for a holder on another host that stopped
beating. A live holder is never robbed. Real ``prefect server start``, real processes, SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import pytest

from flows.concurrency import Holder, environment_slot, limit_name, read_holder, record_name
from tests.hostile.prefect_server import RestartableServer

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

HOLD = """
import asyncio, sys
from flows.concurrency import environment_slot
async def main():
    async with environment_slot(sys.argv[1], sys.argv[2]):
        print("held", flush=True)
        await asyncio.sleep(3600)
asyncio.run(main())
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = RestartableServer(tmp_path_factory.mktemp("prefect-leases")).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def api(server):
    from prefect.settings import PREFECT_API_URL, PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    with temporary_settings({PREFECT_API_URL: server.api_url, PREFECT_LOGGING_TO_API_ENABLED: False}):
        yield server


@contextmanager
def holder_process(server: RestartableServer, campaign: str, env: str):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, campaign, env], cwd=ROOT, env=server.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "held", proc.stderr.read() if proc.poll() is not None else line
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


async def acquire_within(campaign: str, env: str, timeout: float) -> float:
    started = time.monotonic()
    async with environment_slot(campaign, env, timeout_seconds=timeout):
        return time.monotonic() - started


def test_a_killed_run_does_not_block_the_next_one(api):
    with holder_process(api, "leases", "staging") as proc:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    waited = asyncio.run(acquire_within("leases", "staging", 60))
    assert waited < 15, f"the next run waited {waited:.1f} s"
    # and the slot is free again afterwards: a third run gets it at once
    assert asyncio.run(acquire_within("leases", "staging", 10)) < 5


def test_a_killed_run_does_not_block_after_the_server_restarts(server, api):
    """Leases live in the server's memory: a restart forgets them while the database keeps the slot."""
    with holder_process(api, "leases", "restart") as proc:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    server.restart()
    waited = asyncio.run(acquire_within("leases", "restart", 60))
    assert waited < 15, f"the next run waited {waited:.1f} s"


def test_a_live_run_is_never_robbed(api):
    with holder_process(api, "leases", "live") as proc:
        with pytest.raises(TimeoutError, match=f"held by pid {proc.pid}"):
            asyncio.run(acquire_within("leases", "live", 8))
        assert proc.poll() is None


def test_a_silent_holder_on_another_host_is_reclaimed_only_once_its_heartbeat_is_old(api):
    """A holder elsewhere cannot be checked by pid: its heartbeat decides (2 × TTL + 15 s)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import VariableUpdate
    from prefect.concurrency._asyncio import aacquire_concurrency_slots_with_lease

    from flows.concurrency import ensure_limit

    name = limit_name("leases", "remote")

    async def plant(heartbeat_age: float) -> None:
        await ensure_limit(name)
        lease = await aacquire_concurrency_slots_with_lease([name], 1, timeout_seconds=10, lease_duration=60,
                                                            strict=True)
        holder = Holder(token="remote", host="build-agent-7", pid=424242, pid_started=1.0, flow_run_id=None,
                        lease_id=str(lease.lease_id), acquired_at=time.time() - 600,
                        heartbeat_at=time.time() - heartbeat_age, ttl=60.0)
        async with get_client() as client:
            from prefect.client.schemas.actions import VariableCreate
            from prefect.exceptions import ObjectAlreadyExists

            try:
                await client.create_variable(VariableCreate(name=record_name(name), value=asdict(holder)))
            except ObjectAlreadyExists:
                await client.update_variable(VariableUpdate(name=record_name(name), value=asdict(holder)))

    async def scenario() -> tuple[bool, float]:
        await plant(heartbeat_age=5)            # alive elsewhere: it must be waited for
        try:
            await acquire_within("leases", "remote", 7)
            robbed = True
        except TimeoutError:
            robbed = False
        async with get_client() as client:       # now it stops beating
            holder = await read_holder(client, name)
            holder.heartbeat_at = time.time() - 2 * 60 - 20
            await client.update_variable(VariableUpdate(name=record_name(name), value=asdict(holder)))
        return robbed, await acquire_within("leases", "remote", 30)

    robbed, waited = asyncio.run(scenario())
    assert not robbed
    assert waited < 10


def test_the_holder_record_is_removed_on_a_normal_exit(api):
    from prefect.client.orchestration import get_client

    async def scenario():
        async with environment_slot("leases", "tidy", timeout_seconds=10) as name:
            async with get_client() as client:
                during = await read_holder(client, name)
        async with get_client() as client:
            after = await read_holder(client, name)
            gcl = await client.read_global_concurrency_limit_by_name(name)
        return during, after, gcl.active_slots

    during, after, active = asyncio.run(scenario())
    assert during is not None and during.pid == os.getpid() and during.lease_id
    assert after is None and active == 0


def test_the_api_refuses_unauthenticated_calls_behind_the_auth_string(tmp_path):
    """The README's protected setup: PREFECT_SERVER_API_AUTH_STRING on the server, PREFECT_API_AUTH_STRING
    for clients and workers."""
    import httpx

    srv = RestartableServer(tmp_path, auth="admin:pc-secret-7").start()
    try:
        anonymous = httpx.post(f"{srv.api_url}/flows/filter", json={}, timeout=10)
        assert anonymous.status_code == 401
        wrong = httpx.post(f"{srv.api_url}/flows/filter", json={}, auth=("admin", "nope"), timeout=10)
        assert wrong.status_code == 401
        right = httpx.post(f"{srv.api_url}/flows/filter", json={}, auth=("admin", "pc-secret-7"), timeout=10)
        assert right.status_code == 200
        # the CLI with the client's auth string works; without it, it is refused
        ok = subprocess.run([str(Path(sys.executable).parent / "prefect"), "gcl", "ls"], env=srv.env(),
                            capture_output=True, text=True, timeout=120)
        assert ok.returncode == 0, ok.stderr
        env = srv.env()
        env.pop("PREFECT_API_AUTH_STRING")
        refused = subprocess.run([str(Path(sys.executable).parent / "prefect"), "gcl", "ls"], env=env,
                                 capture_output=True, text=True, timeout=120)
        assert refused.returncode != 0
        assert "401" in refused.stdout + refused.stderr or "nauthorized" in refused.stdout + refused.stderr
    finally:
        srv.stop()
