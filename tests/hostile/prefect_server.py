"""A real ``prefect server start`` that a test can stop, restart (memory leases lost, database kept, as
when the CLI's temporary server comes and goes) and start with an auth string."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.loopback import free_port

BIN = Path(sys.executable).parent
PREFECT = str(BIN / "prefect")


class RestartableServer:
    def __init__(self, home: Path, auth: str | None = None):
        self.home = home
        self.port = free_port()
        self.auth = auth
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = home / "server.log"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(PREFECT_API_URL=self.api_url, PREFECT_HOME=str(self.home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
                   PREFECT_LOGGING_LEVEL="WARNING", PATH=str(BIN) + os.pathsep + env.get("PATH", ""))
        if self.auth:
            env["PREFECT_API_AUTH_STRING"] = self.auth
        env.update(extra)
        return env

    def start(self) -> RestartableServer:
        env = self.env()
        if self.auth:
            env["PREFECT_SERVER_API_AUTH_STRING"] = self.auth
        with self.log.open("a") as log:
            self.proc = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(self.port),
                                          "--no-ui", "--analytics-off"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prefect server did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
