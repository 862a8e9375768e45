"""Runs whose process died: a lease renewed by a heartbeat while a run lives, and the repair that
marks a dead one ``crashed`` (issue 14: 19 of 19 killed runs stayed ``running`` forever).

:class:`RunLease` is held by the runner for each environment's run: its row records the process
(host, pid, the pid's start time) and a heartbeat renewed from a thread every ``lease / 2`` seconds.
:func:`repair_runs` — at the start of every run, and ``perfcampaign runs --repair`` — looks at each
run still marked ``running`` and marks it ``crashed`` when it is certainly dead:

- on this host, at once when its pid is not alive, or belongs to a process started at another time
  (a reused pid);
- on any host, when its heartbeat has been silent for 2 × lease + 15 s (a process frozen that long,
  or on a machine we cannot see).

A live run — on this host or another — is never marked: its process is there, or its heartbeat is fresh.
"""

from __future__ import annotations

import os
import platform
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

#: seconds of lease; the heartbeat renews it every half lease
DEFAULT_LEASE_S = 30.0
#: silence beyond 2 × lease that still is not death (a loaded machine, a slow disk)
GRACE_S = 15.0
ENV_LEASE = "PERFCAMPAIGN_RUN_LEASE"


def lease_seconds() -> float:
    try:
        return max(1.0, float(os.environ.get(ENV_LEASE, DEFAULT_LEASE_S)))
    except ValueError:
        return DEFAULT_LEASE_S


def this_process() -> dict[str, Any]:
    """The columns that identify the process running a run."""
    started = None
    try:
        import psutil

        started = psutil.Process().create_time()
    except Exception:  # noqa: BLE001 - without psutil, the heartbeat alone decides
        pass
    return {"host": platform.node(), "pid": os.getpid(), "pid_started_at": started}


class RunLease:
    """Renews ``run_id``'s heartbeat every ``lease_s / 2`` from a daemon thread until :meth:`stop`."""

    def __init__(self, store: Any, run_id: str, lease_s: float | None = None):
        self.store, self.run_id = store, run_id
        self.lease_s = lease_s or lease_seconds()
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="perfcampaign-run-heartbeat", daemon=True)
        self.failures = 0

    def start(self) -> RunLease:
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._halt.wait(self.lease_s / 2):
            try:
                if not self.store.heartbeat_run(self.run_id, datetime.now(timezone.utc)):
                    return  # no longer running (repaired by someone who thought it dead): nothing to renew
            except Exception:  # noqa: BLE001 - a busy warehouse: the next beat tries again
                self.failures += 1

    def stop(self) -> None:
        self._halt.set()
        self._thread.join(timeout=5)


@dataclass(frozen=True)
class Verdict:
    dead: bool
    why: str


def judge(run: dict[str, Any], now: datetime, host: str | None = None) -> Verdict:
    """Whether the process of a ``running`` run is certainly dead (pure but for the pid look-up)."""
    host = host or platform.node()
    pid = run.get("pid")
    if run.get("host") == host and pid:
        alive, why = _pid_alive(int(pid), run.get("pid_started_at"))
        if not alive:
            return Verdict(True, f"its process {pid} on {host} {why}")
        return Verdict(False, f"its process {pid} on {host} is alive")
    lease = float(run.get("lease_s") or DEFAULT_LEASE_S)
    last = run.get("heartbeat_at") or run.get("started_at")
    if last is None:
        return Verdict(False, "no sign of life recorded")
    if last.tzinfo is None:
        last = last.replace(tzinfo=timezone.utc)
    silent = (now - last).total_seconds()
    limit = 2 * lease + GRACE_S
    where = f"on {run.get('host')}" if run.get("host") else "(host unknown)"
    if silent > limit:
        return Verdict(True, f"no heartbeat from its process {where} for {silent:.0f} s (lease {lease:.0f} s)")
    return Verdict(False, f"heartbeat {silent:.0f} s ago {where}")


def _pid_alive(pid: int, started: float | None) -> tuple[bool, str]:
    try:
        import psutil

        proc = psutil.Process(pid)
        if started is not None and abs(proc.create_time() - float(started)) > 1.0:
            return False, "is gone (its pid now belongs to another process)"
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False, "is gone (a zombie)"
        return True, "is alive"
    except ImportError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False, "is gone"
        except PermissionError:
            return True, "is alive"
        return True, "is alive"
    except Exception:  # noqa: BLE001 - psutil.NoSuchProcess and friends
        return False, "is gone"


def repair_runs(store: Any, now: datetime | None = None) -> list[dict[str, Any]]:
    """Mark every ``running`` run whose process is dead ``crashed``; what was marked (run, why)."""
    now = now or datetime.now(timezone.utc)
    marked = []
    for run in store.running_runs():
        verdict = judge(run, now)
        if verdict.dead and store.mark_crashed(run["run_id"], now, f"crashed: {verdict.why}"):
            marked.append({"run_id": run["run_id"], "campaign": run["campaign"], "environment": run["environment"],
                           "why": verdict.why})
    return marked
