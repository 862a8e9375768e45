"""Load shards on a real Dask cluster started with Dask's own CLI (a scheduler and two worker
processes, as on VMs or Kubernetes): the merge is exact against the plan, shards start together,
rows stream while the load runs, and a worker killed mid-run loses only its shard."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from campaigns.loader import LoadedCampaign
from campaigns.model import Campaign
from tasks.base import RunContext
from tasks.load.cluster import ClusterError, ClusterInfo, run_on_dask
from tasks.load.stage import LoadStage
from tests.load.conftest import simple_plan
from tests.load.test_merge import check_exact_merge
from warehouse.store import Warehouse

pytestmark = pytest.mark.slow


def test_shards_on_the_cluster_start_together_stream_and_merge_exactly(cluster, server):
    plan = simple_plan(server.url, rate=400, duration=3.0)
    batches: list[tuple[int, dict]] = []
    results_seen: list[int] = []
    info = ClusterInfo()

    def on_batch(k, batch):
        assert k not in results_seen, "a shard's batches come before its result"
        batches.append((k, batch))

    results = run_on_dask(cluster.address, plan, 2, on_batch=on_batch,
                          on_result=lambda r: results_seen.append(r.shard), info=info)
    assert [r.shard for r in results] == [0, 1] and sorted(results_seen) == [0, 1]
    # one shard per worker process, both of them started by `dask worker`
    assert len({r.pid for r in results}) == 2 and set(info.workers.values()) == set(cluster.worker_pids())
    check_exact_merge(results, server.hits["/ok"])
    assert server.hits["/ok"] == 1200  # 400/s × 3 s: every planned request, none twice
    # common start: the first sends of the two shards within a few ms of each other
    starts = [r.started_at for r in results]
    assert max(starts) - min(starts) < 0.05, starts
    # streamed: each shard sent its per-second rows in batches while running, kept only the tail
    for k in (0, 1):
        seqs = [b["seq"] for s, b in batches if s == k]
        assert seqs == list(range(1, results[k].batches + 1)) and len(seqs) >= 1
        streamed = sum(r["requests"] for s, b in batches if s == k for r in b["rows"] if r["endpoint"] == "_overall")
        tail = sum(r["requests"] for r in results[k].series if r["endpoint"] == "_overall")
        assert streamed + tail == 600 and len(results[k].series) <= 2 * 3  # the last second or two


def test_too_few_workers_is_refused_before_any_load(cluster, server):
    plan = simple_plan(server.url, rate=10, duration=1.0)
    with pytest.raises(ClusterError, match="worker thread"):
        from tasks.load import cluster as cl

        with cl.connect(cluster.address) as client:
            cl.wait_for_capacity(client, 3, timeout=1.0)
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler"):
        run_on_dask("tcp://127.0.0.1:1", plan, 1)
    assert server.hits["/ok"] == 0


def _context(url: str, address: str, tmp_path: Path, store: Warehouse, rate: int, duration: str) -> RunContext:
    campaign = Campaign.model_validate({
        "campaign": "dist", "team": "t",
        "environments": {"dev": {"kind": "dev", "base_url": url}},
        "endpoints": [{"name": "health", "path": "/ok"}],
        "load": {"rate": rate, "duration": duration, "shards": 2, "dask_address": address,
                 "scenarios": [{"name": "h", "steps": [{"endpoint": "health"}]}]}})
    loaded = LoadedCampaign(path=tmp_path / "c.yaml", campaign=campaign, sha256="x", text="", feeders={})
    return RunContext(loaded=loaded, env_name="dev", run_id="run-kill", out_dir=tmp_path, write_rows=store.write_rows)


async def test_a_worker_killed_mid_run_loses_only_its_shard(cluster, server, tmp_path):
    store = Warehouse(tmp_path / "w.duckdb")
    # the address comes from the campaign's load section; plain Dask (no Prefect flow run here)
    ctx = _context(server.url, cluster.address, tmp_path, store, rate=200, duration="8s")
    killed: dict[str, int] = {}

    def kill_one_worker_mid_run() -> None:
        deadline = time.monotonic() + 120
        while server.hits["/ok"] < 500 and time.monotonic() < deadline:  # ~2.5 s into the load
            time.sleep(0.02)
        address = sorted(cluster.worker_pids())[0]
        killed[address] = cluster.kill_worker(address)

    killer = threading.Thread(target=kill_one_worker_mid_run, daemon=True)
    killer.start()
    result = await LoadStage().run(ctx)
    killer.join(5)
    assert killed, "the worker was not killed"
    (dead,) = killed
    s = result.summary
    # stored as partial: an error of the machinery, with the reason and the other shard's results
    assert result.status == "error" and result.infrastructure_failure
    assert result.error.startswith("partial run: 1 of 2 shards lost")
    lost = s["partial"]["lost_shards"]
    assert len(lost) == 1 and dead in next(iter(lost.values())) and "left the cluster" in next(iter(lost.values()))
    assert s["cluster"]["lost"] == lost and s["partial"]["merged_from"] == 1
    (lost_shard,) = (int(k) for k in lost)
    survivor = 1 - lost_shard
    assert s["requests"] == len(range(survivor, 1600, 2)) == 800  # the survivor's whole share, merged
    # nothing ran twice: Dask re-ran the dead worker's task, the shard's claim refused it
    sent = server.hits["/ok"]
    time.sleep(2.0)
    assert server.hits["/ok"] == sent < 1600
    # the warehouse has the run as partial, both shards' rows, and what the lost shard streamed
    store.record_stage("run-kill", result)  # what the campaign runner does with the stage's result
    with store.connect(read_only=True) as con:
        partial, lost_json, requests = con.execute(
            "SELECT partial, lost_shards, requests FROM load_runs WHERE run_id = 'run-kill'").fetchone()
        assert partial and str(lost_shard) in lost_json and requests == 800
        shards = dict(con.execute("SELECT shard, status FROM load_shards WHERE run_id = 'run-kill'").fetchall())
        assert shards == {survivor: "ok", lost_shard: "failed"}
        streamed = con.execute("SELECT sum(requests), max(second) FROM load_timeseries WHERE run_id = 'run-kill' "
                               "AND shard = ? AND endpoint = '_overall'", [lost_shard]).fetchone()
        assert 0 < streamed[0] < 800 and streamed[1] >= 1  # measured before the kill, kept
    # the nanny restarted the killed worker: the cluster is whole again for the next run
    cluster.wait_for_workers(2, timeout=60)


@pytest.mark.parametrize("prefect", [False, True], ids=["no-prefect", "prefect-flow"])
def test_cli_run_on_the_cluster(cluster, server, tmp_path, cli_env, prefect):
    """``perfcampaign run … --dask-address … --load-shards 2``, as a user runs it, with and without
    Prefect (with: the shards are task runs of Prefect's Dask task runner)."""
    import json
    import subprocess

    path = tmp_path / "c.yaml"
    path.write_text(f"""
version: 1
campaign: dist-cli
team: t
environments:
  dev: {{kind: dev, base_url: "{server.url}"}}
endpoints:
  - {{name: health, path: /ok}}
load:
  phases: [{{duration: 4s, arrival_rate: 250}}]
""")
    args = [str(Path(cli_env["PATH"].split(":")[0]) / "perfcampaign"), "run", str(path), "--stages", "load",
            "--dask-address", cluster.address, "--load-shards", "2", "--json", "-q", "--no-start"]
    if not prefect:
        args.append("--no-prefect")
    # Prefect's temporary server, in its own home; a busy machine can take over its default 20 s to boot it
    env = {**cli_env, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    load = doc["environments"]["dev"]["stages"]["load"]
    assert load["summary"]["requests"] == 1000 == server.hits["/ok"]
    assert load["summary"]["cluster"]["address"] == cluster.address
    assert len(set(load["summary"]["cluster"]["workers"].values())) == 2


def test_abort_on_fail_in_one_shard_stops_the_other(cluster, server):
    """Shard 1 alone meets a slow endpoint (feeder rows interleave across shards); its abort-on-fail
    threshold stops shard 0 too, through the run's stop event on the scheduler."""
    from tasks.load.plan import PhasePlan, Plan, RulePlan, ScenarioPlan, StepPlan

    plan = Plan(base_url=server.url, scenarios=(ScenarioPlan("s", 1, (StepPlan("ep", "GET", "/{{ f.p }}"),)),),
                phases=(PhasePlan("constant-arrival-rate", 20.0, rate=100),),
                feeders={"f": [{"p": "ok"}, {"p": "slow?ms=200"}]}, feeder_order={"f": "sequential"},
                rules=(RulePlan("p(50)", "<", 50, abort_on_fail=True, grace=1.0, source="p(50)<50"),))
    t0 = time.monotonic()
    results = run_on_dask(cluster.address, plan, 2)
    assert time.monotonic() - t0 < 15  # not the planned 20 s
    assert results[1].aborted.startswith("threshold p(50)<50 failed")
    assert results[0].aborted.startswith("stopped"), results[0].aborted
    assert server.hits["/ok"] < 100 * 5 and server.hits["/slow"] > 0


def test_a_shard_stops_when_its_coordinator_goes_silent(cluster, server):
    """The coordinator's heartbeat stops (its process died): the shard stops loading the target."""
    from distributed import Variable

    from tasks.load import cluster as cl

    plan = simple_plan(server.url, rate=50, duration=60.0)
    job = cl.ShardJob(plan, 0, 1, "perfcampaign-load-test-heartbeat", heartbeat_timeout=3.0)
    with cl.connect(cluster.address) as client:
        Variable(f"{job.prefix}-alive", client=client).set(time.time())
        Variable(f"{job.prefix}-start", client=client).set(time.time() + 0.5)
        t0 = time.monotonic()
        result = client.submit(cl.run_cluster_shard, job, pure=False).result(timeout=60)
        for name in ("alive", "start", "claim-0"):
            Variable(f"{job.prefix}-{name}", client=client).delete()
    assert time.monotonic() - t0 < 15
    assert "heartbeat" in result["aborted"], result["aborted"]
