"""``perfcampaign export k6``: a script k6 accepts, that runs on its own (plain ``k6 run``)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from flows.import_cli import export_group
from tasks.k6.run import find_k6

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "campaigns" / "demo.yaml"


def test_export_writes_a_script_k6_accepts(tmp_path):
    out = tmp_path / "demo.js"
    result = CliRunner().invoke(export_group, ["k6", str(DEMO), "--env", "staging", "-o", str(out)])
    assert result.exit_code == 0, result.output
    inspect = subprocess.run([find_k6(), "inspect", "--execution-requirements", str(out)], capture_output=True,
                             text=True, timeout=60)
    assert inspect.returncode == 0, inspect.stderr
    options = json.loads(inspect.stdout)
    scenario = options["scenarios"]["load"]
    assert scenario["executor"] == "ramping-arrival-rate"
    assert scenario["maxVUs"] == 200                 # staging caps: max_vus 200
    assert options["thresholds"]["http_req_duration{name:product}"] == ["p(95)<200"]
    assert {"threshold": "rate<0.05", "abortOnFail": True, "delayAbortEval": "10s"} in \
        options["thresholds"]["perfcampaign_failed"]
    text = out.read_text()
    assert "http://127.0.0.1:8102" in text and "TestPassword123!" in text   # the synthetic feeder rows travel along


def test_export_to_stdout_and_bad_input(tmp_path):
    result = CliRunner().invoke(export_group, ["k6", str(DEMO)])
    assert result.exit_code == 0 and result.stdout.startswith("// campaign 'demo', environment 'dev'")
    bad_env = CliRunner().invoke(export_group, ["k6", str(DEMO), "--env", "nope"])
    assert bad_env.exit_code == 2 and "unknown environment 'nope'" in bad_env.output
    no_load = tmp_path / "c.yaml"
    no_load.write_text("campaign: c\nteam: t\nenvironments: {dev: {kind: dev, base_url: 'http://127.0.0.1:1'}}\n"
                       "endpoints: [{name: a, path: /a}]\n")
    result = CliRunner().invoke(export_group, ["k6", str(no_load)])
    assert result.exit_code == 2 and "has no load: section" in result.output


@pytest.mark.slow
def test_the_exported_script_runs_with_plain_k6(tmp_path, demo_url):
    out = tmp_path / "demo.js"
    result = CliRunner().invoke(export_group, ["k6", str(DEMO), "--duration-scale", "0.1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PERFCAMPAIGN_BASE_URL": demo_url}
    run = subprocess.run([find_k6(), "run", "--quiet", "--address", "", "--summary-export", str(tmp_path / "s.json"),
                          str(out)], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert run.returncode in (0, 99), run.stderr[-2000:]
    metrics = json.loads((tmp_path / "s.json").read_text())["metrics"]
    assert metrics["http_reqs"]["count"] > 10
    assert metrics["perfcampaign_failed"]["value"] < 0.05        # sign-in, captures, auth in setup() all worked
    assert "http_req_duration{name:product}" in metrics
