"""Browser journeys in a real Chromium against pages served on loopback: capture and friction."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.e2e.stage import E2EStage
from tests.e2e.conftest import make_context
from tests.e2e.pages import pages_campaign

pytestmark = pytest.mark.asyncio(loop_scope="module")

SIGN_IN = """\
  options: {slow_threshold_ms: 5000}
  browser_journeys:
    - name: sign-in
      start: /sign-in.html
      steps:
        - fill: {selector: "#email", value: ada@shop.test}
        - fill: {selector: "#password", value: "{{ password }}"}
        - select: {selector: "#plan", value: pro}
        - click: "#go"
        - expect_text: {selector: "#welcome", text: "Welcome, Ada (pro)"}
        - screenshot: signed-in
    - name: wrong-text
      start: /sign-in.html
      steps:
        - expect_text: {selector: "h1", text: "Register"}
          timeout: 300ms
        - click: "#go"
"""

FRICTION = """\
  options: {slow_threshold_ms: 300, action_timeout: 800ms, fail_on_poor_vitals: true}
  browser_journeys:
    - {name: missing, start: /missing.html, steps: [{expect_visible: "#inbox-error"}]}
    - {name: slow, start: /slow.html, steps: [{expect_text: {selector: "#report", text: "42"}}]}
    - {name: lorem, start: /lorem.html, steps: [{expect_visible: "#news li"}]}
    - {name: blocked, start: /blocked.html, steps: [{click: "#pay"}, {expect_visible: "#receipt"}]}
    - {name: console, start: /console.html, steps: [{wait_for: {load_state: networkidle}}]}
    - {name: shift, start: /shift.html, steps: [{expect_text: {text: Late banner}}, {click: "#top"}]}
    - {name: third-party, start: /third-party.html, steps: [{expect_visible: "#ready"}]}
    - {name: nowhere, start: /no-such-page.html}
    - {name: links, start: /links.html, steps: [{click: "#broken"}]}
