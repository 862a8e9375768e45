"""Stopping means stopped (issue 14): signals sent to a real ``perfcampaign run`` process while its
load runs on two shard processes against a loopback server that records every request's arrival.

- SIGTERM / SIGINT: the CLI exits 130 with no traceback, the run is stored ``interrupted`` with the
  load it measured (load_runs, per-second rows), no request reaches the server after stop + 1 s, and
  no process the run started is left;
- SIGKILL: the shards die with it (0 requests after kill + 1 s, no process left), the run stays
  ``running`` until ``perfcampaign runs --repair`` (or the next run's start) marks it ``crashed``;
- the Prefect path (slow: a temporary Prefect server starts): SIGINT is honoured (it was ignored),
  and a SIGKILL leaves no temporary server behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.hostile.processes import ProcessTree
from tests.hostile.servers import HostileServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as s:
        yield s


def _campaign(tmp_path: Path, url: str, extra: str = "") -> Path:
    path = tmp_path / "campaign.yaml"
    path.write_text(f"""
campaign: stop-me
team: qa
environments:
  dev: {{kind: dev, base_url: "{url}"}}
endpoints:
  - {{name: ok, path: /ok, expect: {{fields: [id]}}}}
  - {{name: slow, path: /trickle}}
smoke: {{timeout: 60s}}
load:
  rate: 40
  duration: 60s
  shards: 2
  scenarios: [{{name: browse, steps: [{{endpoint: ok}}]}}]
  thresholds: ["error_rate<100%"]
{extra}""")
    return path


class Run:
    """``perfcampaign run`` in a subprocess, its process tree noted while it runs."""

    def __init__(self, tmp_path: Path, campaign: Path, stages: str, prefect: bool = False):
        self.warehouse = tmp_path / "wh.duckdb"
        env = {**os.environ, "PERFCAMPAIGN_WAREHOUSE": str(self.warehouse), "PYTHONPATH": str(ROOT)}
        env.pop("PREFECT_API_URL", None)
        if prefect:  # a temporary server of its own, given time to start on a busy machine
            env.update(PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180")
        cmd = [sys.executable, "-m", "flows.cli", "run", str(campaign), "--stages", stages, "--json",
               "--warehouse", str(self.warehouse)] + ([] if prefect else ["--no-prefect"])
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.tree = ProcessTree(self.proc.pid)

    def wait_for(self, predicate, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert self.proc.poll() is None, f"the run ended early: {self.proc.communicate()[1][-2000:]}"
            assert time.monotonic() < deadline, "the run never got there"
            self.tree.note()
            time.sleep(0.1)
        self.tree.note()

    def stop(self, sig: int) -> tuple[float, str, str]:
        at = time.time()
        self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            pytest.fail(f"the run did not end 90 s after {signal.Signals(sig).name}")
        return at, out, err

    def left_alive(self, within: float = 5.0) -> list[str]:
        """What the run started that is still alive ``within`` seconds later."""
        return self.tree.alive_within(within)


def _after(server: HostileServer, at: float, path: str = "/ok") -> int:
    time.sleep(1.5)
    return sum(1 for r in server.requests if r.path == path and r.at > at + 1.0)


def _load_flowing(server: HostileServer, n: int = 120):
    return lambda: sum(1 for r in server.requests if r.path == "/ok") >= n


def _rows(warehouse: Path) -> dict[str, object]:
    from warehouse.store import Warehouse

    store = Warehouse(warehouse)
    status = store.fetchall("SELECT status, error FROM runs")
    return {"runs": status,
            "load_runs": store.fetchall("SELECT count(*) FROM load_runs")[0][0],
            "series": store.fetchall("SELECT count(*) FROM load_timeseries")[0][0],
            "stages": dict(store.fetchall("SELECT stage, status FROM stage_results"))}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_load_within_a_second_and_keeps_what_it_measured(tmp_path, server, sig):
    run = Run(tmp_path, _campaign(tmp_path, server.url), "load")
    run.wait_for(_load_flowing(server), timeout=120)
    assert len([p for p in run.tree]) >= 3, "expected the reaper and two shard processes"
    at, out, err = run.stop(sig)
    assert _after(server, at) == 0
    assert run.proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err, err[-3000:]
    assert run.left_alive() == []
    doc = json.loads(out)
    dev = doc["environments"]["dev"]
    assert dev["status"] == "interrupted" and doc["exit_code"] == 130
    assert dev["stages"]["load"]["status"] == "interrupted"
    assert f"interrupted by {signal.Signals(sig).name}" in dev["stages"]["load"]["error"]
    rows = _rows(run.warehouse)
    assert rows["runs"][0][0] == "interrupted" and rows["load_runs"] == 1 and rows["series"] > 0, rows
    requests = dev["stages"]["load"]["summary"]["requests"]
    assert requests >= 100, requests  # what it measured, stored


def test_a_signal_during_a_single_pass_stage_stops_it_and_starts_nothing_more(tmp_path, server):
    """Smoke waits on a target that trickles for 200 s (timeout 60 s): SIGTERM ends it at once."""
    run = Run(tmp_path, _campaign(tmp_path, server.url), "smoke,load")
    run.wait_for(lambda: server.hits("trickle") >= 1, timeout=120)
    at, out, err = run.stop(signal.SIGTERM)
    assert run.proc.returncode == 130 and "Traceback" not in err, err[-2000:]
    dev = json.loads(out)["environments"]["dev"]
    assert dev["stages"]["smoke"]["status"] == "interrupted"
    assert dev["stages"]["load"]["status"] == "skipped"
    assert time.time() - at < 60
    assert _after(server, at) == 0
    assert run.left_alive() == []


def test_sigkill_leaves_no_worker_and_the_run_is_repaired_as_crashed(tmp_path, server):
    run = Run(tmp_path, _campaign(tmp_path, server.url), "load")
    run.wait_for(_load_flowing(server), timeout=120)
    at, _, _ = run.stop(signal.SIGKILL)
    assert _after(server, at) == 0
    assert run.left_alive() == []
    assert _rows(run.warehouse)["runs"][0][0] == "running"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "flows.cli", "runs", "--repair", "--json", "--warehouse",
                          str(run.warehouse)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "1 run(s) marked crashed" in out.stderr
    listed = json.loads(out.stdout)
    assert listed[0]["status"] == "crashed"
    status, error = _rows(run.warehouse)["runs"][0]
    assert status == "crashed" and f"its process {run.proc.pid}" in error and "is gone" in error


def test_a_live_run_is_never_marked_crashed(tmp_path, server):
    """While a run loads, `runs --repair` from another process leaves it running."""
    run = Run(tmp_path, _campaign(tmp_path, server.url), "load")
    run.wait_for(_load_flowing(server, 40), timeout=120)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "flows.cli", "runs", "--repair", "--json", "--warehouse",
                          str(run.warehouse)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert "0 run(s) marked crashed; 1 still running" in out.stderr, out.stderr
    at, _, _ = run.stop(signal.SIGTERM)
    assert _rows(run.warehouse)["runs"][0][0] == "interrupted"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_prefect_path_honours_sigint(tmp_path, server):
    run = Run(tmp_path, _campaign(tmp_path, server.url), "load", prefect=True)
    run.wait_for(_load_flowing(server), timeout=400)
    at, out, err = run.stop(signal.SIGINT)
    assert _after(server, at) == 0
    assert run.proc.returncode == 130, err[-2000:]
    assert json.loads(out)["environments"]["dev"]["status"] == "interrupted"
    assert run.left_alive() == []


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_sigkill_on_the_prefect_path_leaves_no_temporary_server(tmp_path, server):
    run = Run(tmp_path, _campaign(tmp_path, server.url), "load", prefect=True)
    run.wait_for(_load_flowing(server), timeout=400)
    assert any("prefect" in " ".join(psutil.Process(p).cmdline()) for p in run.tree if psutil.pid_exists(p))
    at, _, _ = run.stop(signal.SIGKILL)
    assert _after(server, at) == 0
    assert run.left_alive() == []  # the temporary Prefect server included
