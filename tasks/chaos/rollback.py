"""Rollbacks: always attempted — after a method that ended, failed, was stopped by the watchdog
or by the time bound, and after a cancellation (Ctrl-C, a cancelled flow run).

:func:`roll_back` first removes every fault still on the proxy (synchronously: nothing can come
between a cancellation and the faults' removal), then runs the experiment's rollback commands in
order, each bounded by its own timeout. It shields itself from cancellation until the commands
are done, then re-raises the cancellation, so a cancelled run still leaves the system as it found
it. A failing rollback is recorded (and fails the stage's rollback gate) but never stops the next.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from campaigns.chaos import CommandActivity, Experiment
from campaigns.redact import redact_text
from tasks.chaos.activity import ActivityRecord, run_command


def remove_faults(proxy: Any, journal: list[ActivityRecord], why: str) -> list[str]:
    """Clear the proxy now; returns the ids removed (recorded as a ``clear`` activity when any)."""
    if proxy is None:
        return []
    try:
        removed = [f.id for f in proxy.clear_faults()]
    except Exception as exc:  # noqa: BLE001 - the proxy thread may be gone: nothing to remove then
        journal.append(ActivityRecord("rollback", -1, "clear", "remove every fault", time.time(), time.time(),
                                      "failed", {"why": why}, str(exc)))
        return []
    if removed:
        journal.append(ActivityRecord("rollback", -1, "clear", "remove every fault", time.time(), time.time(), "ok",
                                      {"why": why, "removed": removed}))
    return removed


async def _commands(exp: Experiment, cc: Any, values: dict[str, str], journal: list[ActivityRecord]) -> None:
    for i, act in enumerate(exp.rollbacks):
        record = ActivityRecord("rollback", i, "command" if isinstance(act, CommandActivity) else "pause",
                                redact_text(act.label), time.time())
        journal.append(record)
        try:
            if isinstance(act, CommandActivity):
                cc.emit("info", redact_text(f"{exp.name}: rollback {act.label}"),
                        {"argv": [redact_text(a) for a in act.command]})
                await run_command(act, cc, values, record)
            else:
                await asyncio.sleep(act.pause)
                record.end("ok")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one broken rollback never stops the next
            record.end("failed", f"{type(exc).__name__}: {exc}")


async def roll_back(exp: Experiment, cc: Any, proxy: Any, values: dict[str, str], journal: list[ActivityRecord],
                    why: str) -> None:
    """Remove every fault, then run every rollback; finishes even when the caller is cancelled."""
    remove_faults(proxy, journal, why)
    if not exp.rollbacks:
        return
    task = asyncio.ensure_future(_commands(exp, cc, values, journal))
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                break
            cancelled = True  # finish the rollbacks first (each is bounded by its timeout)
    if cancelled:
        raise asyncio.CancelledError()
