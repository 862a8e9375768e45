"""Signals and the verdict combination, over hand-built observations (no network)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import datetime, timezone

import pytest

from tasks.readiness import Evidence, ProbeTarget, build_verdict
from tasks.readiness.probe import Observation, ProbeRecord, ghost_value, limit_param, sample_combos, fill
from tasks.readiness.signals import (
    constant_latency, id_mismatch, ignores_path_id, ignores_query, mock_server_signatures, placeholder_content,
    transport_details, unstable_body, write_persistence,
)
from tasks.readiness.signatures import match_fingerprints
from tasks.readiness.verdict import decide

DATE = ("Date", "Mon, 01 Jan 2024 00:00:00 GMT")
JSON_CT = ("Content-Type", "application/json")


def obs(label: str, body=None, *, status: int = 200, headers=(), url: str = "http://127.0.0.1:9/api/items/1",
        method: str = "GET", latency: float = 1.0, meta: dict | None = None, std_headers: bool = True) -> Observation:
    raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
    hdrs = ([DATE, JSON_CT] if std_headers else []) + list(headers)
    return Observation(label, method, url, status, hdrs, raw, latency, meta=dict(meta or {}))


def read_record(observations, host=(), *, varied="id", values=None, url="http://127.0.0.1:9/api/items/{id}"):
    t = ProbeTarget("t", "GET", url, {"id": [1, 2]} if varied else {})
    if observations:
        observations[0].meta["chosen"] = True
    info = {"kind": "read", "varied": varied, "varied_in": "path" if varied else None,
            "values": values or ({"id": "1"} if varied else {})}
    return ProbeRecord(target=t, observations=list(observations), host_observations=list(host), info=info,
                       requests=len(observations) + len(host))


def signals_of(evs: list[Evidence]) -> dict[str, float]:
    return {e.signal: e.weight for e in evs}


# --- URL helpers -----------------------------------------------------------------

def test_url_helpers():
    t = ProbeTarget("p", "GET", "http://h/api/{shop}/items/{id}?limit=5&q={q}", {"shop": ["a b"], "id": [1, 2],
                                                                               "q": ["x&y"]})
    combos = sample_combos(t)
    assert len(combos) == 2
    assert fill(t.url, combos[1]) == "http://h/api/a%20b/items/2?limit=5&q=x%26y"
    assert limit_param(fill(t.url, combos[0])) == ("limit", 5)
    assert ghost_value(3) == "987654321"
    assert ghost_value("ord_123") == "ord_999999"
    g = ghost_value(str(uuid.uuid4()))
    assert uuid.UUID(g)
    assert ghost_value("kettle").startswith("zz-nonexistent-")


# --- fingerprints ------------------------------------------------------------------

@pytest.mark.parametrize("headers,body,tool", [
    ([("Matched-Stub-Id", "113b2bae-4adc-4a3e-9305-f8afb259cfce")], {"id": 1}, "WireMock"),
    ([("x-mockoon-route-uuid", "0f1e")], {"id": 1}, "Mockoon"),
    ([("x-powered-by", "msw")], {"id": 1}, "MSW"),
    ([("Hoverfly", "Was-Here")], {"id": 1}, "Hoverfly"),
    ([], {"type": "https://stoplight.io/prism/errors#NO_PATH_MATCHED_ERROR"}, "Prism"),
    ([], {"error": {"name": "mockRequestNotFoundError"}}, "Postman mock server"),
])
def test_identifying_fingerprints(headers, body, tool):
    found = match_fingerprints(obs("base", body, headers=headers))
    assert any(fp.tool == tool and fp.weight >= 4 for fp, _ in found), found


def test_tool_relaying_a_backend_is_not_a_mock():
    prism_cors = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Headers", "*"),
                  ("Access-Control-Allow-Credentials", "true"), ("Access-Control-Expose-Headers", "*")]
    generated = obs("base", {"id": 0}, std_headers=False, headers=prism_cors + [("Content-type", "application/json"),
                                                                               ("Date", "x")])
    assert sum(fp.weight for fp, _ in match_fingerprints(generated)) >= 4
    suppressed: list = []
    relayed = obs("base", {"id": 1}, std_headers=False,
                  headers=prism_cors + [("sl-violations", "[]"), ("date", "x"), ("server", "uvicorn"),
                                        ("content-type", "application/json")])
    assert match_fingerprints(relayed, suppressed=suppressed) == []
    assert {fp.id for fp, _ in suppressed} == {"prism-cors-set", "prism-sl-violations"}


def test_plain_servers_have_no_fingerprint():
    for headers in ([("Server", "nginx"), ("X-Powered-By", "Express")],
                    [("Server", "uvicorn"), ("Access-Control-Allow-Origin", "*")],
                    [("Server", "gunicorn"), ("Cache-Control", "no-cache"), ("Pragma", "no-cache")]):
        assert match_fingerprints(obs("base", {"id": 1}, headers=headers)) == []


def test_host_tool_counts_only_for_answers_the_tool_itself_wrote():
    base = obs("base", {"id": 1, "name": "Kettle"}, headers=[("Server", "nginx")])
    ctrl_same = obs("control", {"type": "https://stoplight.io/prism/errors#NO_PATH_MATCHED_ERROR"}, status=404,
                    headers=[("Server", "nginx")], url="http://127.0.0.1:9/__readiness-probe-x")
    ev = mock_server_signatures(read_record([base], host=[ctrl_same]))
    assert [(e.signal, e.weight) for e in ev] == [("mock-server-host", 4.0)]      # the tool wrote this answer
    ctrl_other = obs("control", ctrl_same.json, status=404, headers=[("Server", "Caddy")],
                     url=ctrl_same.url)
    ev = mock_server_signatures(read_record([base], host=[ctrl_other]))
    assert [(e.signal, e.weight) for e in ev] == [("mock-tool-proxy", 0.0)]      # relayed from another server


def test_admin_apis_name_the_tool():
    base = obs("base", {"id": 1}, std_headers=False, headers=[("Content-Type", "application/json"),
                                                              ("Date", "x"), ("Connection", "keep-alive"),
                                                              ("Keep-Alive", "timeout=5")])
    control = obs("control", b"Cannot GET", status=404, url="http://127.0.0.1:9/__readiness-probe-x")
    admin = obs("admin", {"message": "Unauthorized"}, status=401, std_headers=False,
                headers=base.headers, url="http://127.0.0.1:9/mockoon-admin", meta={"path": "/mockoon-admin"})
    ev = mock_server_signatures(read_record([base], host=[control, admin]))
    assert [(e.signal, e.weight) for e in ev] == [("mock-server-host", 4.0)] and "Mockoon" in ev[0].detail
    wiremock = obs("admin", {"mappings": [], "meta": {"total": 0}}, url="http://127.0.0.1:9/__admin/mappings",
                   meta={"path": "/__admin/mappings?limit=1"})
    from tasks.readiness.signatures import admin_fingerprint
    assert admin_fingerprint(wiremock, control)[0] == "WireMock"
    real_404 = obs("admin", {"detail": "Not Found"}, status=404, url="http://127.0.0.1:9/mockoon-admin",
                   meta={"path": "/mockoon-admin"})
    assert admin_fingerprint(real_404, obs("control", {"detail": "Not Found"}, status=404)) is None
    # Express echoes the path in its 404 page: naming the path is not naming the tool
    express_404 = obs("admin", b"<pre>Cannot GET /mockoon-admin</pre>", status=404, url=real_404.url,
                      meta={"path": "/mockoon-admin"})
    assert admin_fingerprint(express_404, obs("control", b"<pre>Cannot GET /x</pre>", status=404)) is None


# --- content ------------------------------------------------------------------------------

def test_placeholder_content_grades():
    prism = {"id": 0, "name": "string", "price": 0, "sku": "string", "inStock": True,
             "createdAt": "2019-08-24T14:15:22Z"}
    assert signals_of(placeholder_content(read_record([obs("base", prism)])))["placeholder-content"] >= 3.0
    real = {"id": 1, "name": "Test User", "email": "test.user@example.com", "role": "qa"}
    assert placeholder_content(read_record([obs("base", real)])) == []


def test_different_placeholder_people_weigh_but_never_decide_alone():
    team = [{"id": 1, "name": "John Doe", "role": "owner"}, {"id": 2, "name": "Jane Doe", "role": "developer"},
            {"id": 3, "name": "Foo Bar", "role": "viewer"}]
    rec = read_record([obs("base", team)])
    ev = placeholder_content(rec)
    assert 2.5 <= signals_of(ev)["placeholder-content"] < 3.0
    assert decide(rec, ev)[0] == "real"                         # one signal alone never makes "mock"
    steady = Evidence("constant-latency", "mock", 0.5, "steady")
    assert decide(rec, ev + [steady])[0] == "mock"               # with a second, independent one it does
    # one test account in a real list is not a fixture
    seeded = [{"id": 1, "name": "John Doe"}, {"id": 2, "name": "Ada Lovelace"}, {"id": 3, "name": "Alan Turing"}]
    assert placeholder_content(read_record([obs("base", seeded)])) == []
    # names the request itself sent, echoed back, never count
    echoed = {"id": 7, "owner": "John Doe", "reviewer": "Jane Doe", "status": "open", "priority": 3,
              "created_at": "2026-03-02T10:41:07Z", "project": "atlas", "estimate": 5}
    rec = read_record([obs("base", echoed, method="POST")])
    rec.target = dataclasses.replace(rec.target, body={"owner": "John Doe", "reviewer": "Jane Doe"})
    assert placeholder_content(rec) == []
    # nor do values the URL itself carries (an echo service answering its query string)
    args = {"args": {"a": "foo", "b": "bar"}, "origin": "127.0.0.1", "url": "http://127.0.0.1:9/get?a=foo&b=bar",
            "headers": {"Host": "127.0.0.1:9", "Accept": "*/*", "User-Agent": "perfcampaign"}}
    assert placeholder_content(read_record([obs("base", args, url="http://127.0.0.1:9/get?a=foo&b=bar")],
                                           varied=None, url="http://127.0.0.1:9/get?a=foo&b=bar")) == []


def test_ignores_path_id_identical_and_echo():
    body = {"id": 1, "name": "Kettle", "price": 29.9}
    rec = read_record([obs("base", body), obs("alt", body, meta={"value": "2"}),
                       obs("ghost", body, meta={"value": "987654321"})])
    assert signals_of(ignores_path_id(rec)) == {"ignores-path-id": 2.5}
    assert signals_of(id_mismatch(rec)) == {"id-mismatch": 1.0}
    echo = read_record([obs("base", {"id": "1", "status": "shipped"}),
                        obs("ghost", {"id": "987654321", "status": "shipped"}, meta={"value": "987654321"})])
    assert signals_of(ignores_path_id(echo)) == {"ignores-path-id": 1.5}
    assert id_mismatch(echo) == []


def test_real_id_behaviour():
    rec = read_record([obs("base", {"id": 1, "name": "Kettle"}),
                       obs("alt", {"id": 2, "name": "Toaster"}, meta={"value": "2"}),
                       obs("ghost", {"detail": "not found"}, status=404, meta={"value": "987654321"})])
    assert signals_of(ignores_path_id(rec)) == {"unknown-id-rejected": 1.0, "distinct-by-id": 0.8}


def test_username_route_is_not_an_id_mismatch():
    rec = read_record([obs("base", {"id": 17, "username": "ada"}),
                       obs("alt", {"id": 18, "username": "grace"}, meta={"value": "grace"})],
                      values={"id": "ada"})
    assert id_mismatch(rec) == []


def test_unstable_body_random_vs_live():
    now = datetime.now(timezone.utc).isoformat()
    random_bodies = [{"id": i * 7919 % 1000, "name": n, "price": p} for i, n, p in
                     [(1, "elit", 3.5e6), (2, "sed do", -12.0), (3, "magna", 8e7), (4, "irure", 0.4)]]
    rec = read_record([obs("base", random_bodies[0])] + [obs("repeat", b) for b in random_bodies[1:]])
    ev = signals_of(unstable_body(rec))
    assert 2.0 <= ev["unstable-random-body"] <= 2.8
    live = [{"now": now, "request_id": str(uuid.uuid4()), "served": i, "region": "eu", "items": [3, 1, 2][::s]}
            for i, s in [(1, 1), (2, -1), (3, 1), (4, -1)]]
    rec = read_record([obs("base", live[0])] + [obs("repeat", b) for b in live[1:]], varied=None)
    assert unstable_body(rec) == []


def _same_requests(bodies):
    return read_record([obs("base", bodies[0])] + [obs("repeat", b) for b in bodies[1:]], varied=None)


def test_business_counts_swinging_at_random_are_a_generator():
    # recorded from a Flask handler returning random.randint() counts beside a fresh generated_at
    now = datetime.now(timezone.utc).isoformat()
    rows = [(158, 60, 2), (236, 16, 0), (97, 71, 11), (301, 33, 6), (44, 52, 14)]
    dash = [{"active_readers": a, "loans_today": b, "overdue": c, "generated_at": now} for a, b, c in rows]
    ev = unstable_body(_same_requests(dash))
    assert [e.weight for e in ev] == [3.0] and "counts jump up and down" in ev[0].detail
    assert decide(_same_requests(dash), ev)[0] == "mock"
    # one of the three draws happened to come out sorted (recorded: 1.7 % of runs)
    rows_sorted = [(84, 67, 8), (131, 54, 2), (218, 71, 11), (260, 33, 6), (306, 52, 14)]
    dash = [{"active_readers": a, "loans_today": b, "overdue": c, "generated_at": now} for a, b, c in rows_sorted]
    assert [e.weight for e in unstable_body(_same_requests(dash))] == [3.0]
    # counts named like counters swing the same way
    named = [{"user_count": a, "order_count": b, "total": c} for a, b, c in rows]
    assert [e.weight for e in unstable_body(_same_requests(named))] == [3.0]


def test_records_picked_at_random_and_live_gauges_are_not_a_generator():
    # a real "random book" route: the whole row changes, its id and text with its numbers
    books = [(4, "Snow Crash", 4, 4), (2, "Neuromancer", 2, 1), (7, "Kindred", 2, 2), (1, "Dune", 3, 3),
             (6, "Foundation", 5, 5)]
    picks = [{"id": i, "title": t, "copies": c, "copies_available": a, "year": 1900 + i * 10} for i, t, c, a in books]
    assert all(e.weight < 3.0 for e in unstable_body(_same_requests(picks)))
    # live gauges: in-flight work stays small, memory drifts, counters only grow
    gauges = [{"in_flight": f, "heap_bytes": h, "requests_served": 1000 + i, "queue_depth": q, "workers": 4}
              for i, (f, h, q) in enumerate([(1, 41_200_000, 0), (2, 41_900_000, 1), (1, 36_000_000, 0),
                                             (3, 36_600_000, 2), (1, 37_100_000, 0)])]
    assert all(e.weight < 3.0 for e in unstable_body(_same_requests(gauges)))
    # a young counter climbing beside two small gauges is not a generator either
    young = [{"in_flight": f, "queue_depth": q, "requests_total": t} for f, q, t in
             [(1, 0, 3), (3, 2, 8), (1, 0, 14), (3, 2, 21), (1, 0, 29)]]
    assert all(e.weight < 3.0 for e in unstable_body(_same_requests(young)))
    # two swinging counts are a hint, not yet a generator
    two = [{"a": a, "b": b} for a, b, _ in [(158, 60, 0), (236, 16, 0), (97, 71, 0), (301, 33, 0)]]
    assert all(e.weight < 3.0 for e in unstable_body(_same_requests(two)))


def test_hand_typed_event_times_second_placeholder_text():
    from tasks.readiness.signals import collect

    # a canned DRF list: one row, lorem ipsum note, logged "2020-01-01T00:00:00Z"
    canned = [{"task": 1, "hours": 2.5, "note": "lorem ipsum", "logged_at": "2020-01-01T00:00:00Z"}]
    rec = read_record([obs("base", canned, url="http://127.0.0.1:9/api/timesheets/")], varied=None,
                      url="http://127.0.0.1:9/api/timesheets/")
    ev = collect(rec)
    assert signals_of(ev)["fixture-timestamp"] == 0.5 and signals_of(ev)["placeholder-content"] == 2.5
    assert decide(rec, ev)[0] == "mock"
    # rows stamped by now(), a date-only field, a midnight that is not the 1st: nothing
    for row in ({"note": "lorem ipsum", "logged_at": "2020-01-01T09:12:44.120Z"},
                {"note": "x", "due_on": "2020-01-01"}, {"note": "x", "logged_at": "2020-01-15T00:00:00Z"},
                {"note": "x", "logged_at": "2020-01-01T00:00:00Z", "done_at": "2023-05-04T10:01:02Z"}):
        rec = read_record([obs("base", [row])], varied=None, url="http://127.0.0.1:9/api/timesheets/")
        assert "fixture-timestamp" not in signals_of(collect(rec))
    # lorem ipsum alone stays below mock
    rec = read_record([obs("base", [{"note": "lorem ipsum", "logged_at": "2020-01-01T09:12:44Z"}])], varied=None)
    assert decide(rec, collect(rec))[0] == "real"


def test_ignores_query():
    lst = [{"id": i} for i in range(4)]
    base = obs("base", lst, url="http://127.0.0.1:9/api/items?limit=10")
    ignored = obs("limit", lst, meta={"param": "limit", "value": 1, "base_value": 10})
    honoured = obs("limit", lst[:1], meta={"param": "limit", "value": 1, "base_value": 10})
    assert signals_of(ignores_query(read_record([base, ignored], varied=None))) == {"ignores-query": 2.0}
    assert signals_of(ignores_query(read_record([base, honoured], varied=None))) == {"limit-honoured": 1.0}


# --- latency --------------------------------------------------------------------------------

def _latency_record(lat, others=(2.0,)):
    o = [obs("base", {"ok": 1}, latency=lat[0])] + [obs("repeat", {"ok": 1}, latency=x) for x in lat[1:]]
    host = [obs("control", {"detail": "nf"}, status=404, latency=x) for x in others]
    return read_record(o, host=host, varied=None)


def test_constant_latency():
    fixed = _latency_record([130.0, 120.4, 120.9, 121.1, 120.6])
    assert signals_of(constant_latency(fixed)) == {"constant-latency": 2.0}
    jittery = _latency_record([90.0, 61.0, 84.0, 72.5, 95.0])
    assert constant_latency(jittery) == []
    loopback = _latency_record([1.2, 1.0, 1.0, 1.0, 1.0])
    assert constant_latency(loopback) == []
    everything_slow = _latency_record([60.0, 50.1, 50.2, 50.0, 50.1], others=(49.0,))
    assert signals_of(constant_latency(everything_slow))["constant-latency"] <= 1.0
    steady_query = _latency_record([30.0, 23.0, 23.3, 25.6, 23.3], others=(6.3,))   # a real aggregate query
    assert signals_of(constant_latency(steady_query))["constant-latency"] <= 1.0


def test_transport_details():
    p = obs("base", b'{\n  "id": 1\n}', std_headers=False, headers=[("Content-Type", "text/html")])
    assert set(signals_of(transport_details(read_record([p], varied=None)))) == {
        "content-type-mismatch", "pretty-printed-json", "no-date-header"}


# --- writes ---------------------------------------------------------------------------------

def _write_record(observations, body=None, method="POST"):
    t = ProbeTarget("w", method, "http://127.0.0.1:9/api/orders", {}, body=body or {"sku": "A-1", "qty": 2})
    return ProbeRecord(target=t, observations=observations, info={"kind": "write", "writes_allowed": True,
                                                                  "values": {}})


def test_a_location_that_cannot_be_followed_is_weak_evidence():
    from tasks.readiness.routing import RouteCheck

    w = obs("write", {"id": 5, "sku": "A-1"}, status=201, method="POST", headers=[("Location", "/api/v1/orders/5")])
    f = obs("follow", {"detail": "Not Found"}, status=404, meta={"via": "location", "location": "/api/v1/orders/5"})
    rec = _write_record([w, f])
    assert signals_of(write_persistence(rec))["write-not-persisted"] == 1.0       # nothing compared: weak
    rec.info["follow_route"] = RouteCheck(False, "the router's own 404")
    assert signals_of(write_persistence(rec))["location-unroutable"] == 0.3      # a route the API does not expose
    rec.info["follow_route"] = RouteCheck(True, "its 404 names the order")
    assert signals_of(write_persistence(rec))["write-not-persisted"] == 2.5      # the route is there, the id not


def test_a_list_that_grew_outweighs_a_location_that_404s():
    from tasks.readiness.routing import RouteCheck

    w = obs("write", {"id": 5, "product_id": 7}, status=201, method="POST", headers=[("Location", "/api/v1/orders/5")])
    f = obs("follow", {"detail": "Not Found"}, status=404, meta={"via": "location", "location": "/api/v1/orders/5"})
    before = [obs("effect-before", [{"id": 4}], meta={"read": "orders"}, url="http://127.0.0.1:9/api/orders"),
              obs("effect-before", {"balance": 100.0}, meta={"read": "wallet"}, url="http://127.0.0.1:9/api/wallet")]
    after = [obs("effect-after", [{"id": 5}, {"id": 4}], meta={"read": "orders"}, url="http://127.0.0.1:9/api/orders"),
             obs("effect-after", {"balance": 70.1}, meta={"read": "wallet"}, url="http://127.0.0.1:9/api/wallet")]
    rec = _write_record(before + [w, f] + after)
    rec.info.update(created_id="5", follow_route=RouteCheck(False, "the router's own 404"))
    sig = signals_of(write_persistence(rec))
    assert sig["effect-listed"] == 2.0 and "write-not-persisted" not in sig
    v = build_verdict(rec)
    assert v.verdict == "real", v.to_dict()


def test_a_write_that_changes_nothing_anywhere_is_suspect():
    w = obs("write", {"id": 1, "status": "registered"}, status=201, method="POST")
    before = [obs("effect-before", [{"id": 1}], meta={"read": "regs"}, url="http://127.0.0.1:9/api/orders")]
    after = [obs("effect-after", [{"id": 1}], meta={"read": "regs"}, url="http://127.0.0.1:9/api/orders")]
    sig = signals_of(write_persistence(_write_record(before + [w] + after)))
    assert sig["effect-none"] == 1.0


def test_write_same_id_and_conflict_and_async():
    w1 = obs("write", {"id": 1001, "status": "created"}, status=201, method="POST")
    w2 = obs("write", {"id": 1001, "status": "created"}, status=201, method="POST")
    assert signals_of(write_persistence(_write_record([w1, w2])))["write-same-id"] == 2.0
    conflict = obs("write", {"detail": "exists"}, status=409, method="POST")
    assert "write-conflict" in signals_of(write_persistence(_write_record([w1, conflict])))
    accepted = obs("write", {"job": "j-1"}, status=202, method="POST")
    assert signals_of(write_persistence(_write_record([accepted]))) == {"write-accepted-async": 0.0}


def test_write_persisted():
    w = obs("write", {"id": 5, "sku": "A-1", "qty": 2}, status=201, method="POST")
    f = obs("follow", {"id": 5, "sku": "A-1", "qty": 2}, meta={"via": "id", "id": "5"})
    assert signals_of(write_persistence(_write_record([w, f])))["write-persisted"] == 2.0


# --- verdict combination ----------------------------------------------------------------------

def _ok_record():
    return read_record([obs("base", {"id": 1, "name": "Kettle"})])


@pytest.mark.parametrize("signal,weight", [
    ("constant-latency", 2.0), ("ignores-path-id", 2.5), ("unstable-random-body", 2.8), ("ignores-query", 2.0),
    ("mock-server-header", 3.0), ("placeholder-content", 2.5), ("catch-all-route", 2.0),
])
def test_single_weak_signal_never_makes_mock(signal, weight):
    verdict, conf, _ = decide(_ok_record(), [Evidence(signal, "mock", weight, "x")])
    assert verdict == "real" and conf < 0.5


def test_two_moderate_signals_make_mock():
    ev = [Evidence("ignores-path-id", "mock", 2.0, "x"), Evidence("constant-latency", "mock", 1.5, "y")]
    verdict, conf, reason = decide(_ok_record(), ev)
    assert verdict == "mock" and 0.8 < conf < 0.95 and reason == "x"


def test_identified_tool_beats_realistic_behaviour():
    ev = [Evidence("mock-server-header", "mock", 4.0, "json-server header set"),
          Evidence("write-persisted", "real", 2.0, "x"), Evidence("unknown-id-rejected", "real", 1.0, "y")]
    assert decide(_ok_record(), ev)[0] == "mock"


def test_no_evidence_is_real_with_moderate_confidence():
    verdict, conf, _ = decide(_ok_record(), [])
    assert verdict == "real" and 0.55 < conf < 0.7


def test_writes_not_allowed_is_unverified_never_real():
    t = ProbeTarget("w", "POST", "http://127.0.0.1:9/api/orders", {})
    mockoon_cors = [("Access-Control-Allow-Methods", "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"),
                    ("Access-Control-Allow-Headers", "Content-Type, Origin, Accept, Authorization, Content-Length, "
                                                     "X-Requested-With")]
    rec = ProbeRecord(target=t, observations=[obs("options", b"", status=204, method="OPTIONS", headers=mockoon_cors)],
                      info={"kind": "write", "writes_allowed": False, "not_probed": "writes are off here"})
    v = build_verdict(rec)
    # Mockoon answers OPTIONS itself even for the routes it proxies: a hint, not a verdict
    assert v.verdict == "unverified" and v.reason.startswith("writes are off here")
    assert "mock tool" in v.reason
    assert any(e.signal == "writes-not-probed" for e in v.evidence)
    # a stub that answered the endpoint itself names the tool: that is a mock, writes or not
    rec.observations = [obs("options", b"", status=404, method="OPTIONS", headers=[("Matched-Stub-Id", "x")])]
    assert build_verdict(rec).verdict == "mock"


def test_not_implemented_needs_a_stub_message():
    from tasks.readiness.signals import status_evidence
    stub = read_record([obs("base", {"message": "Not implemented yet"})], varied=None)
    assert "not-implemented" in signals_of(status_evidence(stub))
    product = read_record([obs("base", {"id": 3, "name": "Mixer", "note": "coming soon in red"})], varied=None)
    assert status_evidence(product) == []


def test_idempotent_post_is_not_same_id_mock():
    w1 = obs("write", {"id": 9, "status": "created"}, status=201, method="POST")
    w2 = obs("write", {"id": 9, "status": "created"}, status=201, method="POST")
    rec = _write_record([w1, w2])
    rec.target.headers["Idempotency-Key"] = "k-1"
    assert signals_of(write_persistence(rec)) == {"write-idempotent": 0.0}


def test_json_lines_are_a_stream_not_invalid_json():
    from tasks.readiness.signals.content import odd_values

    lines = b'{"result":{"blob":"AAAA"}}\n{"result":{"blob":"BBBB"}}\n'
    rec = read_record([obs("base", lines)], varied=None)
    assert "invalid-json" not in signals_of(odd_values(rec))
    rec = read_record([obs("base", b'{"id": 1, "name": "x",}')], varied=None)
    assert signals_of(odd_values(rec))["invalid-json"] == 2.0


def test_json_server_1_names_itself_when_asked_for_a_page():
    """``?_page=1&_per_page=1`` on a plain JSON array: json-server 1.x answers its own envelope; a real
    API's pagination (other keys, or these among more) is not taken for it."""
    envelope = {"first": 1, "prev": None, "next": 2, "last": 3, "pages": 3, "items": 3, "data": [{"id": "1"}]}
    hits = match_fingerprints(obs("tool-page", envelope))
    assert [(fp.id, fp.weight) for fp, _ in hits] == [("json-server-1-pages", 5.0)]
    for real in ({"items": [{"id": 1}], "next": None, "total": 1},
                 {**envelope, "total": 3},
                 [{"id": 1}]):
        assert all(fp.id != "json-server-1-pages" for fp, _ in match_fingerprints(obs("tool-page", real)))


def test_values_that_change_once_are_a_state_that_changed_not_randomness():
    """Held-out bed (Datasette 1.0a, ``/-/instance.json``): table counts are computed in the background,
    so eight identical requests saw ``table_rows_sum`` 67 then 0 and relationship counts 0 then 2: one
    step each, and the real endpoint was called mock."""
    rows = [(67, 0, 0)] * 2 + [(0, 2, 1)] * 6
    bodies = [{"databases": [{"table_rows_sum": t, "tables": [{"num_relationships_for_sorting": a},
                                                               {"num_relationships_for_sorting": b}]}]}
              for t, a, b in rows]
    assert unstable_body(_same_requests(bodies)) == []
    flipping = [{"data": d, "note": n} for d, n in [(True, "a b c"), (False, "d e f"), (True, "g h i"),
                                                     (False, "j k l"), (True, "m n o")]]
    assert unstable_body(_same_requests(flipping))   # changing on every request still counts
