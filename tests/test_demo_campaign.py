"""The demo campaign end to end, as `perfcampaign run campaigns/demo.yaml --stages readiness,smoke --json`:
the campaign starts the bundled service itself, readiness finds every mock the demo leaves in, and
every real endpoint passes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.loopback import free_port

ROOT = Path(__file__).resolve().parents[1]
MOCKED = {"predict-demand", "students", "student", "register", "notifications"}
MISSING = {"unread-count", "course-progress"}


def demo_copy(tmp_path: Path) -> Path:
    """campaigns/demo.yaml on free ports, so a demo already running on 8101-8103 is not disturbed."""
    text = (ROOT / "campaigns" / "demo.yaml").read_text()
    for port in ("8101", "8102", "8103"):
        text = text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{free_port()}")
    shutil.copytree(ROOT / "campaigns" / "data", tmp_path / "data")
    path = tmp_path / "demo.yaml"
    path.write_text(text)
    return path


def test_demo_readiness_finds_every_mock_and_smoke_passes_every_real_endpoint(tmp_path, cli_env):
    proc = subprocess.run([sys.executable, "-m", "flows.cli", "run", str(demo_copy(tmp_path)), "--env", "dev",
                           "--stages", "readiness,smoke", "--json", "--no-prefect"],
                          capture_output=True, text=True, cwd=ROOT, env=cli_env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    endpoints = doc["environments"]["dev"]["endpoints"]
    verdicts = {name: e["verdict"] for name, e in endpoints.items()}
    assert {n for n, v in verdicts.items() if v == "mock"} == MOCKED, verdicts
    assert {n for n, v in verdicts.items() if v == "missing"} == MISSING, verdicts
    real = set(verdicts) - MOCKED - MISSING
    assert all(verdicts[n] == "real" for n in real), verdicts
    for name in real:
        assert endpoints[name]["smoke"]["passed"], (name, endpoints[name]["smoke"])
        assert endpoints[name]["smoke"]["gating"]
    for name in MOCKED | MISSING:
        assert endpoints[name]["evidence"], name
        assert endpoints[name]["smoke"]["gating"] is False
    blocked = doc["environments"]["dev"]["stages"]["readiness"]["summary"]["blocked"]
    assert set(blocked) == MOCKED | MISSING
