"""Readiness on the real bed (tests/realbed): real mock tools configured as teams use them, the
real shop app with canned handlers, mock tools in proxy mode in front of it (Mockoon; apimocker
relaying every route it does not stub through itself), a hand-rolled mock, and an nginx gateway
routing one prefix to json-server and the rest to the real shop.

Each calibration configuration is started once, passed through the real ``perfcampaign run
--no-prefect --stages readiness,smoke --json``, and every endpoint's verdict is checked against
the configuration's ground truth (truth.yaml); the target's objects are counted before and after
and nothing may be left behind.

Production-kind configurations (``PRODUCTION``) get no write probes: nothing on the target may
change, a write is never "real", and a write relayed to the real service is never "mock". Behind
the gateway, OPTIONS on an unsent write's path is answered by whatever serves that path, so the
writes routed to json-server must be "mock"; where one piece of software answers OPTIONS on every
path (``ONE_OPTIONS_SERVER``), a mocked write may stay "unverified".

``KNOWN`` lists the cases the engine on main still gets wrong (issue 11): they are xfail
(strict=False) as a temporary state, so a fix shows up as XPASS; remove them as they are fixed.
Held-out configurations are not run here: their verdicts are measured by
``python -m bench.readiness``, not tuned against. Prism on Prefect's spec is in test_real_apps.py
(it shares the Prefect server started there).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
import yaml

from tests.realbed.bed import Bed, read_truth, CONFIGS
from tests.realbed.registry import CONFIG, gateway_access_log
from tests.realbed.runner import Outcome, run_pass

pytestmark = pytest.mark.slow

HAND_WRITTEN = ("json-server-shop", "mockoon-helpdesk", "wiremock-payments", "mockoon-proxy-shop", "shop-canned",
                "shop-production", "express-lms", "gateway-shop-production", "gateway-hardened-shop-production",
                "mockoon-proxy-shop-production", "apimocker-proxy-shop", "apimocker-proxy-shop-no-server",
                "apimocker-proxy-shop-production")
#: configurations that reuse another one's campaign and truth
TRUTH_OF = {"shop-production": "shop-canned", "mockoon-proxy-shop-production": "mockoon-proxy-shop",
            "gateway-hardened-shop-production": "gateway-shop-production",
            "apimocker-proxy-shop-production": "apimocker-proxy-shop",
            "apimocker-proxy-shop-no-server": "apimocker-proxy-shop"}
GATEWAYS = ("gateway-shop-production", "gateway-hardened-shop-production")
#: a stub tool relaying every route it does not stub to the real shop through itself (apimocker
#: ``--proxy``): two transports of about the same size, the tool's own answers and the relayed ones.
#: Behind "-no-server" the shop hides its Server header too: neither side lacks Date or Server, so the
#: side to blame is told only by what its endpoints show on their own (the engine before c6b24a5
#: called two stubs real there: wishlists, wishlist).
RELAYING = ("apimocker-proxy-shop", "apimocker-proxy-shop-no-server", "apimocker-proxy-shop-production")
#: production-kind configurations: readiness sends them no write
PRODUCTION = ("shop-production", *GATEWAYS, "mockoon-proxy-shop-production", "prism-proxy-shop-production",
              "apimocker-proxy-shop-production")
#: production configurations where one piece of software answers OPTIONS on every path (the app
#: itself; a tool in proxy mode answering preflights itself or relaying them all to the backend): an
#: unsent mocked write cannot be told from a relayed one there, so "unverified" is honest for it too.
#: Behind the gateway, OPTIONS is answered by whatever serves the path: a mocked write must be "mock".
#: So behind apimocker: its Express router answers OPTIONS on a stubbed path itself (200, ``Allow``),
#: and relays OPTIONS on any other path to the shop (405) — it is not in this set.
ONE_OPTIONS_SERVER = {"shop-production", "mockoon-proxy-shop-production", "prism-proxy-shop-production"}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
ENGINE = "engine on main (issue 11)"
KNOWN: dict[str, dict[str, str]] = {
    "express-lms": {n: f"{ENGINE}: a hand-rolled Express mock is called real"
                    for n in ("attendance", "course", "enroll", "enrollments", "list-courses")},
    # json-server behind a gateway that hides X-Powered-By and its home page, in production: its lists
    # name it when asked for a page, the writes follow through OPTIONS; the item route answers an
    # unknown id 404 and other ids other bodies, pretty-printed JSON (0.5) alone against it
    # one clean-clone CI run of three: the item route lost co-served-with-mocks (transport-differs 1.5,
    # unknown-id-empty 0.7 against distinct-by-id 0.8: real); not reproduced in 12 runs alone, under
    # CPU load or beside the Prefect and browser tests. Intermittent until the cause is found.
    "apimocker-proxy-shop": {
        "wishlist": f"{ENGINE}: intermittent — the item route's co-served-with-mocks was missing once"},
    "gateway-hardened-shop-production": {
        "community-review": f"{ENGINE}: json-server 1.x's item route behind a gateway that hides X-Powered-By "
                            "is called real (unknown-id-rejected, distinct-by-id; only pretty-printed-json "
                            "against it)"},
}
KNOWN_LEFT_BEHIND = {"mockoon-helpdesk"}


@pytest.fixture(scope="module")
def bed():
    with Bed() as b:
        yield b


@pytest.fixture(scope="module")
def outcomes(bed):
    cache: dict[str, Outcome] = {}

    def get(name: str) -> Outcome:
        if name not in cache:
            cache[name] = run_pass(CONFIG[name].start(bed))
        return cache[name]
    return get


def _cases() -> list:
    cases = []
    for name in HAND_WRITTEN:
        for endpoint, label in read_truth(CONFIGS / TRUTH_OF.get(name, name)).items():
            reason = KNOWN.get(name, {}).get(endpoint)
            marks = [pytest.mark.xfail(strict=False, reason=reason)] if reason else []
            cases.append(pytest.param(name, endpoint, label, id=f"{name}:{endpoint}", marks=marks))
    return cases


def campaign_writes(campaign: Path) -> set[str]:
    """The campaign's endpoints that write (a POST to a ``/search`` route only reads)."""
    doc = yaml.safe_load(campaign.read_text())
    return {ep["name"] for ep in doc["endpoints"]
            if ep.get("method", "GET").upper() in WRITE_METHODS and not ep["path"].split("?")[0].endswith("/search")}


