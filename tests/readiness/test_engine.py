"""End-to-end over loopback: a real service, mimics of Prism / json-server /
WireMock / Mockoon / Postman, hand-made mocks, and failure cases."""

from __future__ import annotations

import json

import httpx
import pytest

from tasks.readiness import ProbeTarget, check_endpoints

from .conftest import mock_targets, real_targets
from .mimics import make_fixed_sleep_app
from .servers import serve_asgi

REAL = ["real-product", "real-product-swagger-record", "real-product-bad-first-id", "real-list", "real-random",
        "real-user-test-user", "real-user-only-test-user", "real-config", "real-time", "real-report-jittery",
        "real-tenant-settings", "real-me", "real-quote", "real-search", "real-create", "real-create-unique-sku",
        "real-patch", "real-delete", "expected-401", "real-via-prism-proxy", "real-via-prism-proxy-config",
        "real-via-mockoon-proxy", "real-via-mockoon-proxy-create",
        "real-quote-by-id", "real-quote-by-sku", "real-search-post", "real-recommendations-cold-start",
        "real-validate-coupon", "real-login", "real-blog-post", "real-blog-list", "real-categories"]

MOCK = ["prism-product", "prism-user", "prism-create", "prism-dyn-product", "prism-dyn-list",
        "json-server-product", "json-server-list", "json-server-create", "wiremock-product", "wiremock-list",
        "wiremock-create", "wiremock-slow", "mockoon-order", "handmade-canned",
        "handmade-nonpersisting-write", "handmade-patch", "handmade-lorem", "handmade-faker",
        "basehttp-catchall", "postman-pet", "handmade-canned-forecast", "handmade-placeholder-inbox"]

OTHER = {
    # the campaign's ids 404 but the collection lists real ones: the route is real, the test data wrong
    "missing-all-ids": "real",
    # the router's own 404 for an item route that does not exist
    "missing-item-route": "missing",
    # a handler's 404 ("user not found") and no id to be found anywhere: the route exists, unverified
    "unknown-user": "unverified",
    "missing-route": "missing", "method-not-allowed": "missing",
    "not-implemented-501": "missing", "not-implemented-body": "missing", "wiremock-unstubbed": "missing",
    "prism-unknown-route": "missing", "server-error": "error", "unreachable": "unreachable",
}


def test_no_real_endpoint_is_ever_called_mock(verdicts):
    wrong = {n: (v.verdict, v.evidence) for n, v in verdicts.items() if n in REAL and v.verdict != "real"}
    assert not wrong


@pytest.mark.parametrize("name", REAL)
def test_real(verdicts, name):
    assert verdicts[name].verdict == "real", verdicts[name].to_dict()


@pytest.mark.parametrize("name", MOCK)
def test_mock(verdicts, name):
    v = verdicts[name]
    assert v.verdict == "mock", v.to_dict()
    assert v.confidence >= 0.75


@pytest.mark.parametrize("name,expected", sorted(OTHER.items()))
def test_status_verdicts(verdicts, name, expected):
    assert verdicts[name].verdict == expected, verdicts[name].to_dict()


def _signals(v) -> set[str]:
    return {e.signal for e in v.evidence}


@pytest.mark.parametrize("name,signal", [
    ("prism-product", "placeholder-content"), ("prism-product", "ignores-path-id"),
    ("prism-user", "mock-server-body"), ("prism-dyn-product", "unstable-random-body"),
    ("json-server-product", "mock-server-header"), ("wiremock-product", "mock-server-header"),
    ("wiremock-list", "ignores-query"), ("wiremock-create", "write-same-id"),
    ("mockoon-order", "mock-server-header"), ("handmade-canned", "ignores-path-id"),
    ("handmade-canned", "id-mismatch"), ("handmade-fixed-sleep", "ignores-path-id"),
    ("handmade-nonpersisting-write", "write-not-persisted"), ("handmade-patch", "write-not-reflected"),
    ("handmade-lorem", "placeholder-content"), ("handmade-faker", "unstable-random-body"),
    ("basehttp-catchall", "catch-all-route"), ("postman-pet", "mock-server-host"),
    ("real-product", "unknown-id-rejected"), ("real-product", "distinct-by-id"), ("real-list", "limit-honoured"),
    ("real-create", "write-persisted"), ("real-create-unique-sku", "write-persisted"),
    ("real-patch", "write-persisted"), ("real-delete", "write-persisted"), ("real-me", "auth-enforced"),
    ("real-product-bad-first-id", "bad-sample"), ("missing-all-ids", "bad-sample"),
    ("unknown-user", "entity-not-found"), ("missing-item-route", "not-found"),
    ("real-via-prism-proxy", "mock-tool-proxy"), ("real-via-mockoon-proxy", "mock-tool-proxy"),
    # RPC-style POSTs: the canned forecast ignores its sku and names another one
    ("handmade-canned-forecast", "ignores-input"), ("handmade-canned-forecast", "input-not-reflected"),
    ("handmade-placeholder-inbox", "placeholder-content"), ("handmade-placeholder-inbox", "uniform-items"),
    ("handmade-placeholder-inbox", "ignores-auth"),
    ("real-quote-by-id", "depends-on-input"), ("real-quote-by-sku", "depends-on-input"),
    ("real-login", "depends-on-input"),
    # legitimately the same answer for another input: the signal fires, one signal is not enough
    ("real-search-post", "ignores-input"), ("real-recommendations-cold-start", "ignores-input"),
    ("real-categories", "uniform-items"),
])
def test_expected_evidence(verdicts, name, signal):
    assert signal in _signals(verdicts[name]), verdicts[name].to_dict()


