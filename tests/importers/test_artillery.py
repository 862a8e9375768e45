"""Artillery → campaign: seed 003's two files (verbatim in fixtures/), the mappings one by one,
the notes for what has no equivalent, broken files, ``--check`` and a real run on the demo."""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import CliRunner

from campaigns.importers import SourceError
from campaigns.importers.artillery import convert_artillery
from campaigns.loader import load_campaign, parse_campaign
from flows.import_cli import import_group
from tests.importers.conftest import FIXTURES

LOAD = "artillery-load-test.yml"
STRESS = "artillery-stress-test.yml"


def convert(name: str, **kw):
    return convert_artillery((FIXTURES / name).read_text(), name, **kw)


def test_the_seed_load_test_converts_and_validates():
    result = convert(LOAD)
    c = parse_campaign(result.yaml(), LOAD)
    assert c.campaign == "artillery-load-test"
    assert c.environments["dev"].base_url == "http://localhost:3001"
    load = c.load
    assert [(p.name, p.duration, p.arrival_rate, p.ramp_to) for p in load.phases] == [
        ("Warm up", 60, 10, None), ("Sustained load", 300, 50, None), ("Peak load", 120, 100, None),
        ("Cool down", 60, 10, None)]
    assert load.timeout == 30
    assert [(s.name, s.weight) for s in load.scenarios] == [
        ("core-api-flow", 40), ("payment-operations", 20), ("notifications", 20), ("admin-operations", 10),
        ("health-checks", 10)]
    # variables: the scalar stays a variable, the list becomes a CSV feeder with a header row
    assert c.variables == {"testPassword": "TestPassword123!", "adminToken": "undefined"}  # never set: as Artillery
    assert c.data["vars"].file == "artillery-load-test.variables.csv"
    assert result.files["artillery-load-test.variables.csv"].splitlines() == [
        "testEmail", "test1@example.com", "test2@example.com", "test3@example.com"]
    sign_in = c.endpoint("post-auth-sign-in")
    assert sign_in.method == "POST" and sign_in.path == "/auth/sign-in"
    assert sign_in.body == {"email": "{{ vars.testEmail }}", "password": "{{ testPassword }}"}
    assert sign_in.expect.status == [200, 401]
    bounties = c.endpoint("get-api-bounties")
    assert bounties.query == {"limit": 20, "status": "open"} and bounties.expect.status == [200]
    assert c.endpoint("get-api-bounties-random-string").path == "/api/bounties/{{ $randomString() }}"
    core = load.scenarios[0].steps
    assert [s.endpoint for s in core] == ["get-health", "post-auth-sign-in", "get-api-profile", "get-api-bounties",
                                          "get-api-bounties-random-string"]
    assert core[1].capture == {"authToken": "$.token"}
    assert core[2].headers == {"Authorization": "Bearer {{ authToken }}"}
    assert core[2].if_ == "authToken" and core[0].if_ is None  # Artillery's ifTrue
    # the captured token never reaches an endpoint (readiness and smoke could not fill it)
    assert not c.endpoint("get-api-profile").headers


def test_the_seed_stress_test_converts_and_validates():
    c = parse_campaign(convert(STRESS).yaml(), STRESS)
    assert c.load.test_type == "stress"
    assert [(p.duration, p.arrival_rate, p.ramp_to) for p in c.load.phases] == [
        (60, 50, 100), (60, 100, 200), (60, 200, 500), (60, 500, 1000), (120, 1000, None)]
    # explicit phases for the file's own test type: they are what runs, not a preset
    assert c.load.profile().source == "phases"
    assert [s.name for s in c.load.scenarios] == ["simple-health-check"]
    assert c.endpoints[0].name == "get-health"


def test_what_has_no_equivalent_is_listed():
    notes = "\n".join(convert(LOAD).notes)
    assert "no equivalent for processor: ./artillery-processor.js" in notes
    assert "plugins.metrics-by-endpoint: perfcampaign always groups metrics by endpoint name" in notes
    assert "plugins.expect" in notes
    assert "ifTrue" not in notes  # ifTrue: authToken converts to `if: authToken`
    assert "variable adminToken = 'undefined'" in notes and "scenarios[3]" in notes
    stress_notes = "\n".join(convert(STRESS).notes)
    assert "requests without expect (get-health)" in stress_notes
    # the notes head the written file too
    assert "# What did not convert, or was guessed:" in convert(LOAD).yaml()


