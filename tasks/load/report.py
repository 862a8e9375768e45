"""From merged results to gates, the summary and warehouse rows (pure; the stage does the I/O).

Row dicts use exactly the column names of ``endpoint_metrics`` (0001) and of the load tables
(``warehouse/migrations/0002_load.sql``, ``0007_load_streaming.sql``). Values bound for JSON columns are plain lists and dicts
(the warehouse store serialises them).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tasks.load import histogram as H
from tasks.load.plan import RulePlan
from tasks.load.recorder import OVERALL
from tasks.load.result import Merged, ShardResult
from tasks.load.stream import Emitted
from tasks.load.thresholds import Observed, Outcome, evaluate


def _j(value: Any) -> Any:
    """A value for a JSON column: plain JSON-able data (the store serialises it)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def observed_for(merged: Merged, endpoint: str | None) -> Observed | None:
    d = merged.endpoints.get(endpoint or OVERALL)
    if d is None:
        return None
    return Observed(d["requests"], d["errors"], d["_lat"], float(d["lat_sum"]), merged.elapsed)


def evaluate_rules(merged: Merged, rules: list[RulePlan]) -> list[Outcome]:
    """Every threshold on the merged run (exact percentiles; zero samples fail)."""
    return [evaluate(rule, observed_for(merged, rule.endpoint)) for rule in rules]