@pytest.mark.parametrize("name", ["real-quote-by-sku", "real-validate-coupon", "real-login", "real-blog-post",
                                  "real-blog-list", "real-quote-by-id"])
def test_real_traps_get_no_mock_evidence(verdicts, name):
    """A normalised sku echo, an error "code", a sign-in's user_id, seed data
    saying "sample"/"test": none of them is evidence of a mock."""
    v = verdicts[name]
    assert not [e for e in v.evidence if e.points_to == "mock"], v.to_dict()


def test_rpc_posts_send_a_bounded_number_of_requests(verdicts):
    # a non-create POST is resent for latency samples only when its second send took ≥ 15 ms:
    # 2 sends (+ 4 resends) + the vary probe (+ 4 host probes when first on their origin)
    for name in ("real-quote-by-id", "real-search-post", "real-validate-coupon", "real-login"):
        v = verdicts[name]
        sends = 2 if v.latencies_ms[1] < 15.0 else 6
        assert len(v.latencies_ms) == sends and v.requests <= sends + 6, v.to_dict()   # + a refused unique e-mail
    v = verdicts["handmade-canned-forecast"]                  # 120 ms: always resent
    assert len(v.latencies_ms) == 6 and v.requests <= 11, v.to_dict()
    # a creating POST read back with its values is sent once: no twin object is created
    assert len(verdicts["real-create"].latencies_ms) == 1


def test_evidence_details_quote_observations(verdicts):
    d = {e.signal: e.detail for e in verdicts["wiremock-product"].evidence}
    assert "Matched-Stub-Id: 3c0e7a52-1f1e-4e5e-9b0a-6a1f1d1c2b3a" in d["mock-server-header"]


class _VirtualClock:
    """Stands in for ``time`` in the probe module: each request advances it by
    exactly what the fake server "spent", so latencies are deterministic."""

    def __init__(self) -> None:
        self.now = 1000.0

    def perf_counter(self) -> float:
        return self.now


def _fixed_sleep_transport(clock: _VirtualClock, hiccups: dict[int, float]) -> httpx.MockTransport:
    """A hand-made mock on a virtual clock: GET /api/reports/{id} and POST
    /api/quote answer canned bodies after 200 ms (+ < 1.5 ms of jitter, + the
    given hiccups by call number); every other path answers 404 in 1 ms."""
    calls = {"n": 0}
    jitter = [0.0004, 0.0011, 0.0007, 0.0002, 0.0009, 0.0013, 0.0005]
    quote = {"currency": "EUR", "subtotal": 49.9, "vat": 9.98, "total": 59.88,
             "lines": [{"label": "Wireless Mouse", "qty": 2, "amount": 49.9}], "valid_until": "2024-06-30"}
    headers = {"date": "Mon, 01 Jan 2024 00:00:00 GMT", "server": "uvicorn"}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith("/api/reports/") or (path == "/api/quote" and request.method == "POST"):
            calls["n"] += 1
            clock.now += 0.2 + jitter[calls["n"] % len(jitter)] + hiccups.get(calls["n"], 0.0)
            body = quote if path == "/api/quote" else {"report_id": 1, "rows": 42, "status": "ready"}
            return httpx.Response(200, json=body, headers=headers)
        clock.now += 0.001
        return httpx.Response(404, json={"detail": "Not Found"}, headers=headers)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("hiccups", [{}, {3: 0.018, 6: 0.025}], ids=["quiet", "two-hiccups"])
async def test_fixed_sleep_is_caught_deterministically(monkeypatch, hiccups):
    """The whole engine (probe plan, signals, verdict) over a fixed 200 ms
    sleep on a virtual clock: reads and non-create POSTs alike, with or
    without scheduler hiccups in the samples.  No timing noise, no skip."""
    from tasks.readiness import probe as probe_module

    clock = _VirtualClock()
    monkeypatch.setattr(probe_module, "time", clock)
    u = "http://127.0.0.1:9"
    targets = [ProbeTarget("fixed-sleep-get", "GET", f"{u}/api/reports/{{id}}", {"id": [5, 6]}),
               ProbeTarget("fixed-sleep-post", "POST", f"{u}/api/quote", {}, body={"sku": "MOUSE-0001", "qty": 2})]
    async with httpx.AsyncClient(transport=_fixed_sleep_transport(clock, hiccups)) as client:
        get, post = await check_endpoints(targets, client=client, samples=8, concurrency=1)
    for v in (get, post):
        lat = [e for e in v.evidence if e.signal == "constant-latency"]
        assert lat and lat[0].weight == 2.0, v.to_dict()     # CV < 1 %, the host's 404s took 1 ms
        assert v.verdict == "mock" and v.confidence >= 0.9, v.to_dict()
        assert all(x >= 200.0 for x in v.latencies_ms)
    assert len(get.latencies_ms) == 8                        # base + 7 repeats
    assert len(post.latencies_ms) == 9 and post.requests <= 12   # 2 POSTs + 7 resends
    assert "ignores-path-id" in _signals(get)
    assert "ignores-input" in _signals(post) and "input-not-reflected" not in _signals(post)