def allowed_verdicts(config: str, endpoint: str, label: str, writes: set[str]) -> set[str]:
    if config in PRODUCTION and endpoint in writes:
        if label == "real":
            return {"unverified"}  # not sent: never "real", and never "mock" (a relayed write)
        return {"mock", "unverified"} if config in ONE_OPTIONS_SERVER else {"mock"}
    return {"real", "unverified"} if label == "real" else {label}


@pytest.mark.parametrize(("config", "endpoint", "label"), _cases())
def test_verdict_matches_ground_truth(outcomes, config, endpoint, label):
    outcome = outcomes(config)
    verdict = outcome.verdicts.get(endpoint)
    allowed = allowed_verdicts(config, endpoint, label, campaign_writes(outcome.target.campaign))
    assert verdict in allowed, (f"{config} {endpoint}: truth {label}, readiness said {verdict} "
                                f"[{outcome.evidence(endpoint)}] {outcome.endpoints.get(endpoint, {}).get('reason')}")


@pytest.mark.parametrize("config", [
    pytest.param(n, marks=[pytest.mark.xfail(strict=False, reason=f"{ENGINE}: write probes are not cleaned up")]
                 if n in KNOWN_LEFT_BEHIND else []) for n in HAND_WRITTEN])
def test_nothing_left_behind(outcomes, config):
    outcome = outcomes(config)
    if outcome.target.count is None:
        pytest.skip(f"{config} keeps no state a probe could leave behind")
    assert outcome.left == {}, f"{config}: readiness + smoke left behind {outcome.left}"
    assert outcome.health is None, outcome.health


@pytest.mark.parametrize("config", PRODUCTION)
def test_production_write_not_probed_is_not_called_real_nor_relayed_one_mock(outcomes, config):
    """Production gets no write probes, so readiness cannot know a write is real: the honest
    verdict is "unverified" (or "mock" from other evidence), never "real"; and a write relayed to
    the real service (behind a proxy-mode tool or a gateway) is never "mock"."""
    outcome = outcomes(config)
    writes = campaign_writes(outcome.target.campaign)
    assert writes, f"{config}: the campaign has no write endpoint"
    wrong = {}
    for name in sorted(writes):
        verdict, truth = outcome.verdicts.get(name), outcome.target.truth.get(name)
        if verdict not in ("unverified", "mock") or (truth == "real" and verdict == "mock"):
            wrong[name] = (truth, verdict, outcome.endpoints.get(name, {}).get("reason"))
    assert not wrong, f"{config}: {wrong}"


@pytest.mark.parametrize("config", PRODUCTION)
def test_production_gets_no_writes(outcomes, config):
    outcome = outcomes(config)
    assert outcome.target.count is not None
    assert (outcome.left, outcome.residue, outcome.destroyed) == ({}, {}, {}), \
        (outcome.left, outcome.residue, outcome.destroyed)
    assert outcome.health is None, outcome.health


