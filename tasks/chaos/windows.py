"""Load from the load engine in consecutive windows, one per phase (probe, baseline, fault, recovery).

Each window is one :func:`tasks.load.engine.run_shard` on its own thread (its own uvloop loop), so
each phase gets exact HDR histograms and error kinds of its own, while the per-second rows of the
window arrive live (``on_tick``) for the watchdog and the recovery check.

A window is *armed* first: its thread builds the engine (≈ 0.1–0.2 s: a fresh loop, the pool, a
``gc.collect``) and then waits, inside the engine's read of ``control.start_at``, until
:meth:`LoadWindow.release` names the start instant. So the recovery window can be armed while the
fault is active and released the moment the fault is removed: no gap in the load between phases.
(The engine reads ``start_at`` once, just before its first send; :class:`LoadWindow` is a
duck-typed ``Control`` whose ``start_at`` is a property that blocks until released.)
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from campaigns.load import LoadSpec
from tasks.load.engine import run_shard
from tasks.load.plan import Plan
from tasks.load.planner import Planned, plan_load
from tasks.load.recorder import OVERALL
from tasks.load.result import ShardResult, endpoint_table, merge_shards

#: longest a window waits to be released before it starts anyway (and is stopped at once)
ARM_TIMEOUT = 600.0


def build_plan(cc: Any, endpoints: list[str], rate: float, duration: float, base_url: str, *,
               timeout: float = 2.0, connections: int = 100) -> tuple[Plan, Planned]:
    """A plan of ``rate`` requests/s spread evenly over ``endpoints`` for ``duration`` s, sent to
    ``base_url`` (the proxy, for a service target). The environment's caps and readiness's blocked
    endpoints apply as in the load stage (``plan_load``); raises ``PlanError``."""
    endpoints = list(dict.fromkeys(endpoints))  # a probe may name an endpoint twice: one scenario each
    spec = LoadSpec(rate=rate, duration=duration, timeout=timeout, max_vus=connections,
                    connect_timeout=min(timeout, 5.0), graceful_stop=timeout + 0.5,
                    scenarios=[{"name": ep, "weight": 1, "steps": [{"endpoint": ep}]} for ep in endpoints])
    planned = plan_load(spec, cc.campaign, cc.env_name, blocked=cc.blocked, feeders=cc.feeders,
                        auth_headers=cc.auth_headers, base_dir=cc.base_dir)
    plan = dataclasses.replace(planned.plan, base_url=base_url, rules=(), breakpoint=None)
    return plan, planned


def with_duration(plan: Plan, duration: float) -> Plan:
    phase = dataclasses.replace(plan.phases[0], duration=max(duration, 0.5))
    return dataclasses.replace(plan, phases=(phase,))


@dataclass
class PhaseStats:
    """One window's numbers (``_overall``), latencies in ms from the intended send time."""

    phase: str
    started_at: float                 # epoch seconds of the window's first planned send
    elapsed: float
    requests: int = 0
    errors: int = 0
    error_rate: float | None = None
    rps: float | None = None
    mean_ms: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    status_codes: dict[str, int] = field(default_factory=dict)
    histogram: str | None = None
    series: list[dict[str, Any]] = field(default_factory=list)   # per-second _overall rows
    trustworthy: bool = True
    reasons: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ended_at(self) -> float:
        return self.started_at + self.elapsed

    @classmethod
    def from_result(cls, phase: str, result: ShardResult) -> PhaseStats:
        merged = merge_shards([result])
        overall = next(r for r in endpoint_table(merged) if r["name"] == OVERALL)
        from tasks.load import histogram as H

        hist = merged.endpoints[OVERALL]["_lat"]
        series = [r for r in merged.series if r.get("endpoint") == OVERALL]
        return cls(phase=phase, started_at=result.started_at, elapsed=result.elapsed, requests=overall["requests"],
                   errors=overall["errors"], error_rate=overall["error_rate"], rps=overall["rps"],
                   mean_ms=overall["mean_ms"], p50_ms=overall["p50_ms"], p95_ms=overall["p95_ms"],
                   p99_ms=overall["p99_ms"], max_ms=overall["max_ms"], errors_by_kind=overall["errors_by_kind"],
                   status_codes=overall["status_codes"], histogram=H.encode(hist) if hist.total_count else None,
                   series=series, trustworthy=merged.trustworthy and not result.error,
                   reasons=list(merged.reasons), error=result.error)

    def summary(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("requests", "errors", "error_rate", "rps", "mean_ms", "p50_ms", "p95_ms",
                                              "p99_ms", "max_ms", "errors_by_kind", "status_codes")}


