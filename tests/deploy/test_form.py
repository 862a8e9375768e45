"""The Prefect UI as a first-class way to run a campaign, checked on a real Prefect server
(``prefect server start``, tests/deploy/conftest.py):

- the form of a deployment: titles, descriptions, defaults, drop-downs (the campaign's own
  environments, the stages, the test type), nothing ``null``-typed, no internal field;
- the server enforces it, and still accepts the hidden parameters prefect.yaml passes;
- a mistake ends the flow run Failed with one line, and no traceback in its logs;
- the progress artifact moves while a load runs, and the logs say each load phase.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from flows.parameters import FORM_FIELDS, HIDDEN_FIELDS
from tests.loopback import serve
from tests.shop import create_shop, shop_campaign

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def api(server, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(method, server.api_url + path, timeout=30, **kwargs)


@pytest.fixture
def logging_api(prefect_api):
    """Flow-run logs go to the server too (the fixture turns them off by default)."""
    from prefect.settings import PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    with temporary_settings({PREFECT_LOGGING_TO_API_ENABLED: True}):
        yield prefect_api


@pytest.fixture
def form_deployment(prefect_api):
    """``flows/forms.py:demo`` applied as a deployment (as ``prefect deploy`` would), read back."""
    from flows.forms import demo

    async def apply() -> str:
        deployment = await demo.ato_deployment(name="form-probe", enforce_parameter_schema=True,
                                               parameters={"campaign_file": "campaigns/demo.yaml"})
        return str(await deployment.apply())

    deployment_id = asyncio.run(apply())
    yield api(prefect_api, "GET", f"/deployments/{deployment_id}").json()
    api(prefect_api, "DELETE", f"/deployments/{deployment_id}")


def test_the_form_has_titles_descriptions_dropdowns_and_no_internal_field(form_deployment):
    form = form_deployment["parameter_openapi_schema"]
    props = form["properties"]
    assert list(sorted(props, key=lambda k: props[k]["position"])) == list(FORM_FIELDS)
    assert not set(HIDDEN_FIELDS) & set(props)
    for name, prop in props.items():
        assert prop["title"] != name and prop["title"][0].isupper(), prop
        assert len(prop.get("description", "")) > 20, name
        assert "default" in prop, name
        assert "anyOf" not in prop and prop.get("type") != "null", prop        # no "Property is type None"
    assert props["environments"]["items"]["enum"] == ["dev", "staging", "production"]   # from the campaign
    assert props["stages"]["items"]["enum"] == ["readiness", "smoke", "e2e", "load", "chaos"]
    assert props["test_type"]["enum"] == ["campaign", "load", "stress", "spike", "soak", "breakpoint"]
    assert props["campaign_file"]["default"] == "campaigns/demo.yaml"
    assert props["duration_scale"]["default"] == 1.0 and props["duration_scale"]["exclusiveMinimum"] == 0
    assert form_deployment["description"].startswith("Run a performance campaign")


def test_the_server_enforces_the_form_and_accepts_the_hidden_parameters(prefect_api, form_deployment):
    deployment_id = form_deployment["id"]
    bad = api(prefect_api, "POST", f"/deployments/{deployment_id}/create_flow_run",
              json={"parameters": {"environments": ["prod"]}})
    assert bad.status_code in (409, 422) and "prod" in bad.text, bad.text
    ok = api(prefect_api, "POST", f"/deployments/{deployment_id}/create_flow_run",
             json={"parameters": {"environments": ["staging"], "trigger": "schedule", "warehouse": "/tmp/w.duckdb"}})
    assert ok.status_code == 201, ok.text
    assert ok.json()["parameters"]["trigger"] == "schedule"
    api(prefect_api, "DELETE", f"/flow_runs/{ok.json()['id']}")


def _logs(server, flow_run_id: str) -> list[dict]:
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()
    logs: list[dict] = []
    for _ in range(50):
        logs = api(server, "POST", "/logs/filter", json={"logs": {"flow_run_id": {"any_": [flow_run_id]}},
                                                          "limit": 200, "offset": 0}).json()
        if logs:
            break
        time.sleep(0.2)
    return logs


@pytest.mark.parametrize("parameters, says", [
    ({"campaign_file": "campaigns/nope.yaml"}, "invalid campaign: campaigns/nope.yaml: cannot read file"),
    ({"environments": ["prod"]}, "unknown environment 'prod' (the campaign has: dev, staging, production)"),
    ({"duration_scale": -1}, "invalid parameters: duration_scale: Input should be greater than 0 (got -1)"),
    ({"stages": ["fuzz"]}, "invalid parameters: stages.0: Input should be 'readiness', 'smoke', 'e2e', 'load' "
                           "or 'chaos' (got 'fuzz')"),
])
def test_a_mistake_fails_the_run_with_one_line_and_no_traceback(logging_api, monkeypatch, parameters, says):
    from flows.campaign import campaign

    monkeypatch.chdir(ROOT)
    state = asyncio.run(campaign(**parameters, return_state=True))
    assert state.is_failed()
    assert says in state.message and "\n" not in state.message, state.message
    flow_run_id = str(state.state_details.flow_run_id)
    logs = _logs(logging_api, flow_run_id)
    errors = [log["message"] for log in logs if log["level"] >= 40]
    assert any(says in message for message in errors), errors
    assert not any("Traceback" in log["message"] for log in logs), [log["message"] for log in logs]
    run = api(logging_api, "GET", f"/flow_runs/{flow_run_id}").json()
    assert run["state"]["type"] == "FAILED" and says in run["state"]["message"]


LOAD = """\
load:
  phases:
    - {name: warm-up, duration: 3s, arrival_rate: 10, ramp_to: 30}
    - {name: sustained, duration: 6s, arrival_rate: 30}
  scenarios:
    - {name: browse, weight: 1, steps: [{endpoint: list-products}]}
  thresholds: ["p(95)<5000"]
