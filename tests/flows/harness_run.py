"""Run the ``campaign`` flow under Prefect's test harness in a fresh interpreter and print what
the Prefect API recorded, as JSON. ``tests/flows/test_flow.py`` runs this as a subprocess: Prefect
keeps process-wide clients (its events worker) that other tests' servers would otherwise share.

    python -m tests.flows.harness_run CAMPAIGN_FILE WAREHOUSE
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


async def task_run_names(flow_run_id: str) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    async with get_client() as client:
        runs = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                                           sort=TaskRunSort.EXPECTED_START_TIME_ASC, limit=50)
    return sorted(t.name for t in runs)


def main(campaign_file: str, warehouse: str) -> None:
    from prefect.testing.utilities import prefect_test_harness

    from flows.campaign import campaign

    with prefect_test_harness(server_startup_timeout=120):
        doc = asyncio.run(campaign(campaign_file=campaign_file, environments=["dev", "production"],
                                   stages=["smoke"], warehouse=warehouse, trigger="test"))
        names: list[str] = []
        for _ in range(100):  # task runs reach the API through a background event stream
            names = asyncio.run(task_run_names(doc["flow_run_id"]))
            if len(names) == 2:
                break
            time.sleep(0.2)
        from tests.deploy.conftest import read_artifacts

        artifacts = sorted(a["key"] for a in asyncio.run(read_artifacts(doc["flow_run_id"])) if a.get("key"))
    print(json.dumps({"doc": doc, "task_runs": names, "artifacts": artifacts}, default=str))


if __name__ == "__main__":
    main(*sys.argv[1:])
