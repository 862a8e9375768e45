"""The load: section — aliases, threshold grammar, presets, every error at once."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from campaigns.load import LoadSpec, parse_threshold

EXAMPLE = """
test_type: load
phases:
  - {name: warm-up, duration: 10s, arrivalRate: 5, rampTo: 20}
  - {duration: 30s, arrival_rate: 20}
scenarios:
  - name: browse
    weight: 70
    steps: [{endpoint: list-products}, {endpoint: product, think: 200ms}]
  - name: buy
    weight: 30
    flow:
      - name: sign-in
        request: {method: post, path: /auth/sign-in, json: {email: "{{ users.email }}"}}
        capture: [{json: "$.token", as: token}]
      - {endpoint: create-order, headers: {Authorization: "Bearer {{ token }}"}}
thresholds:
  - "p(95)<300"
  - {metric: p99, op: "<", value: 800, endpoint: product, abort_on_fail: true, grace: 10s}
  - {threshold: "error_rate<1%", abortOnFail: true, delayAbortEval: 5s}
"""


def spec(text: str = EXAMPLE) -> LoadSpec:
    return LoadSpec.model_validate(yaml.safe_load(text))


def test_example_parses_with_artillery_and_k6_aliases():
    s = spec()
    assert s.model == "open"
    assert s.phases[0].arrival_rate == 5 and s.phases[0].ramp_to == 20 and s.phases[1].duration == 30
    assert s.scenarios[1].steps[0].capture == {"token": "$.token"}
    assert s.scenarios[1].steps[0].request.method == "POST"
    th = s.thresholds
    assert (th[0].metric, th[0].op, th[0].value) == ("p(95)", "<", 300)
    assert (th[1].metric, th[1].endpoint, th[1].abort_on_fail, th[1].grace) == ("p(99)", "product", True, 10)
    assert (th[2].metric, th[2].value, th[2].abort_on_fail, th[2].grace) == ("error_rate", 0.01, True, 5)


@pytest.mark.parametrize("text, expected", [
    ("p(95)<300", ("p(95)", "<", 300.0, None)),
    ("p99 <= 1s", ("p(99)", "<=", 1000.0, None)),
    ("avg<200", ("mean", "<", 200.0, None)),
    ("med<5", ("p(50)", "<", 5.0, None)),
    ("rate<0.01", ("error_rate", "<", 0.01, None)),
    ("error_rate<2.5%", ("error_rate", "<", 0.025, None)),
    ("throughput>=50", ("rps", ">=", 50.0, None)),
    ("p(99.9){endpoint:product}<800ms", ("p(99.9)", "<", 800.0, "product")),
])
def test_threshold_grammar(text, expected):
    assert parse_threshold(text) == expected


@pytest.mark.parametrize("bad", ["p(95)<<3", "p(0)<3", "p(101)<3", "rps<5ms", "p95<1%", "latency<3", "p95<"])
def test_threshold_grammar_rejects(bad):
    with pytest.raises(ValueError):
        parse_threshold(bad)


def test_every_error_at_once_and_unknown_keys():
    with pytest.raises(ValidationError) as exc:
        LoadSpec.model_validate({"rate": 5, "duration": "10s", "bogus": 1, "thresholds": ["p(95)<<3"],
                                 "scenarios": [{"name": "a", "steps": [{}]}],
                                 "phases": [{"duration": "x", "arrivalRate": 1}]})
    locs = {tuple(e["loc"])[:2] for e in exc.value.errors()}
    assert ("bogus",) in locs and ("thresholds", 0) in locs and ("scenarios", 0) in locs and ("phases", 0) in locs


def test_model_choice_is_checked():
    with pytest.raises(ValidationError, match="choose one workload model"):
        LoadSpec.model_validate({"rate": 5, "vus": 3, "duration": 10})
    with pytest.raises(ValidationError, match="needs a duration"):
        LoadSpec.model_validate({"vus": 3})
    with pytest.raises(ValidationError, match="inline request needs a 'name'"):
        LoadSpec.model_validate({"rate": 1, "duration": 1, "scenarios": [
            {"name": "x", "steps": [{"request": {"path": "/a"}}]}]})


def test_unknown_endpoint_references():
    errors = spec().reference_errors({"list-products", "product"})
    assert errors == ["load.scenarios[1].steps[1].endpoint: unknown endpoint 'create-order' "
                      "(known: list-products, product)"]
    bad = LoadSpec.model_validate({"rate": 1, "duration": 1, "thresholds": ["p(95){endpoint:nope}<3"]})
    assert "unknown endpoint 'nope'" in bad.reference_errors({"a"})[0]


def test_presets_expand_into_phases():
    s = LoadSpec.model_validate({"rate": 20, "duration": "60s"})
    load = s.profile("load")
    assert [(p.executor, p.rate) for p in load.phases] == [("constant-arrival-rate", 20)]
    assert sum(p.duration for p in load.phases) == 60
    stress = s.profile("stress")
    assert max(max(p.rate, p.rate_to or 0) for p in stress.phases) == pytest.approx(60)
    spike = s.profile("spike")
    assert [p.rate for p in spike.phases] == [20, 200, 20]
    soak = s.profile("soak")
    assert soak.phases[-1].duration == 3600
    bp = s.profile("breakpoint")
    assert bp.breakpoint is not None and bp.phases[0].rate == 2 and bp.phases[0].rate_to == 200
    closed = LoadSpec.model_validate({"stages": [{"duration": "5s", "target": 10}, {"duration": 5, "vus": 0}]})
    assert [(p.executor, p.vus, p.vus_to) for p in closed.profile().phases] == [
        ("ramping-vus", 0, 10), ("ramping-vus", 10, 0)]
    assert closed.profile("stress").model == "closed"


def test_explicit_phases_win_for_their_own_test_type():
    s = spec()
    assert s.profile().source == "phases"
    assert s.profile("spike").source == "preset:spike"