@pytest.mark.parametrize("config", GATEWAYS)
def test_gateway_access_log_shows_no_write(outcomes, config):
    """nginx logs every request the pass sent through the gateway: safe methods only, and both
    upstreams reached (OPTIONS included: the unsent writes' routes were asked)."""
    outcome = outcomes(config)
    requests = [line.split('"')[1].split() for line in gateway_access_log(outcome.target).read_text().splitlines()]
    methods = {r[0] for r in requests}
    assert methods <= {"GET", "HEAD", "OPTIONS"}, f"writes reached the gateway: {methods}"
    assert any(r[0] == "OPTIONS" and r[1].startswith("/api/community/") for r in requests)
    assert any(r[0] == "GET" and r[1].startswith("/api/products") for r in requests)


def test_gateway_stops_cleanly():
    """nginx (master and worker), json-server and the shop all stop with the bed: every process of
    the sessions the bed started (each is started in its own session) is gone once it closes."""
    with Bed() as bed:
        target = CONFIG["gateway-shop-production"].start(bed)
        assert target.count is not None and target.count().deletable["community-clubs"] == 2
        sessions = {sid for sid, cmd in _processes() if str(bed.work) in cmd}
        names = [cmd for sid, cmd in _processes() if sid in sessions]
        assert len(sessions) >= 3 and any("nginx: worker" in c for c in names), names
    left = [cmd for sid, cmd in _processes() if sid in sessions]
    assert left == [], f"processes left running after the bed closed: {left}"


def _processes() -> list[tuple[int, str]]:
    """(session id, command line + working folder) of every live process (zombies aside)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if fields[0] != "Z":
            found.append((int(fields[3]), f"{cmd.strip()} (in {cwd})"))
    return found


@pytest.mark.parametrize("config", ["shop-openapi", "prism-proxy-shop"])
def test_shop_from_its_own_spec_no_false_alarm(outcomes, config):
    """The real shop (directly, and through Prism's validating proxy) probed from the campaign
    ``init --openapi`` writes from its own spec: no real endpoint called mock or missing."""
    s = outcomes(config).score
    assert s.real >= 10
    assert s.real_called_mock == 0, outcomes(config).explain()
    assert s.existing_called_missing == 0, outcomes(config).explain()


@pytest.mark.xfail(strict=False, reason=f"{ENGINE}: canned handlers inside a real app are called real")
@pytest.mark.parametrize("config", ["shop-openapi", "prism-proxy-shop"])
def test_shop_from_its_own_spec_canned_handlers_caught(outcomes, config):
    s = outcomes(config).score
    assert s.mocks == 5 and s.recall is not None and s.recall >= 0.95, outcomes(config).explain()


@pytest.mark.parametrize("config", ["shop-openapi", "prism-proxy-shop"])
def test_shop_from_its_own_spec_nothing_left_behind(outcomes, config):
    assert outcomes(config).left == {}, outcomes(config).left


@pytest.mark.parametrize("config", RELAYING)
def test_relaying_stub_tool_relayed_endpoints_never_mock_and_every_stub_caught(outcomes, config):
    """apimocker answers its stubs itself (Express: Title-Case headers, Keep-Alive, a mock file's
    Last-Modified) and relays the rest to the shop (uvicorn's lower-case headers, connection:
    close), with its CORS headers and X-Powered-By on both: the split must be blamed on the stubbed
    side only. No relayed real endpoint is called mock, and every stub is."""
    outcome = outcomes(config)
    s = outcome.score
    assert s.real == 8 and s.mocks == 6
    assert s.real_called_mock == 0, outcome.explain()
    missed = {name for name, (truth, _) in s.wrong.items() if truth == "mock"} - set(KNOWN.get(config, {}))
    assert not missed, outcome.explain()
    assert s.existing_called_missing == 0, outcome.explain()


def _loopback_listeners(port: int) -> list[str]:
    """Local addresses listening on ``port`` (from /proc/net/tcp and tcp6), as hex strings."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, _, hex_port = local.rpartition(":")
                if state == "0A" and int(hex_port, 16) == port:
                    found.append(address)
    return found


def test_apimocker_listens_on_loopback_only_and_stops_cleanly():
    """apimocker's express app listens on every interface unless told otherwise (its CLI has no host
    option): server.js pins it to 127.0.0.1. apimocker and the shop behind it stop with the bed."""
    with Bed() as bed:
        target = CONFIG["apimocker-proxy-shop"].start(bed)
        port = int(target.base_url.rsplit(":", 1)[1])
        assert _loopback_listeners(port) == ["0100007F"], _loopback_listeners(port)
        sessions = {sid for sid, cmd in _processes() if str(bed.work) in cmd}
        names = [cmd for sid, cmd in _processes() if sid in sessions]
        assert len(sessions) == 2 and any("server.js" in c and "--proxy" in c for c in names), names
    left = [cmd for sid, cmd in _processes() if sid in sessions]
    assert left == [], f"processes left running after the bed closed: {left}"
