"""The method: faults, commands and pauses, in order (Chaos Toolkit's ``activity``).

A fault activity builds the fault, adds it to the proxy, holds it for ``duration`` and removes
it (``background: true`` holds it while the next activities run; the method ends once every
background fault has ended). A command runs as argv (never a shell) with its timeout; an exit
code outside ``ok_exit_codes`` fails the method (:class:`MethodFailed`). Every activity leaves an
:class:`ActivityRecord` in the journal, whatever happens: what ran, when, and how it ended.
Whatever stops the method — its end, a failure, the watchdog, a cancellation — every fault it
added is removed before :func:`run_method` returns or raises.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import Any

from campaigns.chaos import CommandActivity, Experiment, FaultActivity
from campaigns.redact import redact_text
from tasks.chaos.errors import MethodFailed
from tasks.chaos.faults import build
from tasks.chaos.faults.base import Fault

OUTPUT_TAIL = 2000


@dataclass
class ActivityRecord:
    phase: str                          # method | rollback
    index: int
    kind: str                           # fault | command | pause | clear
    name: str
    started_at: float
    ended_at: float | None = None
    status: str = "running"             # ok | failed | cancelled | timeout
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def end(self, status: str, error: str | None = None) -> None:
        self.ended_at = time.time()
        self.status = status
        self.error = error


def fill(argv: list[str], values: dict[str, str]) -> list[str]:
    """Fill the known ``{placeholders}`` (other braces are left alone: code may use them)."""
    out = []
    for arg in argv:
        for key, value in values.items():
            arg = arg.replace("{" + key + "}", value)
        out.append(arg)
    return out


async def run_command(act: CommandActivity, cc: Any, values: dict[str, str], record: ActivityRecord) -> bool:
    """Run one command to its end (or its timeout); True when its exit code is an ok one."""
    argv = fill(act.command, values)
    record.detail.update(argv=[redact_text(a) for a in argv], timeout_s=act.timeout)  # stored: never a token
    env = {**os.environ, "PERFCAMPAIGN_ENV": cc.env_name, "PERFCAMPAIGN_EXPERIMENT": values.get("experiment", ""),
           "PERFCAMPAIGN_PROXY_URL": values.get("proxy_url", "")}
    try:
        proc = await asyncio.create_subprocess_exec(*argv, cwd=str(cc.base_dir), env=env,
                                                    stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    except OSError as exc:
        record.end("failed", redact_text(f"cannot start {argv[0]!r}: {exc}"))
        return False
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), act.timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        record.detail["exit_code"] = proc.returncode
        record.end("timeout", f"still running after {act.timeout:g}s: killed")
        return False
    except asyncio.CancelledError:
        if proc.returncode is None:
            proc.kill()
            await asyncio.shield(proc.wait())
        record.detail["exit_code"] = proc.returncode
        record.end("cancelled", "cancelled: the process was killed")
        raise
    text = output.decode(errors="replace")
    record.detail.update(exit_code=proc.returncode, output=redact_text(text[-OUTPUT_TAIL:]))
    if proc.returncode in act.ok_exit_codes:
        record.end("ok")
        return True
    record.end("failed", f"exit code {proc.returncode} (ok: {act.ok_exit_codes})")
    return False


class Method:
    """One run of an experiment's method against a proxy (``ProxyThread`` or ``FaultProxy``)."""

    def __init__(self, exp: Experiment, cc: Any, proxy: Any, values: dict[str, str], journal: list[ActivityRecord],
                 seed: int | None = None):
        self.exp, self.cc, self.proxy, self.values, self.journal = exp, cc, proxy, values, journal
        self.added: list[Fault] = []
        self.first_fault_at: float | None = None
        self.ended_at: float | None = None

    async def run(self) -> None:
        background: list[asyncio.Task[None]] = []
        try:
            for i, act in enumerate(self.exp.method):
                record = ActivityRecord("method", i, _kind(act), redact_text(act.label), time.time())
                self.journal.append(record)
                if isinstance(act, FaultActivity):
                    fault = self._add(act, record)
                    if act.background:
                        background.append(asyncio.ensure_future(self._hold(fault, act.duration, record)))
                    else:
                        await self._hold(fault, act.duration, record)
                elif isinstance(act, CommandActivity):
                    self.cc.emit("info", redact_text(f"{self.exp.name}: running {act.label}"),
                                 {"argv": [redact_text(a) for a in act.command]})
                    if not await run_command(act, self.cc, self.values, record):
                        raise MethodFailed(f"method activity {i} ({act.label}) failed: {record.error}")
                else:
                    try:
                        await asyncio.sleep(act.pause)
                    except asyncio.CancelledError:
                        record.end("cancelled")
                        raise
                    record.end("ok")
            if background:
                await asyncio.gather(*background)
        except asyncio.CancelledError:
            self.remove_all("cancelled")
            raise
        except BaseException:
            self.remove_all("method failed")
            raise
        finally:
            for task in background:
                task.cancel()
            self.remove_all("method end")
            self.ended_at = time.time()

    def _add(self, act: FaultActivity, record: ActivityRecord) -> Fault:
        fault = build(act.fault, act.params, act.fraction, name=f"{self.exp.name}-{record.index}-{act.fault}")
        self.proxy.add_fault(fault)
        self.added.append(fault)
        now = time.time()
        record.started_at = now
        if self.first_fault_at is None:
            self.first_fault_at = now
        record.detail.update(fault=act.fault, fault_id=fault.id, fraction=act.fraction, params=dict(act.params),
                             duration_s=act.duration, background=act.background, unit=fault.unit)
        self.cc.emit("info", f"{self.exp.name}: {act.fault} on {act.fraction:.0%} of traffic for {act.duration:g}s",
                     record.detail)
        return fault

    async def _hold(self, fault: Fault, duration: float, record: ActivityRecord) -> None:
        try:
            await asyncio.sleep(duration)
        except asyncio.CancelledError:
            self._remove(fault, record, "cancelled")
            raise
        self._remove(fault, record, "ok")

    def _remove(self, fault: Fault, record: ActivityRecord | None, status: str) -> None:
        if fault in self.added:
            self.added.remove(fault)
            self.proxy.remove_fault(fault)
        if record is not None and record.ended_at is None:
            record.detail["hits"] = fault.hits
            record.end(status)

    def remove_all(self, why: str) -> None:
        """Remove every fault this method added and is still active (synchronous: no await)."""
        for fault in list(self.added):
            record = next((r for r in self.journal if r.detail.get("fault_id") == fault.id), None)
            if record is not None and record.ended_at is None:
                record.detail["removed_by"] = why
            self._remove(fault, record, "cancelled" if why != "method end" else "ok")


def _kind(act: Any) -> str:
    return "fault" if isinstance(act, FaultActivity) else "command" if isinstance(act, CommandActivity) else "pause"
