"""The load stage: plan from the campaign, run the shards, store each shard, merge, gate.

Reads ``ctx.campaign.load`` (a :class:`campaigns.load.LoadSpec`), the environment's caps
(clamped, see ``planner``), ``ctx.blocked`` (left out, listed in ``summary["excluded"]``), the
feeders, auth headers, ``ctx.test_type`` and ``ctx.options``:

- ``duration_scale`` (float): shorten every phase (a demo run),
- ``shards`` (int or "auto"): override the number of generator processes,
- ``load_runner`` (callable ``(plan, n_shards, on_result) -> list[ShardResult]``): run the shards
  elsewhere, e.g. ``flows.distributed.dask_runner(address)`` for a Dask cluster; default: local
  worker processes (``runner.run_local``).

Each shard's rows are written with ``ctx.write_rows`` as soon as it ends (one transaction per
shard, so a dead target or a dead shard keeps what was measured); the merged rows come back in
``StageResult.rows``. One gate per threshold, evaluated on the exactly merged histograms.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tasks.base import ProgressEvent, RunContext, StageResult, TargetNotAllowed, now, register
from tasks.base import Gate
from tasks.load.errors import CONNECT_KINDS
from tasks.load.planner import PlanError, plan_load
from tasks.load.recorder import OVERALL
from tasks.load.report import endpoint_dicts, evaluate_rules, final_rows, methods_of, shard_rows
from tasks.load.result import ShardResult, endpoint_table, merge_shards
from tasks.load.runner import run_local


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
        ctx.emit(ProgressEvent(ctx.env_name, "load", "info",
                               f"{plan.test_type} test, {plan.model} model, {plan.duration:.0f}s on "
                               f"{planned.shards} shard(s)", {"caps": planned.caps, "excluded": planned.excluded}))

        loop = asyncio.get_running_loop()
        arrived: asyncio.Queue[ShardResult] = asyncio.Queue()

        def on_result(result: ShardResult) -> None:  # called from the runner's thread
            loop.call_soon_threadsafe(arrived.put_nowait, result)

        def on_tick(shard: int, rows: list[dict[str, Any]]) -> None:
            for r in rows:
                loop.call_soon_threadsafe(ctx.emit, ProgressEvent(
                    ctx.env_name, "load", "item", f"shard {shard} t={r['second']}s {r['rps'] or 0:.0f} req/s "
                    f"p95={r['p95_ms']} ms errors={r['errors']}", {"shard": shard, **r}))

        runner: Callable[..., list[ShardResult]] = ctx.options.get("load_runner") or (
            lambda p, n, cb: run_local(p, n, on_result=cb, on_tick=on_tick))
        scraper = _scraper(ctx)
        if scraper is not None:  # started with the load, so its offsets line up with the per-second series
            scraper.start()
        job = asyncio.ensure_future(asyncio.to_thread(runner, plan, planned.shards, on_result))
        written: set[int] = set()
        write_errors: list[str] = []

        def store(result: ShardResult) -> None:
            if result.shard in written:
                return
            written.add(result.shard)
            try:
                ctx.write_rows(shard_rows(ctx.run_id, result))
            except Exception as exc:  # noqa: BLE001 - keep the other shards and the merge
                write_errors.append(f"shard {result.shard}: {exc}")

        while not job.done():
            getter = asyncio.ensure_future(arrived.get())
            done, _ = await asyncio.wait({job, getter}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                store(getter.result())
            else:
                getter.cancel()
        if scraper is not None:
            scraped = await scraper.stop()
            try:
                ctx.write_rows({"metric_samples": scraped.rows(ctx.run_id)})
            except Exception as exc:  # noqa: BLE001 - server-side series are a bonus, never the run
                write_errors.append(f"metric samples: {exc}")
        try:
            results = job.result()
        except Exception as exc:  # noqa: BLE001
            return StageResult("load", "error", started_at=started, finished_at=now(), infrastructure_failure=True,
                               error=f"the load generator failed: {exc}", summary={"excluded": planned.excluded})
        while not arrived.empty():
            store(arrived.get_nowait())
        for r in results:
            store(r)
        finished = now()
        return self._result(ctx, planned, results, started, finished, write_errors)

    def _result(self, ctx: RunContext, planned: Any, results: list[ShardResult], started: Any, finished: Any,
                write_errors: list[str], engine: str = "builtin") -> StageResult:
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
            "excluded": planned.excluded, "caps": planned.caps, "notes": planned.notes, "writes": planned.writes,
            "thresholds_skipped": planned.skipped_rules,
            "thresholds": [{"threshold": o.rule.source or o.label, "passed": o.passed, "observed": o.observed,
                            "detail": o.detail} for o in outcomes],
            "endpoints": [{k: r[k] for k in ("name", "requests", "errors", "rps", "p50_ms", "p95_ms", "p99_ms",
                                             "max_ms")} for r in table],
        }
        rows = final_rows(ctx.run_id, merged, table, methods=methods_of(plan), test_type=plan.test_type,
                          engine=engine, started_at=started, finished_at=finished, outcomes=outcomes,
                          extra={"caps": planned.caps, "excluded": planned.excluded, "notes": planned.notes})
        if not merged.trustworthy:
            ctx.emit(ProgressEvent(ctx.env_name, "load", "warning",
                                   "load numbers not trustworthy: " + "; ".join(merged.reasons)))
        if unreachable or len(failed_shards) == len(results):
            status, infra = "error", True
            error = ("the target was unreachable: every request failed to connect "
                     f"({', '.join(sorted(kinds))})" if unreachable else "every shard failed")
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
