"""What the executive summary shows, read through the warehouse's queries, as typed values and frames.

``source`` is anything with the read methods of ``warehouse.queries.Queries`` (the
``warehouse.store.Warehouse`` the flow holds): this package never imports the warehouse or DuckDB,
and holds no SQL (``tests/test_architecture.py``). The run itself is the run document
(``tasks.document.RunDocument``): the one the runner produced when given, else the one
``source.document`` rebuilds. A section with nothing to show carries a note saying why
(``EnvData.notes``) and the report prints it instead of a chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from tasks.document import OVERALL, EnvironmentRun, RunDocument
from tasks.report.summary import SLO_STAGES, EnvSummary, RunSummary, fmt_gate_value, summarize

#: key endpoints charted per environment besides the whole run
KEY_ENDPOINTS = 4
TREND_METRIC = "p95_ms"


class Source(Protocol):
    """The reads the report needs (``warehouse.queries.Queries``)."""

    def document(self, run_ids: list[str] | None = None, campaign: str | None = None,
                 environments: list[str] | None = None) -> RunDocument: ...
    def nightly_load(self, campaign: str, environment: str, until: datetime,
                     since: datetime | None = None) -> pl.DataFrame: ...
    def open_change_points(self, campaign: str | None = None, environment: str | None = None,
                           test_type: str | None = None, **filters: Any) -> pl.DataFrame: ...
    def baseline_versions(self, campaign: str, environment: str, test_type: str) -> pl.DataFrame: ...
    def trend_row(self, campaign: str, environment: str, test_type: str, endpoint: str = OVERALL,
                  metric: str = TREND_METRIC) -> dict[str, Any] | None: ...
    def load_timeseries(self, run_id: str, endpoint: str = OVERALL) -> pl.DataFrame: ...
    def endpoint_metric_rows(self, run_id: str, stage: str | None = None) -> list[dict[str, Any]]: ...
    def readiness_rows(self, run_id: str) -> list[dict[str, Any]]: ...
    def smoke_rows(self, run_id: str, failed_only: bool = False) -> list[dict[str, Any]]: ...
    def open_backlog(self, campaign: str, environment: str) -> pl.DataFrame: ...
    def latest_capacity(self, campaign: str, environment: str, until: datetime) -> dict[str, Any] | None: ...
    def bottleneck_hint_rows(self, run_id: str) -> pl.DataFrame: ...


@dataclass
class EnvData:
    name: str
    kind: str
    env: EnvironmentRun                     # the environment's part of the run document
    campaign: str
    summary: EnvSummary | None = None
    slo: pl.DataFrame | None = None          # objective, scope, target, measured, status, stage
    nightly: pl.DataFrame | None = None      # night, run_id, endpoint, p50/p95/p99/mean_ms, error_rate, rps, excluded, trustworthy
    key_endpoints: list[str] = field(default_factory=list)
    baselines: pl.DataFrame | None = None
    change_points: pl.DataFrame | None = None
    trend: dict[str, Any] | None = None      # the trends row of the whole run's p95
    timeseries: pl.DataFrame | None = None   # second, rps, errors, p50/p95/p99_ms, vus, target_rate
    errors: pl.DataFrame | None = None       # endpoint, kind, count: the load stage's errors only
    failed_checks: pl.DataFrame | None = None  # smoke checks that failed (gating, or known gaps)
    readiness: pl.DataFrame | None = None
    backlog: pl.DataFrame | None = None
    capacity: dict[str, Any] | None = None
    hints: pl.DataFrame | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.env.run_id

    @property
    def test_type(self) -> str:
        return self.env.test_type or "load"


@dataclass
class ReportData:
    campaign: str
    team: str | None
    generated_at: datetime
    since: datetime | None
    environments: list[EnvData]
    summary: RunSummary
    doc: RunDocument
    flow_run_url: str | None = None

    @property
    def run_ids(self) -> dict[str, str]:
        return {e.name: e.run_id for e in self.environments}


# -- sections --------------------------------------------------------------------------------------

_CAMPAIGNS: dict[tuple[str, float], Any] = {}


def load_campaign_model(path: str | None) -> Any:
    """The campaign model of the run's file, for thresholds and targets (None if it is gone or broken)."""
    if not path:
        return None
    try:
        from campaigns.loader import load_campaign

        key = (str(path), Path(path).stat().st_mtime)
        if key not in _CAMPAIGNS:
            _CAMPAIGNS[key] = load_campaign(path).campaign
    except Exception:  # noqa: BLE001 - a moved or broken file only costs the "not measured" rows
        return None
    return _CAMPAIGNS[key]


