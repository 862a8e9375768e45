"""The load stage: plan from the campaign, run the shards, store each shard, merge, gate.

Reads ``ctx.campaign.load`` (a :class:`campaigns.load.LoadSpec`), the environment's caps
(clamped, see ``planner``), ``ctx.blocked`` (left out, listed in ``summary["excluded"]``), the
feeders, auth headers, ``ctx.test_type`` and ``ctx.options``:

- ``duration_scale`` (float): shorten every phase (a demo run),
- ``shards`` (int or "auto"): override the number of generator processes,
- ``dask_address`` (str; else the campaign's ``load.dask_address``): run the shards on that Dask
  scheduler, through ``dask_runner`` (a factory ``address -> load_runner`` the flow supplies:
  Prefect's Dask task runner inside a flow run) or plain Dask (``tasks.load.cluster``),
- ``load_runner`` (callable ``(plan, n_shards, on_result[, on_batch][, info]) -> list[ShardResult]``):
  run the shards elsewhere; default: local worker processes (``runner.run_local``).

Results stream: every few seconds each shard's per-second rows reach this process, which merges
them across shards as they come and writes them with ``ctx.write_rows`` from a writer thread (one
transaction per few seconds: memory stays flat and a crash loses only those seconds); the merged
``_overall`` rows are the live progress. Each shard's summary row is written as soon as it ends;
the merged totals come back in ``StageResult.rows``. One gate per threshold, evaluated on the
exactly merged histograms. A shard that is lost (its process or worker died) leaves a *partial*
run: the others' results are kept, merged and stored, with the reason, and the stage is an error.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tasks.base import ProgressEvent, RunContext, StageResult, TargetNotAllowed, now, phase_dicts, register
from tasks.base import Gate
from tasks.load.errors import CONNECT_KINDS
from tasks.load.planner import PlanError, plan_load
from tasks.load.recorder import OVERALL
from tasks.load.report import (endpoint_dicts, evaluate_rules, final_rows, methods_of, shard_rows, start_skew_ms,
                               stream_rows)
from tasks.load.result import ShardResult, endpoint_table, merge_shards
from tasks.load.runner import run_local
from tasks.load.stream import Emitted, RowWriter, SeriesMerger

if TYPE_CHECKING:
    from tasks.load.cluster import ClusterInfo


@register
class LoadStage:
    name = "load"

    async def run(self, ctx: RunContext) -> StageResult:
        started = now()
        spec = getattr(ctx.campaign, "load", None)
        if spec is None:
            return StageResult("load", "skipped", started_at=started, finished_at=now(),
                               summary={"reason": "the campaign has no load: section"})
        if getattr(spec, "engine", "builtin") == "k6":  # the same plan, run by k6 (tasks/k6/)
            from tasks.k6.stage import run_k6_load

            return await run_k6_load(self, ctx, started)
        try:
            ctx.check_url(ctx.base_url)
            from campaigns.types import UnresolvedSecret

            try:
                planned = plan_load(spec, ctx.campaign, ctx.env_name, blocked=ctx.blocked,
                                    feeders=ctx.loaded.feeders, auth_headers=ctx.auth_headers,
                                    test_type=ctx.test_type, options=ctx.options, base_dir=ctx.loaded.base_dir)
            except UnresolvedSecret as exc:
                raise PlanError(str(exc)) from None
        except (PlanError, TargetNotAllowed) as exc:
            return StageResult("load", "refused", started_at=started, finished_at=now(), error=str(exc),
                               summary={"reason": str(exc), "excluded": dict(ctx.blocked)})
        plan = planned.plan
        if planned.needs_auth and ctx.campaign.auth is not None and ctx.auth_headers is None:
            # the campaign's auth flow has not run yet (smoke usually runs it): run it once, then re-plan
            auth_error = await _authenticate(ctx)
            if auth_error:
                return StageResult("load", "error", started_at=started, finished_at=now(), error=auth_error,
                                   summary={"reason": auth_error, "excluded": planned.excluded})
            planned = plan_load(spec, ctx.campaign, ctx.env_name, blocked=ctx.blocked, feeders=ctx.loaded.feeders,
                                auth_headers=ctx.auth_headers, test_type=ctx.test_type, options=ctx.options,
                                base_dir=ctx.loaded.base_dir)
            plan = planned.plan

        runner, address = _runner(ctx, spec)
        where = f" on the Dask cluster at {address}" if address else ""
        ctx.emit(ProgressEvent(ctx.env_name, "load", "info",
                               f"{plan.test_type} test, {plan.model} model, {plan.duration:.0f}s on "
                               f"{planned.shards} shard(s){where}",
                               {"caps": planned.caps, "excluded": planned.excluded, "phases": phase_dicts(plan),
                                "model": plan.model, "shards": planned.shards},
                               done=0.0, total=plan.duration, unit="s"))
        info = None
        if address:
            from tasks.load.cluster import ClusterInfo

            info = ClusterInfo(address=address)
        collector = _Collector(ctx, planned.shards, info, duration=plan.duration)
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[tuple[str, int, Any]] = asyncio.Queue()

        def on_result(result: ShardResult) -> None:  # called from the runner's thread
            loop.call_soon_threadsafe(events.put_nowait, ("result", result.shard, result))

        def on_batch(shard: int, batch: dict[str, Any]) -> None:  # called from the runner's thread
            loop.call_soon_threadsafe(events.put_nowait, ("batch", shard, batch))

        kwargs = _accepted(runner, on_batch=on_batch, info=info)
        scraper = _scraper(ctx)
        if scraper is not None:  # started with the load, so its offsets line up with the per-second series
            scraper.start()
        job = asyncio.ensure_future(asyncio.to_thread(runner, plan, planned.shards, on_result, **kwargs))
        try:
            while not job.done():
                getter = asyncio.ensure_future(events.get())
                done, _ = await asyncio.wait({job, getter}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    collector.take(*getter.result())
                else:
                    getter.cancel()
            while not events.empty():
                collector.take(*events.get_nowait())
            try:
                results = job.result()
            except Exception as exc:  # noqa: BLE001
                return StageResult("load", "error", started_at=started, finished_at=now(),
                                   infrastructure_failure=True, error=f"the load generator failed: {exc}",
                                   summary={"excluded": planned.excluded,
                                            "cluster": _cluster_summary(info, [])} if info else
                                   {"excluded": planned.excluded})
            for r in results:
                collector.take("result", r.shard, r)
        finally:
            write_errors = await asyncio.to_thread(collector.close)
            if scraper is not None:
                scraped = await scraper.stop()
                try:
                    ctx.write_rows({"metric_samples": scraped.rows(ctx.run_id)})
                except Exception as exc:  # noqa: BLE001 - server-side series are a bonus, never the run
                    write_errors.append(f"metric samples: {exc}")
        finished = now()
        return self._result(ctx, planned, results, started, finished, write_errors, streamed=True, info=info)

    def _result(self, ctx: RunContext, planned: Any, results: list[ShardResult], started: Any, finished: Any,
                write_errors: list[str], engine: str = "builtin", streamed: bool = False,
                info: ClusterInfo | None = None) -> StageResult:
        plan = planned.plan
        merged = merge_shards(results)
        table = endpoint_table(merged)
        outcomes = evaluate_rules(merged, planned.rules)
        gates = [Gate(stage="load", name=o.rule.source or o.label, passed=o.passed, observed=o.observed,
                      limit=f"{o.rule.op} {o.rule.value:g}", endpoint=o.rule.endpoint, detail=o.detail)
                 for o in outcomes]
        if plan.breakpoint is not None:
            # a breakpoint test is meant to break: its verdict is the rate it sustained, and the
            # thresholds (which the overload at the end would fail) are reported, not gated
            bp = merged.breakpoint or {}
            last = bp.get("last_sustainable_rate")
            floor = ctx.campaign.thresholds.min_rps
            gates = [Gate(stage="load", name=f"breakpoint: last sustainable rate >= {floor:g}/s", endpoint=None,
                          passed=last is not None and last >= floor, observed=last, limit=f">= {floor:g}",
                          detail=bp.get("detail") or "")]
        overall = next(r for r in table if r["name"] == OVERALL)
        kinds = overall["errors_by_kind"]
        unreachable = overall["requests"] > 0 and overall["errors"] == overall["requests"] and all(
            k in CONNECT_KINDS for k in kinds)
        failed_shards = [r for r in results if r.error]
        partial = bool(failed_shards) and len(failed_shards) < len(results)
        summary = {
            "test_type": plan.test_type, "model": plan.model, "engine": engine, "shards": len(results),
            "profile": [{"executor": p.executor, "duration_s": p.duration, "rate": p.rate, "rate_to": p.rate_to,
                         "vus": p.vus, "vus_to": p.vus_to, "name": p.name} for p in plan.phases],
            "profile_source": planned.profile.source,
            # open model: iterations (scenario starts) per second planned vs issued; each iteration
            # sends its scenario's steps, so target_rps = target_rate × mean steps
            "target_rate": _r(merged.target_rate), "achieved_rate": _r(merged.achieved_rate),
            "target_rps": _r(merged.target_rate * plan.mean_steps()) if merged.target_rate else None,
            "rps": overall["rps"], "requests": overall["requests"], "errors": overall["errors"],
            "error_rate": overall["error_rate"],
            "latency_ms": {k: overall[f"{k}_ms"] for k in ("mean", "p50", "p90", "p95", "p99", "max")},
            "service_ms": overall["service_ms"],
            "planned_arrivals": merged.planned, "issued": merged.issued, "dropped": merged.dropped,
            "late": merged.late, "throttled": merged.throttled, "interrupted": merged.interrupted,
            "trustworthy": merged.trustworthy and not write_errors, "reasons": merged.reasons + write_errors,
            "generator": {"cpu_mean": merged.health.cpu_mean, "cpu_max": merged.health.cpu_max,
                          "loop_lag_max_ms": round(merged.health.loop_lag_max_s * 1000, 3),
                          "sched_lag_p50_ms": round(merged.health.sched_lag_p50_s * 1000, 3),
                          "sched_lag_p99_ms": round(merged.health.sched_lag_p99_s * 1000, 3)},
            "aborted": merged.aborted, "breakpoint": merged.breakpoint,
            "start_skew_ms": start_skew_ms(results),
            "partial": {"lost_shards": {str(r.shard): r.error for r in failed_shards},
                        "merged_from": len(results) - len(failed_shards), "of": len(results)} if partial else None,
            "excluded": planned.excluded, "caps": planned.caps, "notes": planned.notes, "writes": planned.writes,
            "thresholds_skipped": planned.skipped_rules,
            "thresholds": [{"threshold": o.rule.source or o.label, "passed": o.passed, "observed": o.observed,
                            "detail": o.detail} for o in outcomes],
            "endpoints": [{k: r[k] for k in ("name", "requests", "errors", "rps", "p50_ms", "p95_ms", "p99_ms",
                                             "max_ms")} for r in table],
        }
        if info is not None:
            summary["cluster"] = _cluster_summary(info, results)
        rows = final_rows(ctx.run_id, merged, table, methods=methods_of(plan), test_type=plan.test_type,
                          engine=engine, started_at=started, finished_at=finished, outcomes=outcomes,
                          extra={"caps": planned.caps, "excluded": planned.excluded, "notes": planned.notes},
                          include_series=not streamed, cluster=summary.get("cluster"))
        if not merged.trustworthy:
            ctx.emit(ProgressEvent(ctx.env_name, "load", "warning",
                                   "load numbers not trustworthy: " + "; ".join(merged.reasons)))
        if unreachable or len(failed_shards) == len(results):
            status, infra = "error", True
            error = ("the target was unreachable: every request failed to connect "
                     f"({', '.join(sorted(kinds))})" if unreachable else
                     "every shard failed: " + "; ".join(f"shard {r.shard}: {r.error}" for r in failed_shards))
        elif partial:
            # a lost generator is the machinery's failure: the others' results are kept and stored,
            # but a run that sent less than its plan is no measurement to gate on or trend
            status, infra = "error", True
            error = (f"partial run: {len(failed_shards)} of {len(results)} shards lost ("
                     + "; ".join(f"shard {r.shard}: {r.error}" for r in failed_shards)
                     + f"); results merged from the other {len(results) - len(failed_shards)}")
        else:
            aborted = merged.aborted and not merged.aborted.startswith("breakpoint")
            status = "passed" if all(g.passed for g in gates) and not aborted else "failed"
            infra, error = False, None
            if merged.aborted and not merged.aborted.startswith(("threshold", "breakpoint")):
                error = merged.aborted
        return StageResult("load", status, started_at=started, finished_at=finished, summary=summary, gates=gates,
                           endpoints=endpoint_dicts(table), rows=rows, error=error, infrastructure_failure=infra)


def _scraper(ctx: RunContext) -> Any:
    """A scraper of the target's Prometheus /metrics when the environment names one."""
    source = ctx.environment.metrics
    if source is None:
        return None
    from tasks.scrape import Scraper

    return Scraper(ctx.check_url(source.resolve(ctx.base_url)), interval=source.interval, timeout=source.timeout,
                   families=source.families)


