"""The DuckDB warehouse: the only module that imports ``duckdb``, and with ``warehouse.queries`` (its
reads) and ``warehouse.documents`` (the run document rebuilt) the only place that speaks SQL.

DuckDB lets one process hold a database file at a time. Every write therefore opens the file,
writes in one transaction and closes it again, and a writer that finds the file locked by another
process retries with backoff for up to ``lock_timeout_s``. Two campaigns run at once from two
processes interleave their transactions and lose no rows. If the file stays locked past the
timeout (or the disk refuses), the rows go to a spool folder beside the file, as JSON, and are
replayed by the next write that gets the lock: what was measured is never lost.

Rows are plain dicts whose keys are the table's columns; lists and dicts bound for JSON columns
are serialised here. Inserts go through Arrow, so a stage's thousands of time-series rows cost
one statement, not one per row.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from campaigns.errors import MachineryError
from warehouse.migrate import apply_migrations
from warehouse.queries import Queries

DEFAULT_PATH = Path(".perfcampaign") / "warehouse.duckdb"
ENV_VAR = "PERFCAMPAIGN_WAREHOUSE"


class WarehouseError(MachineryError):
    """The warehouse file cannot be opened or written."""


class WarehouseBusy(WarehouseError):
    """Another process held the file for longer than the lock timeout."""


def default_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--warehouse`` if given, else ``$PERFCAMPAIGN_WAREHOUSE``, else ``.perfcampaign/warehouse.duckdb``."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return DEFAULT_PATH


def _is_lock_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("could not set" in text or "conflicting" in text or "resource temporarily" in text)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)


class Warehouse(Queries):
    """A DuckDB file with the perfcampaign schema; its reads are :class:`warehouse.queries.Queries`."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, lock_timeout_s: float = 120.0,
                 migrate: bool = True):
        self.path = default_path(path)
        self.lock_timeout_s = lock_timeout_s
        self.spool_dir = self.path.with_name(self.path.name + ".spool")
        self._json_columns: dict[str, set[str]] = {}
        self._local = threading.local()
        self._columns: dict[str, list[str]] = {}
        if migrate:
            self.migrate()

    # -- connections ---------------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[Warehouse]:
        """Hold one connection for a batch of reads in this thread (a report: dozens of queries), instead
        of opening the file per query; other processes' writers wait (with backoff) meanwhile."""
        if getattr(self._local, "con", None) is not None:
            yield self
            return
        with self._open() as con:
            self._local.con = con
            try:
                yield self
            finally:
                self._local.con = None

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection this thread holds (:meth:`reading`), else the file opened for this use."""
        held = getattr(self._local, "con", None)
        if held is not None:
            yield held
            return
        with self._open(read_only) as con:
            yield con

    @contextmanager
    def _open(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the file, waiting (with backoff) while another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.01
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only and self.path.exists())
                break
            except duckdb.Error as exc:
                if not _is_lock_error(exc):
                    raise WarehouseError(f"cannot open warehouse {self.path}: {exc}") from exc
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(f"warehouse {self.path} stayed locked by another process for "
                                        f"{self.lock_timeout_s:.0f} s") from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.5)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied now."""
        with self.connect() as con:
            applied = apply_migrations(con)
        self._columns.clear()
        self._json_columns.clear()
        return applied

    # -- writing ---------------------------------------------------------------------------------

    def _schema(self, con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
        if table not in self._columns:
            rows = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position", [table]).fetchall()
            if not rows:
                raise WarehouseError(f"no table {table!r} in the warehouse schema")
            self._columns[table] = [r[0] for r in rows]
            self._json_columns[table] = {r[0] for r in rows if r[1] == "JSON"}
        return self._columns[table]

    def _insert(self, con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]],
                upsert: bool = False) -> None:
        if not rows:
            return
        columns = self._schema(con, table)
        unknown = {k for row in rows for k in row} - set(columns)
        if unknown:
            raise WarehouseError(f"table {table} has no columns {sorted(unknown)}")
        used = [c for c in columns if any(c in row for row in rows)]
        json_cols = self._json_columns[table]
        data = {c: [(json.dumps(r.get(c), default=_jsonable) if c in json_cols and r.get(c) is not None
                     else r.get(c)) for r in rows] for c in used}
        arrow = pa.table(data)
        name = f"_rows_{uuid.uuid4().hex}"
        con.register(name, arrow)
        try:
            verb = "INSERT OR REPLACE" if upsert else "INSERT"
            cols = ", ".join(f'"{c}"' for c in used)
            con.execute(f'{verb} INTO "{table}" ({cols}) SELECT {cols} FROM {name}')
        finally:
            con.unregister(name)

    def write_rows(self, rows: dict[str, list[dict[str, Any]]], *, upsert: bool = False) -> None:
        """Insert rows of several tables in one transaction (spooled if the file stays busy)."""
        rows = {t: r for t, r in rows.items() if r}
        if not rows:
            return
        try:
            with self.transaction() as con:
                for table, table_rows in rows.items():
                    self._insert(con, table, table_rows, upsert=upsert)
        except (WarehouseBusy, OSError) as exc:
            self._spool({"rows": rows, "upsert": upsert}, exc)
            return
        self.replay_spool()

    def upsert_rows(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        self.write_rows(rows, upsert=True)

    def _spool(self, payload: dict[str, Any], exc: BaseException) -> None:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        target = self.spool_dir / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps({**payload, "reason": str(exc)}, default=_jsonable))
        tmp.replace(target)

    def pending_spool(self) -> list[Path]:
        return sorted(self.spool_dir.glob("*.json")) if self.spool_dir.exists() else []

    def replay_spool(self) -> int:
        """Write spooled rows (oldest first); returns how many spool files were replayed."""
        done = 0
        for file in self.pending_spool():
            payload = json.loads(file.read_text())
            try:
                with self.transaction() as con:
                    for table, table_rows in payload["rows"].items():
                        self._insert(con, table, table_rows, upsert=payload.get("upsert", False))
            except WarehouseBusy:
                break
            file.unlink()
            done += 1
        return done

    # -- runs ------------------------------------------------------------------------------------

    def start_run(self, run: dict[str, Any]) -> None:
        self.write_rows({"runs": [run]})

    def finish_run(self, run_id: str, status: str, finished_at: datetime, error: str | None = None) -> None:
        with self.transaction() as con:
            con.execute("UPDATE runs SET status = ?, finished_at = ?, error = ? WHERE run_id = ?",
                        [status, finished_at, error, run_id])

    def exclude_run(self, run_id: str, reason: str) -> None:
        """Leave a run out of trends and regressions, with the reason kept beside it."""
        def update() -> None:
            with self.transaction() as con:
                found = con.execute("UPDATE runs SET exclude_from_analysis = TRUE, exclude_reason = ? "
                                    "WHERE run_id = ? RETURNING run_id", [reason, run_id]).fetchall()
                if not found:
                    raise WarehouseError(f"no run {run_id!r} in {self.path}")
        update()

    def record_stage(self, run_id: str, result: Any) -> None:
        """A stage's result row and all its rows, in one transaction."""
        stage_row = {
            "run_id": run_id, "stage": result.stage, "status": result.status,
            "started_at": result.started_at, "finished_at": result.finished_at,
            "summary": result.summary, "gates": [g.to_dict() for g in result.gates], "error": result.error,
        }
        rows = {"stage_results": [stage_row]}
        for table, table_rows in result.rows.items():
            rows[table] = [{"run_id": run_id, **r} for r in table_rows]
        self.write_rows(rows)

    # -- backlog ---------------------------------------------------------------------------------

    def sync_backlog(self, campaign: str, environment: str, run_id: str, seen_at: datetime,
                     items: list[dict[str, Any]], scope: str) -> dict[str, int]:
        """Open or refresh the items seen now; close the open items whose key starts with ``scope``
        (e.g. ``"readiness:"``, the source that reports them) and that were not seen this run.

        A gap seen every night stays one item (by ``key``) with first/last seen dates.
        """
        counts = {"opened": 0, "refreshed": 0, "closed": 0, "reopened": 0}
        with self.transaction() as con:
            existing = {r[0]: r[1] for r in con.execute(
                "SELECT key, status FROM backlog_items WHERE campaign = ? AND environment = ?",
                [campaign, environment]).fetchall()}
            for item in items:
                key = item["key"]
                evidence = json.dumps(item.get("evidence"), default=_jsonable)
                if key in existing:
                    counts["reopened" if existing[key] == "closed" else "refreshed"] += 1
                    con.execute(
                        "UPDATE backlog_items SET last_seen = ?, last_run_id = ?, times_seen = times_seen + 1, "
                        "status = 'open', closed_at = NULL, evidence = ?, title = ?, priority = ?, effort = ? "
                        "WHERE campaign = ? AND environment = ? AND key = ?",
                        [seen_at, run_id, evidence, item["title"], item["priority"], item["effort"],
                         campaign, environment, key])
                else:
                    counts["opened"] += 1
                    con.execute(
                        "INSERT INTO backlog_items (key, campaign, environment, kind, title, priority, effort, "
                        "endpoint, evidence, status, first_seen, last_seen, first_run_id, last_run_id, times_seen) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, 1)",
                        [key, campaign, environment, item["kind"], item["title"], item["priority"], item["effort"],
                         item.get("endpoint"), evidence, seen_at, seen_at, run_id, run_id])
            seen = {i["key"] for i in items}
            stale = con.execute(
                "UPDATE backlog_items SET status = 'closed', closed_at = ? WHERE campaign = ? AND "
                "environment = ? AND status = 'open' AND starts_with(key, ?) "
                "AND NOT list_contains(?::VARCHAR[], key) RETURNING key",
                [seen_at, campaign, environment, scope, sorted(seen)]).fetchall()
            counts["closed"] = len(stale)
        return counts

    # -- reading ---------------------------------------------------------------------------------

    def query(self, sql: str, params: list[Any] | None = None):  # -> polars.DataFrame
        """Run a read query and return a polars DataFrame (through Arrow)."""
        with self.connect() as con:
            return con.sql(sql, params=params or None).pl()

    def fetchall(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.connect() as con:
            return con.execute(sql, params or []).fetchall()
