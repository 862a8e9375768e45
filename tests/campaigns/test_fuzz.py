"""Property-based fuzzing of the loader and the campaign model (hypothesis), in bounded time.

The property: for ANY text, ``parse_campaign`` returns a campaign or raises ``CampaignError`` whose
problems each have a message and a line inside the file (or none) — never another exception — and a
campaign that validates can be planned (load plan, compiled requests, k6 script) without an
internal error. ``bench/fuzz.py`` runs the same generators over 10,000 files with a hang watchdog.
"""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.loader import CampaignError, parse_campaign
from campaigns.templating import MissingVariable
from campaigns.types import UnresolvedSecret
from tests.hostile.yamlfuzz import HOSTILE_SCALARS, HOSTILE_VALUES, gentle, mutate_data, mutate_text, seed_texts

SEEDS = seed_texts()
SEED_DATA = [yaml.safe_load(text) for _, text in SEEDS]
FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check(text: str) -> Any:
    """The property itself: a campaign, or problems that name a line of the file."""
    lines = text.count("\n") + 2
    try:
        campaign = parse_campaign(text, "f.yaml")
    except CampaignError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert str(problem).startswith("f.yaml")
            assert problem.message
            assert problem.line is None or 1 <= problem.line <= lines, problem
        return None
    consume(campaign)
    return campaign


def consume(campaign: Any) -> None:
    """What a run does with a valid campaign before its first request."""
    from campaigns.load import TEST_TYPES
    from tasks.k6.script import build_script
    from tasks.load.flow import CompiledStep
    from tasks.load.planner import PlanError, plan_load

    campaign.model_dump_json()
    for env_name in campaign.environments:
        campaign.environments[env_name].allowed_stages()
        if campaign.load is None:
            continue
        for test_type in TEST_TYPES:
            try:
                plan = plan_load(campaign.load, campaign, env_name, test_type=test_type).plan
            except (PlanError, UnresolvedSecret):
                continue
            parts = urlsplit(plan.base_url)
            for sc in plan.scenarios:
                for i, step in enumerate(sc.steps):
                    try:
                        CompiledStep(i, step, parts.netloc, parts.path).data({}, random.Random(0))
                    except (MissingVariable, UnresolvedSecret):
                        pass
        try:
            build_script(campaign.load, campaign, env_name, for_run=False)
        except (PlanError, UnresolvedSecret):
            pass


@FUZZ
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_any_text_is_a_campaign_or_problems_with_lines(text):
    check(text)


@FUZZ
@given(st.sampled_from(range(len(SEEDS))), st.integers(0, 2**32), st.integers(1, 4))
def test_mutated_campaign_text_never_raises_anything_else(seed, rng_seed, rounds):
    rng = random.Random(rng_seed)
    text = SEEDS[seed][1]
    for _ in range(rounds):
        text = mutate_text(text, rng)
    check(text)


@FUZZ
@given(st.sampled_from(range(len(SEEDS))), st.integers(0, 2**32), st.integers(1, 3), st.booleans())
def test_mutated_campaign_data_never_raises_anything_else(seed, rng_seed, rounds, soft):
    rng = random.Random(rng_seed)
    data = gentle(SEED_DATA[seed], rng, rounds * 2) if soft else mutate_data(SEED_DATA[seed], rng, rounds)
    check(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.sampled_from(HOSTILE_VALUES),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)


@FUZZ
@given(st.data())
def test_any_value_anywhere_in_the_demo_campaign(data):
    doc = SEED_DATA[data.draw(st.sampled_from(range(len(SEED_DATA))))]
    import copy

    doc = copy.deepcopy(doc)
    target = doc
    for _ in range(data.draw(st.integers(0, 4))):
        if isinstance(target, dict) and target:
            key = data.draw(st.sampled_from(sorted(target, key=str)))
            if not isinstance(target[key], (dict, list)) or not target[key]:
                break
            target = target[key]
        elif isinstance(target, list) and target:
            i = data.draw(st.integers(0, len(target) - 1))
            if not isinstance(target[i], (dict, list)) or not target[i]:
                break
            target = target[i]
    value = data.draw(JSONISH)
    if isinstance(target, dict):
        target[data.draw(st.sampled_from(sorted(target, key=str) + ["extra"]))] = value
    elif isinstance(target, list):
        target[data.draw(st.integers(0, len(target) - 1))] = value
    check(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


@FUZZ
@given(st.sampled_from(HOSTILE_SCALARS), st.sampled_from(["description", "team", "campaign", "rate", "duration",
                                                         "max_rps", "max_duration", "path", "kind", "base_url"]))
def test_every_hostile_yaml_scalar_under_every_key(value, key):
    text = SEEDS[0][1]
    lines = [line.split(":", 1)[0] + f": {value}" if line.strip().startswith(f"{key}:") else line
             for line in text.splitlines()]
    replaced = lines != text.splitlines()
    check("\n".join(lines) + ("\n" if replaced else f"\n{key}: {value}\n"))


@pytest.mark.parametrize("name, text", SEEDS, ids=[n for n, _ in SEEDS])
def test_the_seeds_themselves_are_valid_campaigns(name, text):
    assert check(text) is not None