@pytest.fixture(scope="module")
def fixed_sleep_mock(servers):
    """A hand-made mock sleeping a fixed 300 ms on two routes (a GET and a
    non-create POST) while the rest of its host answers at once.  Depends on
    ``servers`` for its quiet thread switching."""
    srv = serve_asgi(make_fixed_sleep_app(0.3))
    try:
        yield srv.url
    finally:
        srv.stop()


async def test_fixed_sleep_is_caught_over_loopback(fixed_sleep_mock):
    """The same over real sockets and a real ``asyncio.sleep``.  Never
    skipped: a long sleep (300 ms) and 8 samples (the third farthest from the
    median dropped) resolve it on a busy host; a host so loaded that one probe
    still cannot (the detector rightly abstains on noisy samples) gets two
    more tries, and the test fails — it does not skip — if none resolves it."""
    u = fixed_sleep_mock
    targets = [ProbeTarget("fixed-sleep-get", "GET", f"{u}/api/reports/{{id}}", {"id": [5, 6]}),
               ProbeTarget("fixed-sleep-post", "POST", f"{u}/api/quote", {}, body={"sku": "MOUSE-0001", "qty": 2})]
    for target in targets:
        seen = []
        for _ in range(3):
            [v] = await check_endpoints([target], samples=8)
            lat = [e for e in v.evidence if e.signal == "constant-latency"]
            if lat:
                break
            seen.append(v.latencies_ms)
        assert lat, f"{target.name}: a fixed 300 ms sleep was not resolved in 3 probes: {seen}"
        assert lat[0].weight >= 1.5                          # the host's other pages answered fast
        assert v.verdict == "mock", v.to_dict()
        assert all(x >= 299.0 for x in v.latencies_ms), v.latencies_ms


def test_real_confidence_and_missing_confidence(verdicts):
    assert verdicts["real-product"].confidence >= 0.85
    assert verdicts["real-create"].confidence >= 0.9
    assert verdicts["missing-route"].confidence >= 0.85
    assert verdicts["missing-item-route"].confidence >= 0.85


def test_request_budget_and_shape(verdicts):
    for v in verdicts.values():
        assert 0 <= v.requests <= 40, (v.name, v.requests)
        d = v.to_dict()
        json.dumps(d)
        assert set(d) == {"name", "method", "url", "verdict", "confidence", "evidence", "status_code",
                          "latencies_ms", "requests", "reason"}
        assert v.reason or v.verdict == "real", d
        assert 0.0 <= v.confidence <= 1.0
        assert "{" not in v.url            # the URL actually requested
    assert len(verdicts["real-report-jittery"].latencies_ms) == 5


async def test_allow_writes_false_never_writes(servers):
    store = servers.real_app.state.store
    before = store.writes
    targets = [t for t in real_targets(servers) + mock_targets(servers)
               if t.method in ("POST", "PUT", "PATCH", "DELETE")]
    results = await check_endpoints(targets, allow_writes=False)
    assert store.writes == before
    for v in results:
        assert v.verdict in ("unverified", "mock") and v.reason, v.to_dict()
        assert "writes-not-probed" in _signals(v)
        if v.verdict == "mock":      # only a tool naming itself in the endpoint's own answer, never a guess
            assert _signals(v) & {"mock-server-header", "mock-server-body"}, v.to_dict()
        # OPTIONS, the host's own pages, and when OPTIONS gets a 404 the route oracle's two requests
        # for a path that surely does not exist (shared by the origin, charged to the first asking)
        assert v.requests <= 9
    assert all(v.verdict == "unverified" for v in results if v.name.startswith("real"))


async def test_timeout_is_unreachable(servers):
    [v] = await check_endpoints([ProbeTarget("slow", "GET", f"{servers.real}/api/slowpoke", {})], timeout_s=0.3)
    assert v.verdict == "unreachable" and v.status_code is None
    assert "timeout" in v.evidence[0].detail


async def test_caller_client_is_reused_and_left_open(servers):
    async with httpx.AsyncClient(trust_env=False) as client:
        [v] = await check_endpoints([ProbeTarget("cfg", "GET", f"{servers.real}/api/config", {})], client=client,
                                    samples=3)
        assert not client.is_closed
    assert v.verdict == "real" and len(v.latencies_ms) == 3


async def test_empty_targets():
    assert await check_endpoints([]) == []
