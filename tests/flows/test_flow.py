"""The ``campaign`` flow under Prefect's test harness: a real (temporary) Prefect server."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from tests.shop import shop_campaign
from warehouse.store import Warehouse

ROOT = Path(__file__).resolve().parents[2]


def test_flow_runs_stages_as_tasks_and_records_the_flow_run_id(tmp_path, shop_url, cli_env):
    path = tmp_path / "c.yaml"
    path.write_text(shop_campaign(shop_url))
    warehouse = tmp_path / "w.duckdb"
    proc = subprocess.run([sys.executable, "-m", "tests.flows.harness_run", str(path), str(warehouse)],
                          capture_output=True, text=True, cwd=ROOT, env=cli_env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    doc = out["doc"]
    assert doc["status"] == "passed" and doc["flow_run_id"]
    store = Warehouse(warehouse)
    rows = store.fetchall("SELECT environment, status, trigger, flow_run_id FROM runs ORDER BY environment")
    assert rows == [("dev", "passed", "test", doc["flow_run_id"]), ("production", "passed", "test", doc["flow_run_id"])]
    assert out["task_runs"] == ["dev-smoke", "production-smoke"]
    # the outputs ran inside the flow run: the report, run.json and the Prefect artifacts
    assert doc["outputs"]["report"]["status"] == "done" and doc["outputs"]["artifacts"]["status"] == "done"
    # no link: nothing serves the report; the progress artifact the flow kept up to date while it ran
    assert out["artifacts"] == ["shop-api-endpoint-metrics", "shop-api-progress", "shop-api-summary"]
    # production skipped the write, dev made it
    assert store.fetchall("SELECT r.environment, count(*) FROM smoke_checks s JOIN runs r USING (run_id) "
                          "GROUP BY 1 ORDER BY 1") == [("dev", 3), ("production", 2)]


def test_flow_stage_logic_is_testable_without_a_server(tmp_path, shop_url):
    """The stage task's ``.fn`` is the plain coroutine: logic tests need no Prefect server."""
    from campaigns.loader import load_campaign
    from flows.campaign import run_stage
    from tasks.base import RunContext
    from tasks.smoke import SmokeStage

    path = tmp_path / "c.yaml"
    path.write_text(shop_campaign(shop_url))
    ctx = RunContext(loaded=load_campaign(path), env_name="dev", run_id="r", out_dir=tmp_path)
    result = asyncio.run(run_stage.fn("smoke", "dev", SmokeStage(), ctx))
    assert result.status == "passed"
