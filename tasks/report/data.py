"""Read what the executive summary shows from the warehouse, as polars frames.

``store`` is anything with ``query(sql, params) -> polars.DataFrame`` (``warehouse.store.Warehouse``):
this package never imports the warehouse or DuckDB itself (``tests/test_architecture.py``).

Tables are read only when they exist: the load stage adds ``load_timeseries`` and ``load_runs``
(0002), analytics adds ``change_points``, ``baselines``, ``trends``, ``capacity_estimates`` and
``bottleneck_hints`` (0003). A section whose table is missing, or empty for this run, carries a
note saying why (``EnvData.notes``) and the report prints it instead of a chart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import polars as pl

from tasks.report.summary import SLO_STAGES, EnvSummary, RunSummary, summarize

OVERALL = "_overall"
KIND_ORDER = {"dev": 0, "staging": 1, "production": 2}
#: key endpoints charted per environment besides the whole run
KEY_ENDPOINTS = 4
TREND_METRIC = "p95_ms"


class Store(Protocol):
    def query(self, sql: str, params: list[Any] | None = None) -> pl.DataFrame: ...


@dataclass
class EnvData:
    name: str
    kind: str
    run: dict[str, Any]
    doc: dict[str, Any]                      # the run's JSON document shape for this environment
    summary: EnvSummary | None = None
    slo: pl.DataFrame | None = None          # objective, scope, target, measured, status, stage
    nightly: pl.DataFrame | None = None      # night, run_id, endpoint, p50/p95/p99/mean_ms, error_rate, rps, excluded
    key_endpoints: list[str] = field(default_factory=list)
    baselines: pl.DataFrame | None = None
    change_points: pl.DataFrame | None = None
    trend: dict[str, Any] | None = None      # the trends row of the whole run's p95
    timeseries: pl.DataFrame | None = None   # second, rps, errors, p50/p95/p99_ms, vus, target_rate
    errors: pl.DataFrame | None = None       # stage, endpoint, kind, count
    failed_checks: pl.DataFrame | None = None
    readiness: pl.DataFrame | None = None
    backlog: pl.DataFrame | None = None
    capacity: dict[str, Any] | None = None
    hints: pl.DataFrame | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.run["run_id"]

    @property
    def test_type(self) -> str:
        return self.run.get("test_type") or "load"


@dataclass
class ReportData:
    campaign: str
    team: str | None
    generated_at: datetime
    since: datetime | None
    environments: list[EnvData]
    summary: RunSummary
    doc: dict[str, Any]
    tables: set[str]
    flow_run_url: str | None = None

    @property
    def run_ids(self) -> dict[str, str]:
        return {e.name: e.run_id for e in self.environments}


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _utc(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    for column in columns:
        if column in frame.columns and isinstance(frame.schema[column], pl.Datetime):
            dtype = frame.schema[column]
            expr = pl.col(column).dt.convert_time_zone("UTC") if dtype.time_zone else \
                pl.col(column).dt.replace_time_zone("UTC")
            frame = frame.with_columns(expr)
    return frame


def tables_of(store: Store) -> set[str]:
    return set(store.query("SELECT table_name FROM information_schema.tables")["table_name"].to_list())


def _placeholders(values: list[Any]) -> str:
    return ", ".join("?" for _ in values)


def select_runs(store: Store, campaign: str | None, run_ids: list[str] | None = None,
                environments: list[str] | None = None) -> pl.DataFrame:
    """The runs a report covers: ``run_ids`` if given, else the latest run of each environment of
    ``campaign`` (the latest campaign in the warehouse when None)."""
    if run_ids:
        frame = store.query(f"SELECT * FROM runs WHERE run_id IN ({_placeholders(run_ids)})", list(run_ids))
    else:
        if campaign is None:
            latest = store.query("SELECT campaign FROM runs ORDER BY started_at DESC LIMIT 1")
            if latest.is_empty():
                return latest
            campaign = latest["campaign"][0]
        where, params = "campaign = ?", [campaign]
        if environments:
            where += f" AND environment IN ({_placeholders(environments)})"
            params += list(environments)
        frame = store.query(
            f"SELECT * FROM runs WHERE {where} "
            "QUALIFY row_number() OVER (PARTITION BY environment ORDER BY started_at DESC) = 1", params)
    frame = _utc(frame, "started_at", "finished_at")
    order = [(KIND_ORDER.get(k, 9), n) for k, n in zip(frame["env_kind"], frame["environment"], strict=True)]
    return frame.with_columns(pl.Series("_order", [sorted(order).index(o) for o in order])).sort("_order").drop(
        "_order")


def env_doc(store: Store, run: dict[str, Any]) -> dict[str, Any]:
    """The environment's part of the run's JSON document, rebuilt from ``stage_results``."""
    rows = store.query("SELECT stage, status, summary, gates, error FROM stage_results WHERE run_id = ?",
                       [run["run_id"]]).to_dicts()
    stages: dict[str, Any] = {}
    from tasks.report.summary import STAGE_ORDER

    rows.sort(key=lambda r: STAGE_ORDER.index(r["stage"]) if r["stage"] in STAGE_ORDER else 99)
    for row in rows:
        summary = _json(row["summary"]) or {}
        stages[row["stage"]] = {"stage": row["stage"], "status": row["status"], "summary": summary,
                                "gates": _json(row["gates"]) or [], "error": row["error"],
                                "reason": summary.get("reason") if isinstance(summary, dict) else None}
    error = next((s["error"] for s in stages.values() if s["status"] == "error" and s["error"]), None)
    return {"run_id": run["run_id"], "kind": run["env_kind"], "base_url": run.get("base_url"),
            "status": run["status"], "error": error, "stages": stages,
            "gates": [g for s in stages.values() for g in s["gates"]]}


def campaign_doc(runs: pl.DataFrame, envs: dict[str, dict[str, Any]], team: str | None = None) -> dict[str, Any]:
    """A run's JSON document (the parts the summary reads) for runs read back from the warehouse."""
    first = runs.row(0, named=True)
    statuses = {e["status"] for e in envs.values()}
    status = "error" if "error" in statuses else "failed" if "failed" in statuses else \
        "passed" if statuses <= {"passed"} else sorted(statuses)[0]
    flow_ids = {r for r in runs["flow_run_id"].to_list() if r}
    return {"campaign": first["campaign"], "team": team, "status": status, "exit_code": None, "refused": [],
            "flow_run_id": next(iter(flow_ids)) if len(flow_ids) == 1 else None,
            "run_ids": {name: env["run_id"] for name, env in envs.items()}, "environments": envs}


