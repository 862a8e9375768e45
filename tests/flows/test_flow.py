"""The ``campaign`` flow under Prefect's test harness: a real (temporary) Prefect server."""

from __future__ import annotations

import asyncio
import time

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.sorting import TaskRunSort

from flows.campaign import campaign
from tests.shop import shop_campaign
from warehouse.store import Warehouse


async def _task_runs(flow_run_id: str) -> list:
    async with get_client() as client:
        return await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                                           sort=TaskRunSort.EXPECTED_START_TIME_ASC, limit=50)


def test_flow_runs_stages_as_tasks_and_records_the_flow_run_id(prefect_harness, tmp_path, shop_url):
    path = tmp_path / "c.yaml"
    path.write_text(shop_campaign(shop_url))
    warehouse = tmp_path / "w.duckdb"
    doc = asyncio.run(campaign(campaign_file=str(path), environments=["dev", "production"], stages=["smoke"],
                               warehouse=str(warehouse), trigger="test"))
    assert doc["status"] == "passed" and doc["flow_run_id"]
    store = Warehouse(warehouse)
    rows = store.fetchall("SELECT environment, status, trigger, flow_run_id FROM runs ORDER BY environment")
    assert rows == [("dev", "passed", "test", doc["flow_run_id"]), ("production", "passed", "test", doc["flow_run_id"])]
    names: list[str] = []
    for _ in range(50):  # task runs reach the API through a background event stream
        names = sorted(t.name for t in asyncio.run(_task_runs(doc["flow_run_id"])))
        if len(names) == 2:
            break
        time.sleep(0.2)
    assert names == ["dev-smoke", "production-smoke"]
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
