"""The experiment lifecycle end to end on loopback: rollbacks after a failing method and after a
cancellation, recovery time of a fault that stops, the watchdog, the time bound, dry mode."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tasks.chaos import run as chaos_run
from tasks.chaos.run import run_experiment
from tests.chaos.conftest import campaign, context, experiment, spec
from tests.chaos.servers import Backend
from tests.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
ROLLBACK = {"command": [PY, "-c", "open('rolled-back', 'a').write('yes')"], "timeout": "10s"}


def capture_proxies(monkeypatch) -> list:
    started = []
    real = chaos_run.start_proxy

    def start(exp, cc):
        proxy = real(exp, cc)
        started.append(proxy)
        return proxy

    monkeypatch.setattr(chaos_run, "start_proxy", start)
    return started


async def test_a_failing_method_still_removes_its_faults_and_runs_the_rollbacks(backend, tmp_path, monkeypatch):
    proxies = capture_proxies(monkeypatch)
    method = [{"fault": "latency", "params": {"latency_ms": 200}, "duration": "20s", "background": True},
              {"command": ["{python}", "-c", "import sys; sys.exit(3)"]}]
    c = campaign(backend.url, spec(experiment("failing", method, rollbacks=[ROLLBACK])))
    out = await run_experiment(c.chaos.experiments[0], context(c, tmp_path))
    assert out.status == "failed" and "exit code 3" in out.method_error
    assert (tmp_path / "rolled-back").read_text() == "yes"
    fault = next(r for r in out.journal if r.kind == "fault")
    assert fault.status == "cancelled" and fault.detail["removed_by"] == "method failed"
    assert fault.ended_at - fault.started_at < 5  # not the 20 s it asked for
    assert all(w["ended_at"] is not None for w in out.fault_windows)
    assert proxies[0].faults == () and proxies[0].loop.is_closed()
    gates = {g["name"]: g["passed"] for g in out.gates()}
    assert gates == {"failing: steady state before the method": True, "failing: watchdog not tripped": True,
                     "failing: method completed": False, "failing: recovered within 5 s": True,
                     "failing: rollbacks succeeded": True}


async def test_a_cancelled_run_removes_every_fault_and_runs_the_rollbacks(backend, tmp_path, monkeypatch):
    proxies = capture_proxies(monkeypatch)
    events: list = []
    c = campaign(backend.url, spec(experiment(
        "cancelled", [{"fault": "latency", "params": {"latency_ms": 300}, "duration": "20s"}], rollbacks=[ROLLBACK])))
    task = asyncio.ensure_future(run_experiment(c.chaos.experiments[0], context(c, tmp_path, events)))
    deadline = time.monotonic() + 40  # the steady-state window comes first; slow beside a parallel test
    while not any("latency on" in e[1] for e in events) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert proxies and proxies[0].faults, "the fault never became active"
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (tmp_path / "rolled-back").read_text() == "yes"
    assert proxies[0].faults == () and proxies[0].loop.is_closed()


async def test_recovery_time_of_a_dependency_outage_behind_a_circuit_breaker(tmp_path):
    listen = f"127.0.0.1:{free_port()}"
    with Backend() as dependency, Backend(dep=listen, breaker_failures=3, breaker_reset_s=1.5) as service:
        target = {"listen": listen, "upstream": dependency.address}
        c = campaign(service.url, spec(experiment("dep-outage", [{"fault": "outage", "duration": "1s"}],
                                                  endpoints=["dep"], target=target)))
        # the service calls its dependency through the proxy only while the experiment runs
        out = await run_experiment(c.chaos.experiments[0], context(c, tmp_path))
    assert out.status == "passed", out.summary()
    assert out.target == "dependency" and out.upstream == dependency.address
    fault = out.phases["fault"]
    # the breaker answers 503 at once; a request already waiting on the dependency when the outage
    # began may time out instead
    assert fault.error_rate > 0.9 and fault.errors_by_kind.get("status_5xx", 0) >= 0.9 * fault.errors
    assert out.degradation == "graceful"  # the service answers 503 at once, never hangs
    assert out.time_to_detect_s is not None and out.time_to_detect_s <= 1.5
    assert out.recovered and 0 < out.recovery_time_s <= 3.0  # the breaker stays open 1.5 s
    assert 0 < out.score < 100


async def test_the_watchdog_stops_the_experiment_early(backend, tmp_path):
    c = campaign(backend.url, spec(experiment("watched", [{"fault": "outage", "duration": "10s"}],
                                              rollbacks=[ROLLBACK], safeguards={"max_error_rate": 0.5, "for": "1s"})))
    t = time.monotonic()
    out = await run_experiment(c.chaos.experiments[0], context(c, tmp_path))
    assert out.watchdog and "error rate 100% > 50%" in out.watchdog
    assert time.monotonic() - t < 8
    window = out.fault_windows[0]
    assert window["ended_at"] - window["started_at"] < 2.5
    assert out.recovered is None and out.status == "failed"
    assert (tmp_path / "rolled-back").exists()
    assert {g["name"]: g["passed"] for g in out.gates()}["watched: watchdog not tripped"] is False


async def test_the_time_bound_stops_a_method_that_hangs(backend, tmp_path):
    method = [{"fault": "latency", "params": {"latency_ms": 50}, "duration": "1s", "background": True},
              {"command": ["{python}", "-c", "import time; time.sleep(30)"], "timeout": "60s"}]
    c = campaign(backend.url, spec(experiment("bounded", method, rollbacks=[ROLLBACK], time_bound="3.5s")))
    t = time.monotonic()
    out = await run_experiment(c.chaos.experiments[0], context(c, tmp_path))
    assert time.monotonic() - t < 8
    assert out.aborted == "time bound of 3.5s reached" and out.status == "failed"
    command = next(r for r in out.journal if r.kind == "command" and r.phase == "method")
    assert command.status == "cancelled"
    assert (tmp_path / "rolled-back").exists()


async def test_dry_mode_runs_the_probes_only(backend, tmp_path):
    c = campaign(backend.url, spec(experiment("dry", rollbacks=[ROLLBACK], dry_run=True)))
    out = await run_experiment(c.chaos.experiments[0], context(c, tmp_path))
    assert out.dry_run and out.status == "passed" and out.before.passed
    assert out.phases == {} and out.fault_windows == [] and out.journal == []
    assert not (tmp_path / "rolled-back").exists()
    assert [g["name"] for g in out.gates()] == ["dry: steady state before the method"]
    # the whole section can be put in dry mode too
    c = campaign(backend.url, spec(experiment("dry2"), dry_run=True))
    out = await run_experiment(c.chaos.experiments[0], context(c, tmp_path, dry_run=True))
    assert out.dry_run and out.fault_windows == []


async def test_no_fault_is_injected_when_the_steady_state_does_not_hold_before(backend, tmp_path):
    c = campaign(backend.url, spec(experiment("unsteady", tolerances={"p50_ms": 0.001}, rollbacks=[ROLLBACK])))
    out = await run_experiment(c.chaos.experiments[0], context(c, tmp_path))
    assert out.status == "failed" and not out.before.passed and "p50" in out.before.detail
    assert out.fault_windows == [] and out.phases == {} and out.score is None
    assert (tmp_path / "rolled-back").exists()  # rollbacks are always attempted


async def test_a_proxy_that_cannot_listen_is_an_error_and_the_rollbacks_still_run(backend, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        target = {"listen": f"127.0.0.1:{taken.getsockname()[1]}", "upstream": backend.address}
        c = campaign(backend.url, spec(experiment("busy", target=target, rollbacks=[ROLLBACK])))
        out = await run_experiment(c.chaos.experiments[0], context(c, tmp_path))
    assert out.status == "error" and "could not start" in out.error
    assert (tmp_path / "rolled-back").exists()


INTERRUPTED = """
import asyncio, sys
from pathlib import Path
from tasks.chaos.context import ChaosContext
from tasks.chaos.run import run_experiment
from tests.chaos.conftest import campaign, experiment, spec

url, folder = sys.argv[1], Path(sys.argv[2])
method = [{"fault": "latency", "params": {"latency_ms": 300}, "duration": "20s"}]
rollback = {"command": [sys.executable, "-c", "open('rolled-back', 'w').write('yes')"]}
c = campaign(url, spec(experiment("ctrl-c", method, rollbacks=[rollback])))
cc = ChaosContext(campaign=c, spec=c.chaos, env_name="dev", env_kind="dev", base_url=url, allow_hosts=["127.0.0.1"],
                  out_dir=folder, base_dir=folder, emit=lambda kind, message, data: print(message, flush=True))
asyncio.run(run_experiment(c.chaos.experiments[0], cc))
"""


def test_ctrl_c_still_runs_the_rollbacks(backend, tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED, backend.url, str(tmp_path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        for line in proc.stdout:  # type: ignore[union-attr]
            if "latency on" in line or time.monotonic() > deadline:
                break
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "KeyboardInterrupt" in err
    assert (tmp_path / "rolled-back").read_text() == "yes"
