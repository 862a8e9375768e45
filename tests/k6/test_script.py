"""The k6 script generator (pure): executors from phases, thresholds in k6 syntax, caps, blocked
endpoints, secrets; and the script is one k6 accepts (`k6 inspect`)."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from campaigns.model import Campaign
from tasks.k6.run import find_k6
from tasks.k6.script import K6Unsupported, build_script, threshold, workload
from tasks.load.plan import PhasePlan, Plan, RulePlan, ScenarioPlan, StepPlan


def campaign(load: dict[str, Any], caps: dict[str, Any] | None = None, **extra: Any) -> Campaign:
    env = {"kind": "dev", "base_url": "http://127.0.0.1:9", "headers": {"X-Api-Key": "${env:SHOP_KEY}"}}
    if caps:
        env["caps"] = caps
    return Campaign.model_validate({
        "campaign": "shop", "team": "t", "environments": {"dev": env},
        "endpoints": [{"name": "health", "path": "/health"},
                      {"name": "product", "path": "/api/products/{id}", "params": {"id": [1, 2]},
                       "expect": {"status": [200], "fields": ["name"]}},
                      {"name": "me", "path": "/me", "auth": True}],
        "auth": {"request": {"path": "/sign-in", "json": {"user": "u", "password": "{{ pw }}"}}, "capture": "$.token"},
        "variables": {"pw": "x"},
        "load": {"engine": "k6", **load}, **extra})


def options_of(text: str) -> dict[str, Any]:
    m = re.search(r"export const options = (\{.*?\n\});", text, re.S)
    return json.loads(m.group(1))


def plan(phases, model="open", **kw) -> Plan:
    return Plan(base_url="http://x", scenarios=(ScenarioPlan("s", 1, (StepPlan("a", "GET", "/"),)),),
                phases=tuple(phases), model=model, **kw)


def test_one_constant_phase_is_a_constant_executor():
    w = workload(plan([PhasePlan("constant-arrival-rate", 30, rate=20)], max_connections=50), 5)
    assert w == {"load": {"executor": "constant-arrival-rate", "rate": 20, "duration": "30s", "timeUnit": "1s",
                          "preAllocatedVUs": 10, "maxVUs": 50, "gracefulStop": "5s", "exec": "default"}}
    closed = workload(plan([PhasePlan("constant-vus", 10, vus=4)], model="closed"), 2)
    assert closed["load"]["executor"] == "constant-vus" and closed["load"]["vus"] == 4


def test_phases_replay_as_stages_with_jumps_and_fractional_rates():
    w = workload(plan([PhasePlan("ramping-arrival-rate", 10, rate=5, rate_to=40),
                       PhasePlan("constant-arrival-rate", 20, rate=40),
                       PhasePlan("constant-arrival-rate", 5, rate=2.5)]), 1)["load"]
    assert w["executor"] == "ramping-arrival-rate" and w["timeUnit"] == "10s"   # 2.5/s = 25 per 10s
    assert w["startRate"] == 50
    assert w["stages"] == [{"target": 400, "duration": "10s"}, {"target": 400, "duration": "20s"},
                           {"target": 25, "duration": "0s"}, {"target": 25, "duration": "5s"}]
    vus = workload(plan([PhasePlan("ramping-vus", 10, vus=0, vus_to=10), PhasePlan("constant-vus", 5, vus=10),
                         PhasePlan("ramping-vus", 2.5, vus=10, vus_to=0)], model="closed"), 1)["load"]
    assert vus["executor"] == "ramping-vus" and vus["startVUs"] == 0
    assert vus["stages"] == [{"target": 10, "duration": "10s"}, {"target": 10, "duration": "5s"},
                             {"target": 0, "duration": "2500ms"}]


@pytest.mark.parametrize("rule,expected", [
    (RulePlan("p(95)", "<", 300), ("http_req_duration", "p(95)<300")),
    (RulePlan("mean", "<", 1500), ("http_req_duration", "avg<1500")),
    (RulePlan("p(99.9)", "<=", 900, endpoint="product"), ("http_req_duration{name:product}", "p(99.9)<=900")),
    (RulePlan("error_rate", "<", 0.01), ("perfcampaign_failed", "rate<0.01")),
    (RulePlan("rps", ">=", 50), ("http_reqs", "rate>=50")),
    (RulePlan("error_rate", "<", 0.05, abort_on_fail=True, grace=10),
     ("perfcampaign_failed", {"threshold": "rate<0.05", "abortOnFail": True, "delayAbortEval": "10s"})),
])
def test_thresholds_in_k6_syntax(rule, expected):
    assert threshold(rule) == expected


def test_the_script_from_a_campaign_with_caps_blocked_endpoints_and_secrets(monkeypatch):
    monkeypatch.setenv("SHOP_KEY", "s3cr3t-value")
    c = campaign({"phases": [{"duration": "10s", "arrivalRate": 10, "rampTo": 400}], "max_vus": 500,
                  "scenarios": [{"name": "browse", "weight": 3, "steps": [{"endpoint": "health"}, {"endpoint": "product"}]},
                                {"name": "mine", "weight": 1, "steps": [{"endpoint": "me"}]}],
                  "thresholds": ["p(95)<300", {"threshold": "error_rate<5%", "abortOnFail": True, "delayAbortEval": "2s"},
                                 {"metric": "p99", "op": "<", "value": 50, "endpoint": "health"}]},
                 caps={"max_rps": 100, "max_vus": 20})
    built = build_script(c.load, c, "dev", blocked={"health": "missing (90%)"}, for_run=True)
    text = built.text
    assert "s3cr3t-value" not in text                       # secrets never enter the script
    assert [s.env for s in built.secrets] == ["SHOP_KEY"]
    assert '"X-Api-Key": "${perfcampaign-secret:env_SHOP_KEY}"' in text
    assert '"SHOP_KEY"' in text and "__ENV[" in text
    opts = options_of(text)
    load = opts["scenarios"]["load"]
    # caps: 100 req/s at one step per iteration (health is blocked) → 100 iterations/s; 20 connections
    assert load["executor"] == "ramping-arrival-rate" and load["maxVUs"] == 20
    assert load["stages"] == [{"target": 100, "duration": "10s"}] and load["timeUnit"] == "1s"
    assert built.planned.caps["max_rps"] == {"asked": 400.0, "applied": 100.0, "action": "clamped"}
    assert opts["rps"] == 100 and opts["maxRedirects"] == 0
    assert opts["thresholds"] == {"http_req_duration": ["p(95)<300"],
                                  "perfcampaign_failed": [{"threshold": "rate<0.05", "abortOnFail": True,
                                                           "delayAbortEval": "2s"}]}
    assert built.planned.excluded == {"health": "missing (90%)"}
    assert built.planned.skipped_rules[0]["threshold"] == "p(99){endpoint:health}<50"
    assert '"name": "health"' not in text and '"name": "product"' in text
    # the auth flow runs in setup(), the token reaches steps through a marker, never a literal
    assert built.needs_auth and '"${perfcampaign-secret:AUTH}"' in text and "export function setup()" in text


def test_breakpoint_runs_on_the_builtin_engine_but_exports():
    c = campaign({"test_type": "breakpoint", "rate": 10, "duration": "30s"})
    with pytest.raises(K6Unsupported, match="use engine: builtin"):
        build_script(c.load, c, "dev", for_run=True)
    exported = build_script(c.load, c, "dev", for_run=False)
    assert any("breakpoint" in n for n in exported.notes)
    assert "abortOnFail" in exported.text


def test_k6_accepts_the_script(tmp_path, monkeypatch):
    monkeypatch.delenv("SHOP_KEY", raising=False)
    c = campaign({"vus": 3, "duration": "5s", "think": "100ms"})
    script = tmp_path / "s.js"
    script.write_text(build_script(c.load, c, "dev").text)
    out = subprocess.run([find_k6(), "inspect", "--execution-requirements", str(script)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["scenarios"]["load"]["executor"] == "constant-vus" and doc["scenarios"]["load"]["vus"] == 3
    assert doc["maxRedirects"] == 0
