"""The order of an experiment, fixed here (Chaos Toolkit's ``run.py``), rollbacks always attempted.

1. refuse a production environment (:class:`~tasks.chaos.errors.ChaosRefused`);
2. start the fault proxy (in front of the service, or of a dependency);
3. **pre-check**: the steady-state probes (through the proxy for a service target); when the
   hypothesis does not hold, nothing is injected. A dry run stops here;
4. arm three load windows (baseline, fault, recovery) and release the first two back to back;
5. **method**: faults and commands while the fault window's load runs; the watchdog sees every
   second and may stop it; the first broken second gives the **time to detect**;
6. every fault removed → the recovery window is released at that instant; the **recovery time**
   is from then to the first second that starts ``hold`` seconds in a row where the hypothesis
   holds again, bounded by ``recovery.timeout``;
7. **rollbacks** (``finally``: after a failed method, the watchdog, the time bound, a cancellation);
8. score and verdict.

``time_bound`` bounds steps 2–6; rollbacks have their own timeouts.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from typing import Any

from campaigns.chaos import DependencyTarget, Experiment, FaultActivity, PauseActivity
from tasks.chaos import hypothesis
from tasks.chaos.activity import Method
from tasks.chaos.errors import ChaosError, MethodFailed, production_targets_of, refuse_production
from tasks.chaos.outcome import ExperimentOutcome
from tasks.chaos.proxy import ProxyThread
from tasks.chaos.rollback import remove_faults, roll_back
from tasks.chaos.safeguards import Watchdog
from tasks.chaos.score import classify, degradation, resilience_score
from tasks.chaos.windows import LoadWindow, PhaseStats, build_plan, with_duration
from tasks.load.planner import PlanError

#: between arming the windows and the first send
LEAD_S = 0.05


def deterministic_span(exp: Experiment) -> float | None:
    """The method's length when it is faults and pauses only (None when a command is in it)."""
    span = 0.0
    longest_background = 0.0
    for act in exp.method:
        if isinstance(act, FaultActivity):
            if act.background:
                longest_background = max(longest_background, span + act.duration)
            else:
                span += act.duration
        elif isinstance(act, PauseActivity):
            span += act.pause
        else:
            return None
    return max(span, longest_background)


def start_proxy(exp: Experiment, cc: Any) -> ProxyThread:
    if isinstance(exp.target, DependencyTarget):
        upstream, listen = exp.target.upstream, exp.target.listen
    else:
        upstream, listen = f"{cc.host}:{cc.port}", "127.0.0.1:0"
    return ProxyThread(upstream, env_kind=cc.env_kind, listen=listen, seed=cc.spec.seed,
                       name=f"{cc.env_name}-{exp.name}",
                       production_targets=production_targets_of(getattr(cc, "campaign", None))).start()