def _ts(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


def shard_rows(run_id: str, s: ShardResult, series: bool = True,
               worker: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """One shard's rows: its ``load_shards`` row and (unless they were streamed) its per-second
    series (one transaction)."""
    lat = H.merge([e.latency for e in s.endpoints if e.latency])
    status = "failed" if s.error else ("aborted" if s.aborted else "ok")
    row = {"run_id": run_id, "shard": s.shard, "n_shards": s.n_shards, "host": s.host or None, "pid": s.pid or None,
           "status": status, "started_at": _ts(s.started_at), "elapsed_s": s.elapsed,
           "planned_arrivals": s.planned, "issued": s.issued, "dropped": s.dropped, "late": s.late,
           "interrupted": s.interrupted, "target_rate": s.target_rate, "achieved_rate": s.achieved_rate,
           "requests": sum(e.requests for e in s.endpoints), "errors": sum(e.errors for e in s.endpoints),
           "cpu_mean": s.health.cpu_mean, "cpu_max": s.health.cpu_max,
           "loop_lag_max_ms": round(s.health.loop_lag_max_s * 1000, 3),
           "sched_lag_p99_ms": round(s.health.sched_lag_p99_s * 1000, 3),
           "rss_start_mb": s.health.rss_start_mb, "rss_end_mb": s.health.rss_end_mb,
           "connections_opened": s.connections_opened, "trustworthy": s.trustworthy and not s.error,
           "reasons": _j(s.reasons), "aborted": s.aborted, "error": s.error,
           "histogram": H.encode(lat) if lat.total_count else None, "worker": worker, "batches": s.batches}
    if not series:
        return {"load_shards": [row]}
    return {"load_shards": [row], "load_timeseries": [series_row(run_id, s.shard, r) for r in s.series]}


def stream_rows(run_id: str, out: Emitted) -> dict[str, list[dict[str, Any]]]:
    """What the streaming merger emitted: per-shard and merged per-second rows, interval histograms."""
    return {"load_timeseries": [series_row(run_id, shard, r) for shard, r in out.shard_rows]
            + [series_row(run_id, -1, r) for r in out.merged],
            "load_histograms": [{"run_id": run_id, **h} for h in out.histograms]}


def series_row(run_id: str, shard: int, r: dict[str, Any]) -> dict[str, Any]:
    return {"run_id": run_id, "shard": shard, "second": r["second"], "endpoint": r["endpoint"],
            "requests": r["requests"], "errors": r["errors"], "rps": r.get("rps"), "p50_ms": r.get("p50_ms"),
            "p95_ms": r.get("p95_ms"), "p99_ms": r.get("p99_ms"), "in_flight": r.get("in_flight"),
            "target_rate": r.get("target_rate"), "vus": r.get("vus"), "cpu_percent": r.get("cpu_percent"),
            "sched_lag_ms": r.get("sched_lag_ms"), "loop_lag_ms": r.get("loop_lag_ms")}


def start_skew_ms(shards: list[ShardResult]) -> float | None:
    """How far apart the shards' first planned sends were (their clocks), in ms; None for one shard."""
    starts = [s.started_at for s in shards if s.started_at and not s.error]
    return round((max(starts) - min(starts)) * 1000, 3) if len(starts) > 1 else None


def methods_of(plan: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for sc in plan.scenarios:
        for st in sc.steps:
            out.setdefault(st.name, st.method)
    return out


def final_rows(run_id: str, merged: Merged, table: list[dict[str, Any]], *, methods: dict[str, str],
               test_type: str, engine: str, started_at: datetime, finished_at: datetime,
               outcomes: list[Outcome], extra: dict[str, Any], include_series: bool = True,
               cluster: dict[str, Any] | None = None) -> dict[str, list[dict[str, Any]]]:
    """``endpoint_metrics`` (+ ``_overall``), ``load_service_times``, ``load_runs`` and (unless it
    was streamed) the merged series (``load_timeseries`` with shard = -1)."""
    metrics, service = [], []
    for row in table:
        d = merged.endpoints[row["name"]]
        metrics.append({"run_id": run_id, "stage": "load", "endpoint": row["name"],
                        "method": methods.get(row["name"]), "requests": row["requests"], "errors": row["errors"],
                        "error_rate": row["error_rate"], "rps": row["rps"], "mean_ms": row["mean_ms"],
                        "min_ms": row["min_ms"], "p50_ms": row["p50_ms"], "p90_ms": row["p90_ms"],
                        "p95_ms": row["p95_ms"], "p99_ms": row["p99_ms"], "max_ms": row["max_ms"],
                        "errors_by_kind": _j(row["errors_by_kind"]), "status_codes": _j(row["status_codes"]),
                        "histogram": H.encode(d["_lat"]) if d["_lat"].total_count else None})
        svc = row["service_ms"]
        service.append({"run_id": run_id, "endpoint": row["name"], "samples": d["_svc"].total_count,
                        "mean_ms": svc["mean"], "p50_ms": svc["p50"], "p90_ms": svc["p90"], "p95_ms": svc["p95"],
                        "p99_ms": svc["p99"], "max_ms": svc["max"],
                        "histogram": H.encode(d["_svc"]) if d["_svc"].total_count else None})
    overall = next(r for r in table if r["name"] == OVERALL)
    bp = merged.breakpoint or {}
    run = {"run_id": run_id, "test_type": test_type, "model": merged.model, "engine": engine,
           "shards": len(merged.shards), "started_at": started_at, "finished_at": finished_at,
           "planned_duration_s": merged.planned_duration, "elapsed_s": round(merged.elapsed, 3),
           "target_rate": merged.target_rate, "achieved_rate": merged.achieved_rate, "rps": overall["rps"],
           "requests": overall["requests"], "errors": overall["errors"], "planned_arrivals": merged.planned,
           "issued": merged.issued, "dropped": merged.dropped, "late": merged.late,
           "interrupted": merged.interrupted, "cpu_mean": merged.health.cpu_mean, "cpu_max": merged.health.cpu_max,
           "loop_lag_max_ms": round(merged.health.loop_lag_max_s * 1000, 3),
           "sched_lag_p99_ms": round(merged.health.sched_lag_p99_s * 1000, 3),
           "trustworthy": merged.trustworthy, "reasons": _j(merged.reasons), "aborted": merged.aborted,
           "breakpoint_rate": bp.get("last_sustainable_rate"), "breakpoint_broke_at": bp.get("broke_at_rate"),
           "breakpoint_rule": bp.get("broken_rule"),
           "thresholds": _j([{"threshold": o.label if not o.rule.source else o.rule.source, "passed": o.passed,
                               "observed": o.observed, "detail": o.detail} for o in outcomes]),
           "details": _j(extra)}
    lost = {str(s.shard): s.error for s in merged.shards if s.error}
    run.update(partial=bool(lost) and len(lost) < len(merged.shards), lost_shards=_j(lost) if lost else None,
               start_skew_ms=start_skew_ms(merged.shards), cluster=(cluster or {}).get("address") or None)
    if not include_series:
        return {"endpoint_metrics": metrics, "load_service_times": service, "load_runs": [run]}
    series = [series_row(run_id, -1, r) for r in merged.series]
    return {"endpoint_metrics": metrics, "load_service_times": service, "load_runs": [run], "load_timeseries": series}


def endpoint_dicts(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``StageResult.endpoints``: one dict per endpoint (no ``_overall``)."""
    keys = ("name", "requests", "errors", "error_rate", "rps", "mean_ms", "min_ms", "p50_ms", "p90_ms", "p95_ms",
            "p99_ms", "max_ms", "errors_by_kind", "status_codes", "service_ms")
    return [{k: r[k] for k in keys} for r in table if r["name"] != OVERALL]