# -- sections --------------------------------------------------------------------------------------

_CAMPAIGNS: dict[tuple[str, float], Any] = {}


def _load_campaign(run: dict[str, Any]) -> Any:
    """The campaign model of the run's file, for thresholds and targets (None if it is gone or broken)."""
    path = run.get("campaign_file")
    if not path:
        return None
    try:
        from pathlib import Path

        from campaigns.loader import load_campaign

        key = (str(path), Path(path).stat().st_mtime)
        if key not in _CAMPAIGNS:
            _CAMPAIGNS[key] = load_campaign(path).campaign
    except Exception:  # noqa: BLE001 - a moved or broken file only costs the "not measured" rows
        return None
    return _CAMPAIGNS[key]


SLO_SCHEMA = {"objective": pl.String, "scope": pl.String, "target": pl.String, "measured": pl.String,
              "status": pl.String, "stage": pl.String}


def slo_table(doc: dict[str, Any], campaign: Any) -> tuple[pl.DataFrame, str | None]:
    """Targets and thresholds against what was measured: the load, analysis and chaos gates. When
    no load ran, the campaign's thresholds and targets, marked *not measured*, and why."""
    from tasks.report.summary import fmt_gate_value

    rows = []
    for stage in SLO_STAGES:
        for gate in (doc["stages"].get(stage) or {}).get("gates") or []:
            name = str(gate.get("name", "?"))
            rows.append({"objective": name, "scope": gate.get("endpoint") or "whole run",
                         "target": fmt_gate_value(name, gate.get("limit")),
                         "measured": fmt_gate_value(name, gate.get("observed")),
                         "status": "passed" if gate.get("passed") else "failed", "stage": stage})
    if rows:
        return pl.DataFrame(rows, schema=SLO_SCHEMA), None
    load = doc["stages"].get("load")
    why = (f"the load stage {load['status']}: {load.get('reason') or load.get('error') or ''}".rstrip(": ")
           if load else "the load stage was not asked for in this run")
    note = f"SLOs are measured by the load stage; {why}."
    if campaign is not None:
        t = campaign.thresholds
        rows += [
            {"objective": "mean latency", "scope": "whole run", "target": f"< {t.max_mean_ms:g} ms"},
            {"objective": "p95 latency", "scope": "whole run", "target": f"< {t.max_p95_ms:g} ms"},
            {"objective": "error rate", "scope": "whole run", "target": f"< {t.max_error_rate * 100:g}%"},
            {"objective": "throughput", "scope": "whole run", "target": f">= {t.min_rps:g} req/s"},
        ]
        for domain, target in campaign.targets.items():
            for attr, label, unit in (("p50_ms", "p50 latency", " ms"), ("p95_ms", "p95 latency", " ms"),
                                      ("p99_ms", "p99 latency", " ms"), ("error_rate", "error rate", "")):
                value = getattr(target, attr)
                if value is not None:
                    shown = f"< {value * 100:g}%" if attr == "error_rate" else f"< {value:g}{unit}"
                    rows.append({"objective": label, "scope": f"domain {domain}", "target": shown})
        for row in rows:
            row.update(measured="–", status="not measured", stage="load")
    return pl.DataFrame(rows, schema=SLO_SCHEMA), note


