from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from campaigns.loader import CampaignError, load_campaign, parse_campaign
from campaigns.model import Campaign
from campaigns.types import UnresolvedSecret, format_duration, parse_duration, resolve_refs

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = """\
campaign: shop-api
team: payments
slack_channel: "#perf-payments"
environments:
  dev:        {kind: dev, base_url: "http://127.0.0.1:8001"}
  production: {kind: production, base_url: "http://127.0.0.1:8003",
               caps: {max_rps: 50, max_vus: 20, max_duration: 5m}}
endpoints:
  - {name: list-products, method: GET, path: "/api/products?limit=20", expect: {status: [200]}}
  - {name: product, method: GET, path: "/api/products/{id}", params: {id: [1, 2, 3]}}
  - {name: create-order, method: POST, path: /api/orders, json: {product_id: 1, qty: 2},
     expect: {status: [201]}}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(CampaignError) as info:
        parse_campaign(text, "c.yaml")
    return [str(p) for p in info.value.problems]


def test_the_minimal_file_from_the_issue_stays_valid():
    c = parse_campaign(MINIMAL)
    prod = c.environments["production"]
    assert prod.caps.max_duration == 300.0 and prod.caps.max_rps == 50 and prod.caps.max_vus == 20
    assert c.endpoint("create-order").body == {"product_id": 1, "qty": 2}
    assert c.endpoint("product").params == {"id": [1, 2, 3]}
    assert prod.allow_hosts == ["127.0.0.1"]
    assert "chaos" not in prod.allowed_stages() and "chaos" in c.environments["dev"].allowed_stages()
    assert c.version == 1


@pytest.mark.parametrize("path", sorted((ROOT / "campaigns").rglob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_campaign_file_is_valid(path):
    loaded = load_campaign(path)
    assert loaded.campaign.endpoints and len(loaded.sha256) == 64


def test_demo_campaign_has_three_kinds_of_environment_on_loopback():
    c = load_campaign(ROOT / "campaigns" / "demo.yaml").campaign
    assert {e.kind for e in c.environments.values()} == {"dev", "staging", "production"}
    assert all(e.host == "127.0.0.1" and e.service is not None for e in c.environments.values())


def test_errors_name_file_line_and_field_and_are_all_reported_at_once():
    text = MINIMAL.replace("kind: dev", "kind: devel").replace('path: /api/orders', 'path: api/orders')
    text += "  - {name: Bad Name, path: /x}\nbogus: 1\n"
    found = problems(text)
    assert "c.yaml:5: environments.dev.kind: Input should be 'dev', 'staging' or 'production'" in found
    assert any(p.startswith("c.yaml:11: endpoints[2].path:") and "starts with '/'" in p for p in found)
    assert any(p.startswith("c.yaml:13: endpoints[3].name:") and "slug" in p for p in found)
    assert any(p.startswith("c.yaml:14: bogus: unknown field") for p in found)
    assert len(found) == 4


def test_yaml_syntax_error_has_its_line():
    found = problems("campaign: x\nteam: [unclosed\nenvironments: {}\n")
    assert len(found) == 1 and found[0].startswith("c.yaml:") and "invalid YAML" in found[0]


def test_duplicate_keys_are_errors_not_silently_merged():
    found = problems(MINIMAL.replace("team: payments", "team: payments\nteam: billing"))
    assert found == ["c.yaml:3: team: key appears twice"]


def test_missing_required_field_and_empty_file():
    assert problems(MINIMAL.replace("team: payments\n", "")) == ["c.yaml:1: team: required field is missing"]
    assert problems("") == ["c.yaml:1: the file is empty"]
    assert problems("- a\n- b\n")[0].endswith("a campaign file is a YAML mapping (campaign:, environments:, …)")


def test_placeholders_must_have_params_and_params_must_be_used():
    found = problems(MINIMAL.replace('params: {id: [1, 2, 3]}', 'params: {pid: [1]}'))
    assert any("placeholders without values in params: ['id']" in p for p in found)


def test_literal_secrets_are_rejected_references_accepted():
    literal = MINIMAL.replace('base_url: "http://127.0.0.1:8001"}',
                              'base_url: "http://127.0.0.1:8001", headers: {Authorization: "Bearer s3cr3t"}}')
    assert any("environments.dev.headers" in p and "literal secret" in p for p in problems(literal))
    ok = literal.replace("Bearer s3cr3t", "Bearer ${env:SHOP_TOKEN}")
    assert parse_campaign(ok).environments["dev"].headers == {"Authorization": "Bearer ${env:SHOP_TOKEN}"}
    api_key = MINIMAL.replace("expect: {status: [200]}}", "headers: {X-Api-Key: abc123}}", 1)
    assert any("'X-Api-Key' holds a literal secret" in p for p in problems(api_key))


def test_secret_references_resolve_at_run_time_only(monkeypatch):
    monkeypatch.setenv("SHOP_TOKEN", "t0k")
    assert resolve_refs({"h": ["Bearer ${env:SHOP_TOKEN}"]}) == {"h": ["Bearer t0k"]}
    monkeypatch.delenv("SHOP_TOKEN")
    with pytest.raises(UnresolvedSecret, match="SHOP_TOKEN is not set"):
        resolve_refs("Bearer ${env:SHOP_TOKEN}")


def test_chaos_is_refused_in_production_stages_and_hosts_checked():
    text = MINIMAL.replace("caps: {max_rps", "stages: [smoke, chaos], caps: {max_rps")
    assert any("chaos never runs in a production environment" in p for p in problems(text))
    text = MINIMAL.replace('base_url: "http://127.0.0.1:8001"}',
                           'base_url: "http://127.0.0.1:8001", allow_hosts: [localhost]}')
    assert any("not in allow_hosts" in p for p in problems(text))


def test_unknown_schema_version_and_domains():
    assert any("reads campaign version 1, not 2" in p for p in problems("version: 2\n" + MINIMAL))
    text = MINIMAL.replace('path: "/api/products/{id}"', 'domain: retail-ai, path: "/api/products/{id}"')
    assert any("names domain 'retail-ai', which has no targets" in p for p in problems(text))
    text += "targets:\n  retail-ai: {p50_ms: 200, p95_ms: 500, error_rate: 0.01, concurrent_users: 500}\n"
    assert parse_campaign(text).target_for("dev", "retail-ai").p95_ms == 500


@pytest.mark.parametrize("text, seconds", [("250ms", 0.25), ("30s", 30), ("5m", 300), ("1h30m", 5400),
                                           (12, 12), ("1.5s", 1.5), ("90", 90)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["5 minutes", "m5", "-3", True, "", "5x"])
def test_bad_durations(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_duration_round_trip():
    assert format_duration(5400) == "1h30m" and format_duration(0.25) == "250ms" and format_duration(45) == "45s"


def test_feeder_file_must_exist(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(MINIMAL + "data:\n  users: {file: users.csv}\n")
    with pytest.raises(CampaignError, match=r"data.users.file: cannot read"):
        load_campaign(path)
    (tmp_path / "users.csv").write_text("email,password\na@example.com,x\n")
    assert load_campaign(path).feeders["users"] == [{"email": "a@example.com", "password": "x"}]


def test_json_schema_is_emitted_by_the_cli_and_describes_the_file():
    out = subprocess.run([sys.executable, "-m", "flows.cli", "schema"], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    schema = json.loads(out)
    assert schema["type"] == "object" and "environments" in schema["properties"]
    assert schema["additionalProperties"] is False
    endpoint = schema["$defs"]["Endpoint"]["properties"]
    assert "json" in endpoint and "body" not in endpoint  # the YAML spelling, not the Python one
    assert Campaign.model_json_schema(by_alias=True)["required"] == ["campaign", "team", "environments", "endpoints"]
