"""Every read of the warehouse, and the outbox's updates: the SQL of perfcampaign, in one place.

:class:`Queries` is mixed into ``warehouse.store.Warehouse`` (which owns the DuckDB connection and
the writes), so the object the runner, the CLI and the outputs already hold is the repository: a
schema change is an edit here, never in ``flows/`` or ``tasks/``. Methods return polars frames or
plain dicts; times come back as UTC.

Sections: runs and stage results (the run document's source, see ``warehouse.documents``); what
the report shows (nightly series, baselines, change points, the per-second series, errors,
readiness, smoke, backlog, capacity, hints); the backlog export; the Slack outbox; change points
for ``perfcampaign regressions``; a run's load metrics for the Pushgateway.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

import polars as pl

OVERALL = "_overall"
PRIORITY_ORDER = "CASE priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END"
NOTIFICATION_COLUMNS = (
    "notification_id", "campaign", "environments", "run_ids", "flow_run_id", "transport", "channel", "level",
    "verdict", "text", "blocks", "attachment", "report_html", "token_ref", "webhook_ref", "status", "attempts",
    "max_attempts", "last_error", "created_at", "updated_at", "sent_at", "message_ts", "posted_channel", "file_ids",
    "posting_since")


def utc(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """Timestamp columns as UTC (DuckDB hands TIMESTAMPTZ back in the session's zone)."""
    for column in columns:
        if column in frame.columns and isinstance(frame.schema[column], pl.Datetime):
            tz = frame.schema[column].time_zone  # type: ignore[union-attr]
            expr = pl.col(column).dt.convert_time_zone("UTC") if tz else pl.col(column).dt.replace_time_zone("UTC")
            frame = frame.with_columns(expr)
    return frame


def from_json(value: Any) -> Any:
    """A JSON column's value as Python (DuckDB returns JSON as text)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _marks(values: list[Any]) -> str:
    return ", ".join("?" for _ in values)


class Queries(ABC):
    """The read side of the warehouse (and the outbox's updates) over two primitives the store
    provides (:class:`warehouse.store.Warehouse`): ``query`` (a DataFrame) and ``fetchall`` (rows)."""

    @abstractmethod
    def query(self, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
        """The rows of ``sql`` as a polars DataFrame."""

    @abstractmethod
    def fetchall(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """The rows of ``sql`` as tuples."""

    # -- runs ------------------------------------------------------------------------------------

    def document(self, run_ids: list[str] | None = None, campaign: str | None = None,
                 environments: list[str] | None = None) -> Any:
        """The run document (``tasks.document.RunDocument``) rebuilt: ``warehouse.documents``."""
        from warehouse.documents import read_document

        return read_document(self, run_ids, campaign, environments)

    def recent_runs(self, limit: int = 20, campaign: str | None = None,
                    environment: str | None = None) -> pl.DataFrame:
        """The latest runs, newest first, with the load's trust and the number of failed gates."""
        where, params = ["TRUE"], []
        for column, value in (("r.campaign", campaign), ("r.environment", environment)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        frame = self.query(
            "SELECT r.run_id, r.campaign, r.environment, r.env_kind, r.status, r.trigger, r.triggered_by, "
            "r.deployment, r.schedule, r.test_type, "
            "r.started_at, r.finished_at, r.flow_run_id, r.exclude_from_analysis, r.exclude_reason, "
            "l.trustworthy, l.reasons AS trust_reasons, "
            "(SELECT count(*) FROM stage_results s, unnest(CAST(s.gates AS JSON[])) AS g(gate) "
            " WHERE s.run_id = r.run_id AND NOT CAST(json_extract(g.gate, '$.passed') AS BOOLEAN)) AS failed_gates "
            f"FROM runs r LEFT JOIN load_runs l ON l.run_id = r.run_id WHERE {' AND '.join(where)} "
            "ORDER BY r.started_at DESC LIMIT ?", [*params, limit])
        return utc(frame, "started_at", "finished_at")

    def run_rows(self, run_ids: list[str]) -> list[dict[str, Any]]:
        frame = self.query(f"SELECT * FROM runs WHERE run_id IN ({_marks(run_ids)})", list(run_ids))
        return utc(frame, "started_at", "finished_at").to_dicts()

    def latest_run_rows(self, campaign: str | None = None, environments: list[str] | None = None
                        ) -> list[dict[str, Any]]:
        """The latest run of each environment of ``campaign`` (the latest campaign when None)."""
        if campaign is None:
            latest = self.query("SELECT campaign FROM runs ORDER BY started_at DESC LIMIT 1")
            if latest.is_empty():
                return []
            campaign = latest["campaign"][0]
        where, params = "campaign = ?", [campaign]
        if environments:
            where += f" AND environment IN ({_marks(environments)})"
            params += list(environments)
        frame = self.query(f"SELECT * FROM runs WHERE {where} "
                           "QUALIFY row_number() OVER (PARTITION BY environment ORDER BY started_at DESC) = 1", params)
        return utc(frame, "started_at", "finished_at").to_dicts()

    def stage_rows(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.query("SELECT stage, status, started_at, finished_at, summary, gates, error FROM stage_results "
                          "WHERE run_id = ?", [run_id])
        out = utc(rows, "started_at", "finished_at").to_dicts()
        for row in out:
            row["summary"] = from_json(row["summary"]) or {}
            row["gates"] = from_json(row["gates"]) or []
        return out

    def endpoint_metric_rows(self, run_id: str, stage: str | None = None) -> list[dict[str, Any]]:
        sql, params = "SELECT * FROM endpoint_metrics WHERE run_id = ?", [run_id]
        if stage:
            sql += " AND stage = ?"
            params.append(stage)
        rows = self.query(sql + " ORDER BY stage, endpoint", params).to_dicts()
        for row in rows:
            for column in ("errors_by_kind", "status_codes"):
                row[column] = from_json(row.get(column)) or {}
        return rows

    def readiness_rows(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.query("SELECT endpoint, method, url, verdict, confidence, status_code, requests, evidence "
                          "FROM readiness_checks WHERE run_id = ? ORDER BY endpoint", [run_id]).to_dicts()
        for row in rows:
            row["evidence"] = [e for e in (from_json(row["evidence"]) or []) if isinstance(e, dict)]
        return rows

    def smoke_rows(self, run_id: str, failed_only: bool = False) -> list[dict[str, Any]]:
        rows = self.query("SELECT endpoint, method, url, status_code, latency_ms, passed, gating, failures "
                          "FROM smoke_checks WHERE run_id = ?" + (" AND NOT passed" if failed_only else "")
                          + " ORDER BY gating DESC, endpoint", [run_id]).to_dicts()
        for row in rows:
            failures = from_json(row["failures"])
            row["failures"] = failures if isinstance(failures, list) else ([failures] if failures else [])
        return rows

    def load_run_row(self, run_id: str) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM load_runs WHERE run_id = ?", [run_id]).to_dicts()
        if not rows:
            return None
        row = rows[0]
        row["reasons"] = from_json(row.get("reasons")) or []
        return row

    # -- what the report shows -------------------------------------------------------------------

    def nightly_load(self, campaign: str, environment: str, until: datetime, since: datetime | None = None
                     ) -> pl.DataFrame:
        """Load-stage metrics of every night of a campaign and environment up to ``until``, with
        each night's trust (untrustworthy nights are marked, not dropped)."""
        params: list[Any] = [campaign, environment, until]
        where = "m.stage = 'load' AND r.campaign = ? AND r.environment = ? AND r.started_at <= ?"
        if since is not None:
            where += " AND r.started_at >= ?"
            params.append(since)
        frame = self.query(
            "SELECT r.run_id, r.started_at AS night, r.status, r.exclude_from_analysis AS excluded, "
            "COALESCE(l.test_type, r.test_type, 'load') AS test_type, COALESCE(l.trustworthy, TRUE) AS trustworthy, "
            "m.endpoint, m.requests, m.p50_ms, m.p95_ms, m.p99_ms, m.mean_ms, m.error_rate, m.rps "
            "FROM endpoint_metrics m JOIN runs r ON r.run_id = m.run_id LEFT JOIN load_runs l ON l.run_id = r.run_id "
            f"WHERE {where} ORDER BY night", params)
        return utc(frame, "night")

    def open_change_points(self, campaign: str | None = None, environment: str | None = None,
                           test_type: str | None = None, *, endpoint: str | None = None, metric: str | None = None,
                           since: datetime | None = None, regressions_only: bool = False) -> pl.DataFrame:
        clauses, params = ["status = 'open'"], []
        for column, value in (("campaign", campaign), ("environment", environment), ("test_type", test_type),
                              ("endpoint", endpoint), ("metric", metric)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            clauses.append("night >= ?")
            params.append(since)
        if regressions_only:
            clauses.append("direction = 'regression'")
        frame = self.query(f"SELECT * FROM change_points WHERE {' AND '.join(clauses)} "
                           "ORDER BY night DESC, campaign, environment, endpoint, metric", params)
        return utc(frame, "night", "detected_at", "last_seen_at")

    def excluded_run_rows(self, limit: int = 20) -> list[dict[str, Any]]:
        frame = self.query("SELECT run_id, campaign, environment, started_at, exclude_reason FROM runs "
                           "WHERE exclude_from_analysis ORDER BY started_at DESC LIMIT ?", [limit])
        return utc(frame, "started_at").to_dicts()

    def baseline_versions(self, campaign: str, environment: str, test_type: str) -> pl.DataFrame:
        frame = self.query(
            "SELECT endpoint, metric, version, center, band_lower, band_upper, valid_from, valid_to, reason "
            "FROM baselines WHERE campaign = ? AND environment = ? AND test_type = ? ORDER BY valid_from",
            [campaign, environment, test_type])
        return utc(frame, "valid_from", "valid_to")

    def trend_row(self, campaign: str, environment: str, test_type: str, endpoint: str = OVERALL,
                  metric: str = "p95_ms") -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM trends WHERE campaign = ? AND environment = ? AND test_type = ? "
                          "AND endpoint = ? AND metric = ?", [campaign, environment, test_type, endpoint, metric])
        return rows.to_dicts()[0] if not rows.is_empty() else None

    def load_timeseries(self, run_id: str, endpoint: str = OVERALL) -> pl.DataFrame:
        """Per second of the load: the merged series (shard -1), else the shards summed."""
        ts = self.query("SELECT second, requests, errors, rps, p50_ms, p95_ms, p99_ms, vus, target_rate, in_flight "
                        "FROM load_timeseries WHERE run_id = ? AND shard = -1 AND endpoint = ? ORDER BY second",
                        [run_id, endpoint])
        if ts.is_empty():
            ts = self.query("SELECT second, sum(requests) AS requests, sum(errors) AS errors, sum(rps) AS rps, "
                            "max(p50_ms) AS p50_ms, max(p95_ms) AS p95_ms, max(p99_ms) AS p99_ms, sum(vus) AS vus, "
                            "sum(target_rate) AS target_rate, sum(in_flight) AS in_flight FROM load_timeseries "
                            "WHERE run_id = ? AND endpoint = ? GROUP BY second ORDER BY second", [run_id, endpoint])
        return ts

    def open_backlog(self, campaign: str, environment: str) -> pl.DataFrame:
        frame = self.query(
            "SELECT priority, kind, title, effort, endpoint, first_seen, last_seen, times_seen, key FROM backlog_items "
            f"WHERE campaign = ? AND environment = ? AND status = 'open' ORDER BY {PRIORITY_ORDER}, first_seen, key",
            [campaign, environment])
        return utc(frame, "first_seen", "last_seen")

    def latest_capacity(self, campaign: str, environment: str, until: datetime) -> dict[str, Any] | None:
        rows = utc(self.query(
            "SELECT c.*, r.started_at AS measured_at FROM capacity_estimates c JOIN runs r ON r.run_id = c.run_id "
            "WHERE r.campaign = ? AND r.environment = ? AND c.endpoint = ? AND r.started_at <= ? "
            "ORDER BY r.started_at DESC LIMIT 1", [campaign, environment, OVERALL, until]), "measured_at").to_dicts()
        if not rows:
            return None
        rows[0]["detail"] = from_json(rows[0].get("detail"))
        return rows[0]

    def bottleneck_hint_rows(self, run_id: str) -> pl.DataFrame:
        return self.query("SELECT severity, title, recommendation, kind FROM bottleneck_hints WHERE run_id = ? "
                          "ORDER BY CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, key", [run_id])

    # -- the backlog -----------------------------------------------------------------------------

    def backlog_rows(self, campaign: str | None = None, environment: str | None = None,
                     status: str = "open") -> list[dict[str, Any]]:
        """Backlog items, highest priority first, then oldest first (``status``: open, closed, all)."""
        where, params = [], []
        for column, value in (("campaign", campaign), ("environment", environment)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        if status != "all":
            where.append("status = ?")
            params.append(status)
        frame = self.query(
            "SELECT key, campaign, environment, kind, title, priority, effort, endpoint, evidence, status, "
            "first_seen, last_seen, first_run_id, last_run_id, times_seen, closed_at FROM backlog_items"
            + (" WHERE " + " AND ".join(where) if where else "")
            + f" ORDER BY {PRIORITY_ORDER}, status DESC, first_seen, key", params)
        items = utc(frame, "first_seen", "last_seen", "closed_at").to_dicts()
        for item in items:
            item["evidence"] = from_json(item.get("evidence"))
        return items

    # -- the Slack outbox (migration 0005) ---------------------------------------------------------

    def notification(self, notification_id: str) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM notifications WHERE notification_id = ?", [notification_id]).to_dicts()
        return rows[0] if rows else None

    def recent_notifications(self, limit: int = 20) -> list[dict[str, Any]]:
        frame = self.query(
            "SELECT notification_id, created_at, campaign, environments, channel, transport, verdict, status, "
            "attempts, last_error, message_ts FROM notifications ORDER BY created_at DESC LIMIT ?", [limit])
        return utc(frame, "created_at").to_dicts()

    def claim_notification(self, notification_id: str, now: datetime, stale_before: datetime,
                           include_failed: bool = False, force: bool = False) -> dict[str, Any] | None:
        """Mark one notification ``sending`` in one statement, so two processes never both claim it:
        pending, a claim left stale, failed ones with ``include_failed``, skipped ones with ``force``."""
        cols = ", ".join(NOTIFICATION_COLUMNS)
        rows = self.fetchall(
            "UPDATE notifications SET status = 'sending', attempts = attempts + 1, updated_at = ? "
            "WHERE notification_id = ? AND (status = 'pending' OR (status = 'sending' AND updated_at < ?) "
            f"OR (? AND status = 'failed') OR (? AND status = 'skipped')) RETURNING {cols}",
            [now, notification_id, stale_before, include_failed or force, force])
        return dict(zip(NOTIFICATION_COLUMNS, rows[0], strict=True)) if rows else None

    def update_notification(self, notification_id: str, **values: Any) -> None:
        unknown = set(values) - set(NOTIFICATION_COLUMNS)
        if unknown:
            raise ValueError(f"notifications has no columns {sorted(unknown)}")
        sets = ", ".join(f"{k} = ?" for k in values)
        self.fetchall(f"UPDATE notifications SET {sets} WHERE notification_id = ? RETURNING notification_id",
                      [*values.values(), notification_id])

    def pending_notification_ids(self, stale_before: datetime, include_failed: bool = False) -> list[str]:
        frame = self.query(
            "SELECT notification_id FROM notifications WHERE status = 'pending' "
            "OR (status = 'sending' AND updated_at < ?) OR (? AND status = 'failed') ORDER BY created_at",
            [stale_before, include_failed])
        return frame["notification_id"].to_list()

    # -- run liveness and the audit trail (migration 0009; issue 14) --------------------------------
    # A run renews a heartbeat while its process lives; `flows.repair` marks a `running` run whose
    # process is gone `crashed`. Who or what started a run is in its row (triggered_by, deployment,
    # schedule, parameters) and shown by `perfcampaign runs`.

    def running_runs(self) -> list[dict[str, Any]]:
        """Every run still marked ``running``, with what says whether its process lives."""
        frame = self.query(
            "SELECT run_id, campaign, environment, host, pid, pid_started_at, heartbeat_at, lease_s, started_at, "
            "flow_run_id FROM runs WHERE status = 'running' ORDER BY started_at")
        return utc(frame, "heartbeat_at", "started_at").to_dicts()

    def heartbeat_run(self, run_id: str, at: datetime) -> bool:
        """Renew a running run's lease; False when the run is no longer ``running`` (repaired)."""
        rows = self.fetchall("UPDATE runs SET heartbeat_at = ? WHERE run_id = ? AND status = 'running' "
                             "RETURNING run_id", [at, run_id])
        return bool(rows)

    def mark_crashed(self, run_id: str, at: datetime, note: str) -> bool:
        """A ``running`` run whose process died: ``crashed``, finished at its last sign of life."""
        rows = self.fetchall(
            "UPDATE runs SET status = 'crashed', finished_at = COALESCE(heartbeat_at, started_at), "
            "repaired_at = ?, repair_note = ?, error = COALESCE(error, ?) "
            "WHERE run_id = ? AND status = 'running' RETURNING run_id", [at, note, note, run_id])
        return bool(rows)

    def run_audit(self, run_id: str) -> dict[str, Any] | None:
        """Who or what started a run and with what (the audit trail)."""
        rows = self.query(
            "SELECT run_id, trigger, triggered_by, deployment, schedule, flow_run_id, parameters, campaign_sha256, "
            "campaign_file, host, pid, started_at FROM runs WHERE run_id = ?", [run_id])
        if rows.is_empty():
            return None
        row = utc(rows, "started_at").to_dicts()[0]
        row["parameters"] = from_json(row["parameters"])
        return row

    def posted_channel_id(self, channel: str) -> str | None:
        """The id Slack gave ``channel`` (a ``#name``) when a message was last posted there (the
        outbox's history look-up needs an id)."""
        rows = self.fetchall("SELECT posted_channel FROM notifications WHERE channel = ? AND posted_channel IS NOT NULL "
                             "ORDER BY updated_at DESC LIMIT 1", [channel])
        return rows[0][0] if rows else None
