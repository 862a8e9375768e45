"""The run document, rebuilt from the warehouse: the one reader behind ``perfcampaign report`` and
``notify``, and anything else that looks at a run after the fact.

:func:`read_document` reads the ``runs`` rows (the runs asked for, or the latest run of each
environment of a campaign), their ``stage_results``, and per endpoint readiness's verdict, the smoke
check and the load figures, and builds the same :class:`tasks.document.RunDocument` the runner
produced — with the same rules (``RunDocument.exit_code`` and ``status`` are derived, never stored
twice), so the report of a past run and the run's own JSON never disagree.
"""

from __future__ import annotations

from typing import Any

from campaigns.errors import UserError
from campaigns.vocabulary import ENV_KINDS, POST_STAGES, STAGE_ORDER
from tasks.document import EnvironmentRun, RunDocument, Stages, merge_endpoints, stage_outcome, trust_of

OVERALL = "_overall"


class RunNotFound(UserError, LookupError):
    """No run in the warehouse matches what was asked for (exit code 2)."""
SMOKE_FIELDS = ("method", "url", "status_code", "latency_ms", "passed", "gating", "failures")
LOAD_FIELDS = ("requests", "errors", "error_rate", "rps", "mean_ms", "min_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms",
               "max_ms", "errors_by_kind", "status_codes")


def _order(row: dict[str, Any]) -> tuple[int, str]:
    kind = row.get("env_kind")
    return (ENV_KINDS.index(kind) if kind in ENV_KINDS else len(ENV_KINDS), row["environment"])


def read_environment(store: Any, run: dict[str, Any]) -> EnvironmentRun:
    """One environment's part of the document, from its ``runs`` row."""
    run_id = run["run_id"]
    outcomes: dict[str, Any] = {}
    order = (*STAGE_ORDER, *POST_STAGES)
    for row in sorted(store.stage_rows(run_id), key=lambda r: order.index(r["stage"]) if r["stage"] in order else 99):
        if row["stage"] not in order:
            continue
        summary = row["summary"] if isinstance(row["summary"], dict) else {}
        ran = row["status"] not in ("skipped", "refused")
        outcomes[row["stage"]] = stage_outcome(
            row["stage"], row["status"], summary=summary, gates=row["gates"], error=row["error"],
            reason=summary.get("reason"), started_at=row["started_at"] if ran else None,
            finished_at=row["finished_at"] if ran else None)
    stages = Stages(**outcomes)
    per_stage: dict[str, list[dict[str, Any]]] = {}
    readiness = store.readiness_rows(run_id)
    if readiness:
        per_stage["readiness"] = [{"name": r["endpoint"], "verdict": r["verdict"], "confidence": r["confidence"],
                                   "evidence": r["evidence"]} for r in readiness]
    smoke = store.smoke_rows(run_id)
    if smoke:
        per_stage["smoke"] = [{"name": r["endpoint"], **{k: r[k] for k in SMOKE_FIELDS}} for r in smoke]
    load = [m for m in store.endpoint_metric_rows(run_id, "load") if m["endpoint"] != OVERALL]
    if load:
        per_stage["load"] = [{"name": m["endpoint"], **{k: m.get(k) for k in LOAD_FIELDS}} for m in load]
    error = run.get("error") or next((o.error for _, o in stages.items() if o.status == "error" and o.error), None)
    return EnvironmentRun(
        run_id=run_id, kind=run["env_kind"], base_url=run.get("base_url"), status=run["status"], error=error,
        started_at=run.get("started_at"), finished_at=run.get("finished_at"), test_type=run.get("test_type"),
        trigger=run.get("trigger"), host=run.get("host"), tool_version=run.get("tool_version"),
        excluded=run.get("exclude_reason") if run.get("exclude_from_analysis") else None,
        stages=stages, endpoints=merge_endpoints(per_stage),
        trust=trust_of(stages, run.get("trust_policy") or "warn"))


def read_document(store: Any, run_ids: list[str] | None = None, campaign: str | None = None,
                  environments: list[str] | None = None) -> RunDocument:
    """The run document of ``run_ids``, else of the latest run of each environment of ``campaign``
    (the latest campaign in the warehouse when None). :class:`LookupError` when there is none."""
    rows = store.run_rows(run_ids) if run_ids else store.latest_run_rows(campaign, environments)
    if not rows:
        raise RunNotFound("no runs in the warehouse" + (f" for campaign {campaign!r}" if campaign else "")
                          + (f" and environments {environments}" if environments else "")
                          + (f" with ids {run_ids}" if run_ids else ""))
    rows.sort(key=_order)
    first = rows[0]
    envs = {row["environment"]: read_environment(store, row) for row in rows}
    refused = []
    for row in rows:
        asked = row.get("requested_stages") or []
        env = envs[row["environment"]]
        refused += [f"{row['environment']}: {name}: {outcome.reason or ''}".rstrip(": ")
                    for name, outcome in env.stages.items() if outcome.status == "refused" and name in asked]
    flow_runs = {r.get("flow_run_id") for r in rows if r.get("flow_run_id")}
    triggers = {r.get("trigger") for r in rows if r.get("trigger")}
    return RunDocument(campaign=first["campaign"], team=first.get("team"), campaign_file=first.get("campaign_file"),
                       campaign_sha256=first.get("campaign_sha256"), warehouse=str(getattr(store, "path", "")) or None,
                       flow_run_id=next(iter(flow_runs)) if len(flow_runs) == 1 else None,
                       trigger=next(iter(triggers)) if len(triggers) == 1 else None, refused=refused,
                       environments=envs)
