"""`perfcampaign load URL` / `python -m tasks.load URL`: the JSON document and the exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from tasks.load.quick import load_command

ROOT = Path(__file__).resolve().parents[2]


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tasks.load", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)


def test_json_document_open_model(server):
    proc = run_module(f"{server.url}/ok", "--rate", "100", "--duration", "1s", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    assert doc["requests"] == 100 and doc["errors"] == 0
    assert abs(doc["rps"] - 100) < 3
    assert set(doc["latency_ms"]) >= {"p50", "p90", "p95", "p99", "max"}
    assert all(isinstance(doc["latency_ms"][k], float) for k in ("p50", "p90", "p95", "p99", "max"))
    assert doc["model"] == "open" and doc["target_rate"] == 100 and "trustworthy" in doc


def test_closed_model_and_threshold_exit_code(server):
    result = CliRunner().invoke(load_command, [f"{server.url}/ok", "-c", "4", "-d", "1s", "--json",
                                               "--threshold", "p(99)<0.0001"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.output.strip().splitlines()[-1])
    assert doc["model"] == "closed" and doc["requests"] > 0
    assert doc["thresholds"][0]["passed"] is False


def test_bad_input_and_non_loopback_are_refused():
    runner = CliRunner()
    r = runner.invoke(load_command, ["http://10.1.2.3/", "--rate", "5", "-d", "1s"])
    assert r.exit_code == 2 and "not a loopback" in r.output
    r = runner.invoke(load_command, ["http://example.com/", "--rate", "5", "-d", "1s"])
    assert r.exit_code == 2
    r = runner.invoke(load_command, ["http://127.0.0.1:1/", "-d", "1s"])
    assert r.exit_code == 2 and "--rate" in r.output
    r = runner.invoke(load_command, ["http://127.0.0.1:1/", "--rate", "5", "-d", "soon"])
    assert r.exit_code == 2
    r = runner.invoke(load_command, ["http://127.0.0.1:1/", "--rate", "5", "-d", "1s", "--threshold", "p95<<1"])
    assert r.exit_code == 2


def test_unreachable_target_exits_3():
    from bench.servers import free_port

    r = CliRunner().invoke(load_command, [f"http://127.0.0.1:{free_port()}/", "--rate", "5", "-d", "1s", "--json"])
    assert r.exit_code == 3
    assert json.loads(r.output.strip().splitlines()[-1])["exit_code"] == 3