class _Experiment:
    """The moving parts of one run: windows, watchdog, method task."""

    def __init__(self, exp: Experiment, cc: Any, out: ExperimentOutcome):
        self.exp, self.cc, self.out = exp, cc, out
        self.proxy: ProxyThread | None = None
        self.values: dict[str, str] = {}
        self.windows: dict[str, LoadWindow] = {}
        self.watchdog = Watchdog(cc.spec.safeguards_of(exp))
        self.method: Method | None = None
        self.method_task: asyncio.Task[None] | None = None
        self.recovered = asyncio.Event()
        self.healthy_run = 0

    # -- per-second rows from the load windows -----------------------------------------------------
    def on_row(self, phase: str, row: dict[str, Any]) -> None:
        self.out.seconds.setdefault(phase, []).append(row)
        verdict = hypothesis.check_second(self.exp.steady_state.tolerances, row)
        self.cc.emit("item", f"{self.exp.name} {phase} t={row['second']}s {row.get('requests', 0)} req "
                     f"p95={row.get('p95_ms')} ms errors={row.get('errors', 0)} "
                     f"{'ok' if verdict.passed else 'BROKEN: ' + verdict.detail}",
                     {"experiment": self.exp.name, "phase": phase, **row, "passed": verdict.passed})
        if phase in ("fault", "recovery"):
            reason = self.watchdog.feed(row, time.time())
            if reason is not None:
                self.trip(reason)
        if phase == "recovery":
            self.healthy_run = self.healthy_run + 1 if verdict.passed else 0
            if self.healthy_run >= max(1, round(self.exp.recovery.hold)):
                self.recovered.set()

    def trip(self, reason: str) -> None:
        """The watchdog: every fault off now, the load stopped, the method cancelled."""
        self.out.watchdog = reason
        self.cc.emit("warning", f"{self.exp.name}: {reason}: stopping the experiment", {})
        if self.method is not None:
            self.method.remove_all("watchdog")
        remove_faults(self.proxy, self.out.journal, "watchdog")
        for window in self.windows.values():
            window.stop_sending()
        if self.method_task is not None and not self.method_task.done():
            self.method_task.cancel()

    def halt(self) -> None:
        for window in self.windows.values():
            window.stop_sending()

    # -- the measured part -------------------------------------------------------------------------
    async def measure(self, load_url: str) -> None:
        exp, cc, out = self.exp, self.cc, self.out
        load = cc.spec.load_of(exp)
        plan, _ = build_plan(cc, exp.endpoint_names(load), load.rate, 1.0, load_url, timeout=load.timeout,
                             connections=load.connections)
        span = deterministic_span(exp)
        method_planned = span if span is not None else max(exp.time_bound - exp.planned_seconds(), 1.0)
        self.windows = {
            "baseline": LoadWindow(with_duration(plan, exp.baseline), "baseline", self.on_row),
            "fault": LoadWindow(with_duration(plan, method_planned), "fault", self.on_row),
            "recovery": LoadWindow(with_duration(plan, exp.recovery.timeout), "recovery", self.on_row),
        }
        for window in self.windows.values():
            window.arm()
        for window in self.windows.values():
            await window.wait_armed()
        t0 = time.time() + LEAD_S
        self.windows["baseline"].release(t0)
        method_at = self.windows["fault"].release(t0 + exp.baseline)
        cc.emit("info", f"{exp.name}: baseline {exp.baseline:g}s at {load.rate:g} req/s", {})
        await asyncio.sleep(max(0.0, method_at - time.time()))

        self.method = Method(exp, cc, self.proxy, self.values, out.journal)
        self.method_task = asyncio.ensure_future(self.method.run())
        try:
            await self.method_task
        except MethodFailed as exc:
            out.method_error = str(exc)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not self.watchdog.tripped or (current is not None and current.cancelling()):
                raise
        finally:
            out.fault_started_at = self.method.first_fault_at
            out.fault_ended_at = self.method.ended_at or time.time()
        # every fault is off: the recovery window starts now
        recovery = self.windows["recovery"]
        if self.watchdog.tripped:
            recovery.stop_sending()
        else:
            recovery.release(out.fault_ended_at)
        self.windows["fault"].stop_sending()
        if not self.watchdog.tripped:
            waiter = asyncio.ensure_future(self.recovered.wait())
            try:
                await asyncio.wait({waiter, recovery.future}, return_when=asyncio.FIRST_COMPLETED)  # type: ignore[arg-type]
            finally:
                waiter.cancel()
            recovery.stop_sending()
        for phase, window in self.windows.items():
            try:
                out.phases[phase] = await window.stats()
            except Exception as exc:  # noqa: BLE001 - a failed window is reported, the others kept
                out.notes.append(f"{phase} load failed: {type(exc).__name__}: {exc}")
        self.findings()

    def findings(self) -> None:
        """Time to detect and recovery time from the per-second rows (1 s resolution)."""
        exp, out = self.exp, self.out
        tol = exp.steady_state.tolerances
        out.recovery_bound_s = exp.recovery.timeout
        out.hold_s = exp.recovery.hold
        start = out.fault_started_at or out.fault_ended_at
        for phase in ("fault", "recovery"):
            stats, rows = out.phases.get(phase), out.seconds.get(phase, [])
            if stats is None or start is None or out.time_to_detect_s is not None:
                continue
            for row in rows:
                seen_at = stats.started_at + row["second"] + 1.0
                if seen_at > start and not hypothesis.check_second(tol, row).passed:
                    out.time_to_detect_s = round(max(0.0, seen_at - start), 3)
                    out.detected_in = phase
                    break
        rec = out.phases.get("recovery")
        if self.watchdog.tripped or rec is None or out.fault_ended_at is None:
            out.recovered = None
            return
        k = hypothesis.first_hold(tol, out.seconds.get("recovery", []), max(1, round(exp.recovery.hold)))
        if k is None:
            out.recovered = False
            return
        back_at = rec.started_at + out.seconds["recovery"][k]["second"]
        out.recovery_time_s = round(max(0.0, back_at - out.fault_ended_at), 3)
        out.recovered = out.recovery_time_s <= exp.recovery.timeout


