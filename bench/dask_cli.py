"""A Dask cluster started the way teams run one: ``dask scheduler`` and ``dask worker`` from Dask's
own command line, as separate processes (for the distributed tests and ``bench.scale``).

    with DaskCLICluster(nworkers=2) as cluster:
        cluster.address            # tcp://127.0.0.1:<port>
        cluster.worker_pids()      # {worker address: pid}
        cluster.kill_worker(addr)  # SIGKILL one worker process (its nanny starts a fresh one)

Everything listens on 127.0.0.1 with free ports; every process started here is stopped at exit
(each command runs in its own process group, ended as a group).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.servers import free_port

BIN = Path(sys.executable).parent


class DaskCLICluster:
    def __init__(self, nworkers: int = 2, nthreads: int = 1, start_timeout: float = 90.0, nanny: bool = True):
        self.nworkers, self.nthreads, self.nanny = nworkers, nthreads, nanny
        self.start_timeout = start_timeout
        self.procs: list[subprocess.Popen[bytes]] = []
        self.address = ""
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def _spawn(self, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        out = log.open("wb")
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=self._tmp.name if self._tmp else None)
        self.procs.append(proc)
        return proc

    def __enter__(self) -> DaskCLICluster:
        self._tmp = tempfile.TemporaryDirectory(prefix="pc-dask-")
        tmp = Path(self._tmp.name)
        scheduler_file = tmp / "scheduler.json"
        dask = str(BIN / "dask")
        try:
            self._spawn([dask, "scheduler", "--host", "127.0.0.1", "--port", str(free_port()), "--no-dashboard",
                         "--scheduler-file", str(scheduler_file)], tmp / "scheduler.log")
            deadline = time.monotonic() + self.start_timeout
            while not scheduler_file.exists():
                if time.monotonic() > deadline or self.procs[0].poll() is not None:
                    raise RuntimeError(f"dask scheduler did not start: {(tmp / 'scheduler.log').read_text()[-2000:]}")
                time.sleep(0.1)
            self.address = json.loads(scheduler_file.read_text())["address"]
            self._spawn([dask, "worker", self.address, "--nworkers", str(self.nworkers), "--nthreads",
                         str(self.nthreads), "--host", "127.0.0.1", "--no-dashboard", "--local-directory", str(tmp),
                         "--nanny" if self.nanny else "--no-nanny"], tmp / "worker.log")
            self.wait_for_workers(self.nworkers, deadline - time.monotonic())
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def client(self) -> Any:
        from distributed import Client

        return Client(self.address, set_as_default=False, timeout="30s")

    def wait_for_workers(self, n: int, timeout: float = 60.0) -> None:
        with self.client() as c:
            c.wait_for_workers(n, timeout=max(timeout, 1.0))

    def worker_pids(self) -> dict[str, int]:
        with self.client() as c:
            return c.run(os.getpid)

    def kill_worker(self, address: str) -> int:
        pid = self.worker_pids()[address]
        os.kill(pid, signal.SIGKILL)
        return pid

    def log(self, name: str = "worker") -> str:
        path = Path(self._tmp.name) / f"{name}.log" if self._tmp else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    def __exit__(self, *exc: Any) -> None:
        for proc in reversed(self.procs):  # workers first, then the scheduler
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)
        self.procs.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
