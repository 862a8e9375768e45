"""Readiness on a real application nobody here wrote: the Prefect server (a FastAPI app, 187
operations), served on loopback with a temporary PREFECT_HOME and SQLite database, probed from
the campaign ``perfcampaign init --openapi`` writes from its own spec.

Ground truth: every documented route exists and is real. The server's objects are counted in its
database before and after readiness + smoke (nothing may be left behind) and its health is checked
afterwards (no 5xx, no event storm). Prism serving the same spec is checked here too (it shares
the server's spec). Targets from issue 11; xfail while the engine on main misses
them (strict=False: a fix shows as XPASS).
"""

from __future__ import annotations

import pytest

from tests.realbed.bed import Bed
from tests.realbed.registry import CONFIG
from tests.realbed.runner import run_pass

pytestmark = pytest.mark.slow
ENGINE = "engine on main (issue 11)"


@pytest.fixture(scope="module")
def bed():
    with Bed() as b:
        yield b


@pytest.fixture(scope="module")
def prefect_pass(bed):
    return run_pass(CONFIG["prefect-server"].start(bed))


def test_every_operation_gets_a_verdict(prefect_pass):
    assert len(prefect_pass.target.truth) >= 180
    absent = [n for n in prefect_pass.target.truth if n not in prefect_pass.verdicts]
    assert not absent, absent


def test_no_real_operation_called_mock(prefect_pass):
    assert prefect_pass.score.real_called_mock == 0, prefect_pass.explain()


@pytest.mark.xfail(strict=False, reason=f"{ENGINE}: an entity-level 404 for a placeholder id is called missing")
def test_existing_routes_are_not_called_missing(prefect_pass):
    rate = prefect_pass.score.wrong_missing_rate
    assert rate is not None and rate <= 0.02, prefect_pass.explain()


@pytest.mark.xfail(strict=False, reason=f"{ENGINE}: write probes create objects and do not remove them")
def test_nothing_left_behind(prefect_pass):
    assert prefect_pass.left == {}, prefect_pass.left


@pytest.mark.xfail(strict=False, reason=f"{ENGINE}: probe automations set each other off (event storm)")
def test_server_healthy_after_the_pass(prefect_pass):
    assert prefect_pass.health is None, prefect_pass.health


def test_prism_static_on_prefects_spec_is_all_mock(bed):
    """Prism serving the same real spec statically (a team mocking the backend before it is
    deployed): every sampled operation of the campaign ``init`` writes is a mock."""
    outcome = run_pass(CONFIG["prism-static-prefect"].start(bed))
    assert outcome.score.mocks >= 40
    assert outcome.score.recall is not None and outcome.score.recall >= 0.95, outcome.explain()
    assert outcome.score.existing_called_missing == 0, outcome.explain()
