"""The campaign's ``chaos:`` section: every mistake at once with its file and line, the demo section
proposed for ``campaigns/demo.yaml``, and the checks against a campaign and an environment."""

from __future__ import annotations


import pytest

from campaigns.chaos import ChaosSpec
from campaigns.loader import CampaignError, load_campaign
from tasks.chaos.errors import ExperimentInvalid
from tasks.chaos.experiment import check, validate
from tests.chaos.conftest import DEMO_SECTION, campaign, context, experiment, spec, write_demo

def test_the_demo_section_validates_and_runs_in_dev_and_staging_only_well_under_a_minute(tmp_path, chaos_loader):
    loaded = load_campaign(write_demo(tmp_path))
    chaos = loaded.campaign.chaos
    assert chaos.reference_errors([e.name for e in loaded.campaign.endpoints], loaded.campaign.environments) == []
    for env in ("dev", "staging"):
        names = [e.name for e in chaos.for_environment(env)]
        assert names == ["latency-400ms", "outage-2s"]
        planned = sum(e.planned_seconds() + 1.0 for e in chaos.for_environment(env))  # + arming and recovery
        assert planned < 30
    assert chaos.for_environment("production") == []


def test_every_mistake_is_reported_at_once_with_file_and_line(tmp_path, chaos_loader):
    broken = DEMO_SECTION.replace("fault: latency,", "fault: latencyy,").replace(
        "{fault: outage, duration: 2s}", "{fault: outage, duration: 2s, fraction: 2}").replace(
        "error_rate: 1%}", "error_rate: 1%, p42_ms: 3}", 1).replace("hold: 2s}", "hold: 2s, bound: 3s}", 1)
    with pytest.raises(CampaignError) as info:
        load_campaign(write_demo(tmp_path, broken))
    text = str(info.value)
    lines = text.splitlines()
    assert len(lines) == 4, text
    assert any("unknown fault type 'latencyy'" in line for line in lines)
    assert any("fraction: Input should be less than or equal to 1" in line for line in lines)
    assert any("p42_ms: unknown field" in line for line in lines)
    assert any("recovery.bound: unknown field" in line for line in lines)
    assert all(line.startswith(f"{tmp_path / 'demo.yaml'}:") for line in lines)


def test_activities_are_told_apart_by_their_key_and_rollbacks_are_never_faults():
    doc = spec(experiment("x", [{"nothing": 1}, {"pause": "1s"}], rollbacks=[{"fault": "outage", "duration": 1}]))
    with pytest.raises(Exception) as info:
        ChaosSpec.model_validate(doc)
    text = str(info.value)
    assert "an activity has one of the keys fault, command or pause" in text
    assert "a rollback is a command or a pause" in text
    with pytest.raises(Exception, match="the method needs a fault or a command"):
        ChaosSpec.model_validate(spec(experiment("x", [{"pause": "1s"}])))
    with pytest.raises(Exception, match="time_bound 2s is shorter"):
        ChaosSpec.model_validate(spec(experiment("x", time_bound="2s")))
    with pytest.raises(Exception, match="loopback"):
        ChaosSpec.model_validate(spec(experiment("x", target={"listen": "10.0.0.1:80", "upstream": "127.0.0.1:81"})))


def test_the_experiments_are_checked_against_campaign_and_environment_all_at_once(tmp_path):
    import pydantic

    with pytest.raises(pydantic.ValidationError, match="probes\\[0\\].endpoints: unknown endpoint 'nope'"):
        campaign("http://127.0.0.1:9", spec(experiment("a", endpoints=["nope"])))  # the model refuses it first
    exps = [experiment("b", target={"listen": "127.0.0.1:19999", "upstream": "db.internal:5432"}),
            experiment("c", method=[{"command": ["no-such-program-xyz"]}], rollbacks=[{"command": ["./missing.sh"]}])]
    c = campaign("http://127.0.0.1:9", spec(*exps))
    problems, _ = validate(context(c, tmp_path))
    text = "\n".join(problems)
    assert "host 'db.internal' is not on the allow_hosts of environment 'dev'" in text
    assert "method[0].command: program 'no-such-program-xyz' not found" in text
    assert "rollbacks[0].command: program './missing.sh' not found" in text
    with pytest.raises(ExperimentInvalid) as info:
        check(context(c, tmp_path))
    assert len(info.value.problems) == len(problems) == 3


def test_an_https_service_cannot_take_a_service_target_and_readiness_blocks_and_caps_are_respected(tmp_path):
    c = campaign("https://127.0.0.1:9", spec(experiment("a")))
    problems, _ = validate(context(c, tmp_path))
    assert any("needs an http:// base_url" in p for p in problems)
    c = campaign("http://127.0.0.1:9", spec(experiment("a", time_bound="2m")), caps={"max_duration": "1m"})
    problems, _ = validate(context(c, tmp_path))
    assert problems == ["chaos.experiments[0] (a).time_bound: 120s is longer than environment 'dev''s "
                        "caps.max_duration 60s (the time bound bounds the load)"]
    c = campaign("http://127.0.0.1:9", spec(experiment("a", endpoints=["ok", "sleepy"])))
    problems, notes = validate(context(c, tmp_path, blocked={"sleepy": "mock"}))
    assert problems == [] and notes == ["a: left out of the load (readiness): sleepy (mock)"]
    problems, _ = validate(context(c, tmp_path, blocked={"sleepy": "mock", "ok": "missing"}))
    assert any("no scenario is left" in p for p in problems)
