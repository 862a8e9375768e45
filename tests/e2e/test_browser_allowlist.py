"""Browser journeys never reach a host outside the allow-list, redirects included, and credentials
never leave with them: a real Chromium against a hostile loopback server that redirects to
127.0.0.2, where a recorder counts what arrives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from campaigns.redact import contains_secret
from tasks.e2e.stage import E2EStage
from tests.e2e.conftest import make_context
from tests.hostile.servers import HostileServer, Recorder

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKEN = "tok-4f9a77e2-SECRET"
API_KEY = "key-19c0ffee-SECRET"
QUERY_SECRET = "q-5eed-SECRET"


def campaign(base_url: str, outside: str) -> str:
    return f"""\
campaign: egress
team: qa
environments:
  dev:
    kind: dev
    base_url: "{base_url}"
    headers: {{Authorization: "Bearer ${{env:EGRESS_TOKEN}}", X-Api-Key: "${{env:EGRESS_KEY}}"}}
endpoints:
  - {{name: ok, path: /ok}}
e2e:
  options: {{action_timeout: 2s, navigation_timeout: 5s, slow_threshold_ms: 5000}}
  browser_journeys:
    - name: redirect-navigation
      start: /redirect-out
    - name: redirected-subresources
      start: /page-redirect-out
      steps:
        - expect_visible: "#ready"
        - click: "#out"
    - name: script-navigation
      start: /page-js-out
      steps:
        - wait_for: {{url: "{outside}/never", }}
          timeout: 1500ms
    - name: goto-outside
      start: /ok?token={QUERY_SECRET}
      steps:
        - goto: "{outside}/direct"
"""


@pytest.fixture(scope="module")
def outside():
    with Recorder("127.0.0.2") as rec:
        yield rec


@pytest.fixture(scope="module")
def hostile(outside):
    with HostileServer(redirect_to=outside.url + "/stolen") as server:
        yield server


async def test_no_request_and_no_credential_reaches_another_host(tmp_path: Path, browser, hostile, outside,
                                                                 monkeypatch):
    monkeypatch.setenv("EGRESS_TOKEN", TOKEN)
    monkeypatch.setenv("EGRESS_KEY", API_KEY)
    ctx = make_context(tmp_path, campaign(hostile.url, outside.url))
    result = await E2EStage(browser=browser).run(ctx)

    # nothing reached 127.0.0.2: not the redirect hops, not the script's navigation, not the goto
    assert outside.requests == [], [(r.method, r.path, r.headers) for r in outside.requests]
    # the allowed host did get the environment's headers (so the guard is not simply stripping them)
    seen = [r for r in hostile.requests if r.path.startswith("/redirect-out")]
    assert seen and all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in seen)
    assert all(r.headers.get("x-api-key") == API_KEY for r in seen)

    journeys = {j["name"]: j for j in result.summary["journeys"]}
    assert set(journeys) == {"redirect-navigation", "redirected-subresources", "script-navigation", "goto-outside"}
    nav = journeys["redirect-navigation"]
    assert nav["status"] == "failed"
    assert "was blocked: it redirected to" in json.dumps(nav) and "outside the environment's allow_hosts" in json.dumps(nav)
    # every blocked request is reported, with the host it tried to reach
    blocked_hosts = {h for j in journeys.values() for h in j["network"]["blocked_hosts"]}
    assert "127.0.0.2" in blocked_hosts, journeys
    assert sum(j["network"]["blocked"] for j in journeys.values()) >= 3
    # a goto to another host is refused before the browser is even asked
    assert "outside environment 'dev'" in json.dumps(journeys["goto-outside"])

    # no secret in anything the stage stores or shows
    outputs = json.dumps({"summary": result.summary, "rows": result.rows, "endpoints": result.endpoints,
                          "gates": [g.to_dict() for g in result.gates], "backlog": result.backlog}, default=str)
    assert not contains_secret(outputs, [TOKEN, API_KEY, QUERY_SECRET])


async def test_with_block_outside_hosts_off_the_headers_are_not_sent_anywhere(tmp_path, browser, hostile,
                                                                               outside, monkeypatch):
    """Letting other hosts through is the user's explicit choice; the environment's secrets then stay home."""
    monkeypatch.setenv("EGRESS_TOKEN", TOKEN)
    monkeypatch.setenv("EGRESS_KEY", API_KEY)
    text = campaign(hostile.url, outside.url).replace("options: {", "options: {block_outside_hosts: false, ")
    text = text.split("    - name: redirected-subresources")[0]
    before = len(outside.requests)
    ctx = make_context(tmp_path, text)
    await E2EStage(browser=browser).run(ctx)
    arrived = outside.requests[before:]
    assert arrived, "the redirect was allowed through"
    assert all("authorization" not in r.headers and "x-api-key" not in r.headers for r in arrived)