def _test_type_expr(tables: set[str]) -> tuple[str, str]:
    if "load_runs" in tables:
        return "LEFT JOIN load_runs l ON l.run_id = r.run_id", "COALESCE(l.test_type, r.test_type, 'load')"
    return "", "COALESCE(r.test_type, 'load')"


def nightly(store: Store, tables: set[str], run: dict[str, Any], since: datetime | None) -> pl.DataFrame:
    """Load-stage metrics of every night of this campaign and environment up to this run."""
    join, test_type = _test_type_expr(tables)
    params: list[Any] = [run["campaign"], run["environment"], run["started_at"]]
    where = "m.stage = 'load' AND r.campaign = ? AND r.environment = ? AND r.started_at <= ?"
    if since is not None:
        where += " AND r.started_at >= ?"
        params.append(since)
    frame = store.query(
        f"SELECT r.run_id, r.started_at AS night, r.status, r.exclude_from_analysis AS excluded, "
        f"{test_type} AS test_type, m.endpoint, m.requests, m.p50_ms, m.p95_ms, m.p99_ms, m.mean_ms, "
        f"m.error_rate, m.rps FROM endpoint_metrics m JOIN runs r ON r.run_id = m.run_id {join} "
        f"WHERE {where} ORDER BY night", params)
    return _utc(frame, "night")


def key_endpoints(frame: pl.DataFrame, run_id: str, change_points: pl.DataFrame | None,
                  limit: int = KEY_ENDPOINTS) -> list[str]:
    """The whole run, the endpoints with an open change point, then the busiest of this run."""
    chosen = [OVERALL] if OVERALL in frame["endpoint"].to_list() else []
    if change_points is not None and not change_points.is_empty():
        for name in change_points.filter(pl.col("direction") == "regression")["endpoint"].unique().sort().to_list():
            if name not in chosen and len(chosen) <= limit:
                chosen.append(name)
    busiest = (frame.filter((pl.col("run_id") == run_id) & (pl.col("endpoint") != OVERALL))
               .sort("requests", descending=True)["endpoint"].to_list())
    for name in busiest:
        if len(chosen) > limit:
            break
        if name not in chosen:
            chosen.append(name)
    return chosen


def _errors(store: Store, run_id: str) -> pl.DataFrame:
    rows = store.query("SELECT stage, endpoint, errors, errors_by_kind, status_codes FROM endpoint_metrics "
                       "WHERE run_id = ? AND endpoint <> ? AND errors > 0", [run_id, OVERALL]).to_dicts()
    out = []
    for row in rows:
        kinds = _json(row["errors_by_kind"]) or {}
        if not kinds:
            codes = {c: n for c, n in (_json(row["status_codes"]) or {}).items() if not str(c).startswith(("2", "3"))}
            kinds = {f"status {c}": n for c, n in codes.items()} or {"error": row["errors"]}
        for kind, count in kinds.items():
            if not count:
                continue
            out.append({"stage": row["stage"], "endpoint": row["endpoint"], "kind": str(kind), "count": int(count)})
    return pl.DataFrame(out, schema={"stage": pl.String, "endpoint": pl.String, "kind": pl.String,
                                     "count": pl.Int64})