async def _authenticate(ctx: RunContext) -> str | None:
    """Run the campaign's auth flow (sign in once); the error text when it fails."""
    import httpx

    from tasks.http import AuthFailed, ensure_auth

    try:
        async with httpx.AsyncClient(timeout=10.0) as http:
            await ensure_auth(ctx, http)
    except (AuthFailed, httpx.HTTPError, TargetNotAllowed) as exc:
        return f"the campaign's auth flow failed: {exc}"
    return None


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class _Collector:
    """The coordinator's bookkeeping while shards run: streamed batches and results go through one
    :class:`~tasks.load.stream.SeriesMerger`; the rows it emits are written by a
    :class:`~tasks.load.stream.RowWriter` thread (a transaction every few seconds) and the merged
    ``_overall`` rows — the very rows the report reads — are the live per-second view."""

    def __init__(self, ctx: RunContext, n_shards: int, info: ClusterInfo | None = None,
                 duration: float | None = None):
        self.ctx = ctx
        self.duration = duration
        self.info = info
        self.merger = SeriesMerger(n_shards)
        self.writer = RowWriter(ctx.write_rows)
        self.stored: set[int] = set()

    def take(self, kind: str, shard: int, data: Any) -> None:
        if shard in self.stored:
            return
        if kind == "batch":
            self._emit(self.merger.add(shard, data["rows"]))
            return
        result: ShardResult = data
        self.stored.add(shard)
        worker = self.info.workers.get(shard) if self.info is not None else None
        self.writer.put(shard_rows(self.ctx.run_id, result, series=False, worker=worker))
        out = self.merger.add(shard, result.series)
        self._emit(out.extend(self.merger.finish(shard)))

    def _emit(self, out: Emitted) -> None:
        if not out:
            return
        self.writer.put(stream_rows(self.ctx.run_id, out))
        for r in out.merged:
            if r["endpoint"] == OVERALL:
                self.ctx.emit(ProgressEvent(
                    self.ctx.env_name, "load", "item",
                    f"t={r['second']}s {r.get('rps') or 0:.0f} req/s p95={r.get('p95_ms')} ms errors={r['errors']}",
                    {"passed": not r["errors"], **r}, done=r["second"] + 1, total=self.duration, unit="s"))

    def close(self) -> list[str]:
        """Merge and write what is left; the write errors."""
        self._emit(self.merger.close())
        self.writer.close()
        return list(self.writer.errors)


