"""The load stage on k6 (``load: {engine: k6}``): plan → script → k6 → points → the built-in
engine's result shape → the same gates, summary and warehouse rows.

``tasks/load/stage.py`` hands over here when the campaign asks for k6; everything after the
parse — merging, thresholds on HDR histograms, ``load_runs`` / ``endpoint_metrics`` /
``load_timeseries`` rows — is the built-in stage's own code, with ``engine='k6'``.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

from campaigns.types import UnresolvedSecret
from tasks.base import ProgressEvent, RunContext, StageResult, TargetNotAllowed, now
from tasks.k6.parse import read_points
from tasks.k6.run import RAN, K6NotFound, K6Run, find_k6, k6_version, run_k6
from tasks.k6.script import build_script
from tasks.load.planner import PlanError
from tasks.load.report import shard_rows
from tasks.stopping import INTERRUPTION

if TYPE_CHECKING:
    from tasks.load.stage import LoadStage

#: seconds k6 may take beyond the plan (start-up, VU initialisation, setup, graceful stop, outputs)
MARGIN_S = 60.0
CAVEAT = ("engine k6: latency is k6's http_req_duration, timed from the actual send (coordinated omission "
          "is not corrected); late sends and scheduling lag are not measured")


async def run_k6_load(stage: LoadStage, ctx: RunContext, started: Any) -> StageResult:
    from tasks.load.stage import _authenticate, _scraper

    spec = ctx.campaign.load
    assert spec is not None

    def build() -> Any:
        return build_script(spec, ctx.campaign, ctx.env_name, blocked=ctx.blocked, feeders=ctx.loaded.feeders,
                            test_type=ctx.test_type, options=ctx.options, base_dir=ctx.loaded.base_dir)

    try:
        ctx.check_url(ctx.base_url)
        built = build()
        env = {s.env: s.resolve() for s in built.secrets}
    except (PlanError, TargetNotAllowed, UnresolvedSecret) as exc:
        return StageResult("load", "refused", started_at=started, finished_at=now(), error=str(exc),
                           summary={"reason": str(exc), "excluded": dict(ctx.blocked), "engine": "k6"})
    if built.needs_auth:
        if ctx.auth_headers is None:
            auth_error = await _authenticate(ctx)
            if auth_error:
                return StageResult("load", "error", started_at=started, finished_at=now(), error=auth_error,
                                   summary={"reason": auth_error, "excluded": built.planned.excluded, "engine": "k6"})
        header = ctx.campaign.auth.header if ctx.campaign.auth else ""
        if ctx.auth_headers and header in ctx.auth_headers:
            env["PERFCAMPAIGN_AUTH"] = ctx.auth_headers[header]
    plan = built.planned.plan
    if plan.ca_file:
        env["SSL_CERT_FILE"] = plan.ca_file
    try:
        binary = find_k6()
    except K6NotFound as exc:
        return StageResult("load", "error", started_at=started, finished_at=now(), error=str(exc),
                           infrastructure_failure=True, summary={"engine": "k6", "reason": str(exc)})
    version = await asyncio.to_thread(k6_version, binary)
    budget = plan.duration + spec.graceful_stop + MARGIN_S
    ctx.emit(ProgressEvent(ctx.env_name, "load", "info",
                           f"{plan.test_type} test, {plan.model} model, {plan.duration:.0f}s on {version}",
                           {"caps": built.planned.caps, "excluded": built.planned.excluded, "engine": "k6"}))
    workdir = ctx.out_dir / "k6"
    stop = threading.Event()
    scraper = _scraper(ctx)
    if scraper is not None:
        scraper.start()
    memory = int(getattr(spec, "k6_memory", 0) or 0) or None
    job = asyncio.ensure_future(asyncio.to_thread(run_k6, built.text, workdir, timeout=budget, env=env, stop=stop,
                                                  binary=binary, memory_bytes=memory))
    write_errors: list[str] = []
    interrupted = False
    try:
        with INTERRUPTION.on_request(stop.set):  # a signal stops k6 from its handler (SIGINT, SIGKILL 2 s on)
            try:
                waited = 0.0
                while not job.done():
                    done, _ = await asyncio.wait({job}, timeout=5.0)
                    waited += 5.0
                    if not done:
                        ctx.emit(ProgressEvent(ctx.env_name, "load", "item",
                                               f"k6 running: {min(waited, plan.duration):.0f}s of {plan.duration:.0f}s",
                                               {"engine": "k6", "elapsed_s": waited}))
            except asyncio.CancelledError:
                stop.set()  # k6 gets SIGINT from the runner thread, SIGKILL 2 s later; what it wrote is kept
                interrupted = True
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
                await asyncio.wait({job}, timeout=10.0)
                if not job.done():
                    raise
        interrupted = interrupted or INTERRUPTION.requested
    finally:
        if scraper is not None:
            scraped = await scraper.stop()
            try:
                ctx.write_rows({"metric_samples": scraped.rows(ctx.run_id)})
            except Exception as exc:  # noqa: BLE001 - server-side series are a bonus
                write_errors.append(f"metric samples: {exc}")
    try:
        run: K6Run = job.result()
    except Exception as exc:  # noqa: BLE001
        return StageResult("load", "error", started_at=started, finished_at=now(), infrastructure_failure=True,
                           error=f"k6 could not be run: {exc}", summary={"engine": "k6"})
    if not run.out_file.exists():
        tail = run.log_tail()
        return StageResult("load", "error", started_at=started, finished_at=now(), infrastructure_failure=True,
                           error=f"k6 exited with {run.returncode} and no results: {tail[-800:]}",
                           summary={"engine": "k6", "script": str(workdir / "script.js"), "log": tail})
    aborted = None
    if run.aborted_by_threshold:
        aborted = "threshold: k6 stopped the test (abort_on_fail): " + _abort_line(run)
    elif run.timed_out:
        aborted = f"stopped: k6 ran past its budget of {budget:.0f}s"
    if run.out_of_memory:
        error = (f"k6 went past its memory budget (load.k6_memory: {(memory or 0) / 2**20:.0f} MiB) and stopped: "
                 "k6 keeps "
                 "whole every body a check reads (fields, values, body_contains, capture), so a response too large "
                 "for it or many at once do this — the built-in engine cuts them at load.max_body_bytes; the "
                 "requests measured before are kept")
    else:
        error = None if run.ran else f"k6 exited with {run.returncode}: {run.log_tail(5)[-500:]}"
    result = await asyncio.to_thread(lambda: read_points(run.out_file).result(plan, aborted=aborted, cpu=run.cpu,
                                                                             error=error))
    try:
        ctx.write_rows(shard_rows(ctx.run_id, result))
    except Exception as exc:  # noqa: BLE001 - the merged rows still come back with the result
        write_errors.append(f"shard 0: {exc}")
    planned = built.planned
    planned.notes[:0] = [CAVEAT, *built.notes]
    out = stage._result(ctx, planned, [result], started, now(), write_errors, engine="k6")
    out.summary["k6"] = {"version": version, "exit_code": run.returncode, "wall_s": round(run.wall_s, 3),
                         "script": str(workdir / "script.js"), "output": str(run.out_file),
                         "summary_export": str(run.summary_file),
                         "iterations": result.iterations, "vus_max": result.vus_max}
    if run.returncode not in RAN and out.error is None:
        out.error = error
    if interrupted:
        from tasks.load.stage import interrupted_result

        return interrupted_result(out, plan.duration)
    return out


def _abort_line(run: K6Run) -> str:
    for line in run.log_tail(50).splitlines():
        if "stopping test prematurely" in line:
            start = line.find('msg="')
            return line[start + 5:].rstrip('"') if start >= 0 else line
    return "a threshold with abortOnFail failed"