SLO_SCHEMA = {"objective": pl.String, "scope": pl.String, "target": pl.String, "measured": pl.String,
              "status": pl.String, "stage": pl.String}


def slo_table(env: EnvironmentRun, campaign: Any) -> tuple[pl.DataFrame, str | None]:
    """Targets and thresholds against what was measured: the load, analysis and chaos gates, each in
    its unit. When no load ran, the campaign's thresholds and targets, marked *not measured*, and why."""
    rows = []
    for stage in SLO_STAGES:
        outcome = env.stages.get(stage)
        for gate in outcome.gates if outcome is not None else []:
            rows.append({"objective": gate.name, "scope": gate.endpoint or "whole run",
                         "target": fmt_gate_value(gate.name, gate.limit),
                         "measured": fmt_gate_value(gate.name, gate.observed),
                         "status": "passed" if gate.passed else "failed", "stage": stage})
    if env.stages.load is not None and env.stages.load.ran:
        return pl.DataFrame(rows, schema=SLO_SCHEMA), None
    load = env.stages.load
    why = (f"the load stage was {load.status}: {load.reason or load.error or ''}".rstrip(": ")
           if load is not None else "the load stage was not asked for in this run")
    note = f"SLOs are measured by the load stage; {why}."
    unmeasured = []
    if campaign is not None:
        t = campaign.thresholds
        unmeasured += [
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
                    unmeasured.append({"objective": label, "scope": f"domain {domain}", "target": shown})
        for row in unmeasured:
            row.update(measured="–", status="not measured", stage="load")
    return pl.DataFrame(rows + unmeasured, schema=SLO_SCHEMA), note


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


ERROR_SCHEMA = {"endpoint": pl.String, "kind": pl.String, "count": pl.Int64}


def load_errors(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """The load stage's errors by endpoint and kind (smoke's known gaps are not load errors)."""
    out = []
    for row in rows:
        if row["endpoint"] == OVERALL or not row.get("errors"):
            continue
        kinds = row.get("errors_by_kind") or {}
        if not kinds:
            codes = {c: n for c, n in (row.get("status_codes") or {}).items() if not str(c).startswith(("2", "3"))}
            kinds = {f"status {c}": n for c, n in codes.items()} or {"error": row["errors"]}
        out += [{"endpoint": row["endpoint"], "kind": str(kind), "count": int(count)}
                for kind, count in kinds.items() if count]
    return pl.DataFrame(out, schema=ERROR_SCHEMA)


READINESS_RANK = {"missing": 0, "mock": 1, "unverified": 2, "error": 3, "unreachable": 4, "real": 5}


def readiness_frame(rows: list[dict[str, Any]], blocked: dict[str, str]) -> pl.DataFrame:
    """Per endpoint: verdict, confidence, the strongest evidence, and why it is kept out of load."""
    out = []
    for row in rows:
        evidence = row.get("evidence") or []
        pointing = [e for e in evidence if e.get("points_to") == row["verdict"]] or evidence
        pointing = sorted(pointing, key=lambda e: -(e.get("weight") or 0))
        out.append({"endpoint": row["endpoint"], "method": row["method"], "url": row["url"],
                    "verdict": row["verdict"], "confidence": row["confidence"], "status_code": row["status_code"],
                    "evidence": pointing[0].get("detail", "") if pointing else "",
                    "left_out": blocked.get(row["endpoint"])})
    out.sort(key=lambda r: (READINESS_RANK.get(r["verdict"], 9), r["endpoint"]))
    return pl.DataFrame(out, schema={"endpoint": pl.String, "method": pl.String, "url": pl.String,
                                     "verdict": pl.String, "confidence": pl.Float64, "status_code": pl.Int64,
                                     "evidence": pl.String, "left_out": pl.String})


def load_env(source: Source, doc: RunDocument, name: str, env: EnvironmentRun, since: datetime | None) -> EnvData:
    """Every section of one environment's report."""
    data = EnvData(name=name, kind=env.kind, env=env, campaign=doc.campaign)
    run_id = env.run_id
    data.slo, slo_note = slo_table(env, load_campaign_model(doc.campaign_file))
    if slo_note:
        data.notes["slo"] = slo_note

    until = env.started_at or datetime.now(UTC)
    frame = source.nightly_load(doc.campaign, name, until, since)
    this = frame.filter(pl.col("run_id") == run_id)
    test_type = this["test_type"][0] if not this.is_empty() else (env.test_type or "load")
    data.env = env.model_copy(update={"test_type": test_type})
    frame = frame.filter(pl.col("test_type") == test_type)
    data.change_points = source.open_change_points(doc.campaign, name, test_type)
    if frame.is_empty():
        data.notes["trends"] = f"no {test_type} history yet: the load stage has not measured this environment"
    else:
        data.nightly = frame
        data.key_endpoints = key_endpoints(frame, run_id, data.change_points)
        if frame["run_id"].n_unique() < 2:
            data.notes["trends"] = "one night measured so far: trends start with the second"
        doubtful = frame.filter(~pl.col("trustworthy"))["run_id"].n_unique()
        if doubtful:
            data.notes["trust"] = (f"{doubtful} night{'s' if doubtful > 1 else ''} whose numbers the generator "
                                   "could not vouch for are marked ◇ and left out of baselines and change points")
    data.baselines = source.baseline_versions(doc.campaign, name, test_type)
    data.trend = source.trend_row(doc.campaign, name, test_type, OVERALL, TREND_METRIC)

    ts = source.load_timeseries(run_id)
    if ts.is_empty():
        data.notes["timeseries"] = "no per-second series for this run (the load stage did not run)"
    else:
        data.timeseries = ts
    data.errors = load_errors(source.endpoint_metric_rows(run_id, "load"))
    data.failed_checks = pl.DataFrame(source.smoke_rows(run_id, failed_only=True),
                                      schema={"endpoint": pl.String, "method": pl.String, "url": pl.String,
                                              "status_code": pl.Int64, "latency_ms": pl.Float64, "passed": pl.Boolean,
                                              "gating": pl.Boolean, "failures": pl.List(pl.String)})
    readiness = env.stages.readiness
    blocked = dict(readiness.summary.blocked) if readiness is not None else {}
    data.readiness = readiness_frame(source.readiness_rows(run_id), blocked)
    if data.readiness.is_empty():
        data.notes["readiness"] = "readiness did not run in this environment"
    data.backlog = source.open_backlog(doc.campaign, name)
    data.capacity = source.latest_capacity(doc.campaign, name, until)
    if data.capacity is None:
        data.notes["capacity"] = "no capacity estimate yet: run a stress or breakpoint test (--test-type stress)"
    data.hints = source.bottleneck_hint_rows(run_id)
    return data


def load_report_data(source: Source, campaign: str | None = None, run_ids: list[str] | None = None, *,
                     environments: list[str] | None = None, since: datetime | timedelta | None = timedelta(days=30),
                     doc: RunDocument | None = None, now: datetime | None = None) -> ReportData:
    """Everything the report shows: of ``doc`` when given (the runner's own document: it also knows
    the refused stages), else of the runs the warehouse's reader finds (``run_ids``, else the
    latest run of each environment of ``campaign``). :class:`LookupError` when there is none."""
    now = now or datetime.now(UTC)
    if isinstance(since, timedelta):
        since = now - since
    if doc is None:
        doc = source.document(run_ids, campaign, environments)
    summary = summarize(doc)
    by_name = {s.name: s for s in summary.environments}
    envs = []
    for name, env in doc.environments.items():
        data = load_env(source, doc, name, env, since)
        data.summary = by_name.get(name)
        envs.append(data)
    return ReportData(campaign=doc.campaign, team=doc.team, generated_at=now, since=since, environments=envs,
                      summary=summary, doc=doc)
