"""API journeys over real HTTP: sign in, capture the token, reuse it, skip on ifTrue, expectations."""

from __future__ import annotations

import asyncio

from tasks.e2e.stage import E2EStage
from tests.e2e.conftest import make_context
from tests.e2e.pages import pages_campaign

JOURNEYS = """\
  options: {slow_threshold_ms: 5000}
  api_journeys:
    - name: wrong-password
      steps:
        - endpoint: sign-in
          json: {email: ada@shop.test, password: nope}
          capture: {token: $.token}
          expect: {status: [200, 401]}
        - endpoint: profile
          if: token
          headers: {Authorization: "Bearer {{ token }}"}
        - {name: anonymous, method: GET, path: /api/products, if: "!token", expect: {fields: ["items[0].id"]}}
    - name: shopper
      steps:
        - {endpoint: sign-in, capture: {token: $.token}, capture_headers: {session: X-Session-Id}}
        - endpoint: profile
          if: token
          headers: {Authorization: "Bearer {{ token }}", X-Session: "{{ session }}"}
          expect: {status: [200], values: {name: Ada}, max_latency_ms: 4000}
        - {endpoint: products, capture: {product: "items[1].id"}}
        - {think: 50ms}
        - {endpoint: order, json: {product_id: "{{ product }}"}, capture: {order: $.id}}
        - {method: GET, path: "/api/products?limit={{ order }}", expect: {values: {"items[6].id": 7}}}
    - name: broken
      steps:
        - {endpoint: profile, headers: {Authorization: "Bearer {{ $env.PERFCAMPAIGN_TEST_NEVER_SET }}"}}
        - {endpoint: products, expect: {status: [200], values: {"items[0].name": Gadget}}}
        - {endpoint: unread-count}
    - name: carry-on
      continue_on_failure: true
      steps:
        - {endpoint: products, expect: {values: {"items[0].name": Gadget}}}
        - {endpoint: unread-count, expect: {status: [200, 404]}}
        - {endpoint: sign-in, capture: {missing: $.nothing}}
"""


def test_sign_in_capture_reuse_and_if_true(tmp_path, pages_url):
    ctx = make_context(tmp_path, pages_campaign(pages_url, JOURNEYS))
    result = asyncio.run(E2EStage().run(ctx))
    journeys = {j["name"]: j for j in result.summary["journeys"]}

    wrong = journeys["wrong-password"]
    assert wrong["status"] == "passed"
    assert [s["outcome"] for s in wrong["steps"]] == ["passed", "skipped", "passed"]
    assert wrong["steps"][0]["status_code"] == 401 and "captured" not in wrong["steps"][0]
    assert wrong["steps"][1]["reason"] == "if token: condition not met"

    shopper = journeys["shopper"]
    assert shopper["status"] == "passed", shopper["error"]
    steps = shopper["steps"]
    assert [s["action"] for s in steps] == ["request", "request", "request", "think", "request", "request"]
    assert steps[0]["captured"] == ["token", "session"]
    assert steps[1]["target"] == "GET /api/profile" and steps[1]["status_code"] == 200
    assert steps[3]["duration_ms"] == 50.0
    assert steps[4]["status_code"] == 201 and steps[4]["target"] == "POST /api/orders"
    assert steps[5]["url"].endswith("/api/products?limit=7") and steps[5]["endpoint"] == "products"
    assert all(s["duration_ms"] > 0 for s in steps)

    broken = journeys["broken"]
    assert broken["status"] == "failed"
    assert [s["outcome"] for s in broken["steps"]] == ["failed", "skipped", "skipped"]
    # a secret that is missing mid-run fails its request with a clear message (an undefined variable is
    # found before the run: see test_an_undefined_variable_is_found_before_the_run)
    assert broken["steps"][0]["failures"] == ["environment variable PERFCAMPAIGN_TEST_NEVER_SET is not set "
                                              "(referenced as {{ $env.PERFCAMPAIGN_TEST_NEVER_SET }})"]

    carry = journeys["carry-on"]
    assert [s["outcome"] for s in carry["steps"]] == ["failed", "passed", "failed"]
    assert carry["steps"][0]["failures"] == ["JSON field items[0].name is 'Widget 1', expected 'Gadget'"]
    assert carry["steps"][2]["failures"] == ["capture missing: no value at $.nothing"]
    assert carry["friction"] == []  # 404 was expected there: not a missing API

    gates = {g.name: g.passed for g in result.gates}
    assert gates == {"journey wrong-password": True, "journey shopper": True, "journey broken": False,
                     "journey carry-on": False}
    steps_rows = [r for r in result.rows["journey_steps"] if r["journey"] == "shopper"]
    assert [r["step_index"] for r in steps_rows] == [1, 2, 3, 4, 5, 6]
    assert {r["journey"]: r["status"] for r in result.rows["journeys"]}["shopper"] == "passed"
    endpoints = {e["name"]: e for e in result.endpoints}
    assert endpoints["profile"]["status_codes"] == {"200": 1} and endpoints["profile"]["journeys"] == ["shopper"]
    assert endpoints["sign-in"]["status_codes"] == {"401": 1, "200": 2}
    assert "Bearer" not in str(result.rows)  # headers and captured values are never stored


def test_known_gaps_do_not_fail_a_journey_and_production_gets_no_writes(tmp_path, pages_url):
    e2e = """\
  api_journeys:
    - name: inbox
      steps:
        - {endpoint: unread-count}
        - {endpoint: order}
        - {endpoint: products}
"""
    ctx = make_context(tmp_path, pages_campaign(pages_url, e2e), env="production")
    ctx.blocked["unread-count"] = "missing (95%)"
    result = asyncio.run(E2EStage().run(ctx))
    (journey,) = result.summary["journeys"]
    steps = journey["steps"]
    assert steps[0]["outcome"] == "failed" and steps[0]["gating"] is False
    assert steps[1]["outcome"] == "skipped" and "production" in steps[1]["reason"]
    assert steps[2]["outcome"] == "passed"
    assert journey["status"] == "passed" and result.status == "passed"
    assert [p["key"] for p in journey["friction"]] == ["missing_api:GET /api/unread-count"]
    assert result.backlog[0]["key"] == "e2e:missing_api:GET /api/unread-count"


def test_an_undefined_variable_is_found_before_the_run(tmp_path, pages_url):
    import pytest

    from campaigns.loader import CampaignError

    text = pages_campaign(pages_url, JOURNEYS).replace("{{ $env.PERFCAMPAIGN_TEST_NEVER_SET }}", "{{ nobody }}")
    with pytest.raises(CampaignError) as err:
        make_context(tmp_path, text)
    [problem] = err.value.problems
    assert problem.line and problem.field == "e2e.api_journeys[2].steps[0].headers.Authorization"
    assert "no variable 'nobody' in journey broken before this step" in problem.message
