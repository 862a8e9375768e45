"""Shards in separate processes (local spawn and a Dask LocalCluster) merge exactly."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.load import histogram as H
from tasks.load.result import merge_shards
from tasks.load.runner import run_local
from tests.load.conftest import simple_plan


def check_exact_merge(results, hits: int) -> None:
    assert all(r.error is None for r in results), [r.error for r in results]
    shard_hists = [H.decode(e.latency) for r in results for e in r.endpoints if e.latency]
    merged = merge_shards(results)
    m = merged.endpoints["_overall"]["_lat"]
    # an independent sum: add the raw count arrays with numpy
    counts = sum(H._counts(h).astype(np.int64) for h in shard_hists)
    assert m.total_count == sum(h.total_count for h in shard_hists) == int(counts.sum()) == hits
    assert np.array_equal(H._counts(m), counts)
    assert m.get_min_value() == min(h.get_min_value() for h in shard_hists)
    assert m.get_max_value() == max(h.get_max_value() for h in shard_hists)
    ref = H.new_histogram()
    H._counts(ref)[:] = counts
    ref.total_count = int(counts.sum())
    for p in (50.0, 90.0, 95.0, 99.0, 99.9, 100.0):
        assert m.get_value_at_percentile(p) == ref.get_value_at_percentile(p)
    assert merged.endpoints["_overall"]["requests"] == hits


def test_local_process_shards_merge_exactly(server):
    plan = simple_plan(server.url, rate=300, duration=1.5)
    results = run_local(plan, 2)
    assert [r.shard for r in results] == [0, 1] and len({r.pid for r in results}) == 2
    assert [r.planned for r in results] == [225, 225]
    check_exact_merge(results, server.hits["/ok"])
    assert server.hits["/ok"] == 450


def test_abort_in_one_shard_stops_all(server):
    from tasks.load.plan import RulePlan

    plan = simple_plan(server.url, rate=100, duration=10.0,
                       rules=(RulePlan("p(50)", "<", 0.0001, abort_on_fail=True, grace=1.0),))
    results = run_local(plan, 2)
    assert all(r.aborted for r in results)
    assert server.hits["/ok"] < 100 * 3


@pytest.mark.slow
def test_dask_local_cluster_shards_merge_exactly(server):
    from distributed import LocalCluster

    from flows.dask_cluster import run_distributed

    plan = simple_plan(server.url, rate=200, duration=1.0)
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        seen = []
        results = run_distributed(plan, 2, address=cluster.scheduler_address, on_result=seen.append)
    assert sorted(r.shard for r in results) == [0, 1] and len(seen) == 2
    assert len({r.pid for r in results}) == 2
    check_exact_merge(results, server.hits["/ok"])
    assert server.hits["/ok"] == 200