class LoadWindow:
    """One phase of load on its own thread; a duck-typed engine ``Control`` (stop, start_at, on_tick)."""

    def __init__(self, plan: Plan, phase: str, on_row: Callable[[str, dict[str, Any]], None] | None = None):
        self.plan = plan
        self.phase = phase
        self.on_row = on_row
        self.stop = threading.Event()            # Control.stop
        self.halt = threading.Event()            # Control.halt: never set, the stop above is enough
        self.armed = threading.Event()
        self._go = threading.Event()
        self._at: float | None = None
        self.released_at: float | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.future: asyncio.Future[ShardResult] | None = None
        self.thread: threading.Thread | None = None
        self.rows: list[dict[str, Any]] = []     # live _overall rows, as they came

    # -- the engine's Control ------------------------------------------------------------------------
    @property
    def start_at(self) -> float:
        self.armed.set()
        if not self._go.wait(ARM_TIMEOUT):
            self.stop.set()
        return self._at if self._at is not None else time.time()

    def on_tick(self, data: dict[str, Any]) -> None:
        row = next((r for r in data.get("rows", []) if r.get("endpoint") == OVERALL), None)
        if row is None or self.loop is None:
            return
        row = {k: v for k, v in row.items() if k != "histogram"}
        try:
            self.loop.call_soon_threadsafe(self._row, row)
        except RuntimeError:  # the caller's loop is gone
            pass

    def _row(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if self.on_row is not None:
            self.on_row(self.phase, row)

    # -- driving it ----------------------------------------------------------------------------------
    def arm(self) -> LoadWindow:
        """Start the thread; the engine is built and waits for :meth:`release`."""
        self.loop = asyncio.get_running_loop()
        self.future = self.loop.create_future()
        self.thread = threading.Thread(target=self._main, name=f"chaos-load-{self.phase}", daemon=True)
        self.thread.start()
        return self

    def _main(self) -> None:
        try:
            result = run_shard(self.plan, 0, 1, self)  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting side
            self._settle(None, exc)
            return
        self._settle(result, None)

    def _settle(self, result: ShardResult | None, exc: BaseException | None) -> None:
        def done() -> None:
            if self.future is not None and not self.future.done():
                if exc is not None:
                    self.future.set_exception(exc)
                else:
                    self.future.set_result(result)  # type: ignore[arg-type]

        try:
            self.loop.call_soon_threadsafe(done)  # type: ignore[union-attr]
        except RuntimeError:
            pass

    async def wait_armed(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.armed.is_set() and time.monotonic() < deadline:
            if self.future is not None and self.future.done():
                return
            await asyncio.sleep(0.005)

    def release(self, at: float | None = None) -> float:
        """Let the window start at epoch ``at`` (default now); returns the instant."""
        self._at = time.time() if at is None else at
        self.released_at = self._at
        self._go.set()
        return self._at

    def stop_sending(self) -> None:
        """Stop sending (in-flight requests finish within the plan's graceful stop)."""
        self.stop.set()
        if not self._go.is_set():
            self.release()

    async def result(self) -> ShardResult:
        assert self.future is not None, "the window was never armed"
        return await asyncio.shield(self.future)

    async def stats(self) -> PhaseStats:
        return PhaseStats.from_result(self.phase, await self.result())


async def run_window(plan: Plan, phase: str, on_row: Callable[[str, dict[str, Any]], None] | None = None) -> PhaseStats:
    """Arm, release at once, wait: one phase of load, start to end."""
    window = LoadWindow(plan, phase, on_row).arm()
    try:
        await window.wait_armed()
        window.release()
        return await window.stats()
    finally:
        window.stop_sending()
