"""Live progress as a user sees it: ``perfcampaign run`` and ``perfcampaign load`` as subprocesses
against a real service on loopback, their stderr a pipe (plain lines), ``-q`` keeping the summary,
an unreachable target said once per environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.loopback import serve
from tests.shop import create_shop, shop_campaign

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

LOAD = """\
load:
  phases:
    - {name: warm-up, duration: 2s, arrival_rate: 10, ramp_to: 30}
    - {name: sustained, duration: 4s, arrival_rate: 30}
  scenarios:
    - {name: browse, weight: 1, steps: [{endpoint: list-products}, {endpoint: product}]}
  thresholds:
    - "p(95)<5000"
    - "error_rate<5%"
"""


def perfcampaign(*args: str, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=timeout)


@pytest.fixture
def env(tmp_path):
    env = {**os.environ, "PERFCAMPAIGN_WAREHOUSE": str(tmp_path / "w.duckdb"), "PERFCAMPAIGN_PROGRESS_INTERVAL": "1"}
    env.pop("PERFCAMPAIGN_PROGRESS", None)
    return env


@pytest.fixture(scope="module")
def shop():
    with serve(create_shop()) as url:
        yield url


def test_a_campaign_load_shows_its_phases_rate_eta_and_ends_with_the_summary(tmp_path, env, shop):
    file = tmp_path / "shop.yaml"
    file.write_text(shop_campaign(shop, LOAD))
    proc = perfcampaign("run", str(file), "--env", "dev", "--stages", "load", "--no-prefect", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stderr.splitlines()
    load = [line for line in lines if line.startswith("[dev] load")]
    assert "[dev] load      phase 1/2 warm-up: 10→30 iterations/s × 2 requests for 2.0 s" in load
    assert "[dev] load      phase 2/2 sustained: 30 iterations/s × 2 requests for 4.0 s" in load
    assert any(line.startswith("[dev] load      phase 1/2 warm-up done: ") and " req/s, p95 " in line for line in load)
    status = [line for line in load if "left, ETA" in line]
    assert status and all("req/s (target" in line and "p95" in line for line in status)
    assert any("sustained 2/2" in line for line in status)
    assert len(status) <= 10, status            # one a second at most (interval 1 s), not one per shard-second
    assert load[-1].startswith("[dev] load      passed in ")
    # the k6-style summary on stdout: latency distribution and each threshold with ✓
    assert "campaign shop-api: passed (exit code 0)" in proc.stdout
    assert "✓ load ..............." in proc.stdout
    assert "latency ........ avg=" in proc.stdout and "p(95)=" in proc.stdout
    assert "✓ p(95)<5000 ...." in proc.stdout and "✓ error_rate<5% .." in proc.stdout

    quiet = perfcampaign("run", str(file), "--env", "dev", "--stages", "smoke", "--no-prefect", "-q", "--json",
                         env=env)
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert not [line for line in quiet.stderr.splitlines() if line.startswith(("[dev]", "perfcampaign: campaign"))]
    assert "campaign shop-api: passed (exit code 0)" in quiet.stderr      # -q keeps the summary (stderr with --json)
    assert "report: " in quiet.stderr
    assert json.loads(quiet.stdout)["status"] == "passed"


def test_quick_load_shows_the_same_live_view(env, shop):
    proc = subprocess.run([sys.executable, "-c", "from flows.cli import main; main()", "load", f"{shop}/health",
                           "--rate", "40", "--duration", "4s", "--json"], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)                                  # stdout stays one JSON document
    assert doc["requests"] > 100
    lines = proc.stderr.splitlines()
    assert lines[0] == "[quick] load      started"
    assert "[quick] load      phase 1/1 constant-arrival-rate: 40 req/s for 4.0 s" in lines
    status = [line for line in lines if "left, ETA" in line]
    assert status and all("req/s (target 40)" in line for line in status)
    assert lines[-1].startswith("[quick] load      passed in ") and "requests, 0 errors" in lines[-1]


def test_an_unreachable_target_is_one_line_per_environment_not_one_per_endpoint(tmp_path, env):
    endpoints = "\n".join(f"  - {{name: ep-{i}, path: /api/things/{i}}}" for i in range(20))
    file = tmp_path / "far.yaml"
    file.write_text(f"""campaign: far-away
team: payments
environments:
  dev: {{kind: dev, base_url: "http://127.0.0.1:9"}}
  staging: {{kind: staging, base_url: "http://127.0.0.1:9"}}
endpoints:
{endpoints}
""")
    proc = perfcampaign("run", str(file), "--stages", "readiness,smoke", "--no-prefect", "--no-start", env=env)
    assert proc.returncode == 3, proc.stderr
    for name in ("dev", "staging"):
        mine = [line for line in proc.stderr.splitlines() if line.startswith(f"[{name}]")]
        items = [line for line in mine if "ep-" in line]
        assert len(items) == 1 and items[0].startswith(f"[{name}] readiness 20 endpoints: unreachable"), mine
        assert items[0].endswith("(ep-0, ep-1, ep-2, … (+17))")
        assert any("error in" in line and "answered" in line for line in mine), mine
