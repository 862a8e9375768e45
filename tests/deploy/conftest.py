"""A real ``prefect server start`` for the deployment tests: a subprocess on a free loopback port with
its own PREFECT_HOME (its own SQLite database), started once per session and stopped at the end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.loopback import free_port

BIN = Path(sys.executable).parent
PREFECT = str(BIN / "prefect")


@dataclass
class PrefectServer:
    api_url: str
    home: Path
    log: Path

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a subprocess talking to this server (and nothing else)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(PREFECT_API_URL=self.api_url, PREFECT_HOME=str(self.home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
                   PREFECT_LOGGING_LEVEL="INFO", PATH=str(BIN) + os.pathsep + env.get("PATH", ""))
        env.update(extra)
        return env

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 120, check: bool = True,
            **extra: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([PREFECT, *args], cwd=cwd, env=self.env(**extra), capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"prefect {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    server = PrefectServer(f"http://127.0.0.1:{port}/api", home, home / "server.log")
    with server.log.open("w") as log:
        proc = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui",
                                 "--analytics-off"], env=server.env(), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{server.api_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prefect server did not start:\n{server.log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield server
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)      # the server and the processes it started, by its group id
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def prefect_api(prefect_server):
    """This process's Prefect client pointed at the real server for the test's duration."""
    from prefect.settings import PREFECT_API_URL, PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    with temporary_settings({PREFECT_API_URL: prefect_server.api_url, PREFECT_LOGGING_TO_API_ENABLED: False}):
        yield prefect_server


async def read_artifacts(flow_run_id: str) -> list[dict]:
    """A flow run's artifacts through the Prefect client's HTTP session. The typed
    ``read_artifacts`` sends ``null`` for the filters it leaves out, which this server (FastAPI 0.154)
    rejects, and an empty task-run filter would drop flow-level artifacts: the body here names only
    what it filters on."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        response = await client._client.post("/artifacts/filter", json={
            "artifacts": {"flow_run_id": {"any_": [str(flow_run_id)]}}, "limit": 100, "offset": 0,
            "sort": "CREATED_DESC"})
        response.raise_for_status()
        return response.json()
