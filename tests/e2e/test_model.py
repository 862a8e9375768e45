"""The ``e2e:`` section of a campaign file: what it accepts, and every mistake reported at once."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from campaigns.e2e import ApiStep, BrowserStep, E2ESpec
from campaigns.loader import CampaignError, parse_campaign
from tests.e2e.pages import pages_campaign

GOOD = """\
  options: {slow_threshold_ms: 1500, action_timeout: 5s, viewport: {width: 1024, height: 700}}
  api_journeys:
    - name: shopper
      steps:
        - {endpoint: sign-in, capture: {token: $.token}, capture_headers: {session: X-Session-Id}}
        - {endpoint: profile, if: token, headers: {Authorization: "Bearer {{ token }}"}}
        - {think: 250ms}
        - {method: post, path: /api/orders, json: {product_id: 1}, expect: {status: [201]}, think: 0.1}
  browser_journeys:
    - name: sign-in
      start: /sign-in.html
      steps:
        - fill: {selector: "#email", value: ada@shop.test}
        - click: "#go"
        - wait_for: "#welcome"
        - wait_for: {load_state: networkidle}
        - press: {key: Enter}
        - select: {selector: "#plan", value: [pro]}
        - expect_text: {selector: "#welcome", text: Welcome}
        - expect_visible: "#welcome"
        - goto: /missing.html
        - screenshot: inbox
"""


def test_a_full_section_is_read_with_its_defaults():
    campaign = parse_campaign(pages_campaign("http://127.0.0.1:9", GOOD))
    spec = campaign.e2e
    assert isinstance(spec, E2ESpec)
    assert spec.options.slow_threshold_ms == 1500 and spec.options.action_timeout == 5.0
    assert spec.options.headless is True and spec.options.fail_on_poor_vitals is False
    shopper = spec.api_journeys[0]
    assert shopper.steps[1].if_ == "token" and shopper.steps[2].is_pause and shopper.steps[2].think == 0.25
    assert shopper.steps[3].method == "POST" and shopper.steps[3].body == {"product_id": 1}
    actions = [s.action for s in spec.browser_journeys[0].steps]
    assert actions == ["fill", "click", "wait_for", "wait_for", "press", "select", "expect_text", "expect_visible",
                       "goto", "screenshot"]
    assert spec.browser_journeys[0].steps[2].wait_for.selector == "#welcome"


def test_every_mistake_is_reported_at_once_with_its_line():
    bad = """\
  optoins: {}
  api_journeys:
    - name: shopper
      steps:
        - {endpoint: sign-inn}
        - {endpoint: profil}
        - {endpoint: profile, path: /api/profile}
  browser_journeys:
    - name: browse
      start: /
      steps:
        - {click: "#a", fill: {selector: "#b", value: x}}
        - {tap: "#a"}
"""
    with pytest.raises(CampaignError) as err:
        parse_campaign(pages_campaign("http://127.0.0.1:9", bad), "c.yaml")
    text = str(err.value)
    assert "e2e.optoins: unknown field" in text
    assert "exactly one action" in text and "e2e.browser_journeys[0].steps[1].tap: unknown field" in text
    assert "either an endpoint by name or an inline method/path" in text
    assert all(line.startswith("c.yaml:") for line in text.splitlines())


def test_unknown_endpoint_names_are_all_listed_together():
    bad = """\
  api_journeys:
    - name: shopper
      steps:
        - {endpoint: sign-inn}
        - {endpoint: profile}
        - {endpoint: profil}
"""
    with pytest.raises(CampaignError) as err:
        parse_campaign(pages_campaign("http://127.0.0.1:9", bad), "c.yaml")
    text = str(err.value)
    assert "e2e.api_journeys[0].steps[0].endpoint: unknown endpoint 'sign-inn'" in text
    assert "e2e.api_journeys[0].steps[2].endpoint: unknown endpoint 'profil'" in text
    assert "steps[1]" not in text


@pytest.mark.parametrize("step, message", [
    ({}, "needs an endpoint, a path, or a think time"),
    ({"capture": {"t": "$.t"}}, "inline request needs a path"),
    ({"path": "api/x"}, "starts with '/'"),
    ({"path": "/x", "if": "a b"}, "'if' takes a variable name"),
    ({"path": "/x", "headers": {"Authorization": "Bearer abc"}}, "literal secret"),
])
def test_api_step_mistakes(step, message):
    with pytest.raises(ValidationError, match=message):
        ApiStep.model_validate(step)


def test_browser_step_needs_exactly_one_action_and_wait_for_one_target():
    with pytest.raises(ValidationError, match="exactly one action"):
        BrowserStep.model_validate({"name": "nothing"})
    with pytest.raises(ValidationError, match="exactly one of selector, load_state or url"):
        BrowserStep.model_validate({"wait_for": {"selector": "#a", "url": "/b"}})


def test_journey_names_are_unique_and_the_section_not_empty():
    with pytest.raises(ValidationError, match="used twice"):
        E2ESpec.model_validate({"api_journeys": [{"name": "a", "steps": [{"think": 1}]}],
                                "browser_journeys": [{"name": "a"}]})
    with pytest.raises(ValidationError, match="at least one"):
        E2ESpec.model_validate({})
