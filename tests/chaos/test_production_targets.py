"""Chaos is refused by target, not only by label: an environment (or a dependency) whose host and
port belong to ANY production environment of the campaign gets no fault and no request, whatever
it is called; the standalone proxy has no default kind and checks the campaign too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from campaigns.loader import load_campaign
from tasks.base import RunContext
from tasks.chaos.errors import ChaosRefused, refuse_production_target, same_target
from tasks.chaos.experiment import validate
from tasks.chaos.proxy import FaultProxy
from tasks.chaos.stage import ChaosStage
from tests.chaos.conftest import context, experiment

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, staging_url: str, production_url: str, target: str = "service") -> Path:
    exp = experiment("latency", target=target if target == "service" else json.loads(target))
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps({
        "campaign": "mislabelled", "team": "t",
        "environments": {"staging": {"kind": "staging", "base_url": staging_url},
                         "production": {"kind": "production", "base_url": production_url}},
        "endpoints": [{"name": "ok", "path": "/ok"}],
        "chaos": {"experiments": [exp]}}))
    return path


@pytest.mark.parametrize("staging, production", [
    ("http://127.0.0.1:{port}", "http://127.0.0.1:{port}"),
    ("http://localhost:{port}", "http://127.0.0.1:{port}"),
    ("http://127.0.0.1:{port}/api/v2", "http://LOCALHOST.:{port}"),
    ("http://[::ffff:127.0.0.1]:{port}", "http://127.0.0.1:{port}"),
])
async def test_a_staging_environment_aimed_at_production_gets_no_chaos(tmp_path, backend, staging, production):
    port = backend.port
    path = write(tmp_path, staging.format(port=port), production.format(port=port))
    loaded = load_campaign(path)
    before = len(backend.requests)
    result = await ChaosStage().run(RunContext(loaded=loaded, env_name="staging", run_id="r", out_dir=tmp_path / "out"))
    assert result.status == "refused", result.summary
    assert "is the target of production environment 'production'" in result.error
    assert result.summary["safety"]["env_kind"] == "staging" and result.summary["safety"]["refused"]
    assert len(backend.requests) == before, "not one probe request may be sent"


async def test_another_port_or_address_is_another_target(tmp_path, backend):
    port = backend.port
    path = write(tmp_path, f"http://127.0.0.1:{port}", f"http://127.0.0.2:{port}")
    result = await ChaosStage().run(RunContext(loaded=load_campaign(path), env_name="staging", run_id="r",
                                               out_dir=tmp_path / "out"))
    assert result.status == "passed", result.summary
    assert result.summary["safety"] == {"env_kind": "staging", "target": f"127.0.0.1:{port}",
                                        "production_targets": [f"127.0.0.2:{port} (production)"],
                                        "allow_writes": True}


def test_a_dependency_upstream_that_is_production_is_a_problem(tmp_path, backend):
    port = backend.port
    target = json.dumps({"listen": f"127.0.0.1:{port + 2}", "upstream": f"127.0.0.1:{port + 1}"})
    path = write(tmp_path, f"http://127.0.0.1:{port}", f"http://localhost:{port + 1}", target)
    c = load_campaign(path).campaign
    problems, _ = validate(context(c, tmp_path, env="staging"))
    assert any("target.upstream" in p and "production environment 'production'" in p for p in problems), problems


def test_the_proxy_refuses_a_production_upstream():
    with pytest.raises(ChaosRefused, match="production environment 'shop-prod'"):
        FaultProxy("localhost:8443", env_kind="staging", production_targets={("127.0.0.1", 8443): "shop-prod"})


def test_same_target_rules():
    assert same_target(("127.0.0.1", 80), ("localhost", 80))
    assert same_target(("0.0.0.0", 80), ("127.0.0.1", 80))
    assert same_target(("::1", 80), ("localhost", 80))
    assert not same_target(("127.0.0.1", 80), ("127.0.0.2", 80))
    assert not same_target(("127.0.0.1", 80), ("127.0.0.1", 81))
    assert not same_target(("shop.example", 443), ("127.0.0.1", 443))
    assert same_target(("Shop.Example.", 443), ("shop.example", 443))
    with pytest.raises(ChaosRefused):
        refuse_production_target(("localhost", 5), {("127.0.0.1", 5): "prod"})


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tasks.chaos", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_the_standalone_proxy_has_no_default_kind():
    proc = run_module("--upstream", "127.0.0.1:9")
    assert proc.returncode == 2 and "--env-kind" in proc.stderr and "no default" in proc.stderr


def test_the_standalone_proxy_checks_the_campaign(tmp_path):
    path = write(tmp_path, "http://localhost:8103", "http://127.0.0.1:8103")
    proc = run_module("--campaign", str(path), "--env", "staging")
    assert proc.returncode == 2 and "is the target of production environment 'production'" in proc.stderr
    proc = run_module("--campaign", str(path), "--env", "production")
    assert proc.returncode == 2 and "chaos never runs in a production environment" in proc.stderr
    proc = run_module("--campaign", str(path), "--env", "staging", "--env-kind", "dev")
    assert proc.returncode == 2 and "contradicts the campaign" in proc.stderr