def _runner(ctx: RunContext, spec: Any) -> tuple[Callable[..., list[ShardResult]], str | None]:
    """The shard runner: ``load_runner`` if given; Dask when an address is set (CLI, flow parameter
    or campaign), through the ``dask_runner`` factory the flow supplies (Prefect's Dask task runner
    in a flow run) or plain Dask; else local processes."""
    given = ctx.options.get("load_runner")
    if given is not None:
        return given, getattr(given, "dask_address", None)
    address = ctx.options.get("dask_address") or getattr(spec, "dask_address", None)
    if address:
        factory = ctx.options.get("dask_runner")
        if factory is None:
            from tasks.load.cluster import dask_runner as factory
        return factory(address), address

    def local(plan: Any, n: int, on_result: Callable[[ShardResult], None],
              on_batch: Callable[[int, dict[str, Any]], None] | None = None) -> list[ShardResult]:
        return run_local(plan, n, on_result=on_result, on_batch=on_batch)

    return local, None


def _accepted(fn: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    """The keyword arguments ``fn`` takes (a runner written before streaming takes only three)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in params and v is not None}


def _cluster_summary(info: Any, results: list[ShardResult]) -> dict[str, Any]:
    return {"address": info.address, "workers": {str(k): w for k, w in sorted(info.workers.items())},
            "lost": {str(k): v for k, v in sorted(info.lost.items())}, "ready_s": info.ready_s,
            "batches": info.batches, "start_skew_ms": start_skew_ms(results)}
