"""Stopping means stopped (issue 14): signals sent to a real ``perfcampaign run`` under load, measured.

    flock /work/notes/heavy.lock .venv/bin/python -m bench.stopping            # local + Prefect paths
    .venv/bin/python -m bench.stopping --no-prefect-path --json

Each case is a real ``perfcampaign run --stages load`` (40 iterations/s for 60 s on two shard
processes) against a loopback server that timestamps every request it receives. Once 120 requests
have arrived, the bench sends one signal to the CLI process (as ``kill`` or Ctrl-C would) and
measures, per signal:

* the exit code and the seconds from the signal to the process's exit;
* requests that arrived more than 1 s after the signal (counted 3 s after it; target 0);
* processes of the run's tree (reaper, shards; noted while it ran) still alive 5 s after the
  signal (target 0);
* the run's status in the warehouse — for SIGKILL after ``perfcampaign runs --repair`` (local path)
  or after the next run's start (Prefect path) — and what was kept (load_runs rows, per-second
  rows, requests stored);
* on the Prefect path (a real ``prefect server start`` on loopback, ``PREFECT_API_URL`` set), where a
  run holds its environment's concurrency slot: the seconds until the next run of the SAME
  environment sends its first request, beside a peer run on a free environment measured just
  before (target: no slower than the peer, i.e. no environment left locked).

Targets: 0 requests after a stop + 1 s, 0 processes left, 0 runs left ``running``, 0 environments
left locked.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hostile.processes import ProcessTree  # noqa: E402
from tests.hostile.servers import HostileServer  # noqa: E402

FLOWING_AT = 120          # requests seen before the signal
AFTER_S = 1.0             # "after a stop + 1 s"
LEFT_AFTER_S = 5.0        # processes still alive this long after the signal count as left


def campaign(path: Path, urls: dict[str, str]) -> Path:
    envs = "\n".join(f'  {name}: {{kind: dev, base_url: "{url}"}}' for name, url in urls.items())
    path.write_text(f"""\
campaign: stop-bench
team: qa
environments:
{envs}
endpoints:
  - {{name: ok, path: /ok, expect: {{fields: [id]}}}}
load:
  rate: 40
  duration: 60s
  shards: 2
  scenarios: [{{name: browse, steps: [{{endpoint: ok}}]}}]
  thresholds: ["error_rate<100%"]
""")
    return path


@dataclass
class Case:
    path: str                       # local | prefect
    signal: str
    exit_code: int | None
    exit_s: float | None            # signal → process exit
    before: int                     # requests that had arrived when the signal was sent
    after_stop_1s: int              # requests arriving later than signal + 1 s
    tree: int                       # processes seen in the run's tree
    left_after_5s: int
    status: str | None              # as stored (after repair / the next start for SIGKILL)
    status_before_repair: str | None
    load_runs: int
    series_rows: int
    requests_stored: int | None
    next_run_first_request_s: float | None = None   # Prefect path: the next run of the same environment
    peer_first_request_s: float | None = None       # … and a run on a free environment, just before
    note: str = ""


class Run:
    def __init__(self, cmd: list[str], env: dict[str, str]):
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.started = time.monotonic()
        self.tree = ProcessTree(self.proc.pid)

    def wait_until(self, predicate: Any, timeout: float) -> float:
        """Seconds from the start until ``predicate()``; raises if the run ends or time runs out."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.proc.poll() is not None:
                raise RuntimeError(f"the run ended early (exit {self.proc.returncode}): "
                                   f"{self.proc.communicate()[1][-1500:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the run got nowhere in {timeout:.0f} s")
            self.tree.note()
            time.sleep(0.05)
        self.tree.note()
        return time.monotonic() - self.started

    def stop(self, sig: int, timeout: float = 90) -> tuple[float, float | None, str, str]:
        at = time.time()
        sent = time.monotonic()
        self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=timeout)
            return at, time.monotonic() - sent, out, err
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            return at, None, out, err

    def left_alive(self, at: float) -> int:
        """Processes of the run's tree still alive ``LEFT_AFTER_S`` after the signal sent at ``at``."""
        time.sleep(max(0.0, at + LEFT_AFTER_S - time.time()))
        return len(self.tree.alive())


def _ok_requests(server: HostileServer) -> int:
    return sum(1 for r in server.requests if r.path == "/ok")


def _after(server: HostileServer, at: float) -> int:
    time.sleep(max(0.0, at + 3.0 - time.time()))
    return sum(1 for r in server.requests if r.path == "/ok" and r.at > at + AFTER_S)


def _stored(warehouse: Path) -> tuple[str | None, int, int, int | None]:
    from warehouse.store import Warehouse

    store = Warehouse(warehouse)
    runs = store.fetchall("SELECT run_id, status FROM runs ORDER BY started_at")
    if not runs:
        return None, 0, 0, None
    run_id, status = runs[0]   # the stopped run: the first of its warehouse
    load_runs, requests = store.fetchall("SELECT count(*), sum(requests) FROM load_runs WHERE run_id = ?", [run_id])[0]
    series = store.fetchall("SELECT count(*) FROM load_timeseries WHERE run_id = ?", [run_id])[0][0]
    return status, int(load_runs), int(series), (int(requests) if requests is not None else None)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "flows.cli", *args]