MANY = """
config:
  target: "https://api.example.com/v1"
  phases:
    - {duration: "2min", arrivalCount: 60, name: trickle}
    - {pause: 5}
    - {duration: 30, arrivalRate: 2, rampTo: 8, maxVusers: 50}
  http: {timeout: 5, pool: 10}
  tls: {rejectUnauthorized: false}
  defaults: {headers: {X-Api-Key: "abc123", Accept: application/json}}
  payload: {path: users.csv, fields: [username, pw], order: sequence, skipHeader: true}
  ensure: {p95: 250, maxErrorRate: 1}
  environments:
    production: {target: "https://prod.example.com/v1"}
  variables:
    region: [eu, us]
    size: 3
scenarios:
  - name: Orders
    flow:
      - think: 1
      - post:
          url: "/orders"
          json: {user: "{{ username }}", ref: "{{ $uuid }}", n: "{{ $randomNumber(1, 9) }}", region: "{{ region }}"}
          headers: {Authorization: "Bearer {{ $processEnvironment.API_TOKEN }}"}
          capture: [{json: "$.id", as: orderId}, {header: "location", as: where}]
          expect: [{statusCode: 201}, {contentType: json}, {hasProperty: id}, {equals: ["a", "b"]}]
      - think: 0.5
      - get: {url: "/orders/{{ orderId }}", qs: {expand: "{{ orderId }}"}}
      - loop:
          - get: {url: "https://api.example.com/v1/ping"}
        count: 2
      - get: {url: "https://elsewhere.example.org/x"}
      - function: "doStuff"
      - post: {url: /upload, form: {a: 1}}
  - name: Socket
    engine: ws
    flow: [{send: hello}]
"""


def test_templates_secrets_feeders_and_every_mapping():
    result = convert_artillery(MANY, "many.yml", team="shop")
    c = parse_campaign(result.yaml(), "many.yml")
    notes = "\n".join(result.notes)
    assert c.team == "shop"
    assert c.environments["dev"].base_url == "https://api.example.com/v1"
    prod = c.environments["production"]
    assert prod.kind == "production" and prod.caps.max_rps == 50
    # a literal API key in a header becomes a reference; Accept stays
    assert c.environments["dev"].headers == {"X-Api-Key": "${env:ARTILLERY_X_API_KEY}", "Accept": "application/json"}
    assert "set ARTILLERY_X_API_KEY" in notes
    load = c.load
    assert [(p.name, p.duration, p.arrival_rate, p.ramp_to) for p in load.phases] == [
        ("trickle", 120, 0.5, None), ("pause", 5, 0, None), (None, 30, 2, 8)]
    assert load.max_vus == 50 and load.timeout == 5 and load.tls.verify is False
    # Artillery's maxErrorRate is "error rate <= max"
    assert [t.label for t in load.thresholds] == ["p(95)<250", "error_rate<=1%"]
    assert c.data["payload"].file == "users.csv" and c.data["payload"].order == "sequential"
    assert c.data["vars"].order == "random" and c.variables == {"size": 3}
    orders = c.endpoint("post-orders")
    assert orders.body == {"user": "{{ payload.username }}", "ref": "{{ $uuid() }}", "n": "{{ $randomNumber(1, 9) }}",
                           "region": "{{ vars.region }}"}
    assert orders.expect.status == [201] and orders.expect.content_type == "application/json"
    assert orders.expect.fields == ["id"]
    # {{ $processEnvironment.X }} in a header is a secret reference, on the endpoint (smoke sends it too)
    assert orders.headers == {"Authorization": "Bearer ${env:API_TOKEN}"}
    steps = load.scenarios[0].steps
    assert steps[0].capture == {"orderId": "$.id"} and steps[0].think == 0.5
    # a captured value in the path: a placeholder with a sample for smoke, the real value on the step
    by_id = c.endpoint("get-orders-order-id")
    assert by_id.path == "/orders/{orderId}?expand={orderId}" and by_id.params == {"orderId": [1]}
    assert steps[1].params == {"orderId": ["{{ orderId }}"]}
    assert [s.endpoint for s in steps] == ["post-orders", "get-orders-order-id", "get-ping", "get-ping", "post-upload"]
    # the loop stays a loop in the file (count 2) and the model unrolls it
    assert "count: 2" in result.yaml()
    assert c.data["payload"].fields == ["username", "pw"] and c.data["payload"].skip_header
    # form: becomes a urlencoded body (encoded once, sent as it is by every stage and engine)
    upload = c.endpoint("post-upload")
    assert upload.form == {"a": 1} and upload.body == "a=1"
    assert upload.headers["Content-Type"] == "application/x-www-form-urlencoded"
    for text in ("think before the first request", "capture by header", "expect.equals",
                 "elsewhere.example.org/x is outside the target", "function 'doStuff'",
                 "engine ws has no equivalent", "config.http.pool", "config.payload[0] users.csv → feeder 'payload'"):
        assert text in notes, text
    assert "feeders read a header row" not in notes  # skipHeader: true says the file has one


