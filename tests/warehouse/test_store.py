from __future__ import annotations

import multiprocessing as mp
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from warehouse import migrate
from warehouse.store import Warehouse, WarehouseBusy, default_path


def run_row(run_id: str, campaign: str = "c", env: str = "dev") -> dict:
    return {"run_id": run_id, "campaign": campaign, "environment": env, "env_kind": "dev",
            "started_at": datetime.now(UTC), "status": "running", "trigger": "test", "campaign_sha256": "x" * 64}


def test_migrations_apply_once_and_are_recorded(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    versions = [m.version for m in migrate.available()]
    assert versions[0] == 1 and versions == sorted(versions)
    assert [r[0] for r in wh.fetchall("SELECT version FROM schema_migrations ORDER BY 1")] == versions
    assert wh.migrate() == []  # nothing pending the second time
    tables = {r[0] for r in wh.fetchall("SELECT table_name FROM information_schema.tables")}
    assert {"runs", "stage_results", "endpoint_metrics", "readiness_checks", "smoke_checks",
            "backlog_items"} <= tables
    columns = {r[0] for r in wh.fetchall("SELECT column_name FROM information_schema.columns "
                                         "WHERE table_name = 'runs'")}
    assert {"run_id", "campaign", "environment", "started_at", "finished_at", "status", "trigger",
            "flow_run_id", "campaign_sha256"} <= columns


def test_an_edited_applied_migration_is_refused(tmp_path, monkeypatch):
    Warehouse(tmp_path / "w.duckdb")
    original = migrate.available()
    changed = [migrate.Migration(m.version, m.name, m.sql + "\n-- edited") if m.version == 1 else m for m in original]
    monkeypatch.setattr(migrate, "available", lambda: changed)
    with pytest.raises(migrate.MigrationError, match="changed after it was applied"):
        Warehouse(tmp_path / "w.duckdb")


def test_a_new_migration_is_applied_to_an_existing_file(tmp_path, monkeypatch):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.start_run(run_row("r1"))
    extra = migrate.Migration(9999, "test_extra", "ALTER TABLE runs ADD COLUMN note VARCHAR;")
    monkeypatch.setattr(migrate, "available", lambda original=migrate.available(): [*original, extra])
    assert Warehouse(tmp_path / "w.duckdb", migrate=False).migrate() == [9999]
    assert 9999 in [r[0] for r in wh.fetchall("SELECT version FROM schema_migrations")]
    assert wh.fetchall("SELECT run_id, note FROM runs") == [("r1", None)]  # the data survived


def test_rows_and_json_round_trip(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.start_run(run_row("r1"))
    wh.write_rows({"readiness_checks": [{"run_id": "r1", "endpoint": "a", "method": "GET", "url": "http://x/a",
                                         "verdict": "mock", "confidence": 0.93,
                                         "evidence": [{"signal": "placeholder-content", "detail": "first_name=string"}],
                                         "checked_at": datetime.now(UTC)}]})
    frame = wh.query("SELECT verdict, evidence->>'$[0].signal' AS signal FROM readiness_checks")
    assert frame.to_dicts() == [{"verdict": "mock", "signal": "placeholder-content"}]
    with pytest.raises(Exception, match="no columns"):
        wh.write_rows({"runs": [{**run_row("r2"), "nonsense": 1}]})
    wh.finish_run("r1", "passed", datetime.now(UTC))
    assert wh.fetchall("SELECT status FROM runs WHERE run_id = 'r1'") == [("passed",)]


def test_a_failed_transaction_writes_nothing(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    with pytest.raises(duckdb.Error):
        wh.write_rows({"runs": [run_row("r1")], "stage_results": [{"run_id": "r1", "stage": "smoke"}]})
    assert wh.fetchall("SELECT count(*) FROM runs") == [(0,)]


def _writer(path: str, name: str, n: int) -> None:
    wh = Warehouse(path, migrate=True)
    for i in range(n):
        run_id = f"{name}-{i}"
        wh.start_run(run_row(run_id, campaign=name))
        wh.write_rows({"endpoint_metrics": [{"run_id": run_id, "stage": "smoke", "endpoint": f"e{j}",
                                             "requests": 1, "errors": 0} for j in range(5)]})


def test_two_processes_writing_at_once_lose_no_rows(tmp_path):
    path = str(tmp_path / "w.duckdb")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, name, 60)) for name in ("alpha", "beta")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    wh = Warehouse(path)
    assert wh.fetchall("SELECT campaign, count(*) FROM runs GROUP BY 1 ORDER BY 1") == [("alpha", 60), ("beta", 60)]
    assert wh.fetchall("SELECT count(*) FROM endpoint_metrics") == [(600,)]
    assert not wh.pending_spool()


def _hold_lock(path: str, ready, release) -> None:
    con = duckdb.connect(path)
    ready.set()
    release.wait(30)
    con.close()


def test_rows_are_spooled_when_the_file_stays_locked_and_replayed_later(tmp_path):
    path = tmp_path / "w.duckdb"
    Warehouse(path)
    ctx = mp.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(path), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        wh = Warehouse(path, lock_timeout_s=0.5, migrate=False)
        with pytest.raises(WarehouseBusy):
            with wh.connect():
                pass
        wh.start_run(run_row("kept"))  # must not raise, must not lose the row
        assert len(wh.pending_spool()) == 1
    finally:
        release.set()
        holder.join(30)
    wh = Warehouse(path)
    wh.start_run(run_row("next"))  # the next write replays the spool first… or after
    assert sorted(r[0] for r in wh.fetchall("SELECT run_id FROM runs")) == ["kept", "next"]
    assert not wh.pending_spool()


def test_backlog_items_are_deduplicated_across_nights_and_closed_when_gone(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    night = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    item = {"key": "readiness:mock:student", "kind": "mock_data", "title": "Replace the mock", "priority": "medium",
            "effort": "1-2 days", "endpoint": "student", "evidence": ["first_name=string"]}
    other = {**item, "key": "e2e:slow:x", "kind": "slow_api"}
    assert wh.sync_backlog("c", "dev", "r1", night, [item, other], "")["opened"] == 2
    for day in range(1, 4):
        wh.sync_backlog("c", "dev", f"r{day + 1}", night + timedelta(days=day), [item], "readiness:")
    rows = wh.query("SELECT key, status, times_seen, first_seen, last_seen FROM backlog_items ORDER BY key").to_dicts()
    assert [(r["key"], r["status"], r["times_seen"]) for r in rows] == [
        ("e2e:slow:x", "open", 1), ("readiness:mock:student", "open", 4)]  # other scope left alone
    assert rows[1]["last_seen"] - rows[1]["first_seen"] == timedelta(days=3)
    counts = wh.sync_backlog("c", "dev", "r9", night + timedelta(days=5), [], "readiness:")
    assert counts["closed"] == 1
    assert wh.fetchall("SELECT status FROM backlog_items WHERE key = 'readiness:mock:student'") == [("closed",)]
    assert wh.sync_backlog("c", "dev", "r10", night + timedelta(days=6), [item], "readiness:")["reopened"] == 1


def test_default_path_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("PERFCAMPAIGN_WAREHOUSE", str(tmp_path / "env.duckdb"))
    assert default_path("x.duckdb") == Path("x.duckdb")
    assert default_path() == tmp_path / "env.duckdb"
    monkeypatch.delenv("PERFCAMPAIGN_WAREHOUSE")
    assert default_path() == Path(".perfcampaign/warehouse.duckdb")


def test_exclude_run_keeps_the_reason(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    run_id = str(uuid.uuid4())
    wh.start_run(run_row(run_id))
    wh.exclude_run(run_id, "noisy neighbour on the CI host")
    assert wh.fetchall("SELECT exclude_from_analysis, exclude_reason FROM runs") == [
        (True, "noisy neighbour on the CI host")]
