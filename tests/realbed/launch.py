"""Starting and stopping the bed's processes: real mock tools, real applications, hand-rolled mocks.

Every process gets a free 127.0.0.1 port, its own session (so its children stop with it), a log
file in the bed's work folder, and is stopped (SIGTERM, then SIGKILL) when the ExitStack closes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(__file__).resolve().parent / "tools"
NODE_MODULES = TOOLS / "node_modules"


class ToolMissing(RuntimeError):
    """A tool of the bed is not installed (``make setup`` installs them)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_tool(package: str, script: str) -> list[str]:
    """The command that runs a tool installed by scripts/mock-tools.sh (``node <script>``)."""
    path = NODE_MODULES / package / script
    node = shutil.which("node")
    if node is None or not path.exists():
        raise ToolMissing(f"{package} is not installed in {NODE_MODULES} (run `make setup`)")
    return [node, str(path)]


def pyapp(script: str) -> Path:
    """A console script of a real Python application installed in tools/pyapps."""
    path = TOOLS / "pyapps" / "bin" / script
    if not path.exists():
        raise ToolMissing(f"{script} is not installed in {path.parent} (run `make setup`)")
    return path


def wiremock_jar() -> Path:
    jars = sorted((NODE_MODULES / "wiremock" / "build").glob("wiremock-standalone-*.jar"))
    if not jars or shutil.which("java") is None:
        raise ToolMissing("WireMock's jar or java is missing (run `make setup`)")
    return jars[-1]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start(stack: contextlib.ExitStack, name: str, cmd: list[str], work: Path, *, ready_path: str = "/",
          port: int | None = None, env: dict[str, str] | None = None, timeout: float = 60.0) -> Process:
    """Start ``cmd`` (``{port}`` is replaced) and wait until ``ready_path`` answers anything at all."""
    port = port or free_port()
    cmd = [c.replace("{port}", str(port)) for c in cmd]
    log = work / f"{name}.log"
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    with open(log, "wb") as out:
        popen = subprocess.Popen(cmd, cwd=work, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env=full_env, start_new_session=True)
    proc = Process(name, popen, port, log)
    stack.callback(proc.stop)
    deadline = time.monotonic() + timeout
    while True:
        if popen.poll() is not None:
            raise RuntimeError(f"{name} exited with {popen.returncode} before answering:\n{proc.tail()}")
        try:
            httpx.get(proc.url + ready_path, timeout=2.0, trust_env=False)
            return proc
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer {proc.url}{ready_path} in {timeout:.0f}s:\n{proc.tail()}")
            time.sleep(0.25)


def python_cmd(*args: str) -> list[str]:
    return [sys.executable, *args]