def _readiness(store: Store, run_id: str) -> pl.DataFrame:
    rows = store.query("SELECT endpoint, method, url, verdict, confidence, status_code, evidence "
                       "FROM readiness_checks WHERE run_id = ? ORDER BY endpoint", [run_id]).to_dicts()
    rank = {"missing": 0, "mock": 1, "error": 2, "unreachable": 3, "real": 4}
    for row in rows:
        evidence = [e for e in (_json(row.pop("evidence")) or []) if isinstance(e, dict)]
        pointing = [e for e in evidence if e.get("points_to") == row["verdict"]] or evidence
        pointing.sort(key=lambda e: -(e.get("weight") or 0))
        row["evidence"] = pointing[0].get("detail", "") if pointing else ""
    rows.sort(key=lambda r: (rank.get(r["verdict"], 5), r["endpoint"]))
    return pl.DataFrame(rows, schema={"endpoint": pl.String, "method": pl.String, "url": pl.String,
                                      "verdict": pl.String, "confidence": pl.Float64, "status_code": pl.Int64,
                                      "evidence": pl.String})


def load_env(store: Store, tables: set[str], run: dict[str, Any], since: datetime | None,
             doc: dict[str, Any] | None = None) -> EnvData:
    """Every section of one environment's report."""
    env = EnvData(name=run["environment"], kind=run["env_kind"], run=run, doc=doc or env_doc(store, run))
    run_id = run["run_id"]
    campaign = _load_campaign(run)
    env.slo, slo_note = slo_table(env.doc, campaign)
    if slo_note:
        env.notes["slo"] = slo_note

    frame = nightly(store, tables, run, since)
    this = frame.filter(pl.col("run_id") == run_id)
    test_type = this["test_type"][0] if not this.is_empty() else (run.get("test_type") or "load")
    env.run = {**run, "test_type": test_type}
    frame = frame.filter(pl.col("test_type") == test_type)
    if "change_points" in tables:
        env.change_points = _utc(store.query(
            "SELECT * FROM change_points WHERE campaign = ? AND environment = ? AND test_type = ? AND status = 'open' "
            "ORDER BY night", [run["campaign"], run["environment"], test_type]), "night", "detected_at")
    else:
        env.notes["change_points"] = "no change-point analysis in this warehouse yet"
    if frame.is_empty():
        env.notes["trends"] = f"no {test_type} history yet: the load stage has not measured this environment"
    else:
        env.nightly = frame
        env.key_endpoints = key_endpoints(frame, run_id, env.change_points)
        nights = frame["run_id"].n_unique()
        if nights < 2:
            env.notes["trends"] = "one night measured so far: trends start with the second"
    if "baselines" in tables:
        env.baselines = _utc(store.query(
            "SELECT endpoint, metric, version, center, band_lower, band_upper, valid_from, valid_to, reason "
            "FROM baselines WHERE campaign = ? AND environment = ? AND test_type = ? ORDER BY valid_from",
            [run["campaign"], run["environment"], test_type]), "valid_from", "valid_to")
    else:
        env.notes["baselines"] = "no baselines in this warehouse yet"
    if "trends" in tables:
        rows = store.query("SELECT * FROM trends WHERE campaign = ? AND environment = ? AND test_type = ? "
                           "AND endpoint = ? AND metric = ?",
                           [run["campaign"], run["environment"], test_type, OVERALL, TREND_METRIC]).to_dicts()
        env.trend = rows[0] if rows else None

    if "load_timeseries" in tables:
        ts = store.query("SELECT second, requests, errors, rps, p50_ms, p95_ms, p99_ms, vus, target_rate, in_flight "
                         "FROM load_timeseries WHERE run_id = ? AND shard = -1 AND endpoint = ? ORDER BY second",
                         [run_id, OVERALL])
        if ts.is_empty():
            ts = store.query("SELECT second, sum(requests) AS requests, sum(errors) AS errors, sum(rps) AS rps, "
                             "max(p50_ms) AS p50_ms, max(p95_ms) AS p95_ms, max(p99_ms) AS p99_ms, sum(vus) AS vus, "
                             "sum(target_rate) AS target_rate, sum(in_flight) AS in_flight FROM load_timeseries "
                             "WHERE run_id = ? AND endpoint = ? GROUP BY second ORDER BY second", [run_id, OVERALL])
        if ts.is_empty():
            env.notes["timeseries"] = "no per-second series for this run (the load stage did not run)"
        else:
            env.timeseries = ts
    else:
        env.notes["timeseries"] = "no per-second series in this warehouse yet"

    env.errors = _errors(store, run_id)
    env.failed_checks = store.query(
        "SELECT endpoint, method, status_code, latency_ms, gating, failures FROM smoke_checks "
        "WHERE run_id = ? AND NOT passed ORDER BY gating DESC, endpoint", [run_id])
    env.readiness = _readiness(store, run_id)
    if env.readiness.is_empty():
        env.notes["readiness"] = "readiness did not run in this environment"
    env.backlog = _utc(store.query(
        "SELECT priority, kind, title, effort, endpoint, first_seen, last_seen, times_seen, key FROM backlog_items "
        "WHERE campaign = ? AND environment = ? AND status = 'open' "
        "ORDER BY CASE priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, first_seen, key",
        [run["campaign"], run["environment"]]), "first_seen", "last_seen")

    if "capacity_estimates" in tables:
        rows = _utc(store.query(
            "SELECT c.*, r.started_at AS measured_at FROM capacity_estimates c JOIN runs r ON r.run_id = c.run_id "
            "WHERE r.campaign = ? AND r.environment = ? AND c.endpoint = ? AND r.started_at <= ? "
            "ORDER BY r.started_at DESC LIMIT 1",
            [run["campaign"], run["environment"], OVERALL, run["started_at"]]), "measured_at").to_dicts()
        env.capacity = rows[0] if rows else None
        if not rows:
            env.notes["capacity"] = "no capacity estimate yet: run a stress or breakpoint test (--test-type stress)"
    else:
        env.notes["capacity"] = "no capacity estimates in this warehouse yet"
    if "bottleneck_hints" in tables:
        env.hints = store.query("SELECT severity, title, recommendation, kind FROM bottleneck_hints WHERE run_id = ? "
                                "ORDER BY CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, key",
                                [run_id])
    return env