def local_case(sig: int, work: Path) -> Case:
    work.mkdir(parents=True, exist_ok=True)
    warehouse = work / "warehouse.duckdb"
    env = {**os.environ, "PERFCAMPAIGN_WAREHOUSE": str(warehouse), "PYTHONPATH": str(ROOT)}
    env.pop("PREFECT_API_URL", None)
    with HostileServer() as server:
        path = campaign(work / "campaign.yaml", {"dev": server.url})
        run = Run(cli("run", str(path), "--env", "dev", "--stages", "load", "--json", "--no-prefect",
                      "--warehouse", str(warehouse)), env)
        run.wait_until(lambda: _ok_requests(server) >= FLOWING_AT, 120)
        before = _ok_requests(server)
        at, exit_s, _out, _err = run.stop(sig)
        after = _after(server, at)
    left = run.left_alive(at)
    status_before, load_runs, series, requests = _stored(warehouse)
    status, note = status_before, ""
    if sig == signal.SIGKILL:
        repair = subprocess.run(cli("runs", "--repair", "--json", "--warehouse", str(warehouse)), cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
        note = (repair.stderr.strip().splitlines() or [""])[-1][:80]
        status = _stored(warehouse)[0]
    return Case("local", signal.Signals(sig).name, run.proc.returncode, _round(exit_s), before, after, len(run.tree),
                left, status, status_before, load_runs, series, requests, note=note)


def prefect_cases(sigs: list[int], work: Path) -> list[Case]:
    """On a long-lived Prefect server: each signal, then the next run of the same environment."""
    from tests.hostile.prefect_server import RestartableServer

    work.mkdir(parents=True, exist_ok=True)
    server_home = work / "prefect"
    server_home.mkdir(exist_ok=True)
    prefect = RestartableServer(server_home).start()
    cases: list[Case] = []
    try:
        with HostileServer() as target, HostileServer() as free:
            path = campaign(work / "campaign.yaml", {"dev": target.url, "free": free.url})
            for sig in sigs:
                warehouse = work / f"{signal.Signals(sig).name}.duckdb"
                env = prefect.env(PERFCAMPAIGN_WAREHOUSE=str(warehouse), PYTHONPATH=str(ROOT))

                def start(environment: str, store: Path = warehouse) -> Run:
                    return Run(cli("run", str(path), "--env", environment, "--stages", "load", "--json",
                                   "--warehouse", str(store)), {**env, "PERFCAMPAIGN_WAREHOUSE": str(store)})

                run = start("dev")
                seen = _ok_requests(target)   # the target's count goes on across cases
                run.wait_until(lambda: _ok_requests(target) >= seen + FLOWING_AT, 300)
                before = _ok_requests(target) - seen
                at, exit_s, _out, _err = run.stop(sig)
                after = _after(target, at)
                left = run.left_alive(at)
                status_before = _stored(warehouse)[0]
                # a peer on a free environment (what reaching the first request costs here), then the
                # next run of the environment the stopped run held
                peer = start("free", work / f"{signal.Signals(sig).name}-peer.duckdb")
                seen = _ok_requests(free)
                peer_s = peer.wait_until(lambda: _ok_requests(free) > seen, 300)
                peer.stop(signal.SIGTERM)
                nxt = start("dev")
                seen = _ok_requests(target)
                try:
                    next_s: float | None = nxt.wait_until(lambda: _ok_requests(target) > seen, 300)
                    note = ""
                except RuntimeError as exc:
                    next_s, note = None, str(exc)[:80]
                nxt.stop(signal.SIGTERM)
                status, load_runs, series, requests = _stored(warehouse)
                cases.append(Case("prefect", signal.Signals(sig).name, run.proc.returncode, _round(exit_s), before,
                                  after, len(run.tree), left, status, status_before, load_runs, series, requests,
                                  _round(next_s), _round(peer_s), note))
                print(line(cases[-1]), flush=True)
    finally:
        prefect.stop()
    return cases


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def line(c: Case) -> str:
    slot = ("" if c.next_run_first_request_s is None and c.path == "local" else
            f"  next run of the env: first request {c.next_run_first_request_s} s (peer on a free env "
            f"{c.peer_first_request_s} s)")
    kept = f"kept {c.load_runs} load run(s), {c.series_rows} per-second rows, {c.requests_stored} requests"
    shown = c.status if c.status == c.status_before_repair else f"{c.status_before_repair} → {c.status}"
    exit_s = "no exit in 90 s" if c.exit_s is None else f"{c.exit_s:5.2f} s"
    return (f"{c.path:<8} {c.signal:<8} exit {c.exit_code!s:>4} after {exit_s}  requests after stop+1s "
            f"{c.after_stop_1s} (of {c.before} before)  processes left {c.left_after_5s}/{c.tree}  "
            f"status {shown}  {kept}{slot}" + (f"  [{c.note}]" if c.note else ""))


def summary(cases: list[Case]) -> None:
    print(f"\n{len(cases)} stops: requests after stop + 1 s: {sum(c.after_stop_1s for c in cases)} (target 0); "
          f"processes left after {LEFT_AFTER_S:g} s: {sum(c.left_after_5s for c in cases)} (target 0); "
          f"runs left running: {sum(c.status == 'running' for c in cases)} (target 0)")
    slots = [c for c in cases if c.path == "prefect"]
    if slots:
        locked = [c for c in slots if c.next_run_first_request_s is None
                  or c.next_run_first_request_s > (c.peer_first_request_s or 0) + 15]
        print("  environments left locked (the next run of the environment not started within its peer's time "
              f"+ 15 s): {len(locked)} of {len(slots)} (target 0)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.stopping", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-prefect-path", action="store_true", help="only the local (--no-prefect) path")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="perfcampaign-stopping-"))
    cases = []
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
        cases.append(local_case(sig, work / f"local-{signal.Signals(sig).name}"))
        print(line(cases[-1]), flush=True)
    if not args.no_prefect_path:
        cases += prefect_cases([signal.SIGINT, signal.SIGKILL], work / "prefect")
    if args.json:
        print(json.dumps([asdict(c) for c in cases], indent=2))
    else:
        summary(cases)
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
