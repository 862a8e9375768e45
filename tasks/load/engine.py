"""One shard of load: an event loop (uvloop), its connection pool and its share of the schedule.

:func:`run_shard` is the whole public surface; it is what a local worker process or a Dask task
calls. The shard:

1. waits for the shared start instant (so shards interleave their arrivals),
2. *open model*: issues its arrivals at their intended instants (a precise timer, see ``timer``)
   — each arrival starts one iteration of a weighted-random scenario; an arrival that finds the
   connection limit reached waits in a bounded queue (its latency still counts from the intended
   instant) or, when the queue is full, is **dropped** and counted;
   *closed model*: keeps ``vus_at(t)`` virtual users looping over the flow,
3. once a second folds its recordings into histograms, samples its own CPU and lag, checks the
   abort-on-fail thresholds and the breakpoint's stop rules, and obeys the shared stop signal;
   a streaming shard (``Control.on_batch``) hands its per-second rows over every few seconds and
   keeps none, so its memory does not grow with the run's length,
4. stops issuing at the end (or on abort), lets in-flight requests finish for ``graceful_stop``
   seconds, and returns a :class:`~tasks.load.result.ShardResult`.

No Prefect, no DuckDB, no file or network I/O other than the load itself.
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psutil

from tasks.load import histogram as H
from tasks.load.client import Origin, Pool
from tasks.load.executors import ArrivalExecutor, VUExecutor, executor_for
from tasks.load.flow import Iteration, Workload
from tasks.load.monitor import CpuSampler, GeneratorHealth, verdict
from tasks.load.plan import Plan, RulePlan, share
from tasks.load.recorder import OVERALL, Recorder
from tasks.load.result import EndpointResult, ShardResult
from tasks.load.thresholds import Observed, evaluate
from tasks.load.timer import PreciseTimer

perf_counter = time.perf_counter
INF = float("inf")
#: back-off of a virtual user after a connection error (no busy loop against a dead target)
ERROR_BACKOFF = 0.01


class _NeverSet:
    def is_set(self) -> bool:
        return False

    def set(self) -> None:
        pass


@dataclass
class Control:
    """How the outside steers a shard: a shared stop signal (``threading``/``multiprocessing``
    Event), a shared start instant (epoch seconds), an optional per-second progress callback and
    an optional batch sink.

    ``on_batch({"shard", "seq", "rows"})`` is called on the shard's loop every ``batch_every``
    seconds with the per-second rows since the last batch (``seq`` counts from 1); it must return
    at once (queue the batch, send it from another thread). The rows not yet handed over when
    the shard ends travel in ``ShardResult.series``, and ``ShardResult.batches`` says how many
    batches went before them.
    """

    stop: Any = field(default_factory=_NeverSet)
    start_at: float | None = None
    on_tick: Callable[[dict[str, Any]], None] | None = None
    on_batch: Callable[[dict[str, Any]], None] | None = None
    batch_every: float = 2.0
    #: seconds per row of the series (1; shorter only to time-compress a soak benchmark)
    tick: float = 1.0


class _Limiter:
    """The environment's max_rps as a hard ceiling: each request reserves the next free slot."""

    __slots__ = ("interval", "next")

    def __init__(self, rate: float):
        self.interval = 1.0 / rate
        self.next = 0.0

    def delay(self, now: float) -> float:
        slot = self.next if self.next > now else now
        self.next = slot + self.interval
        return slot - now


class _VU:
    __slots__ = ("stopping",)

    def __init__(self) -> None:
        self.stopping = False


