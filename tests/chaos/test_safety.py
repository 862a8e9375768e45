"""Done-when: production is refused on every path — the flow's plan, the CLI (exit 2, the JSON
document says refused), the stage, the run functions, the run context, validation, the proxy and
its activation API, the standalone proxy, and the campaign model's references."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from campaigns.chaos import ChaosSpec
from campaigns.loader import load_campaign
from flows.runner import plan_campaign
from tasks.chaos.admin import handle
from tasks.chaos.errors import ChaosRefused, refuse_production
from tasks.chaos.experiment import validate
from tasks.chaos.faults import build
from tasks.chaos.proxy import FaultProxy, ProxyThread
from tasks.chaos.run import run_chaos, run_experiment
from tests.chaos.conftest import campaign, context, experiment, spec

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = """
campaign: refusal
team: t
environments:
  dev: {kind: dev, base_url: "http://127.0.0.1:9"}
  production: {kind: production, base_url: "http://127.0.0.1:9"}
endpoints:
  - {name: ok, path: /ok}
"""


def test_the_cli_refuses_chaos_in_production_with_exit_2_and_says_so_in_json(tmp_path, cli_env):
    path = tmp_path / "c.yaml"
    path.write_text(CAMPAIGN)
    proc = subprocess.run([sys.executable, "-m", "flows.cli", "run", str(path), "--env", "production", "--stages",
                           "chaos", "--json", "--no-prefect", "--no-start"], capture_output=True, text=True,
                          cwd=ROOT, env=cli_env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["status"] == "refused"
    assert doc["environments"]["production"]["stages"]["chaos"] == {
        "stage": "chaos", "status": "refused", "reason": "chaos never runs in a production environment"}


def test_the_flow_plans_chaos_as_refused_in_production(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(CAMPAIGN)
    plans = plan_campaign(load_campaign(path), None, ["chaos"])
    assert [(p.stage, p.action) for p in plans["production"]] == [("chaos", "refused")]
    assert [(p.stage, p.action) for p in plans["dev"]] == [("chaos", "run")]


def test_the_run_functions_and_the_run_context_refuse_production(backend, tmp_path):
    c = campaign(backend.url, spec(experiment("x")), kind="production", stages=["readiness"])
    with pytest.raises(ChaosRefused, match="production"):
        context(c, tmp_path)  # the run context cannot even be built
    sneaky = SimpleNamespace(env_kind="production", env_name="dev", spec=c.chaos, dry_run=False)
    with pytest.raises(ChaosRefused):
        asyncio.run(run_experiment(c.chaos.experiments[0], sneaky))
    with pytest.raises(ChaosRefused):
        asyncio.run(run_chaos(sneaky))
    with pytest.raises(ChaosRefused):
        validate(sneaky)
    assert backend.requests == []  # nothing was sent


def test_the_proxy_and_its_activation_api_refuse_production(backend):
    with pytest.raises(ChaosRefused):
        FaultProxy(backend.address, env_kind="production")
    with pytest.raises(ChaosRefused):
        ProxyThread(backend.address, env_kind="production")
    with ProxyThread(backend.address, env_kind="dev") as proxy:
        proxy.proxy.env_kind = "production"
        with pytest.raises(ChaosRefused):
            proxy.add_fault(build("outage"))
        answer = proxy.call(handle, proxy.proxy, "POST", "/faults", b'{"type": "outage"}')
        assert answer.startswith(b"HTTP/1.1 403") and proxy.faults == ()
    proc = subprocess.run([sys.executable, "-m", "tasks.chaos", "--upstream", backend.address, "--env-kind",
                           "production"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and "chaos never runs in a production environment" in proc.stderr


def test_the_campaign_model_refuses_experiments_aimed_at_production():
    chaos = ChaosSpec.model_validate(spec(experiment("x", environments=["production"])))
    envs = {"production": SimpleNamespace(kind="production")}
    assert chaos.reference_errors(["ok"], envs) == [
        "chaos.experiments[0].environments: 'production' is a production environment: chaos never runs there"]
    assert chaos.for_environment("dev") == []
    for kind in ("production", None, "qa"):
        with pytest.raises(ChaosRefused):
            refuse_production(kind)
    refuse_production("dev")
    refuse_production("staging")
