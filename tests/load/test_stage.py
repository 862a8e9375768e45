"""The load stage end to end against a loopback server: scenarios, captures, feeders, weights,
readiness exclusions, caps, thresholds (abort with grace, zero samples) and warehouse rows."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

import pytest

from campaigns.load import LoadSpec
from campaigns.loader import LoadedCampaign
from campaigns.model import Campaign
from tasks.base import REGISTRY, RunContext
from tasks.load.engine import run_shard
from tasks.load.stage import LoadStage

MIGRATIONS = Path(__file__).resolve().parents[2] / "warehouse" / "migrations"




def campaign(url: str, load: dict[str, Any], caps: dict[str, Any] | None = None) -> Campaign:
    doc = {
        "campaign": "shop", "team": "t",
        "environments": {"dev": {"kind": "dev", "base_url": url, **({"caps": caps} if caps else {})}},
        "endpoints": [
            {"name": "health", "path": "/ok"},
            {"name": "product", "path": "/api/products/{id}", "params": {"id": [1, 2, 3]}},
            {"name": "me", "path": "/me"},
            {"name": "items", "path": "/chunked"},
        ],
        "data": {"users": {"file": "users.csv"}},
        "load": load,
    }
    return Campaign.model_validate(doc)


USERS = [{"email": f"u{i}@example.com", "password": "pw"} for i in range(5)]


def context(c: Campaign, tmp_path: Path, **kw: Any) -> tuple[RunContext, list[dict[str, list]]]:
    written: list[dict[str, list]] = []
    loaded = LoadedCampaign(path=tmp_path / "c.yaml", campaign=c, sha256="x", text="", feeders={"users": USERS})
    ctx = RunContext(loaded=loaded, env_name="dev", run_id="run-1", out_dir=tmp_path,
                     write_rows=lambda rows: written.append(rows), **kw)
    return ctx, written


def in_process(plan, n, on_result):
    results = [run_shard(plan, k, n) for k in range(n)]
    for r in results:
        on_result(r)
    return results


def warehouse(tables: list[dict[str, list]], tmp_path: Path):
    """The real warehouse store (migrations applied): column names must match the DDL."""
    from warehouse.store import Warehouse

    store = Warehouse(tmp_path / "wh.duckdb")
    store.migrate()
    for rows_by_table in tables:
        store.write_rows(rows_by_table)
    assert not store.pending_spool()
    return store


FLOW = {
    "rate": 100, "duration": "2s",
    "scenarios": [
        {"name": "browse", "weight": 70, "steps": [{"endpoint": "health"}, {"endpoint": "product"}]},
        {"name": "account", "weight": 30, "steps": [
            {"name": "sign-in", "request": {"method": "POST", "path": "/auth/sign-in",
                                            "json": {"email": "{{ users.email }}", "password": "{{ users.password }}"}},
             "capture": {"token": "$.token"}},
            {"endpoint": "me", "headers": {"Authorization": "Bearer {{ token }}"}, "expect": {"status": [200]}},
        ]},
        {"name": "never", "weight": 0, "steps": [{"endpoint": "items"}]},
    ],
    "thresholds": ["p(95)<2000", {"metric": "error_rate", "op": "<", "value": 0.01, "endpoint": "me"},
                   "p(95){endpoint:items}<1000"],
}


async def test_stage_runs_weighted_scenarios_with_capture_and_feeder(server, tmp_path):
    assert REGISTRY["load"] is LoadStage
    ctx, written = context(campaign(server.url, FLOW), tmp_path)
    ctx.blocked = {"product": "mock"}
    result = await LoadStage().run(ctx)
    s = result.summary
    # readiness exclusions are left out and reported
    assert s["excluded"] == {"product": "mock"}
    assert server.hits["/api/products/1"] == 0
    assert {e["name"] for e in result.endpoints} == {"health", "sign-in", "me", "items"}
    # weights: 70 / 30 of 200 iterations (the weight-0 scenario never runs)
    signins, health = server.hits["/auth/sign-in"], server.hits["/ok"]
    assert signins + health == 200 and 40 <= signins <= 85, (signins, health)
    assert server.hits["/chunked"] == 0
    # captured token from the sign-in, e-mails from the shared feeder (sequential)
    auths = [x["authorization"] for x in server.seen if x["path"] == "/me"]
    assert auths and all(re.fullmatch(r"Bearer tok-u[0-4]@example\.com", a) for a in auths)
    emails = Counter(x["body"]["email"] for x in server.seen if x["path"] == "/auth/sign-in")
    assert set(emails) == {u["email"] for u in USERS}
    # gates: one per threshold; the one over zero samples fails, never passes silently
    gates = {g.name: g for g in result.gates}
    assert len(gates) == 3
    assert gates["p(95)<2000"].passed and gates["error_rate{endpoint:me}<0.01"].passed
    assert not gates["p(95){endpoint:items}<1000"].passed
    assert "no samples" in gates["p(95){endpoint:items}<1000"].detail
    assert result.status == "failed"
    assert s["target_rate"] is not None and s["achieved_rate"] is not None and "trustworthy" in s
    # the shard's row, its per-second rows and the merged ones (streamed), interval histograms, then
    # the merged totals; all columns exist in the warehouse
    assert {t for w in written for t in w} == {"load_shards", "load_timeseries", "load_histograms"}
    assert "load_timeseries" not in result.rows  # written while the load ran, not again at the end
    store = warehouse(written + [result.rows], tmp_path)
    with store.connect(read_only=True) as con:
        rows = con.execute("select endpoint, requests from endpoint_metrics where stage='load' order by 1").fetchall()
        assert ("_overall", sum(r for _, r in rows if _ != "_overall")) in rows
        run = con.execute("select trustworthy, reasons, thresholds->>'$[0].threshold' from load_runs").fetchall()
        assert len(run) == 1 and run[0][2] == "p(95)<2000"
        kinds = con.execute("select errors_by_kind from endpoint_metrics where endpoint='_overall'").fetchone()[0]
        assert kinds == "{}"
        assert con.execute("select count(*) from load_timeseries where shard = -1").fetchone()[0] > 0
        assert con.execute("select count(*) from load_shards").fetchone()[0] == 1


async def test_caps_are_enforced_by_clamping(server, tmp_path):
    load = {"rate": 500, "duration": "20s", "max_vus": 100, "scenarios": [
        {"name": "h", "steps": [{"endpoint": "health"}]}]}
    ctx, _ = context(campaign(server.url, load, caps={"max_rps": 40, "max_duration": "1s", "max_vus": 5}), tmp_path,
                     options={"load_runner": in_process})
    result = await LoadStage().run(ctx)
    caps = result.summary["caps"]
    assert caps["max_rps"]["action"] == "clamped" and caps["max_rps"]["applied"] == 40
    assert caps["max_duration"]["applied_s"] == 1 and caps["max_vus"]["applied"] == 5
    assert server.hits["/ok"] <= 40 + 1
    assert result.summary["requests"] == server.hits["/ok"]


async def test_if_sends_a_step_only_when_its_variable_is_set(server, tmp_path):
    """Artillery's ifTrue: a guarded step after a capture runs; one whose variable is never set
    sends nothing and counts neither a request nor an error."""
    load = {"rate": 20, "duration": "1s", "scenarios": [{"name": "account", "steps": [
        {"name": "sign-in", "request": {"method": "POST", "path": "/auth/sign-in", "json": {"email": "a@b.c"}},
         "capture": {"token": "$.token"}},
        {"endpoint": "me", "if": "token", "headers": {"Authorization": "Bearer {{ token }}"}},
        {"endpoint": "items", "if": "never_captured"},
        {"endpoint": "health"}]}]}
    ctx, _ = context(campaign(server.url, load), tmp_path, options={"load_runner": in_process})
    result = await LoadStage().run(ctx)
    by_name = {e["name"]: e for e in result.summary["endpoints"]}
    assert by_name["me"]["requests"] == by_name["sign-in"]["requests"] == by_name["health"]["requests"] > 0
    assert "items" not in by_name or by_name["items"]["requests"] == 0
    assert server.hits["/chunked"] == 0 and result.summary["errors"] == 0


async def test_a_send_held_by_the_rate_cap_is_not_the_targets_latency(server, tmp_path):
    """Two-step scenarios at 30 iterations/s ask ~60 req/s of a 40 req/s cap: the cap holds sends
    back, and the held time is counted as throttling, never as the target's latency."""
    load = {"rate": 30, "duration": "2s", "scenarios": [
        {"name": "h", "steps": [{"endpoint": "health"}, {"endpoint": "health"}]}]}
    ctx, _ = context(campaign(server.url, load, caps={"max_rps": 40}), tmp_path, options={"load_runner": in_process})
    result = await LoadStage().run(ctx)
    s = result.summary
    assert s["throttled"] > 0 and s["rps"] <= 40 * 1.1
    # latency from the (capped) intended send stays close to the service time
    assert s["latency_ms"]["p50"] - s["service_ms"]["p50"] < 5, (s["latency_ms"], s["service_ms"])


async def test_abort_on_fail_waits_for_the_grace_period(server, tmp_path):
    load = {"rate": 50, "duration": "8s", "scenarios": [{"name": "h", "steps": [{"endpoint": "health"}]}],
            "thresholds": [{"threshold": "p(50)<0.001", "abortOnFail": True, "delayAbortEval": "1s"}]}
    ctx, _ = context(campaign(server.url, load), tmp_path, options={"load_runner": in_process})
    result = await LoadStage().run(ctx)
    s = result.summary
    assert s["aborted"] and "abort_on_fail" in s["aborted"]
    assert 50 <= s["requests"] <= 50 * 2.5, s["requests"]  # stopped after ~1 s of grace, not 8 s
    assert result.status == "failed" and not result.gates[0].passed


async def test_duration_scale_and_closed_model(server, tmp_path):
    load = {"vus": 3, "duration": "10s", "think": "50ms",
            "scenarios": [{"name": "h", "steps": [{"endpoint": "health"}, {"endpoint": "items", "think": "10ms"}]}]}
    ctx, _ = context(campaign(server.url, load), tmp_path, options={"duration_scale": 0.1, "load_runner": in_process})
    result = await LoadStage().run(ctx)
    assert result.summary["model"] == "closed" and result.summary["profile"][0]["duration_s"] == 1.0
    assert server.hits["/ok"] > 10 and server.hits["/chunked"] > 10
    # default thresholds come from the campaign's quality thresholds when the section names none
    assert any("campaign thresholds" in g.name for g in result.gates)


async def test_no_load_section_skips_and_unknown_endpoint_is_a_campaign_error(server, tmp_path):
    c = campaign(server.url, FLOW)
    c.load = None
    ctx, _ = context(c, tmp_path)
    assert (await LoadStage().run(ctx)).status == "skipped"
    import pydantic

    with pytest.raises(pydantic.ValidationError, match="unknown endpoint 'nope'"):
        campaign(server.url, {"rate": 1, "duration": 1, "scenarios": [{"name": "x", "steps": [{"endpoint": "nope"}]}]})


async def test_dead_target_keeps_partial_results(tmp_path):
    from bench.servers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    load = {"rate": 20, "duration": "1s", "scenarios": [{"name": "h", "steps": [{"endpoint": "health"}]}]}
    ctx, written = context(campaign(url, load), tmp_path, options={"load_runner": in_process})
    result = await LoadStage().run(ctx)
    assert result.status == "error" and result.infrastructure_failure
    assert written and written[0]["load_shards"][0]["requests"] == 20
    assert result.rows["endpoint_metrics"][-1]["errors"] == 20


def test_demo_load_section_example_is_valid():
    root = Path(__file__).resolve().parents[2]
    demo = yaml.safe_load((root / "campaigns" / "demo.yaml").read_text())
    demo["load"] = yaml.safe_load((Path(__file__).parent / "demo_load.yaml").read_text())["load"]
    c = Campaign.model_validate(demo)
    assert c.load.reference_errors([e.name for e in c.endpoints]) == []
