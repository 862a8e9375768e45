"""The whole Prefect path on a real server: ``prefect deploy --all`` of the project's prefect.yaml, a
run of the ad-hoc deployment through a process worker, and the run's artifacts read back.

The project is copied to a temporary folder (PERFCAMPAIGN_HOME, first on PYTHONPATH) so the worker's
flow run imports the copy. Until the flow publishes the report and the artifacts itself, the copy
gets the integration lines proposed for ``flows/campaign.py`` and ``flows/runner.py`` (the same
text as in the hand-over; a no-op once they are in)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.loopback import serve
from tests.shop import create_shop, shop_campaign

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

def copy_project(target: Path) -> Path:
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(
        ".venv", ".git", ".perfcampaign", "__pycache__", ".pytest_cache", "*.duckdb*", "results"))
    return target


def deploy(server, project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``prefect deploy --all``, exactly as the README tells a user to run it."""
    done = server.run("deploy", "--all", "--no-prompt", cwd=project, check=False, timeout=180, **env)
    assert done.returncode == 0, f"prefect deploy failed:\n{done.stdout}\n{done.stderr}"
    return done


def api(server, method: str, path: str, **kwargs) -> httpx.Response:
    response = httpx.request(method, server.api_url + path, timeout=20, **kwargs)
    response.raise_for_status()
    return response


def test_deploy_run_through_a_worker_and_read_the_artifacts(prefect_server, tmp_path):
    started = time.monotonic()
    project = copy_project(tmp_path / "project")
    warehouse = tmp_path / "state" / "warehouse.duckdb"
    env = {"PERFCAMPAIGN_HOME": str(project), "PYTHONPATH": str(project), "PERFCAMPAIGN_WAREHOUSE": str(warehouse),
           "PREFECT_LOGGING_LEVEL": "INFO"}

    pool = prefect_server.run("work-pool", "create", "perfcampaign", "--type", "process", check=False, **env)
    assert pool.returncode == 0 or "already exists" in pool.stdout + pool.stderr, pool.stdout + pool.stderr
    result = deploy(prefect_server, project, env)
    names = set(re.findall(r"Deployment 'campaign/([a-z0-9-]+)' successfully", result.stdout.replace("\n", " ")))
    assert names >= {"demo-dev-nightly", "demo-staging-nightly", "demo-production-nightly", "campaign-adhoc",
                     "demo-adhoc"}, \
        result.stdout

    nightly = api(prefect_server, "GET", "/deployments/name/campaign/demo-staging-nightly").json()
    [schedule] = nightly["schedules"]
    assert schedule["schedule"]["cron"] == "30 1 * * *" and schedule["schedule"]["timezone"] == "Europe/London"
    assert schedule["slug"] == "demo-staging-nightly" and schedule["parameters"]["environments"] == ["staging"]
    assert nightly["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"
    assert nightly["global_concurrency_limit"]["limit"] == 1
    assert nightly["pull_steps"] == [{"prefect.deployments.steps.set_working_directory":
                                      {"directory": str(project)}}]
    adhoc = api(prefect_server, "GET", "/deployments/name/campaign/campaign-adhoc").json()
    form = adhoc["parameter_openapi_schema"]
    assert {"campaign_file", "environments", "stages", "test_type"} <= set(form["properties"])
    assert "load" in form["properties"]["test_type"]["enum"] and "chaos" in form["properties"]["stages"]["items"]["enum"]
    demo = api(prefect_server, "GET", "/deployments/name/campaign/demo-adhoc").json()["parameter_openapi_schema"]
    assert demo["properties"]["environments"]["items"]["enum"] == ["dev", "staging", "production"]

    with serve(create_shop()) as shop:
        campaign_file = tmp_path / "shop.yaml"
        campaign_file.write_text(shop_campaign(shop))
        run = prefect_server.run(
            "deployment", "run", "campaign/campaign-adhoc", "--param", f"campaign_file={campaign_file}",
            "--param", 'environments=["dev"]', "--param", 'stages=["smoke"]',
            "--param", 'outputs={"pngs": true}', **env)  # no Slack channel: summary.png only when asked
        flow_run_id = re.search(r"UUID: ([0-9a-f-]{36})", run.stdout).group(1)
        worker = prefect_server.run("worker", "start", "--pool", "perfcampaign", "--work-queue", "adhoc", "--type",
                                    "process", "--run-once", timeout=240, **env)
    state = api(prefect_server, "GET", f"/flow_runs/{flow_run_id}").json()["state"]
    assert state["type"] == "COMPLETED", f"{state}\n{worker.stdout[-4000:]}\n{worker.stderr[-4000:]}"

    from tests.deploy.conftest import read_artifacts
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: prefect_server.api_url}):
        artifacts = {a["key"]: a for a in asyncio.run(read_artifacts(flow_run_id))}
    assert {"shop-api-summary", "shop-api-endpoint-metrics", "shop-api-progress"} <= set(artifacts)
    assert artifacts["shop-api-progress"]["data"] == 100.0          # the run's progress, complete
    assert "shop-api-report" not in artifacts                         # no link: nothing serves the report
    assert artifacts["shop-api-summary"]["data"].startswith("# shop-api: Passed")
    table = artifacts["shop-api-endpoint-metrics"]["data"]
    rows = json.loads(table) if isinstance(table, str) else table
    assert {r["endpoint"] for r in rows} == {"list-products", "product", "create-order"}
    html = next(Path(warehouse).parent.glob("reports/shop-api/*/report.html"))
    assert html.exists() and "shop-api" in html.read_text()[:20000]
    assert (html.parent / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    from warehouse.store import Warehouse

    rows = Warehouse(warehouse).fetchall("SELECT environment, status, trigger, flow_run_id FROM runs")
    assert rows == [("dev", "passed", "manual", flow_run_id)]     # a deployment run nobody scheduled: manual
    limit = api(prefect_server, "GET", "/v2/concurrency_limits/perfcampaign-env-shop-api-dev").json()
    assert limit["limit"] == 1 and limit["active_slots"] == 0          # taken by the run, given back
    print(f"\ndeploy → worker → artifacts in {time.monotonic() - started:.0f} s")
