"""Scale figures: requests/s per generator core on 1, 2 and all local shards and on a Dask cluster
started with Dask's CLI; the cluster's overhead (start skew between shards, time to get every shard
ready, merge time for 1,000 shard histograms); requests merged on the cluster against the plan; a
worker killed mid-run; and RSS through a time-compressed hour-long soak of 100 endpoints
(``bench.soak``).

Throughput is the closed model (connections kept busy) against nginx on loopback. On a shared
machine the generators and nginx compete for the same cores, so the comparable figure is
requests per CPU-second the generators themselves used (per core), beside the raw requests/s.

    python -m bench.scale [--quick] [--seconds 8] [--no-soak]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import machine_note, save
from bench.dask_cli import DaskCLICluster
from bench.servers import nginx
from tasks.load import histogram as H
from tasks.load.cluster import ClusterInfo, run_on_dask
from tasks.load.plan import PhasePlan, Plan, ScenarioPlan, StepPlan
from tasks.load.result import EndpointResult, ShardResult, merge_shards
from tasks.load.runner import run_local


def _plan(url: str, *, vus: int | None = None, rate: float | None = None, seconds: float) -> Plan:
    step = StepPlan(name="root", method="GET", path="/")
    if vus is not None:
        phases, model = (PhasePlan("constant-vus", seconds, vus=vus),), "closed"
    else:
        phases, model = (PhasePlan("constant-arrival-rate", seconds, rate=rate or 1.0),), "open"
    return Plan(base_url=url, scenarios=(ScenarioPlan("s", 1, (step,)),), phases=phases, model=model,
                max_connections=2000, graceful_stop=2.0)


def _figures(results: list[ShardResult]) -> dict[str, Any]:
    requests = sum(e.requests for r in results for e in r.endpoints)
    elapsed = max((r.elapsed for r in results), default=0.0)
    cpu_s = sum(r.health.cpu_mean * r.elapsed for r in results)
    starts = [r.started_at for r in results if r.started_at]
    return {"shards": len(results), "requests": requests, "rps": requests / elapsed if elapsed else 0.0,
            "cpu_s": round(cpu_s, 2), "per_core": requests / cpu_s if cpu_s else 0.0,
            "skew_ms": (max(starts) - min(starts)) * 1000 if len(starts) > 1 else 0.0,
            "errors": [r.error for r in results if r.error]}


def throughput(url: str, cluster: DaskCLICluster, seconds: float, vus: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    n_all = os.cpu_count() or 1
    for n in sorted({1, 2, n_all}):
        out[f"local-{n}"] = _figures(run_local(_plan(url, vus=vus * n, seconds=seconds), n))
    info = ClusterInfo()
    out["dask-2"] = _figures(run_on_dask(cluster.address, _plan(url, vus=vus * 2, seconds=seconds), 2, info=info))
    out["dask-2"]["ready_s"] = info.ready_s
    return out


def exact_on_cluster(url: str, cluster: DaskCLICluster, rate: float, seconds: float) -> dict[str, Any]:
    plan = _plan(url, rate=rate, seconds=seconds)
    info = ClusterInfo()
    batches: list[int] = []
    results = run_on_dask(cluster.address, plan, 2, on_batch=lambda k, b: batches.append(k), info=info)
    merged = merge_shards(results)
    return {"planned": int(sum(r.planned or 0 for r in results)), "merged": merged.endpoints["_overall"]["requests"],
            "batches": len(batches), "skew_ms": _figures(results)["skew_ms"], "ready_s": info.ready_s,
            "workers": sorted(set(info.workers.values())), "trustworthy": merged.trustworthy, "reasons": merged.reasons}


def skew(url: str, cluster: DaskCLICluster, rounds: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"local": [], "dask": []}
    for _ in range(rounds):
        out["local"].append(_figures(run_local(_plan(url, rate=200, seconds=1.0), 2))["skew_ms"])
        out["dask"].append(_figures(run_on_dask(cluster.address, _plan(url, rate=200, seconds=1.0), 2))["skew_ms"])
    return out


def worker_kill(url: str, cluster: DaskCLICluster, workdir: Path) -> dict[str, Any]:
    """The load stage on the cluster, one worker SIGKILLed ~3 s into an 8 s run."""
    from campaigns.loader import LoadedCampaign
    from campaigns.model import Campaign
    from tasks.base import RunContext
    from tasks.load.stage import LoadStage
    from warehouse.store import Warehouse

    store = Warehouse(workdir / "kill.duckdb")
    campaign = Campaign.model_validate({
        "campaign": "kill-bench", "team": "perf", "environments": {"dev": {"kind": "dev", "base_url": url}},
        "endpoints": [{"name": "root", "path": "/"}],
        "load": {"phases": [{"duration": 8, "arrival_rate": 1000}], "shards": 2}})
    loaded = LoadedCampaign(path=workdir / "k.yaml", campaign=campaign, sha256="x", text="", feeders={})
    ctx = RunContext(loaded=loaded, env_name="dev", run_id="kill", out_dir=workdir, write_rows=store.write_rows,
                     options={"dask_address": cluster.address})
    killed: list[str] = []

    def killer() -> None:
        time.sleep(4.5)  # ~1.5 s to get ready and start, then ~3 s of load
        address = sorted(cluster.worker_pids())[0]
        cluster.kill_worker(address)
        killed.append(address)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    result = asyncio.run(LoadStage().run(ctx))
    t.join()
    store.record_stage("kill", result)
    s = result.summary
    streamed = store.fetchall("SELECT shard, sum(requests) FROM load_timeseries WHERE run_id = 'kill' AND "
                              "endpoint = '_overall' AND shard >= 0 GROUP BY 1 ORDER BY 1")
    row = store.fetchall("SELECT partial, lost_shards, requests FROM load_runs WHERE run_id = 'kill'")[0]
    cluster.wait_for_workers(2, timeout=60)
    return {"killed": killed, "status": result.status, "error": result.error, "partial": s.get("partial"),
            "merged_requests": s.get("requests"), "survivor_planned": s.get("planned_arrivals"), "planned_total": 8000,
            "streamed_per_shard": dict(streamed), "stored": {"partial": row[0], "lost_shards": row[1],
                                                             "requests": row[2]}}


def merge_time(n_shards: int = 1000, endpoints: int = 10, samples: int = 5000) -> dict[str, Any]:
    """merge_shards over ``n_shards`` results of ``endpoints`` endpoints (histograms as histoblobs)."""
    rng = np.random.default_rng(1)
    blobs = []
    for k in range(50):  # 50 distinct shapes, reused: building 10,000 histograms is not what is timed
        h = H.new_histogram()
        H.record_batch(h, rng.lognormal(7 + k / 50, 0.5, samples).astype(np.int64))
        blobs.append(H.encode(h))
    results = [ShardResult(shard=k, n_shards=n_shards, model="open", elapsed=60.0, planned=samples * endpoints,
                           issued=samples * endpoints, endpoints=[
                               EndpointResult(name=f"e{i}", requests=samples, latency=blobs[(k + i) % 50],
                                              service=blobs[(k * 7 + i) % 50], latency_sum_us=samples * 1000,
                                              service_sum_us=samples * 900) for i in range(endpoints)])
               for k in range(n_shards)]
    t0 = time.perf_counter()
    merged = merge_shards(results)
    full = time.perf_counter() - t0
    t0 = time.perf_counter()
    H.merge(blobs[k % 50] for k in range(n_shards))
    one = time.perf_counter() - t0
    assert merged.endpoints["_overall"]["requests"] == n_shards * endpoints * samples
    return {"shards": n_shards, "endpoints": endpoints, "merge_shards_s": round(full, 3),
            "histograms_merged": n_shards * endpoints * 2, "one_endpoint_1000_histograms_s": round(one, 3)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--vus", type=int, default=50, help="connections per shard (closed model)")
    ap.add_argument("--no-soak", action="store_true")
    args = ap.parse_args(argv)
    seconds = 4.0 if args.quick else args.seconds
    doc: dict[str, Any] = {"machine": machine_note()}
    print(f"scale ({machine_note()})")
    with nginx(cpu=None) as url, DaskCLICluster(nworkers=2, nthreads=1) as cluster, \
            tempfile.TemporaryDirectory(prefix="pc-scale-") as tmp:
        url += "/"
        doc["throughput"] = tp = throughput(url, cluster, seconds, args.vus)
        print(f"\nthroughput, closed model, {args.vus} connections per shard, {seconds:g} s, nginx on the same machine")
        print(f"  {'generators':<12}{'req/s':>10}{'gen CPU-s':>11}{'req/s per core':>16}{'start skew ms':>15}")
        for name, f in tp.items():
            print(f"  {name:<12}{f['rps']:>10.0f}{f['cpu_s']:>11.2f}{f['per_core']:>16.0f}{f['skew_ms']:>15.2f}"
                  + (f"  errors: {f['errors']}" if f["errors"] else ""))
        doc["exact"] = ex = exact_on_cluster(url, cluster, rate=2000, seconds=10.0 if not args.quick else 4.0)
        print(f"\nopen model on the cluster (2 workers started by `dask worker`): requests merged {ex['merged']} of "
              f"{ex['planned']} planned ({'exact' if ex['merged'] == ex['planned'] else 'NOT exact'}); "
              f"{ex['batches']} batches streamed; every shard ready {ex['ready_s']} s after submission; "
              f"start skew {ex['skew_ms']:.2f} ms; trustworthy {ex['trustworthy']} {ex['reasons'] or ''}")
        doc["skew"] = sk = skew(url, cluster, 3 if args.quick else 6)
        for where, values in sk.items():
            print(f"start skew between 2 shards, {where}: median {statistics.median(values):.2f} ms, "
                  f"max {max(values):.2f} ms over {len(values)} runs")
        doc["worker_kill"] = wk = worker_kill(url, cluster, Path(tmp))
        print(f"\nworker killed mid-run ({wk['killed']}): stage {wk['status']}; {wk['error']}")
        print(f"  merged requests {wk['merged_requests']} = the surviving shard's whole share "
              f"({wk['survivor_planned']:.0f} of the {wk['planned_total']} planned); per-second rows streamed per shard "
              f"(the lost one's up to its death) {wk['streamed_per_shard']}; stored {wk['stored']}")
    doc["merge"] = mt = merge_time()
    print(f"\nmerge: {mt['shards']} shard results × {mt['endpoints']} endpoints ({mt['histograms_merged']} histograms) "
          f"in {mt['merge_shards_s']} s; 1,000 histograms of one endpoint in {mt['one_endpoint_1000_histograms_s']} s")
    if not args.no_soak:
        from bench import soak

        print()
        doc["soak"] = {k: {kk: vv for kk, vv in v.items() if kk != "samples"}
                       for k, v in soak.main(["--quick"] if args.quick else []).items()}
    save("scale", doc)
    return doc


if __name__ == "__main__":
    main()