def load_report_data(store: Store, campaign: str | None = None, run_ids: list[str] | None = None, *,
                     environments: list[str] | None = None, since: datetime | timedelta | None = timedelta(days=30),
                     doc: dict[str, Any] | None = None, now: datetime | None = None) -> ReportData:
    """Everything the report shows. ``doc`` (the run's JSON document) wins over the warehouse's copy
    of the stage results when given: it also knows the refused stages and the exit code."""
    now = now or datetime.now(UTC)
    if isinstance(since, timedelta):
        since = now - since
    if doc is not None and not run_ids:
        run_ids = list((doc.get("run_ids") or {}).values())
    runs = select_runs(store, campaign, run_ids, environments)
    if runs.is_empty():
        raise LookupError("no runs in the warehouse" + (f" for campaign {campaign!r}" if campaign else "")
                          + (f" and environments {environments}" if environments else ""))
    tables = tables_of(store)
    envs: list[EnvData] = []
    for run in runs.to_dicts():
        env_part = (doc or {}).get("environments", {}).get(run["environment"])
        if env_part is not None and env_part.get("run_id") not in (None, run["run_id"]):
            env_part = None
        envs.append(load_env(store, tables, run, since, doc=env_part))
    team = (doc or {}).get("team")
    if team is None:
        model = _load_campaign(envs[0].run)
        team = getattr(model, "team", None)
    full = doc if doc is not None else campaign_doc(runs, {e.name: e.doc for e in envs}, team)
    summary = summarize(full)
    by_name = {s.name: s for s in summary.environments}
    for env in envs:
        env.summary = by_name.get(env.name)
    return ReportData(campaign=runs["campaign"][0], team=team, generated_at=now, since=since, environments=envs,
                      summary=summary, doc=full, tables=tables)