async def run_experiment(exp: Experiment, cc: Any) -> ExperimentOutcome:
    """Run one experiment in the fixed order; rollbacks run whatever happens (see the module doc)."""
    refuse_production(getattr(cc, "env_kind", None), f"experiment {exp.name!r}")
    out = ExperimentOutcome(name=exp.name, description=exp.description, dry_run=cc.dry_run or exp.dry_run,
                            started_at=time.time(), min_score=exp.min_score,
                            target="dependency" if isinstance(exp.target, DependencyTarget) else "service",
                            recovery_bound_s=exp.recovery.timeout, hold_s=exp.recovery.hold)
    run = _Experiment(exp, cc, out)
    run.values = cc.placeholders(exp.name, None)
    load = cc.spec.load_of(exp)
    why = "experiment end"
    try:
        try:
            async with asyncio.timeout(exp.time_bound):
                run.proxy = start_proxy(exp, cc)
                out.proxy_listen = run.proxy.url
                out.upstream = f"{run.proxy.proxy.upstream[0]}:{run.proxy.proxy.upstream[1]}"
                run.values = cc.placeholders(exp.name, run.proxy.url)
                load_url = run.proxy.url if out.target == "service" else cc.base_url
                cc.emit("info", f"{exp.name}: steady-state probes at {load_url}"
                        f"{' (dry run: probes only)' if out.dry_run else ''}", {"experiment": exp.name})
                out.before = await hypothesis.verify(exp, cc, load_url, timeout=load.timeout)
                if not out.before.passed:
                    out.notes.append(f"the steady state did not hold before the method ({out.before.detail}): "
                                     f"nothing was injected")
                elif not out.dry_run:
                    await run.measure(load_url)
        except TimeoutError:
            out.aborted = f"time bound of {exp.time_bound:g}s reached"
            why = "time bound"
        except PlanError as exc:
            out.error = f"the load cannot run: {exc}"
        except ChaosError as exc:
            out.error = str(exc)
        except OSError as exc:
            out.error = f"the fault proxy or the load could not start: {exc}"
        except asyncio.CancelledError:
            out.aborted = "cancelled"
            why = "cancelled"
            raise
        except Exception as exc:  # noqa: BLE001 - reported with the experiment; the rollbacks still run
            out.error = f"{type(exc).__name__}: {exc}"
            out.notes.append(traceback.format_exc(limit=6))
    finally:
        run.halt()
        try:
            if out.dry_run:
                remove_faults(run.proxy, out.journal, why)
            else:
                await roll_back(exp, cc, run.proxy, run.values, out.journal, why)
        finally:
            if run.proxy is not None:
                try:
                    out.fault_windows = run.proxy.windows
                    run.proxy.stop()
                except Exception as exc:  # noqa: BLE001 - the proxy thread is gone: its faults with it
                    out.notes.append(f"stopping the fault proxy: {type(exc).__name__}: {exc}")
            out.finished_at = time.time()
            _conclude(out, exp)
    return out


def _conclude(out: ExperimentOutcome, exp: Experiment) -> None:
    fault, recovery = out.phases.get("fault"), out.phases.get("recovery")
    base = out.phases.get("baseline")
    out.failure_classes = classify(*(p.errors_by_kind for p in (fault, recovery) if p is not None))
    out.degradation = degradation(out.failure_classes) if fault is not None else None
    if fault is not None and not out.dry_run:
        score, parts = resilience_score(fault_error_rate=fault.error_rate, baseline_p95_ms=base.p95_ms if base else None,
                                        fault_p95_ms=fault.p95_ms,
                                        tolerance_p95_ms=exp.steady_state.tolerances.p95_ms, recovered=out.recovered,
                                        recovery_time_s=out.recovery_time_s, recovery_bound_s=out.recovery_bound_s,
                                        classes=out.failure_classes)
        out.score, out.score_parts = score, parts.as_dict()
    out.decide()


async def run_chaos(cc: Any, experiments: list[Experiment] | None = None) -> list[ExperimentOutcome]:
    """Every experiment for the context's environment, one after the other."""
    refuse_production(getattr(cc, "env_kind", None), "a chaos run")
    chosen = experiments if experiments is not None else cc.spec.for_environment(cc.env_name)
    outcomes = []
    for exp in chosen:
        cc.emit("info", f"experiment {exp.name} started", {"experiment": exp.name})
        out = await run_experiment(exp, cc)
        cc.emit("info", f"experiment {exp.name} {out.status}: recovery {out.recovery_time_s} s, "
                        f"score {out.score}", {"experiment": exp.name, "status": out.status})
        outcomes.append(out)
    return outcomes


__all__ = ["run_experiment", "run_chaos", "deterministic_span", "PhaseStats"]
