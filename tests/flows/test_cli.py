"""Every exit code of ``perfcampaign``, as a user meets them: a real subprocess, real HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.loopback import free_port
from tests.shop import shop_campaign

ROOT = Path(__file__).resolve().parents[2]


def perfcampaign(*args: str, env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=timeout)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "campaign.yaml"
    path.write_text(text)
    return str(path)


def test_exit_0_when_every_gate_passes_and_json_is_the_last_document(tmp_path, shop_url, cli_env):
    file = write(tmp_path, shop_campaign(shop_url))
    proc = perfcampaign("run", file, "--env", "dev", "--stages", "smoke", "--json", "--no-prefect", env=cli_env)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["status"] == "passed" and doc["exit_code"] == 0
    dev = doc["environments"]["dev"]
    assert dev["run_id"] == doc["run_ids"]["dev"]
    assert dev["stages"]["smoke"]["status"] == "passed"
    assert dev["endpoints"]["create-order"]["smoke"]["status_code"] == 201
    assert "[dev] smoke" in proc.stderr  # live progress went to stderr, not into the JSON


def test_exit_1_when_a_gate_fails(tmp_path, shop_url, cli_env):
    extra = "  - {name: gone, path: /api/products/999, expect: {status: [200]}}\n"
    proc = perfcampaign("run", write(tmp_path, shop_campaign(shop_url, extra)), "--env", "dev", "--stages", "smoke",
                        "--no-prefect", "-q", env=cli_env)
    assert proc.returncode == 1, proc.stderr


def test_exit_2_for_a_broken_file_with_one_line_naming_file_and_line(tmp_path, cli_env):
    file = write(tmp_path, shop_campaign("http://127.0.0.1:1").replace("kind: dev", "kind: develop"))
    proc = perfcampaign("run", file, env=cli_env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == [f"error: {file}:4: environments.dev.kind: Input should be 'dev', 'staging' or 'production'"]
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert perfcampaign("validate", file, env=cli_env).returncode == 2


def test_exit_2_for_unknown_environment_stage_or_missing_file(tmp_path, cli_env):
    file = write(tmp_path, shop_campaign("http://127.0.0.1:1"))
    proc = perfcampaign("run", file, "--env", "qa", env=cli_env)
    assert proc.returncode == 2 and "unknown environment 'qa' (the campaign has: dev, production)" in proc.stderr
    proc = perfcampaign("run", file, "--stages", "smoke,fuzz", env=cli_env)
    assert proc.returncode == 2 and "unknown stage 'fuzz'" in proc.stderr
    proc = perfcampaign("run", str(tmp_path / "nope.yaml"), env=cli_env)
    assert proc.returncode == 2 and "nope.yaml: cannot read file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_exit_2_when_chaos_is_asked_of_production_and_the_document_says_refused(tmp_path, shop_url, cli_env):
    file = write(tmp_path, shop_campaign(shop_url))
    proc = perfcampaign("run", file, "--env", "production", "--stages", "chaos", "--json", "--no-prefect",
                        env=cli_env)
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    chaos = doc["environments"]["production"]["stages"]["chaos"]
    assert chaos == {"stage": "chaos", "status": "refused", "reason": "chaos never runs in a production environment"}


def test_exit_3_when_the_target_is_unreachable_and_the_run_is_still_stored(tmp_path, cli_env):
    file = write(tmp_path, shop_campaign(f"http://127.0.0.1:{free_port()}"))
    proc = perfcampaign("run", file, "--env", "dev", "--stages", "smoke", "--json", "--no-prefect", env=cli_env)
    assert proc.returncode == 3, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["environments"]["dev"]["status"] == "error"
    runs = perfcampaign("runs", "--json", env=cli_env)
    assert json.loads(runs.stdout)[0]["status"] == "error"


def test_exit_3_when_the_service_cannot_start(tmp_path, cli_env):
    port = free_port()
    text = shop_campaign(f"http://127.0.0.1:{port}").replace(
        '  dev: {kind: dev, base_url: "http://127.0.0.1:%d"}' % port,
        '  dev: {kind: dev, base_url: "http://127.0.0.1:%d", service: {command: ["{python}", "-c", '
        '"import sys; print(\'boom\'); sys.exit(4)"], start_timeout: 10s}}' % port)
    proc = perfcampaign("run", write(tmp_path, text), "--env", "dev", "--stages", "smoke", "--no-prefect", env=cli_env)
    assert proc.returncode == 3
    assert "exited with code 4" in proc.stderr and "boom" in proc.stderr


@pytest.mark.slow
def test_run_through_prefect_records_the_flow_run(tmp_path, shop_url, cli_env):
    file = write(tmp_path, shop_campaign(shop_url))
    proc = perfcampaign("run", file, "--env", "dev", "--stages", "smoke", "--json", env=cli_env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    assert doc["flow_run_id"]
    runs = json.loads(perfcampaign("runs", "--json", env=cli_env).stdout)
    assert runs[0]["flow_run_id"] == doc["flow_run_id"]


def test_two_campaigns_at_once_from_two_processes_lose_no_rows(tmp_path, shop_url, cli_env):
    files = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        files.append(write(folder, shop_campaign(shop_url).replace("campaign: shop-api", f"campaign: shop-{name}")))
    procs = [subprocess.Popen([sys.executable, "-m", "flows.cli", "run", f, "--stages", "smoke", "--no-prefect", "-q"],
                              cwd=ROOT, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for f in files]
    assert [p.wait(180) for p in procs] == [0, 0]
    from warehouse.store import Warehouse

    store = Warehouse(cli_env["PERFCAMPAIGN_WAREHOUSE"])
    assert store.fetchall("SELECT campaign, count(*) FROM runs GROUP BY 1 ORDER BY 1") == [
        ("shop-one", 2), ("shop-two", 2)]
    # dev gets 3 smoke checks, production 2 (no writes): 5 per campaign
    assert store.fetchall("SELECT count(*) FROM smoke_checks") == [(10,)]
