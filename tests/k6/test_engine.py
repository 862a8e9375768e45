"""The load stage on the real k6 binary against the demo service, results in a real DuckDB
warehouse: the same tables and columns as the built-in engine, so trends do not care."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from campaigns.loader import load_campaign
from flows.runner import RunOptions, run_campaign
from tasks.load import histogram as H
from warehouse.store import Warehouse

USERS = "email,password\ntest1@example.com,TestPassword123!\ntest2@example.com,TestPassword123!\n"


def write_campaign(tmp_path: Path, base_url: str, load: dict[str, Any], endpoints: list[dict] | None = None) -> Path:
    doc = {
        "campaign": "k6-demo", "team": "platform",
        "environments": {"dev": {"kind": "dev", "base_url": base_url, "caps": {"max_vus": 50}}},
        "data": {"users": {"file": "users.csv"}},
        "auth": {"request": {"method": "POST", "path": "/auth/sign-in",
                             "json": {"email": "{{ users.email }}", "password": "{{ users.password }}"}},
                 "capture": "$.token"},
        "endpoints": endpoints or [
            {"name": "health", "path": "/health", "expect": {"status": [200], "values": {"status": "ok"}}},
            {"name": "sign-in", "method": "POST", "path": "/auth/sign-in",
             "json": {"email": "{{ users.email }}", "password": "{{ users.password }}"},
             "expect": {"status": [200], "fields": ["token"]}},
            {"name": "wallet", "path": "/wallet/balance", "auth": True, "expect": {"status": [200]}},
            {"name": "list-products", "path": "/api/products?limit=5", "expect": {"fields": ["items[0].id"]}},
            {"name": "product", "path": "/api/products/{id}", "params": {"id": [1, 2, 3]}},
            {"name": "create-order", "method": "POST", "path": "/api/orders", "json": {"product_id": 7, "qty": 1},
             "expect": {"status": [201]}},
        ],
        "load": {"engine": "k6", **load},
    }
    (tmp_path / "users.csv").write_text(USERS)
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


FLOWS = [
    {"name": "browse", "weight": 60, "steps": [
        {"endpoint": "list-products", "capture": {"pid": "$.items[0].id"}},
        {"endpoint": "product", "params": {"id": ["{{ pid }}"]}, "think": "50ms"}]},
    {"name": "buy", "weight": 30, "steps": [
        {"endpoint": "sign-in", "capture": {"token": "$.token"}},
        {"endpoint": "create-order", "json": {"product_id": "{{ $randomInt(1, 20) }}", "qty": 1}},
        {"endpoint": "wallet"}]},
    {"name": "ping", "weight": 10, "steps": [{"endpoint": "health"}]},
]


def run(path: Path, tmp_path: Path, stages=("load",), **stage_options):
    store = Warehouse(tmp_path / "wh.duckdb")
    store.migrate()
    report = asyncio.run(run_campaign(load_campaign(path), store, RunOptions(
        stages=list(stages), trigger="test", start_services=False, out_dir=tmp_path / "runs",
        stage_options=stage_options)))
    return report.environments["dev"], store


def in_process(plan, n, on_result):
    from tasks.load.engine import run_shard

    results = [run_shard(plan, k, n) for k in range(n)]
    for r in results:
        on_result(r)
    return results


@pytest.mark.slow
def test_k6_runs_the_campaign_and_fills_the_same_tables(tmp_path, demo_url):
    load = {"phases": [{"name": "warm-up", "duration": "1s", "arrivalRate": 5, "rampTo": 20},
                       {"name": "sustained", "duration": "2s", "arrivalRate": 20}],
            "timeout": "5s", "scenarios": FLOWS,
            "thresholds": ["p(95)<500", "error_rate<1%", {"metric": "p95", "op": "<", "value": 300,
                                                         "endpoint": "product"},
                           {"threshold": "error_rate<50%", "abortOnFail": True, "delayAbortEval": "10s"}]}
    env, store = run(write_campaign(tmp_path, demo_url, load), tmp_path)
    result = env.results["load"]
    assert result.status == "passed", (result.error, result.summary.get("thresholds"))
    s = result.summary
    assert s["engine"] == "k6" and s["model"] == "open" and s["k6"]["exit_code"] == 0
    assert s["requests"] > 40 and s["errors"] == 0, s["endpoints"]
    assert s["trustworthy"], s["reasons"]
    assert any("coordinated omission" in n for n in s["notes"])
    names = {e["name"] for e in result.endpoints}
    assert names == {"list-products", "product", "sign-in", "create-order", "wallet", "health"}
    assert Path(s["k6"]["script"]).exists()

    run_id = env.run_id
    assert store.fetchall("SELECT engine, model, test_type, shards, trustworthy FROM load_runs WHERE run_id = ?",
                          [run_id]) == [("k6", "open", "load", 1, True)]
    rows = store.fetchall("SELECT endpoint, requests, errors, p95_ms, histogram, method FROM endpoint_metrics "
                          "WHERE run_id = ? AND stage = 'load'", [run_id])
    by = {r[0]: r for r in rows}
    assert set(by) == names | {"_overall"}
    assert by["create-order"][5] == "POST" and by["_overall"][1] == s["requests"]
    for name, (_, requests, _, p95, blob, _) in by.items():
        hist = H.decode(blob)       # the histogram column is filled: percentiles recomputable, mergeable
        assert hist.total_count == requests
        assert H.percentiles(hist, [95.0])[95.0] / 1000 == p95
    series = store.fetchall("SELECT shard, count(*), sum(requests) FROM load_timeseries WHERE run_id = ? "
                            "AND endpoint = '_overall' GROUP BY shard ORDER BY shard", [run_id])
    assert [(shard, total) for shard, _, total in series] == [(-1, s["requests"]), (0, s["requests"])]
    assert series[0][1] >= 3
    assert store.fetchall("SELECT status, n_shards FROM load_shards WHERE run_id = ?", [run_id]) == [("ok", 1)]
    gates = store.fetchall("SELECT gates FROM stage_results WHERE run_id = ? AND stage = 'load'", [run_id])
    assert "p(95){endpoint:product}<300" in gates[0][0]
    # analysis (trends, change points) ran on the k6 run as on any other
    assert env.results["analysis"].status in ("passed", "failed")


@pytest.mark.slow
def test_both_engines_write_the_same_columns(tmp_path, demo_url):
    load = {"rate": 10, "duration": "1s", "scenarios": [FLOWS[2]], "thresholds": ["p(95)<1000"]}
    for sub in ("k6", "builtin"):
        (tmp_path / sub).mkdir()
    k6_env, k6_store = run(write_campaign(tmp_path / "k6", demo_url, load), tmp_path / "k6")
    b_env, b_store = run(write_campaign(tmp_path / "builtin", demo_url, {**load, "engine": "builtin"}),
                         tmp_path / "builtin", load_runner=in_process)
    k6_rows, b_rows = k6_env.results["load"].rows, b_env.results["load"].rows
    # the built-in engine streams its per-second series while it runs (so it is not among the rows
    # returned at the end); k6's arrives with its results: the same table either way
    assert set(k6_rows) - {"load_timeseries"} == set(b_rows) - {"load_timeseries"}
    for table in set(k6_rows) & set(b_rows):
        assert set(k6_rows[table][0]) == set(b_rows[table][0]), table
    assert k6_rows["load_runs"][0]["engine"] == "k6" and b_rows["load_runs"][0]["engine"] == "builtin"
    for store, env in ((k6_store, k6_env), (b_store, b_env)):
        assert store.fetchall("SELECT count(*) FROM load_timeseries WHERE run_id = ?", [env.run_id])[0][0] > 0


@pytest.mark.slow
def test_an_abort_on_fail_threshold_stops_k6(tmp_path, demo_url):
    endpoints = [{"name": "ghost", "path": "/api/does-not-exist"}]
    load = {"rate": 20, "duration": "30s", "thresholds": [
        {"threshold": "error_rate<10%", "abortOnFail": True, "delayAbortEval": "1s"}]}
    env, store = run(write_campaign(tmp_path, demo_url, load, endpoints), tmp_path)
    result = env.results["load"]
    assert result.status == "failed"
    assert result.summary["aborted"].startswith("threshold: k6 stopped the test (abort_on_fail)")
    assert "perfcampaign_failed" in result.summary["aborted"]
    assert result.summary["k6"]["wall_s"] < 20
    assert result.endpoints[0]["errors_by_kind"] == {"status_4xx": result.endpoints[0]["requests"]}
    assert store.fetchall("SELECT aborted IS NOT NULL FROM load_runs WHERE run_id = ?", [env.run_id]) == [(True,)]


@pytest.mark.slow
def test_an_unreachable_target_is_an_infrastructure_error(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]          # closed again below: nothing listens there
    endpoints = [{"name": "health", "path": "/health"}]
    env, _ = run(write_campaign(tmp_path, f"http://127.0.0.1:{port}", {"rate": 5, "duration": "1s"}, endpoints),
                 tmp_path)
    result = env.results["load"]
    assert result.status == "error" and result.infrastructure_failure
    assert "unreachable" in result.error and "connect_refused" in result.error