def test_broken_files_are_reported_with_their_place():
    with pytest.raises(SourceError) as bad_yaml:
        convert_artillery("config: {target: x\nscenarios: [", "bad.yml")
    assert bad_yaml.value.problems[0].startswith("bad.yml:") and "invalid YAML" in bad_yaml.value.problems[0]
    with pytest.raises(SourceError, match="needs 'config:' and a 'scenarios:' list"):
        convert_artillery("config: {target: 'http://x'}", "no-scenarios.yml")
    with pytest.raises(SourceError) as many:
        convert_artillery("config:\n  target: nope\n  phases: [{arrivalRate: 5}, {duration: soon}]\n"
                          "scenarios: [{flow: [{get: {qs: {a: 1}}}]}]", "broken.yml")
    problems = "\n".join(many.value.problems)
    # every problem at once, each with the file and where
    assert "broken.yml: config.target: 'nope' is not an http(s) URL" in problems
    assert "broken.yml: config.phases[0].duration: required" in problems
    assert "broken.yml: config.phases[1].duration: 'soon' is not a duration" in problems
    assert "broken.yml: scenarios[0].flow[0].url: required" in problems


def test_import_cli_writes_files_and_check_lists_missing_routes(tmp_path, demo_url):
    out = tmp_path / "load.yaml"
    result = CliRunner().invoke(import_group, ["artillery", str(FIXTURES / LOAD), "-o", str(out), "--base-url", demo_url,
                                               "--check", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["file"] == str(out) and (tmp_path / "artillery-load-test.variables.csv").exists()
    verdicts = {p["name"]: p["verdict"] for p in doc["check"]}
    assert {n for n, v in verdicts.items() if v == "missing"} == {
        "get-api-bounties", "get-api-bounties-random-string", "get-notifications-unread-count", "get-admin-metrics",
        "get-admin-analytics-metrics", "get-health-detailed", "get-metrics-json"}
    assert {n for n, v in verdicts.items() if v == "present"} == {
        "get-health", "post-auth-sign-in", "get-api-profile", "get-wallet-balance", "get-wallet-transactions",
        "get-notifications"}
    assert load_campaign(out).campaign.environments["dev"].base_url == demo_url
    # a second import does not overwrite without --force
    again = CliRunner().invoke(import_group, ["artillery", str(FIXTURES / LOAD), "-o", str(out)])
    assert again.exit_code == 2 and "use --force" in again.output


def test_a_broken_file_exits_2_with_every_problem(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("config:\n  target: nope\nscenarios: []\n")
    result = CliRunner().invoke(import_group, ["artillery", str(bad), "-o", str(tmp_path / "x.yaml")])
    assert result.exit_code == 2
    assert "config.target: 'nope' is not an http(s) URL" in result.output


def _in_process(plan, n, on_result):
    from tasks.load.engine import run_shard

    results = [run_shard(plan, k, n) for k in range(n)]
    for r in results:
        on_result(r)
    return results


@pytest.mark.slow
@pytest.mark.parametrize("name,max_rps,engine", [(LOAD, 150, "builtin"), (STRESS, 200, "builtin"), (LOAD, 150, "k6")])
def test_the_seed_files_run_against_the_demo(tmp_path, demo_url, name, max_rps, engine):
    """Readiness finds the routes the demo lacks, keeps them out of load, and load runs the rest
    (on either engine)."""
    from flows.runner import RunOptions, run_campaign
    from warehouse.store import Warehouse

    result = convert(name, base_url=demo_url)
    result.campaign["environments"]["dev"]["caps"] = {"max_rps": max_rps}
    result.campaign["load"]["engine"] = engine
    result.campaign["readiness"] = {"samples": 2}
    out = tmp_path / "campaign.yaml"
    out.write_text(result.yaml())
    for file, text in result.files.items():
        (tmp_path / file).write_text(text)
    loaded = load_campaign(out)
    store = Warehouse(tmp_path / "wh.duckdb")
    store.migrate()
    options = RunOptions(stages=["readiness", "smoke", "load"], trigger="test", start_services=False,
                         stage_options={"duration_scale": 0.01, "load_runner": _in_process})
    report = asyncio.run(run_campaign(loaded, store, options))
    env = report.environments["dev"]
    readiness, load = env.results["readiness"], env.results["load"]
    assert load.status in ("passed", "failed"), load.error
    if name == LOAD:
        missing = set(readiness.summary["missing"])
        assert {"get-api-bounties", "get-admin-metrics", "get-health-detailed", "get-metrics-json",
                "get-notifications-unread-count"} <= missing
        assert missing <= set(load.summary["excluded"])
        ran = {e["name"] for e in load.endpoints}
        assert {"get-health", "post-auth-sign-in", "get-wallet-balance"} <= ran
        assert not ran & missing
    assert load.summary["requests"] > 0
    assert load.summary["caps"]["duration_scale"] == 0.01
    rows = store.fetchall("SELECT endpoint, requests FROM endpoint_metrics WHERE run_id = ? AND stage = 'load'",
                          [env.run_id])
    assert ("_overall", load.summary["requests"]) in rows
    assert store.fetchall("SELECT engine FROM load_runs WHERE run_id = ?", [env.run_id]) == [(engine,)]
