"""prefect.yaml, read as data: what Prefect would deploy (no server needed)."""

from __future__ import annotations

import inspect
import typing
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


def test_the_adhoc_form_offers_campaign_environments_stages_and_test_type():
    from flows.campaign import campaign

    adhoc = deployments()["campaign-adhoc"]
    assert adhoc["entrypoint"] == "flows/campaign.py:campaign" and not adhoc.get("schedules")
    signature = inspect.signature(campaign.fn)
    assert {"campaign_file", "environments", "stages", "test_type"} <= set(signature.parameters)
    hints = typing.get_type_hints(campaign.fn)
    assert "Literal" in str(hints["stages"]) and "Literal" in str(hints["test_type"])   # drop-downs in the form
    schema = campaign.parameters.model_dump()
    assert schema["properties"]["campaign_file"]["default"] == "campaigns/demo.yaml"


def test_parameters_name_real_flow_parameters():
    from flows.campaign import campaign

    known = set(inspect.signature(campaign.fn).parameters)
    for name, d in deployments().items():
        entry_file, func = d["entrypoint"].split(":")
        assert (ROOT / entry_file).exists() and func == "campaign", name
        assert set(d.get("parameters") or {}) <= known, name
        for schedule in d.get("schedules") or []:
            assert set(schedule["parameters"]) <= known, schedule
