"""prefect.yaml, read as data: what Prefect would deploy (no server needed)."""

from __future__ import annotations

import inspect
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def config() -> dict:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text())


def deployments() -> dict[str, dict]:
    return {d["name"]: d for d in config()["deployments"]}


def test_pull_steps_are_explicit_and_nothing_is_built_or_pushed():
    c = config()
    assert c["build"] is None and c["push"] is None
    assert c["pull"] == [{"prefect.deployments.steps.set_working_directory":
                          {"directory": "{{ $PERFCAMPAIGN_HOME }}"}}]


def test_a_nightly_deployment_per_environment_with_a_zoned_cron():
    nightly = {n: d for n, d in deployments().items() if "nightly" in d.get("tags", [])}
    envs = set()
    for name, d in nightly.items():
        assert d["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}, name
        assert d["work_pool"]["name"] == "perfcampaign"
        assert d["schedules"], name
        for schedule in d["schedules"]:
            assert set(schedule) >= {"cron", "timezone", "slug", "parameters"}, schedule
            assert len(schedule["cron"].split()) == 5 and "/" in schedule["timezone"]
            assert schedule["parameters"]["environments"] == d["parameters"]["environments"]
            envs.update(schedule["parameters"]["environments"])
    from campaigns.loader import load_campaign

    assert envs == set(load_campaign(ROOT / "campaigns" / "demo.yaml").campaign.environments)
    slugs = [s["slug"] for d in nightly.values() for s in d["schedules"]]
    assert len(slugs) == len(set(slugs))


def test_every_timezone_is_known():
    from zoneinfo import ZoneInfo

    for d in deployments().values():
        for schedule in d.get("schedules") or []:
            ZoneInfo(schedule["timezone"])


def flow_of(entrypoint: str):
    """The flow object a deployment's entrypoint names, loaded as ``prefect deploy`` loads it."""
    from prefect.flows import load_flow_from_entrypoint

    return load_flow_from_entrypoint(str(ROOT / entrypoint))


def test_the_adhoc_forms_offer_environments_stages_and_test_type():
    from prefect.utilities.callables import parameter_schema

    generic, demo = deployments()["campaign-adhoc"], deployments()["demo-adhoc"]
    assert generic["entrypoint"] == "flows/campaign.py:campaign" and demo["entrypoint"] == "flows/forms.py:demo"
    for d in (generic, demo):
        assert not d.get("schedules")
        form = parameter_schema(flow_of(d["entrypoint"])).model_dump_for_openapi()["properties"]
        assert {"campaign_file", "environments", "stages", "test_type"} <= set(form)
        assert form["stages"]["items"]["enum"] == ["readiness", "smoke", "e2e", "load", "chaos"]   # drop-downs
        assert "load" in form["test_type"]["enum"]
        assert form["campaign_file"]["default"] == "campaigns/demo.yaml"
    demo_form = parameter_schema(flow_of(demo["entrypoint"])).model_dump_for_openapi()["properties"]
    assert demo_form["environments"]["items"]["enum"] == ["dev", "staging", "production"]   # the demo's own


def test_parameters_name_real_flow_parameters():
    for name, d in deployments().items():
        entry_file, _ = d["entrypoint"].split(":")
        assert (ROOT / entry_file).exists(), name
        found = flow_of(d["entrypoint"])
        assert found.name == "campaign", name
        known = set(inspect.signature(found.fn).parameters)
        assert set(d.get("parameters") or {}) <= known, name
        for schedule in d.get("schedules") or []:
            assert set(schedule["parameters"]) <= known, schedule
