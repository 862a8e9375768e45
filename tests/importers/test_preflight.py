"""Preflight: what would fail at run time for a reason the user controls is found by ``validate`` and
before ``run`` sends anything (file:line: field: message, exit 2); what still fails mid-run fails its
request with a clear error kind and every stage stores what it measured."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from campaigns.loader import CampaignError, load_campaign
from flows.cli import cli
from flows.runner import RunOptions
from tests.importers.conftest import FIXTURES
from warehouse.store import Warehouse


def write(tmp_path: Path, doc: dict, files: dict[str, str] | None = None) -> Path:
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump({"campaign": "pre", "team": "qa",
                                    "environments": {"dev": {"kind": "dev", "base_url": "http://127.0.0.1:9"}},
                                    **doc}, sort_keys=False))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(CampaignError) as err:
        load_campaign(path)
    return [str(p) for p in err.value.problems]


def test_undefined_variables_unknown_functions_and_bad_arguments_are_found_with_their_line(tmp_path):
    path = write(tmp_path, {
        "variables": {"size": 3},
        "endpoints": [{"name": "a", "path": "/a?n={{ size }}&t={{ $timestamp }}"},
                      {"name": "b", "path": "/b", "headers": {"X-Who": "{{ who }}"}},
                      {"name": "c", "path": "/c/{{ $randomNumber(x, y) }}"},
                      {"name": "d", "path": "/d", "json": {"at": "{{ $now() }}"}}],
        "load": {"rate": 1, "duration": "1s", "scenarios": [{"name": "s", "steps": [
            {"endpoint": "a", "capture": {"token": "$.token"}},
            {"endpoint": "b", "headers": {"Authorization": "Bearer {{ token }}"}},
            {"endpoint": "a", "headers": {"X-Later": "{{ later }}"}},
            {"endpoint": "b", "capture": {"later": "$.x"}}]}]}})
    found = problems(path)
    text = "\n".join(found)
    assert all(p.startswith(f"{path}:") for p in found)          # file:line: field: message
    assert "endpoints[1].headers.X-Who: {{ who }}: no variable 'who'" in text
    assert "endpoints[2].path: {{ $randomNumber(x, y) }}: $randomNumber cannot use these arguments" in text
    assert "endpoints[3].json.at: {{ $now() }}: $now is not a template function" in text
    # captured before the step: fine; captured only by a later step: found
    assert not any("{{ token }}" in p for p in found)
    assert "load.scenarios[0].steps[2].headers.X-Later: {{ later }}: no variable 'later' in scenario s" in text
    assert not any("endpoints[0]" in p for p in found)            # {{ size }} and {{ $timestamp }} are fine


def test_a_headerless_csv_is_found_and_fields_name_its_columns(tmp_path):
    csv = "ada@shop.test,secret1\nbob@shop.test,secret2\n"
    doc = {"data": {"users": {"file": "users.csv"}},
           "endpoints": [{"name": "sign-in", "method": "POST", "path": "/auth",
                          "json": {"email": "{{ users.email }}", "password": "{{ users.password }}"}}]}
    found = "\n".join(problems(write(tmp_path, doc, {"users.csv": csv})))
    assert "feeder users has no column 'email'" in found and "needs 'fields:'" in found
    doc["data"]["users"]["fields"] = ["email", "password"]
    loaded = load_campaign(write(tmp_path, doc))
    assert loaded.feeders["users"][0] == {"email": "ada@shop.test", "password": "secret1"}


def test_validate_and_run_stop_on_an_unset_secret_before_any_request(tmp_path, monkeypatch):
    monkeypatch.delenv("PREFLIGHT_TOKEN", raising=False)
    path = write(tmp_path, {"environments": {
        "dev": {"kind": "dev", "base_url": "http://127.0.0.1:9"},
        "staging": {"kind": "staging", "base_url": "http://127.0.0.1:9",
                    "headers": {"Authorization": "Bearer ${env:PREFLIGHT_TOKEN}"}}},
        "endpoints": [{"name": "a", "path": "/a"}]})
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2
    assert "environments.staging.headers.Authorization: environment variable PREFLIGHT_TOKEN is not set" in \
        result.output
    assert CliRunner().invoke(cli, ["validate", str(path), "--env", "dev"]).exit_code == 0  # dev needs no secret
    run = CliRunner().invoke(cli, ["run", str(path), "--env", "staging", "--no-prefect", "--warehouse",
                                   str(tmp_path / "w.duckdb")])
    assert run.exit_code == 2 and "PREFLIGHT_TOKEN is not set" in run.output
    assert not (tmp_path / "w.duckdb").exists()                   # nothing ran, nothing was stored
    monkeypatch.setenv("PREFLIGHT_TOKEN", "t")
    assert CliRunner().invoke(cli, ["validate", str(path)]).exit_code == 0


@pytest.mark.parametrize("name,command", [("artillery-load-test.yml", "perfcampaign import artillery"),
                                          ("demo-openapi.yaml", "perfcampaign init --openapi")])
def test_validate_on_another_tools_file_names_the_import_command(name, command):
    result = CliRunner().invoke(cli, ["validate", str(FIXTURES / name)])
    assert result.exit_code == 2 and command in result.output
    assert "unknown field" not in result.output


def test_a_secret_missing_mid_run_fails_its_request_and_every_row_is_stored(tmp_path, demo_url, monkeypatch):
    """What only the run can know (an environment variable unset after validation): smoke fails that
    endpoint with a config error and stores the row (no NOT NULL failure, no aborted transaction)."""
    path = write(tmp_path, {"environments": {"dev": {"kind": "dev", "base_url": demo_url}},
                            "endpoints": [{"name": "health", "path": "/health"},
                                          {"name": "sneaky", "path": "/health?k={{ $env.PREFLIGHT_LATER }}"}]})
    monkeypatch.setenv("PREFLIGHT_LATER", "x")
    loaded = load_campaign(path)
    monkeypatch.delenv("PREFLIGHT_LATER")
    store = Warehouse(tmp_path / "w.duckdb")
    store.migrate()
    report = _run_smoke(loaded, store)
    env = report.environments["dev"]
    smoke = {e["name"]: e for e in env.results["smoke"].endpoints}
    assert smoke["health"]["passed"] and not smoke["sneaky"]["passed"]
    assert smoke["sneaky"]["error_kind"] == "config"
    assert "PREFLIGHT_LATER is not set" in smoke["sneaky"]["failures"][0]
    rows = store.fetchall("SELECT endpoint, url, passed FROM smoke_checks WHERE run_id = ? ORDER BY endpoint",
                          [env.run_id])
    assert [(r[0], r[2]) for r in rows] == [("health", True), ("sneaky", False)]
    assert rows[1][1].endswith("/health?k={{ $env.PREFLIGHT_LATER }}")   # the URL as written


def _run_smoke(loaded, store):
    """run_campaign's own preflight would stop the run (the variable is unset): call the environment's
    run directly, as a nightly run that lost its variable between validation and the stage would."""
    from flows.runner import plan_campaign, run_environment

    plan = plan_campaign(loaded, ["dev"], ["smoke"])
    env = asyncio.run(run_environment(loaded, "dev", plan["dev"], store, RunOptions(stages=["smoke"], trigger="test",
                                                                                   start_services=False),
                                      lambda e: None))

    class _Report:
        environments = {"dev": env}

    return _Report()
