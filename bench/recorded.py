"""Real load runs against the bundled demo service on loopback, recorded for the regression benchmark.

    python -m bench.recorded --runs 20 --knobs 0,3,10 --out bench/data/recorded-runs.json.gz

Each run is a real ``perfcampaign`` load stage (the in-process runner, as ``--no-prefect``) against a
demo service started on a free loopback port; between runs the service's ``/admin/knobs`` sets an
added latency (ms), so the same file holds nights of the service as it is and nights slowed down.
What is kept per run: the knob, the whole-run ``endpoint_metrics`` (HDR-based p50/p95/p99, mean,
error rate, rps), the per-second series of ``load_timeseries`` (merged shards) and whether the
generator vouched for its numbers. ``--burn N`` runs N CPU-bound processes beside the load, as a
busy CI machine would.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "bench" / "data" / "recorded-runs.json.gz"

CAMPAIGN = """\
version: 1
campaign: regress-bench
team: bench
environments:
  dev: {{kind: dev, base_url: "{base_url}"}}
endpoints:
  - {{name: health, path: /health, expect: {{status: [200]}}}}
  - {{name: list-products, path: "/api/products?limit=20", expect: {{status: [200]}}}}
  - {{name: product, path: "/api/products/{{id}}", params: {{id: [1, 2, 3]}}, expect: {{status: [200]}}}}
  - {{name: courses, path: "/api/lms/courses?limit=20", expect: {{status: [200]}}}}
  - {{name: course, path: "/api/lms/courses/{{id}}", params: {{id: [1, 2, 3]}}, expect: {{status: [200]}}}}
load:
  test_type: load
  phases:
    - {{name: warm-up, duration: 2s, arrivalRate: 10, rampTo: {rate}}}
    - {{name: sustained, duration: {duration}s, arrivalRate: {rate}}}
  max_vus: 200
  timeout: 5s
  scenarios:
    - {{name: browse, weight: 60, steps: [{{endpoint: list-products}}, {{endpoint: product}}]}}
    - {{name: learn, weight: 30, steps: [{{endpoint: courses}}, {{endpoint: course}}]}}
    - {{name: ping, weight: 10, steps: [{{endpoint: health}}]}}
  thresholds: ["p(95)<300"]
