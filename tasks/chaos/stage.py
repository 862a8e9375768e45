"""The chaos stage (registered): the campaign's ``chaos:`` experiments for one environment.

Refuses a production environment (status ``refused``, whatever asked for it), and an environment
whose target (host and port) is any production environment's, whatever its label; validates every
experiment against the campaign and the environment at once (``experiment``); runs them one
after the other (``run``); returns one gate per decision (steady state before, watchdog quiet,
method completed, recovered within the bound, rollbacks succeeded, optional minimum score), the
summary the report draws (``report.markdown``) and the rows of ``0006_chaos.sql``.

``ctx.options["chaos_dry_run"] = True`` runs the steady-state probes only (as ``dry_run: true``).
"""

from __future__ import annotations

from statistics import fmean
from typing import Any

from tasks.base import Gate, RunContext, StageResult, TargetNotAllowed, now, register
from tasks.chaos import experiment as validation
from tasks.chaos.context import ChaosContext
from tasks.chaos.errors import REFUSAL, ChaosRefused, ExperimentInvalid
from tasks.chaos.rows import stage_rows
from tasks.chaos.run import run_experiment
from tasks.chaos.score import formula


@register
class ChaosStage:
    name = "chaos"

    async def run(self, ctx: RunContext) -> StageResult:
        started = now()
        safety = {"env_kind": ctx.environment.kind, "target": f"{ctx.environment.host}:{ctx.environment.port}",
                  "allow_writes": bool(ctx.environment.allow_writes)}
        if ctx.environment.kind == "production":
            return StageResult("chaos", "refused", started_at=started, finished_at=now(), error=REFUSAL,
                               summary={"reason": REFUSAL, "safety": {**safety, "refused": REFUSAL}})
        spec = getattr(ctx.campaign, "chaos", None)
        if spec is None:
            return StageResult("chaos", "skipped", started_at=started, finished_at=now(),
                               summary={"reason": "the campaign has no chaos: section"})
        experiments = spec.for_environment(ctx.env_name)
        if not experiments:
            return StageResult("chaos", "skipped", started_at=started, finished_at=now(),
                               summary={"reason": f"no chaos experiment is meant for environment {ctx.env_name!r}"})
        try:
            ctx.check_url(ctx.base_url)
            auth_error = await _authenticate_if_needed(ctx, spec, experiments)
            if auth_error:
                return StageResult("chaos", "error", started_at=started, finished_at=now(), error=auth_error,
                                   summary={"reason": auth_error})
            cc = ChaosContext.from_run_context(ctx, spec)
            notes = validation.check(cc, experiments)
        except ExperimentInvalid as exc:
            return StageResult("chaos", "refused", started_at=started, finished_at=now(), error=str(exc),
                               summary={"reason": "the chaos section cannot run here", "problems": exc.problems,
                                        "safety": {**safety, "refused": "; ".join(exc.problems)}})
        except (TargetNotAllowed, ChaosRefused) as exc:
            return StageResult("chaos", "refused", started_at=started, finished_at=now(), error=str(exc),
                               summary={"reason": str(exc), "safety": {**safety, "refused": str(exc)}})
        pairs = []
        for exp in experiments:
            cc.emit("info", f"experiment {exp.name}", {"experiment": exp.name})
            out = await run_experiment(exp, cc)
            pairs.append((exp, out))
            cc.emit("warning" if out.status != "passed" else "info",
                    f"experiment {exp.name} {out.status}: detected after {_s(out.time_to_detect_s)}, "
                    f"recovered after {_s(out.recovery_time_s)}, score {out.score}",
                    {"experiment": exp.name, "status": out.status})
        return _result(pairs, started, notes, cc.dry_run, cc.safety())


def _result(pairs: list[tuple[Any, Any]], started: Any, notes: list[str], dry_run: bool,
            safety: dict[str, Any] | None = None) -> StageResult:
    outcomes = [o for _, o in pairs]
    gates = [Gate(stage="chaos", name=g["name"], passed=g["passed"], observed=g["observed"], limit=g["limit"],
                  detail=g["detail"]) for o in outcomes for g in o.gates()]
    scores = [o.score for o in outcomes if o.score is not None]
    errored = [o for o in outcomes if o.status == "error"]
    if errored:
        status = "error"
    else:
        status = "passed" if all(g.passed for g in gates) else "failed"
    summary = {
        "experiments": [o.summary() for o in outcomes], "dry_run": dry_run,
        "score": round(fmean(scores), 1) if scores else None, "score_formula": formula()["score"],
        "passed": sum(o.status == "passed" for o in outcomes), "failed": sum(o.status == "failed" for o in outcomes),
        "notes": notes, "safety": safety or {},
    }
    error = "; ".join(f"{o.name}: {o.error}" for o in errored) or None
    return StageResult("chaos", status, started_at=started, finished_at=now(), summary=summary, gates=gates,
                       rows=stage_rows(pairs), error=error,
                       infrastructure_failure=bool(outcomes) and len(errored) == len(outcomes))


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"


async def _authenticate_if_needed(ctx: RunContext, spec: Any, experiments: list[Any]) -> str | None:
    """Run the campaign's auth flow once when an experiment's load reaches an ``auth: true`` endpoint."""
    if ctx.auth_headers is not None or ctx.campaign.auth is None:
        return None
    auth_names = {e.name for e in ctx.campaign.endpoints if e.auth}
    used = {n for exp in experiments for n in exp.endpoint_names(spec.load_of(exp))}
    used |= {n for exp in experiments for p in exp.steady_state.probes for n in p.endpoints}
    if not used & auth_names:
        return None
    import httpx

    from tasks.http import AuthFailed, ensure_auth

    try:
        async with httpx.AsyncClient(timeout=10.0) as http:
            await ensure_auth(ctx, http)
    except (AuthFailed, httpx.HTTPError, TargetNotAllowed) as exc:
        return f"the campaign's auth flow failed: {exc}"
    return None
