"""The verdict rules shared by the report, Slack, the artifacts and JUnit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.document import RunDocument
from tasks.report.summary import fmt_gate_value, fmt_ms, fmt_pct, summarize

DOC = RunDocument.from_json(json.loads((Path(__file__).resolve().parents[1] / "notify" / "run-doc.json").read_text()))


def env(status="passed", gates=(), stages=None, error=None):
    stages = stages or {"smoke": {"stage": "smoke", "status": "passed" if status == "passed" else "failed",
                                  "gates": list(gates), "summary": {}}}
    return {"kind": "dev", "run_id": "r", "status": status, "error": error, "stages": stages}


def gate(name, passed, stage="load", **kw):
    return {"stage": stage, "name": name, "passed": passed, **kw}


def run(**envs) -> RunDocument:
    return RunDocument.from_json({"campaign": "c", "environments": envs})


@pytest.mark.parametrize(("environment", "verdict"), [
    (env(), "passed"),
    (env("failed", [gate("p(95)<300", False, observed=412.0, limit="< 300")]), "failed"),
    (env("failed", [gate("regression p95", False, stage="analysis", endpoint="product")]), "regressed"),
    (env("failed", [gate("regression p95", False, stage="analysis"), gate("smoke x", False, stage="smoke")]), "failed"),
    (env("error", stages={"load": {"stage": "load", "status": "error", "error": "unreachable", "summary": {}}}),
     "error"),
    (env("interrupted"), "interrupted"),
])
def test_verdicts(environment, verdict):
    assert summarize(run(dev=environment)).verdict == verdict


def test_the_worst_environment_is_the_campaigns_verdict():
    s = summarize(DOC)
    assert [e.verdict for e in s.environments] == ["passed", "failed", "passed"]
    assert s.verdict == "failed" and s.headline == "demo: Failed — staging (1 of 3) · numbers in doubt in dev"
    staging = s.environments[1]
    assert staging.brief == ("1 gate failed — p(95)<60 on product: 71.6 ms; product p95 71.6 ms: +31% vs last night "
                             "(p=0.00041, within-run); +35% vs baseline (p=0.0021, between-nights); change point +35% "
                             "since 2026-11-17 (4 nights)")
    assert s.mocked["predict-demand"] == ["dev", "staging", "production"]
    assert s.environments[2].not_run == [("chaos", "refused", "chaos never runs in a production environment")]


def test_numbers_in_doubt_are_said_beside_the_verdict():
    dev = summarize(DOC).environments[0]
    assert dev.verdict == "passed" and dev.attention
    assert dev.doubt == "numbers not trustworthy: event loop stalled for up to 176 ms"
    assert dev.brief == dev.doubt and dev.doubt in dev.reasons
    assert summarize(DOC).environments[2].vs.startswith("no significant regression vs last night or baseline")


def test_error_brief_is_the_error():
    s = summarize(run(dev=env("error", stages={"smoke": {"stage": "smoke", "status": "error",
                                                         "error": "the target was unreachable", "summary": {}}})))
    assert s.environments[0].brief == "the target was unreachable"


def test_formats():
    assert fmt_ms(4.25) == "4.2 ms" and fmt_ms(312.4) == "312 ms" and fmt_ms(12_345) == "12.3 s"
    assert fmt_pct(0.0013) == "0.13%" and fmt_pct(0.05) == "5.0%" and fmt_pct(0.25) == "25%"
    assert fmt_gate_value("error_rate<1%", "< 0.01") == "< 1.0%"
    assert fmt_gate_value("p(95)<300", 412.0) == "412 ms"
    assert fmt_gate_value("breakpoint: last sustainable rate >= 50/s", 61.5) == "61.5/s"
    assert fmt_gate_value("", [200]) == "200"
    # chaos gates: "<experiment>: <decision>", units from the decision, not the experiment's name
    assert fmt_gate_value("http-errors: recovered within 10 s", 2.25) == "2.2 s"
    assert fmt_gate_value("http-errors: recovered within 10 s", "<= 10") == "<= 10.0 s"
    assert fmt_gate_value("latency: resilience score >= 70", 83.0) == "83 / 100"


def test_an_analysis_error_is_reported_not_a_verdict():
    stages = {"smoke": {"stage": "smoke", "status": "passed", "gates": [gate("smoke a", True, stage="smoke")],
                        "summary": {}},
              "analysis": {"stage": "analysis", "status": "error", "error": "LookupError: no run", "summary": {}}}
    s = summarize(run(dev=env("passed", stages=stages)))
    assert s.verdict == "passed" and s.environments[0].reasons == ["the trend analysis failed: LookupError: no run"]