"""


class DemoService:
    """``python -m demo`` on a free loopback port, stopped on exit."""

    def __init__(self, state: Path):
        self.state = state
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> DemoService:
        self.proc = subprocess.Popen([sys.executable, "-m", "demo", "--port", "0", "--db", str(self.state / "demo.db")],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            self.__exit__()
            raise RuntimeError(f"demo service did not start: {line!r}")
        self.url = match.group(1)
        return self

    def knobs(self, latency_ms: float, jitter_ms: float = 0.0) -> None:
        httpx.put(f"{self.url}/admin/knobs", json={"latency_ms": latency_ms, "jitter_ms": jitter_ms},
                  timeout=5).raise_for_status()

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _burn(stop_at: float) -> None:
    x = 0
    while time.monotonic() < stop_at:
        x = (x * 1103515245 + 12345) % 2**31


def run_once(campaign_file: Path, store: Any) -> str:
    """One real load stage (no Prefect), stored in ``store``; returns the run id."""
    from campaigns.loader import load_campaign
    from flows.runner import RunOptions, run_campaign

    loaded = load_campaign(campaign_file)
    options = RunOptions(environments=["dev"], stages=["load"], trigger="test", start_services=False)
    report = asyncio.run(run_campaign(loaded, store, options))
    return report.environments["dev"].run_id


def export(store: Any, run_id: str, knob: float, burn: int) -> dict[str, Any]:
    """The run as a JSON-able document (what the benchmark resamples)."""
    metrics = store.query("SELECT endpoint, requests, errors, error_rate, rps, mean_ms, p50_ms, p95_ms, p99_ms "
                          "FROM endpoint_metrics WHERE run_id = ? AND stage = 'load'", [run_id]).to_dicts()
    series = store.query("SELECT second, endpoint, requests, errors, p50_ms, p95_ms, p99_ms, loop_lag_ms, "
                         "sched_lag_ms FROM load_timeseries WHERE run_id = ? AND shard = -1 ORDER BY endpoint, second",
                         [run_id])
    load = store.query("SELECT trustworthy, reasons, started_at FROM load_runs WHERE run_id = ?", [run_id]).to_dicts()
    per_second: dict[str, dict[str, list[Any]]] = {}
    for row in series.to_dicts():
        s = per_second.setdefault(row["endpoint"], {k: [] for k in ("second", "requests", "errors", "p50_ms",
                                                                    "p95_ms", "p99_ms", "loop_lag_ms", "sched_lag_ms")})
        for k in s:
            s[k].append(row[k])
    info = load[0] if load else {}
    reasons = info.get("reasons")
    return {"run_id": run_id, "knob_ms": knob, "burn": burn, "trustworthy": bool(info.get("trustworthy", True)),
            "reasons": json.loads(reasons) if isinstance(reasons, str) else (reasons or []),
            "started_at": str(info.get("started_at") or datetime.now(UTC)),
            "metrics": metrics, "per_second": per_second}


def record(runs: int, knobs: list[float], out: Path, *, rate: float, duration: float, burn: int,
           burn_every: int, append: bool) -> list[dict[str, Any]]:
    """``runs`` runs, the knob cycling through ``knobs``; every ``burn_every``-th run has ``burn``
    CPU burners beside it. The service restarts for every run, as it would between nights."""
    from warehouse.store import Warehouse

    done: list[dict[str, Any]] = []
    if append and out.exists():
        done = json.loads(gzip.decompress(out.read_bytes()))
    with tempfile.TemporaryDirectory(prefix="regress-bench-") as tmp:
        store = Warehouse(Path(tmp) / "warehouse.duckdb")
        for i in range(runs):
            knob = knobs[i % len(knobs)]
            burning = burn if (i % burn_every == burn_every - 1) else 0
            with DemoService(Path(tmp)) as demo:
                campaign_file = Path(tmp) / "campaign.yaml"
                campaign_file.write_text(CAMPAIGN.format(base_url=demo.url, rate=rate, duration=duration))
                demo.knobs(knob)
                burners = [multiprocessing.Process(target=_burn, args=(time.monotonic() + duration + 4,))
                           for _ in range(burning)]
                for p in burners:
                    p.start()
                try:
                    run_id = run_once(campaign_file, store)
                finally:
                    for p in burners:
                        p.join()
            doc = export(store, run_id, knob, burning)
            done.append(doc)
            overall = next((m for m in doc["metrics"] if m["endpoint"] == "_overall"), {})
            print(f"run {len(done):3d} knob {knob:5.1f} ms burn {burning}: p50 {overall.get('p50_ms', 0):7.2f} "
                  f"p95 {overall.get('p95_ms', 0):7.2f} p99 {overall.get('p99_ms', 0):7.2f} ms, "
                  f"trustworthy {doc['trustworthy']}", flush=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(gzip.compress(json.dumps(done, default=str).encode()))
    return done


def load_recorded(path: Path = DEFAULT_OUT) -> list[dict[str, Any]]:
    return json.loads(gzip.decompress(path.read_bytes()))


def record_main(argv: list[str] | None = None) -> None:
    """Not ``main``: ``python -m bench`` runs every module's ``main``, and this one records for minutes."""
    parser = argparse.ArgumentParser(prog="python -m bench.recorded", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--knobs", default="0", help="added latency per run, cycled (ms), e.g. 0,3,10")
    parser.add_argument("--rate", type=float, default=60.0, help="iterations per second")
    parser.add_argument("--duration", type=float, default=20.0, help="sustained seconds")
    parser.add_argument("--burn", type=int, default=0, help="CPU-bound processes beside the load")
    parser.add_argument("--burn-every", type=int, default=1, help="burn beside every N-th run only")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--append", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    record(args.runs, [float(k) for k in args.knobs.split(",")], args.out, rate=args.rate,
           duration=args.duration, burn=args.burn, burn_every=args.burn_every, append=args.append)


if __name__ == "__main__":
    record_main()
