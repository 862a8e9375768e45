"""Start the service under test when the campaign says how and nothing answers yet.

``when: auto`` reuses a service already answering at ``base_url + health``; ``always`` insists on
starting it (and fails if the port is taken); ``never`` only checks. A service this module started
is stopped when the environment's run ends, whatever happened. Its output goes to
``<state>/logs/<campaign>-<env>.log`` and the last lines are quoted when it fails to start.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from campaigns.errors import TargetError
from campaigns.model import Environment


class ServiceStartError(TargetError):
    """The service under test could not be started or never became healthy."""


async def _healthy(url: str, timeout_s: float = 1.0) -> bool:
    try:
        async with httpx.AsyncClient(timeout=timeout_s, trust_env=False) as http:
            response = await http.get(url)
        return response.status_code < 400
    except httpx.HTTPError:
        return False


class ManagedService:
    def __init__(self, campaign: str, env_name: str, env: Environment, base_dir: Path, state_dir: Path):
        self.campaign, self.env_name, self.env = campaign, env_name, env
        self.base_dir, self.state_dir = base_dir, state_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = state_dir / "logs" / f"{campaign}-{env_name}.log"
        self.reused = False

    @property
    def health_url(self) -> str:
        spec = self.env.service
        return self.env.base_url + (spec.health if spec else "/health")

    def _command(self) -> list[str]:
        assert self.env.service is not None
        values = {"python": sys.executable, "port": str(self.env.port), "host": self.env.host,
                  "env": self.env_name, "state": str(self.state_dir.resolve())}
        return [part.format(**values) for part in self.env.service.command]

    async def start(self) -> None:
        spec = self.env.service
        if spec is None:
            return
        if spec.when != "always" and await _healthy(self.health_url):
            self.reused = True
            return
        if spec.when == "never":
            raise ServiceStartError(f"nothing answers at {self.health_url} and the campaign says never to start it")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        cwd = (self.base_dir / spec.cwd).resolve() if spec.cwd else Path.cwd()
        env = {**os.environ, **{k: v.format(state=str(self.state_dir.resolve())) for k, v in spec.env.items()}}
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(self._command(), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            raise ServiceStartError(f"cannot start {self._command()[0]!r}: {exc.strerror}") from exc
        finally:
            log.close()
        deadline = time.monotonic() + spec.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceStartError(f"service for {self.env_name} exited with code {self.process.returncode} "
                                        f"before answering {self.health_url}: {self._tail()}")
            if await _healthy(self.health_url, 0.5):
                return
            await asyncio.sleep(0.1)
        self.stop()
        raise ServiceStartError(f"service for {self.env_name} did not answer {self.health_url} within "
                                f"{spec.start_timeout:g} s: {self._tail()}")

    def _tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(empty log)"

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass
