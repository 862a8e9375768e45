"""The engine against real loopback servers: rate accuracy, coordinated omission, closed model,
chunked bodies and keep-alive, error classification, TLS."""

from __future__ import annotations

from tasks.load import histogram as H
from tasks.load.engine import run_shard
from tasks.load.plan import Expectation, PhasePlan, Plan, ScenarioPlan, StepPlan
from tasks.load.result import endpoint_table, merge_shards
from tests.load.conftest import simple_plan
from tests.load.servers import TestServer, self_signed


def overall(result):
    return endpoint_table(merge_shards([result]))[-1]


def test_open_model_rate_is_accurate(server):
    r = run_shard(simple_plan(server.url, rate=200, duration=3.0))
    o = overall(r)
    assert r.planned == 600
    assert r.issued == 600 and r.dropped == 0
    assert o["requests"] == 600 and o["errors"] == 0
    assert abs(r.achieved_rate - 200) / 200 < 0.02
    assert abs(o["rps"] - 200) / 200 < 0.02
    # (not asserting trustworthiness: on a busy machine the generator rightly flags its own lag)
    assert all("target rate" not in why and "dropped" not in why for why in r.reasons), r.reasons
    assert server.hits["/ok"] == 600


def test_ramping_arrival_rate_counts(server):
    plan = Plan(base_url=server.url, scenarios=(ScenarioPlan("s", 1, (StepPlan("ep", "GET", "/ok"),)),),
                phases=(PhasePlan("ramping-arrival-rate", 2.0, rate=50, rate_to=150),), model="open")
    r = run_shard(plan)
    assert r.planned == 200 and overall(r)["requests"] == 200


def test_coordinated_omission_shows_in_latency_not_in_service_time():
    # the server freezes 300 ms every 1 s; at 200 req/s ~30 % of a cycle's sends meet the freeze
    with TestServer(stall_every=1.0, stall_for=0.3) as srv:
        r = run_shard(simple_plan(srv.url, rate=200, duration=3.0, max_connections=5))
    lat = H.merge([e.latency for e in r.endpoints])
    svc = H.merge([e.service for e in r.endpoints])
    lat_p = H.percentiles(lat, [50.0, 90.0, 99.0])
    svc_p = H.percentiles(svc, [50.0, 90.0, 99.0])
    # from the intended time, the stalls show: sends that arrived during a freeze waited for it
    assert lat_p[99.0] / 1000 > 200, lat_p
    assert lat_p[90.0] / 1000 > 50, lat_p
    # service time (from the actual send) hides most of the stall: that is coordinated omission
    assert svc_p[90.0] < lat_p[90.0] / 2, (svc_p, lat_p)
    assert r.issued == 600 and r.dropped == 0


def test_closed_model_with_think_time(server):
    plan = simple_plan(server.url, vus=4, duration=2.0, think=0.1)
    r = run_shard(plan)
    o = overall(r)
    # each VU: ~1 request per 100 ms think + a fraction of a ms of service → ~20 per VU-second
    # (a loose lower bound: on a busy machine timers fire late, never early)
    assert 4 * 2 * 10 * 0.5 <= o["requests"] <= 4 * 2 * 10 * 1.1, o["requests"]
    assert r.connections_opened <= 4


def test_ramping_vus(server):
    plan = Plan(base_url=server.url, scenarios=(ScenarioPlan("s", 1, (StepPlan("ep", "GET", "/ok"),)),),
                phases=(PhasePlan("ramping-vus", 1.0, vus=0, vus_to=6), PhasePlan("constant-vus", 0.5, vus=6)),
                model="closed", think=0.05)
    r = run_shard(plan)
    assert r.vus_max == 6
    assert overall(r)["requests"] > 50


def test_chunked_bodies_and_keep_alive_reuse(server):
    step = StepPlan("items", "GET", "/chunked", capture=(("first", "$.items[0].id"),),
                    expect=Expectation(fields=("count", "items[49].name"), values=(("count", 50),)))
    plan = Plan(base_url=server.url, scenarios=(ScenarioPlan("s", 1, (step,)),),
                phases=(PhasePlan("constant-vus", 1.0, vus=3),), model="closed")
    r = run_shard(plan)
    o = overall(r)
    assert o["requests"] > 100 and o["errors"] == 0, o
    assert r.connections_opened == 3 and server.connections == 3  # every request reused one of 3


def test_connection_close_is_honoured(server):
    r = run_shard(simple_plan(server.url, "/one-shot", vus=2, duration=0.5))
    o = overall(r)
    assert o["requests"] > 10 and o["errors"] == 0, o
    assert r.connections_opened >= o["requests"] - 2  # a new connection for every request


def test_errors_are_classified(server):
    steps = {"/status/500": "status_5xx", "/status/404": "status_4xx", "/hang": "timeout", "/reset": "reset",
             "/close": "closed", "/garbage": "protocol"}
    for path, kind in steps.items():
        r = run_shard(simple_plan(server.url, path, rate=5, duration=0.6, timeout=0.3, graceful_stop=1.0))
        o = overall(r)
        assert o["requests"] == 3 and o["errors"] == 3, (path, o)
        assert set(o["errors_by_kind"]) == {kind}, (path, o["errors_by_kind"])


def test_connection_refused_is_classified():
    from bench.servers import free_port

    r = run_shard(simple_plan(f"http://127.0.0.1:{free_port()}", rate=10, duration=0.5))
    o = overall(r)
    assert o["requests"] == 5 and o["errors_by_kind"] == {"connect_refused": 5}


def test_expectations_and_statuses(server):
    step = StepPlan("json", "GET", "/json", expect=Expectation(status=(200,), values=(("name", "eight"),)))
    plan = Plan(base_url=server.url, scenarios=(ScenarioPlan("s", 1, (step,)),),
                phases=(PhasePlan("constant-arrival-rate", 0.5, rate=10),), model="open")
    o = overall(run_shard(plan))
    assert o["errors_by_kind"] == {"expect": 5}
    ok404 = StepPlan("missing", "GET", "/nope", expect=Expectation(status=(404,)))
    plan2 = Plan(base_url=server.url, scenarios=(ScenarioPlan("s", 1, (ok404,)),),
                 phases=(PhasePlan("constant-arrival-rate", 0.5, rate=10),), model="open")
    assert overall(run_shard(plan2))["errors"] == 0


def test_tls_against_a_self_signed_server(tmp_path):
    ctx, cert = self_signed(tmp_path)
    with TestServer(tls=ctx) as srv:
        ok = run_shard(simple_plan(srv.url, rate=50, duration=1.0, ca_file=cert))
        bad = run_shard(simple_plan(srv.url, rate=10, duration=0.3))  # not trusting the cert
    o = overall(ok)
    assert o["requests"] == 50 and o["errors"] == 0
    assert ok.connections_opened <= 5
    assert overall(bad)["errors_by_kind"] == {"tls": 3}


def test_unreachable_rate_is_flagged_untrustworthy(server):
    r = run_shard(simple_plan(server.url, rate=200_000, duration=1.0, max_connections=50))
    assert not r.trustworthy
    text = " ".join(r.reasons)
    assert "target rate not reached" in text or "dropped" in text, r.reasons
    assert r.dropped > 0 or r.achieved_rate < 0.95 * 200_000


def test_breakpoint_stops_and_reports_the_last_sustainable_rate(server):
    from tasks.load.plan import BreakpointPlan, RulePlan

    plan = Plan(base_url=server.url, scenarios=(ScenarioPlan("s", 1, (StepPlan("ep", "GET", "/limited?per_second=100"),)),),
                phases=(PhasePlan("ramping-arrival-rate", 6.0, rate=20, rate_to=320),), model="open",
                breakpoint=BreakpointPlan(stop_when=(RulePlan("error_rate", "<", 0.05, source="error_rate<0.05"),),
                                          window=1.0), test_type="breakpoint")
    r = run_shard(plan)
    bp = r.breakpoint
    assert r.aborted and r.aborted.startswith("breakpoint")
    assert bp["broken_rule"] == "error_rate<0.05" and bp["broke_at_rate"] > 100
    assert 30 <= bp["last_sustainable_rate"] <= 150, bp
    assert r.elapsed < 5.5  # stopped before the end of the ramp