"""


async def run_stage(tmp_path: Path, url: str, browser, e2e: str, verdicts=None):
    ctx = make_context(tmp_path, pages_campaign(url, e2e))
    ctx.verdicts.update(verdicts or {})
    return ctx, await E2EStage(browser=browser).run(ctx)


async def test_a_journey_is_captured_step_by_step(tmp_path, pages_url, browser):
    ctx, result = await run_stage(tmp_path, pages_url, browser, SIGN_IN)
    journeys = {j["name"]: j for j in result.summary["journeys"]}
    ok = journeys["sign-in"]
    assert ok["status"] == "passed", ok["error"]
    assert [s["action"] for s in ok["steps"]] == ["start", "fill", "fill", "select", "click", "expect_text",
                                                  "screenshot"]
    assert all(s["outcome"] == "passed" and s["duration_ms"] >= 0 for s in ok["steps"])
    assert ok["steps"][2]["value"] == "•••" and ok["steps"][1]["value"] == "ada@shop.test"
    assert ok["friction"] == []

    shots = [Path(p) for p in ok["screenshots"]]
    assert [p.name for p in shots] == ["00-start.png", "06-signed-in.png"]  # no "end": the last step was one
    assert all(p.parent == ctx.out_dir / "e2e" / "sign-in" and p.read_bytes()[:4] == b"\x89PNG" for p in shots)

    calls = [c for c in result.rows["network_calls"] if c["journey"] == "sign-in"]
    sign_in = next(c for c in calls if c["url"].endswith("/api/sign-in"))
    assert sign_in["method"] == "POST" and sign_in["status_code"] == 200 and sign_in["step_index"] == 4
    assert sign_in["endpoint"] == "sign-in" and 0 < sign_in["duration_ms"] < 5000 and sign_in["ttfb_ms"] > 0
    assert calls[0]["resource_type"] == "document" and calls[0]["step_index"] == 0

    (page,) = ok["web_vitals"]
    assert {"LCP", "CLS", "FCP", "TTFB"} <= set(page["metrics"])
    assert {"INP", "FID"} & set(page["metrics"])  # the journey clicked and typed
    assert all(m["rating"] in ("good", "needs-improvement", "poor") for m in page["metrics"].values())
    assert {r["metric"] for r in result.rows["web_vitals"] if r["journey"] == "sign-in"} >= {"LCP", "FCP", "TTFB"}

    failed = journeys["wrong-text"]
    assert failed["status"] == "failed" and "Register" in failed["error"]
    assert [s["outcome"] for s in failed["steps"]] == ["passed", "failed", "skipped"]
    assert Path(failed["steps"][1]["screenshot"]).name == "01-failed.png"
    assert failed["friction"] == []  # an unmet expectation fails the journey; it is not a backlog gap
    gates = {g.name: g.passed for g in result.gates}
    assert gates == {"journey sign-in": True, "journey wrong-text": False}
    assert result.status == "failed"


async def test_friction_points_of_every_kind(tmp_path, pages_url, browser):
    ctx, result = await run_stage(tmp_path, pages_url, browser, FRICTION, {"notes": "mock"})
    journeys = {j["name"]: j for j in result.summary["journeys"]}
    by_key = {p["key"]: p for j in journeys.values() for p in j["friction"]}

    missing = by_key["missing_api:GET /api/unread-count"]
    assert missing["severity"] == "high" and missing["endpoint"] == "unread-count"
    assert missing["evidence"]["status"] == 404 and Path(missing["screenshot"]).exists()
    shown = by_key["error_message:/missing.html:Could not load notifications"]
    assert shown["evidence"]["caused_by"] == missing["key"]
    assert not any(k.startswith("console_error:/missing.html") for k in by_key)  # the 404's console line

    slow = by_key["slow_api:GET /api/slow-report"]
    assert slow["evidence"]["duration_ms"] > 300 and slow["severity"] == "medium"

    mock = by_key["mock_data:GET /api/notes"]
    assert mock["evidence"]["readiness"] == "mock" and mock["evidence"]["shown_in_ui"] == ["/lorem.html"]

    blocker = by_key["ui_blocker:blocked:click #pay"]
    assert blocker["evidence"]["reason"] == "the element stays disabled" and blocker["evidence"]["enabled"] is False
    assert Path(blocker["screenshot"]).name == "01-failed.png"
    assert journeys["blocked"]["status"] == "failed"
    assert [s["outcome"] for s in journeys["blocked"]["steps"]] == ["passed", "failed", "skipped"]

    console = {k: p for k, p in by_key.items() if k.startswith("console_error:/console.html")}
    assert {p["severity"] for p in console.values()} == {"low", "medium"}
    assert any("kaboom" in k for k in console) and any("widget failed" in k for k in console)

    shift = journeys["shift"]["web_vitals"][0]["metrics"]
    assert shift["CLS"]["value"] > 0.25 and shift["CLS"]["rating"] == "poor"
    assert "INP" in shift or "FID" in shift

    third = journeys["third-party"]
    assert third["status"] == "passed" and third["network"]["blocked"] == 1 and third["friction"] == []
    assert third["network"]["blocked_hosts"] == ["tracker.invalid"]
    tracker = next(r for r in result.rows["network_calls"] if "tracker.invalid" in r["url"])
    assert tracker["blocked"] and not tracker["from_app"]

    nowhere = by_key["ui_blocker:nowhere:start /no-such-page.html"]
    assert "HTTP 404" in nowhere["evidence"]["reason"]
    assert not any(k.startswith("ui_blocker:nowhere:navigate") for k in by_key)  # the same failure, once
    broken_link = by_key["ui_blocker:links:navigate /gone.html"]
    assert broken_link["evidence"]["status"] == 404 and journeys["links"]["status"] == "passed"

    gates = {g.name: g.passed for g in result.gates}
    assert gates["journey missing"] and gates["journey slow"] and gates["journey lorem"]
    assert not gates["journey blocked"] and not gates["journey nowhere"]
    assert gates["web vitals shift"] is False and gates["web vitals missing"] is True

    items = {i["key"]: i for i in result.backlog}
    assert result.backlog_scope == "e2e:"
    assert (items["e2e:missing_api:GET /api/unread-count"]["priority"],
            items["e2e:missing_api:GET /api/unread-count"]["effort"]) == ("high", "3-5 days")
    assert items["e2e:ui_blocker:blocked:click #pay"]["effort"] == "1 day"
    assert items["e2e:mock_data:GET /api/notes"]["priority"] == "medium"
    assert items["e2e:slow_api:GET /api/slow-report"]["effort"] == "2-3 days"
    assert "e2e:error_message:/missing.html:Could not load notifications" not in items

    rows = result.rows
    assert {r["type"] for r in rows["friction_points"]} >= {"missing_api", "slow_api", "mock_data", "ui_blocker",
                                                            "console_error", "error_message"}
    assert all(r["screenshot"] is None or Path(r["screenshot"]).exists() for r in rows["friction_points"])
    assert {r["journey"] for r in rows["screenshots"]} == set(journeys)
    assert len({(r["journey"], r["seq"]) for r in rows["network_calls"]}) == len(rows["network_calls"])


async def test_a_browser_that_cannot_start_is_an_infrastructure_failure(tmp_path, pages_url):
    e2e = """\
  options: {browser_path: /nonexistent/chromium}
  api_journeys:
    - {name: inbox, steps: [{endpoint: unread-count}]}
  browser_journeys:
    - {name: inbox-page, start: /missing.html}
"""
    ctx = make_context(tmp_path, pages_campaign(pages_url, e2e))
    result = await E2EStage().run(ctx)
    assert result.status == "error" and result.infrastructure_failure
    assert "cannot start Chromium (/nonexistent/chromium)" in result.error
    assert result.backlog_scope is None  # nothing is closed on a night the pages were not looked at
    assert [j["name"] for j in result.summary["journeys"]] == ["inbox"]