"""


class ArtifactWatcher(threading.Thread):
    """Polls the server for the progress artifact of ``key`` while the flow runs, as the UI does."""

    def __init__(self, server, key: str):
        super().__init__(daemon=True)
        self.server, self.key = server, key
        self.seen: list[tuple[float, str]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                found = api(self.server, "POST", "/artifacts/filter", json={
                    "artifacts": {"key": {"any_": [self.key]}, "type": {"any_": ["progress"]}},
                    "sort": "CREATED_DESC", "limit": 1, "offset": 0}).json()
            except httpx.HTTPError:
                found = []
            if found:
                entry = (float(found[0]["data"]), found[0].get("description") or "")
                if not self.seen or self.seen[-1] != entry:
                    self.seen.append(entry)
            time.sleep(0.3)


def test_the_progress_artifact_moves_during_the_load_and_the_logs_say_each_phase(logging_api, tmp_path):
    from flows.campaign import campaign

    with serve(create_shop()) as shop:
        file = tmp_path / "shop.yaml"
        # a campaign of its own: other tests on this server publish shop-api's artifacts
        file.write_text(shop_campaign(shop, LOAD).replace("campaign: shop-api", "campaign: progress-probe"))
        watcher = ArtifactWatcher(logging_api, "progress-probe-progress")
        watcher.start()
        try:
            state = asyncio.run(campaign(campaign_file=str(file), environments=["dev"], stages=["smoke", "load"],
                                         warehouse=str(tmp_path / "w.duckdb"), trigger="test", return_state=True))
        finally:
            time.sleep(1.0)
            watcher.stop.set()
            watcher.join(10)
    assert state.is_completed(), state.message
    values = [v for v, _ in watcher.seen]
    assert values == sorted(values), values                        # it only moves forward
    during = [(v, d) for v, d in watcher.seen if 0 < v < 100]
    assert len(during) >= 3, watcher.seen                          # updated while the stages ran
    assert any("dev · load" in d and "left, ETA" in d and "req/s (target" in d for _, d in during), during
    assert values[-1] == 100.0 and "progress-probe: passed" in watcher.seen[-1][1]
    logs = [log["message"] for log in _logs(logging_api, str(state.state_details.flow_run_id))]
    text = "\n".join(logs)
    assert "[dev] load: phase 1/2 warm-up: 10→30 req/s for 3.0 s" in text
    assert "[dev] load: phase 2/2 sustained: 30 req/s for 6.0 s" in text
    assert "[dev] load: phase 1/2 warm-up done: " in text and "[dev] load: phase 2/2 sustained done: " in text
    assert "[dev] smoke: passed in " in text and "[dev] load: passed in " in text
    assert not any("Traceback" in m for m in logs)
    doc = json.loads(json.dumps(asyncio.run(state.aresult())))
    assert doc["status"] == "passed" and doc["trigger"] == "test"