class ShardEngine:
    def __init__(self, plan: Plan, shard: int = 0, n_shards: int = 1, control: Control | None = None):
        if not 0 <= shard < n_shards:
            raise ValueError(f"shard {shard} is not in 0..{n_shards - 1}")
        self.plan, self.shard, self.n_shards = plan, shard, n_shards
        self.control = control or Control()
        self.executors = [executor_for(p) for p in plan.phases]
        models = {e.model for e in self.executors}
        if len(models) != 1 or plan.model not in models:
            raise ValueError(f"the phases mix models or contradict model={plan.model!r}: {sorted(models)}")
        self.origin = Origin.from_url(plan.base_url, plan.verify_tls, plan.ca_file)
        self.names = plan.endpoint_names
        self.workload = Workload(plan, self.names, self.origin.host_header, self.origin.base_path, shard, n_shards)
        window = int(plan.breakpoint.window) if plan.breakpoint else 0
        # streaming: rows leave every few seconds (with per-second histograms, for exact merges)
        self.on_batch: Callable[[dict[str, Any]], None] | None = getattr(self.control, "on_batch", None)
        self.tick = float(getattr(self.control, "tick", 1.0) or 1.0)
        self.batch_every = max(1, round(getattr(self.control, "batch_every", 2.0) / self.tick))
        self.unsent: list[dict[str, Any]] = []
        self.batches = 0
        self.rec = Recorder(self.names, keep_second_histograms=n_shards > 1 or self.on_batch is not None,
                            window=window, keep_series=self.on_batch is None)
        self.late_after = plan.late_after
        self.limiter = _Limiter(plan.max_rps / n_shards) if plan.max_rps else None
        self.throttled = 0
        self.clock = perf_counter
        # state
        self.active = 0
        self.issued = 0
        self.dropped = 0
        self.iterations = 0
        self.stopping = False
        self.aborted: str | None = None
        self.breakpoint: dict[str, Any] | None = None
        self.vus: list[_VU] = []
        self.vus_max = 0
        self.sched_lag = array("d")
        self.sched_hist = H.new_histogram()
        self.loop_lag_max = 0.0
        self.loop_lag_sec = 0.0
        self.cpu_samples: list[float] = []
        self.last_ok_rate: float | None = None

    # -- schedule ------------------------------------------------------------------------------
    def _phase_at(self, t: float) -> tuple[int, float]:
        start = 0.0
        for i, ex in enumerate(self.executors):
            if t < start + ex.duration or i == len(self.executors) - 1:
                return i, t - start
            start += ex.duration
        return len(self.executors) - 1, t - start

    def target_at(self, t: float) -> float:
        """Planned arrivals/s (open) or VUs (closed), for the whole run (all shards), at ``t``."""
        i, rel = self._phase_at(t)
        ex = self.executors[i]
        if isinstance(ex, ArrivalExecutor):
            return ex.rate_at(rel)
        return float(ex.vus_at(rel))  # type: ignore[union-attr]

    def _arrival_times(self) -> Iterator[float]:
        offset = self.t0
        for ex in self.executors:
            assert isinstance(ex, ArrivalExecutor)
            for t in ex.shard_times(self.shard, self.n_shards):
                yield offset + t
            offset += ex.duration

    def planned_arrivals(self) -> int:
        return sum(len(range(self.shard, ex.arrivals(), self.n_shards)) for ex in self.executors
                   if isinstance(ex, ArrivalExecutor))

    # -- open model ----------------------------------------------------------------------------
    def pump(self) -> None:
        """Issue every arrival that is due; re-arm the timer for the next one."""
        now = perf_counter()
        nxt = self.next_due
        if self.stopping:
            return
        times, lag, arrive = self.times, self.sched_lag, self.arrive
        while nxt <= now:
            lag.append(now - nxt)
            arrive(nxt)
            nxt = next(times, INF)
        self.next_due = nxt
        if nxt < INF:
            self.timer.at(nxt)

    def arrive(self, t_intended: float) -> None:
        it = Iteration(self, self.workload.pick(), t_intended)
        self.active += 1
        if it.step is None:  # every step's `if` unmet: nothing to send
            self.iteration_done(it, t_intended, failed=False)
            return
        if not it.prepare():
            self.iteration_done(it, t_intended, failed=True)
            return
        if self.limiter is not None:
            wait = self.limiter.delay(perf_counter())
            if wait > self.plan.timeout:  # the cap would hold it past the timeout: never sent
                self.active -= 1
                self.dropped += 1
                return
            if wait > 0:
                self._hold(it, wait)
                self.issued += 1
                return
        if not self.pool.submit(it, droppable=True):
            self.active -= 1
            self.dropped += 1
            return
        self.issued += 1

    # -- closed model --------------------------------------------------------------------------
    def _control_vus(self) -> None:
        if self.stopping:
            return
        t = perf_counter() - self.t0
        i, rel = self._phase_at(t)
        ex = self.executors[i]
        assert isinstance(ex, VUExecutor)
        want = share(ex.vus_at(rel), self.shard, self.n_shards)
        running = [vu for vu in self.vus if not vu.stopping]
        if len(running) < want:
            for _ in range(want - len(running)):
                vu = _VU()
                self.vus.append(vu)
                self._vu_iteration(vu)
        elif len(running) > want:
            for vu in running[want:]:
                vu.stopping = True
        self.vus = [vu for vu in self.vus if not vu.stopping]
        self.vus_max = max(self.vus_max, len(self.vus))

    def _vu_iteration(self, vu: _VU) -> None:
        if vu.stopping or self.stopping:
            return
        it = Iteration(self, self.workload.pick(), perf_counter(), vu)
        self.active += 1
        self.issued += 1
        self.send(it)

    # -- shared by both models -----------------------------------------------------------------
    def send(self, it: Iteration) -> None:
        if it.step is None:  # every step's `if` unmet: pause like an error so a VU cannot spin
            self.iteration_done(it, perf_counter(), failed=False, backoff=True)
            return
        if not it.prepare():
            self.iteration_done(it, perf_counter(), failed=True, backoff=True)
            return
        if self.limiter is not None:
            wait = self.limiter.delay(perf_counter())
            if wait > 0:
                self._hold(it, wait)
                return
        self.pool.submit(it)

    def _hold(self, it: Iteration, wait: float) -> None:
        """The environment's max_rps holds this send for ``wait`` s: it is re-planned to its slot, so
        the target is offered the capped schedule and the hold is not counted as the target's
        latency (it is counted in ``throttled``)."""
        self.throttled += 1
        it.t_intended += wait
        self.loop.call_later(wait, self.pool.submit, it)

    def iteration_done(self, it: Iteration, now: float, failed: bool, connect_error: bool = False,
                       backoff: bool = False) -> None:
        self.active -= 1
        if not failed:
            self.iterations += 1
        vu = it.vu
        if vu is None or vu.stopping or self.stopping:
            return
        pause = self.plan.think + (ERROR_BACKOFF if (connect_error or backoff) else 0.0)
        if pause > 0:
            self.loop.call_later(pause, self._vu_iteration, vu)
        else:
            self._vu_iteration(vu)

    # -- housekeeping --------------------------------------------------------------------------
    def _fast_tick(self) -> None:
        """Every 100 ms: timeouts, loop-lag probe, VU count, stop signal."""
        now = perf_counter()
        lag = max(0.0, now - self._probe_due)
        self.loop_lag_sec = max(self.loop_lag_sec, lag)
        self.pool.sweep(now)
        if self.plan.model == "closed":
            self._control_vus()
        if not self.stopping and self.control.stop.is_set():
            self.finish("stopped: another shard or the caller asked")
        if now - self.t0 >= self.plan.duration and not self.stopping:
            self.finish(None)
        self._probe_due = now + 0.1
        self._fast_handle = self.loop.call_later(0.1, self._fast_tick)

    def _tick(self) -> None:
        now = perf_counter()
        interval = now - self._last_tick
        self._last_tick = now
        cpu = self.cpu.sample()
        self.cpu_samples.append(cpu)
        lag_ms = self._flush_sched_lag()
        self.loop_lag_max = max(self.loop_lag_max, self.loop_lag_sec)
        t = min(now - self.t0, self.plan.duration)
        extra = {"in_flight": self.pool.in_flight, "target_rate": round(self.target_at(max(t - interval / 2, 0)), 3),
                 "vus": sum(1 for vu in self.vus if not vu.stopping) if self.plan.model == "closed" else None,
                 "cpu_percent": round(cpu * 100, 1), "sched_lag_ms": lag_ms,
                 "loop_lag_ms": round(self.loop_lag_sec * 1000, 3)}
        self.loop_lag_sec = 0.0
        rows = self.rec.flush(self._second, interval, extra)
        self._second += 1
        if self.on_batch is not None:
            self.unsent.extend(rows)
            if self._second % self.batch_every == 0:
                self._send_batch()
        if not self.stopping:
            self._check_rules(now)
        if self.control.on_tick is not None:
            try:
                self.control.on_tick({"shard": self.shard, "rows": rows})
            except Exception:  # noqa: BLE001 - progress must never break the load
                pass
        if not self.stopping:
            self._tick_handle = self.loop.call_later(
                max(0.0, self.t0 + (self._second + 1) * self.tick - perf_counter()), self._tick)

    def _send_batch(self) -> None:
        rows, self.unsent = self.unsent, []
        self.batches += 1
        try:
            self.on_batch({"shard": self.shard, "seq": self.batches, "rows": rows})  # type: ignore[misc]
        except Exception:  # noqa: BLE001 - a broken sink must never break the load
            pass

    def _flush_sched_lag(self) -> float | None:
        lag, self.sched_lag = self.sched_lag, array("d")
        if not len(lag):
            return None
        us = np.rint(np.frombuffer(lag, dtype=np.float64) * 1e6).astype(np.int64)
        H.record_batch(self.sched_hist, us)
        return round(int(us.max()) / 1000, 3)

    def _observed(self, name: str | None, elapsed: float) -> Observed:
        rec = self.rec
        if name is None:
            hist = H.merge([h for h in rec.lat_hist])
            return Observed(sum(rec.requests), sum(rec.errors), hist, float(sum(rec.lat_sum)), elapsed)
        i = self.names.index(name)
        return Observed(rec.requests[i], rec.errors[i], rec.lat_hist[i], float(rec.lat_sum[i]), elapsed)

    def _check_rules(self, now: float) -> None:
        elapsed = now - self.t0
        for rule in self.plan.rules:
            if not rule.abort_on_fail or elapsed < rule.grace:
                continue
            if rule.endpoint is not None and rule.endpoint not in self.names:
                continue
            out = evaluate(rule, self._observed(rule.endpoint, elapsed), rps_scale=self.n_shards)
            if not out.passed:
                self.control.stop.set()
                self.finish(f"threshold {rule.source or out.label} failed after {elapsed:.1f}s "
                            f"(abort_on_fail): {out.detail}")
                return
        bp = self.plan.breakpoint
        if bp is not None:
            self._check_breakpoint(bp.stop_when, elapsed)

    def _window(self, name: str | None) -> Observed | None:
        recent = list(self.rec.recent)
        key = OVERALL if name is None else name
        parts = [r[key] for r in recent if key in r]
        if not parts:
            return None
        values = np.concatenate([p[0] for p in parts])
        hist = H.new_histogram()
        H.record_batch(hist, values)
        span = sum(r["interval"] for r in recent)
        return Observed(sum(p[1] for p in parts), sum(p[2] for p in parts), hist, float(values.sum()), span)

    def _check_breakpoint(self, rules: tuple[RulePlan, ...], elapsed: float) -> None:
        bp = self.plan.breakpoint
        assert bp is not None
        if len(self.rec.recent) < max(int(bp.window), 1):
            return
        rate_now = self.target_at(min(elapsed, self.plan.duration))
        for rule in rules:
            if elapsed < rule.grace:
                return
            out = evaluate(rule, self._window(rule.endpoint), rps_scale=self.n_shards)
            if not out.passed:
                self.breakpoint = {"last_sustainable_rate": self.last_ok_rate, "broke_at_rate": round(rate_now, 3),
                                   "broken_rule": rule.source or out.label, "detail": out.detail,
                                   "at_second": round(elapsed, 1)}
                self.control.stop.set()
                self.finish(f"breakpoint: {rule.source or out.label} broke at {rate_now:.1f}/s ({out.detail})")
                return
        # the rate sustained over the whole window: the rate at the window's start
        self.last_ok_rate = round(self.target_at(max(elapsed - bp.window, 0.0)), 3)

    def finish(self, reason: str | None) -> None:
        if self.stopping:
            return
        self.stopping = True
        self.aborted = reason
        self.t_stop = min(perf_counter(), self.t0 + self.plan.duration) if reason is None else perf_counter()
        for vu in self.vus:
            vu.stopping = True
        if not self.done.done():
            self.done.set_result(None)

    # -- the run -------------------------------------------------------------------------------
    async def run(self) -> ShardResult:
        loop = asyncio.get_running_loop()
        self.loop = loop
        plan = self.plan
        proc = psutil.Process()
        rss_start = proc.memory_info().rss / 2**20
        if plan.model == "open":
            max_conns = -(-plan.max_connections // self.n_shards)
        else:
            max_conns = max(share(ex.vus_at(0) if isinstance(ex, VUExecutor) else 0, self.shard, self.n_shards)
                            for ex in self.executors)
            max_conns = max(max_conns, max(share(getattr(ex, "vus_to", 0) or 0, self.shard, self.n_shards)
                                           for ex in self.executors), 1)
        self.pool = Pool(loop, self.origin, max_conns, plan.timeout, plan.connect_timeout,
                         max_queue=max(1000, 2 * max_conns), with_headers=self.workload.with_headers,
                         cookies=plan.cookies)
        _warm_up(self.rec)
        gc.collect()
        gc.freeze()  # what exists now is never scanned again: no long collections mid-run
        if self.control.start_at is not None:
            await asyncio.sleep(max(0.0, self.control.start_at - time.time()))
        self.cpu = CpuSampler()
        self.done = loop.create_future()
        self.t0 = perf_counter()
        started_wall = time.time()
        self._second = 0
        self._last_tick = self.t0
        self._probe_due = self.t0 + 0.1
        self.timer: PreciseTimer | None = None
        if plan.model == "open":
            self.times = self._arrival_times()
            self.next_due = next(self.times, INF)
            self.timer = PreciseTimer(loop, self.pump)
            if self.next_due < INF:
                self.timer.at(self.next_due)
        else:
            self._control_vus()
        self._fast_handle = loop.call_later(0.1, self._fast_tick)
        self._tick_handle = loop.call_later(self.tick, self._tick)
        try:
            await self.done
            if self.timer is not None:
                self.timer.close()
            deadline = perf_counter() + plan.graceful_stop
            while self.active > 0 and perf_counter() < deadline:
                await asyncio.sleep(0.005)
        finally:
            gc.unfreeze()
            self._fast_handle.cancel()
            self._tick_handle.cancel()
            queued = len(self.pool.queue)
            self.pool.queue.clear()
            interrupted = self.active - queued
            self.pool.close()
        # the last (partial) second
        now = perf_counter()
        self.cpu_samples.append(self.cpu.sample())
        lag_ms = self._flush_sched_lag()
        tail = self.rec.flush(self._second, max(now - self._last_tick, 1e-6),
                              {"in_flight": 0, "target_rate": None, "vus": None,
                               "cpu_percent": round(self.cpu_samples[-1] * 100, 1), "sched_lag_ms": lag_ms,
                               "loop_lag_ms": round(self.loop_lag_sec * 1000, 3)})
        if self.on_batch is not None:
            self.unsent.extend(tail)
        return self._result(started_wall, queued, interrupted, rss_start, proc.memory_info().rss / 2**20)

    def _result(self, started_wall: float, queued: int, interrupted: int, rss_start: float,
                rss_end: float) -> ShardResult:
        plan, rec = self.plan, self.rec
        elapsed = max(self.t_stop - self.t0, 1e-9)
        samples = self.cpu_samples[:-1] or self.cpu_samples
        sched_pv = H.percentiles(self.sched_hist, [50.0, 99.0])
        sched_p = sched_pv[99.0] / 1e6
        health = GeneratorHealth(cpu_mean=round(float(np.mean(samples)) if samples else 0.0, 4),
                                 cpu_max=round(max(samples, default=0.0), 4),
                                 loop_lag_max_s=round(self.loop_lag_max, 6), sched_lag_p99_s=round(sched_p, 6),
                                 sched_lag_max_s=self.sched_hist.get_max_value() / 1e6,
                                 sched_lag_p50_s=round(sched_pv[50.0] / 1e6, 6),
                                 rss_start_mb=round(rss_start, 1), rss_end_mb=round(rss_end, 1))
        planned = float(self.planned_arrivals()) if plan.model == "open" else None
        dropped = self.dropped + queued
        target_rate = planned / plan.duration if planned is not None and plan.duration else None
        achieved = self.issued / elapsed if plan.model == "open" else None
        endpoints = [EndpointResult(name=name, requests=rec.requests[i], errors=rec.errors[i],
                                    errors_by_kind=dict(rec.kinds[i]),
                                    status_codes={str(k): v for k, v in sorted(rec.status[i].items())},
                                    latency=H.encode(rec.lat_hist[i]), service=H.encode(rec.svc_hist[i]),
                                    latency_sum_us=rec.lat_sum[i], service_sum_us=rec.svc_sum[i])
                     for i, name in enumerate(self.names)]
        all_lat = H.merge(rec.lat_hist)
        lat_p50 = H.percentiles(all_lat, [50.0])[50.0] / 1e6 if all_lat.total_count else None
        trustworthy, reasons = verdict(plan.model, health, target_rate, achieved, dropped, planned, self.aborted,
                                       latency_p50_s=lat_p50)
        breakpoint = self.breakpoint
        if plan.breakpoint is not None and breakpoint is None:
            breakpoint = {"last_sustainable_rate": self.last_ok_rate, "broke_at_rate": None, "broken_rule": None,
                          "detail": "the stop rules held up to the highest rate tried", "at_second": None}
        return ShardResult(
            shard=self.shard, n_shards=self.n_shards, model=plan.model, test_type=plan.test_type,
            started_at=started_wall, elapsed=round(elapsed, 6), planned_duration=plan.duration, planned=planned,
            issued=self.issued, dropped=dropped, late=rec.late, throttled=self.throttled,
            interrupted=max(interrupted, 0),
            iterations=self.iterations, target_rate=target_rate, achieved_rate=achieved,
            connections_opened=self.pool.opened, vus_max=self.vus_max, health=health, sched_lag=H.encode(self.sched_hist),
            endpoints=endpoints, series=self.unsent if self.on_batch is not None else rec.series,
            batches=self.batches, aborted=self.aborted, breakpoint=breakpoint,
            trustworthy=trustworthy, reasons=reasons, host=socket.gethostname(), pid=os.getpid())


def _warm_up(rec: Recorder) -> None:
    """Run the once-a-second code paths once before the clock starts (first calls are slow)."""
    scratch = Recorder(rec.names[:1] or ["x"], keep_second_histograms=rec.keep_second_histograms)
    scratch.ok(0, 0.001, 0.001, 200)
    scratch.flush(0, 1.0, {})
    H.summary_ms(scratch.lat_hist[0], 1000)


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        return asyncio.new_event_loop()


def run_shard(plan: Plan, shard: int = 0, n_shards: int = 1, control: Control | None = None) -> ShardResult:
    """Run one shard to completion on a fresh uvloop event loop in this thread."""
    loop = new_loop()
    try:
        return loop.run_until_complete(ShardEngine(plan, shard, n_shards, control).run())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
