"""Signals for POSTs that create nothing (RPC/query style), Lorem ipsum text
and template-stamped lists — over hand-built observations (no network)."""

from __future__ import annotations

import pytest

from tasks.readiness import Evidence, ProbeTarget, build_verdict
from tasks.readiness.content import (
    find_id, id_shape, is_identifier_key, is_round_time, names_collection, same_identifier, vary_identifier,
    with_value,
)
from tasks.readiness.probe import ProbeRecord, is_non_create
from tasks.readiness.signals import (
    constant_latency, ignores_input, input_not_reflected, lorem_weight, placeholder_content, uniform_items,
    write_persistence,
)
from tasks.readiness.verdict import decide

from .test_signals import obs, read_record, signals_of

URL = "http://127.0.0.1:9/api/retail-ai/predict-demand"
FORECAST = {"sku": "SKU-00042", "horizon_days": 7, "model_version": "2.3.1", "generated_at": "2024-03-01T06:00:00Z",
            "confidence": 0.92, "forecast": [{"date": f"2024-03-0{d}", "units": u}
                                             for d, u in zip(range(1, 8), (120, 118, 125, 131, 140, 152, 149))],
            "total_units": 935}


def rpc_record(answers, *, vary=None, vary_status: int = 200, body=None, latencies=None, host_latency: float = 1.0,
               url: str = URL) -> ProbeRecord:
    """A non-create POST: the identical sends (``write`` ×2 then ``resend``),
    the ``vary`` probe, a fast host probe."""
    body = body if body is not None else {"sku": "SKU-00001", "horizon_days": 7}
    latencies = latencies or [1.0] * len(answers)
    o = [obs("write" if i < 2 else "resend", a, method="POST", url=url, latency=lat)
         for i, (a, lat) in enumerate(zip(answers, latencies))]
    if vary is not None:
        field, new = vary_identifier(body)[0], vary_identifier(body)[2]
        o.append(obs("vary", vary, status=vary_status, method="POST", url=url,
                     meta={"field": ".".join(field), "from": body[field[0]], "to": new}))
    t = ProbeTarget("rpc", "POST", url, {}, body=body)
    host = [obs("control", {"detail": "Not Found"}, status=404, url="http://127.0.0.1:9/__readiness-probe-x",
                latency=host_latency)]
    return ProbeRecord(target=t, observations=o, host_observations=host,
                       info={"kind": "write", "writes_allowed": True, "non_create": True, "values": {}})


# --- helpers --------------------------------------------------------------------------------

def test_vary_identifier_picks_one_identifier_and_a_neighbour():
    assert vary_identifier({"sku": "SKU-00001", "horizon_days": 7}) == (("sku",), "SKU-00001", "SKU-00002")
    assert vary_identifier({"product_id": 7, "qty": 1}) == (("product_id",), 7, 8)
    assert vary_identifier({"email": "test1@example.com", "password": "pw"}) == (
        ("email",), "test1@example.com", "test2@example.com")
    assert vary_identifier({"email": "ada@x.org"})[2] == "ada2@x.org"
    assert vary_identifier({"customer": {"id": "0042"}, "note": "x"}) == (("customer", "id"), "0042", "0043")
    # an id-shaped string under any key comes after identifier-named keys
    assert vary_identifier({"store": "ST-9", "user_id": 3})[0] == ("user_id",)
    assert vary_identifier({"store": "ST-9", "qty": 3})[0] == ("store",)
    # never numbers that are not ids, secrets, free text or lists
    for body in ({"qty": 2, "amount": 10.5}, {"otp_code": "123456"}, {"query": "kettle"},
                 {"items": [{"sku": "A-1"}]}, [1, 2], None):
        assert vary_identifier(body) is None, body
    body = {"a": {"b": "X-1"}, "c": 1}
    assert with_value(body, ("a", "b"), "X-2") == {"a": {"b": "X-2"}, "c": 1} and body["a"]["b"] == "X-1"


def test_identifier_shapes_and_equality():
    assert id_shape("SKU-00001") == id_shape("sku-00042") == "SKU-#####"
    assert id_shape("SKU-001") != id_shape("SKU-00001")
    assert id_shape(5) == id_shape("17") == "int"
    assert id_shape("a@b.io") == "email" and id_shape("3fa85f64-5717-4562-b3fc-2c963f66afa6") == "uuid"
    for free in ("Kettle", "COUPON_NOT_FOUND", "", True, None, 2.5):
        assert id_shape(free) is None, free
    assert same_identifier("kt-100", "KT100") and same_identifier("1", 1) and same_identifier("Ada@X.io", "ada@x.io")
    assert not same_identifier("SKU-00001", "SKU-00042")
    assert is_identifier_key("sku") and is_identifier_key("course_code") and is_identifier_key("customerId")
    assert not is_identifier_key("password") and not is_identifier_key("qty") and not is_identifier_key("token")


def test_created_id_must_name_the_collection_when_the_path_is_known():
    sign_in = {"token": "abc", "token_type": "Bearer", "user_id": 7, "expires_in": 3600}
    assert find_id(sign_in) == 7                      # without a path: as before
    assert find_id(sign_in, "/auth/sign-in") is None  # a reference to an existing user
    assert find_id({"order_id": "o-9", "status": "created"}, "/api/orders") == "o-9"
    assert find_id({"registration_id": 3}, "/api/course-registrations") == 3
    assert find_id({"id": 5, "user_id": 7}, "/auth/sign-in") == 5
    assert names_collection("enrollment_id", "/api/lms/enrollments")
    assert names_collection("categoryId", "/api/categories/")
    assert not names_collection("user_id", "/api/orders")


def test_is_non_create():
    def answer(body, status=200, headers=()):
        return obs("write", body, status=status, method="POST", url=URL, headers=headers)
    assert is_non_create(answer(FORECAST))
    assert is_non_create(answer({"token": "t", "user_id": 7}))               # sign-in style
    assert not is_non_create(answer({"id": 5, "sku": "A"}))                  # new resource with its id
    assert not is_non_create(answer(FORECAST, status=201))
    assert not is_non_create(answer(FORECAST, status=202))
    assert not is_non_create(answer(FORECAST, headers=[("Location", "/x/1")]))
    assert not is_non_create(answer(b"OK"))


def test_round_timestamps():
    assert is_round_time("2024-01-01T00:00:00Z") and is_round_time("2024-01-01")
    assert not is_round_time("2024-01-01T01:00:00Z") and not is_round_time("2024-01-16T11:01:00Z")
    assert not is_round_time(0) and not is_round_time("soon")


# --- ignores-input ------------------------------------------------------------------------------

def test_ignores_input_same_answer_for_another_sku():
    rec = rpc_record([FORECAST, FORECAST], vary=FORECAST)
    ev = ignores_input(rec)
    assert signals_of(ev) == {"ignores-input": 2.0}
    assert "sku='SKU-00002' instead of 'SKU-00001'" in ev[0].detail


def test_ignores_input_masks_volatile_fields():
    a = dict(FORECAST, request_id="r-1", served_at="2024-05-01T10:00:00Z")
    b = dict(FORECAST, request_id="r-2", served_at="2024-05-01T10:00:01Z")
    assert signals_of(ignores_input(rpc_record([a, a], vary=b))) == {"ignores-input": 2.0}


def test_echo_only_is_weak():
    echoed = dict(FORECAST, sku="SKU-00002")
    base = dict(FORECAST, sku="SKU-00001")
    assert signals_of(ignores_input(rpc_record([base, base], vary=echoed))) == {"ignores-input": 0.8}


def test_an_answer_that_depends_on_its_input_is_real_evidence():
    other = dict(FORECAST, sku="SKU-00002", total_units=410, forecast=[{"date": "2024-03-01", "units": 58}])
    assert signals_of(ignores_input(rpc_record([FORECAST, FORECAST], vary=other))) == {"depends-on-input": 0.8}
    rejected = rpc_record([FORECAST, FORECAST], vary={"detail": "unknown sku"}, vary_status=404)
    assert signals_of(ignores_input(rejected)) == {"depends-on-input": 0.5}


@pytest.mark.parametrize("answer", [
    {"valid": False},                                                          # a small verdict
    {"valid": False, "errors": [{"field": "code", "code": "not_found", "message": "Unknown coupon"}]},
    {"status": "subscribed"},
    {"results": [], "total": 0},                                               # nothing found, twice
])
def test_small_or_verdict_answers_may_repeat(answer):
    body = {"code": "SAVE-0010", "basket_total": 80}
    assert ignores_input(rpc_record([answer, answer], vary=answer, body=body)) == []


def test_no_comparison_when_identical_sends_disagree():
    a, b = dict(FORECAST, units_left=3), dict(FORECAST, units_left=9)
    assert ignores_input(rpc_record([a, b], vary=a)) == []


def test_only_for_non_create_posts_with_writes_allowed():
    rec = rpc_record([FORECAST, FORECAST], vary=FORECAST)
    rec.info["non_create"] = False
    assert ignores_input(rec) == [] and input_not_reflected(rec) == []
    rec = rpc_record([FORECAST, FORECAST], vary=FORECAST)
    rec.info["writes_allowed"] = False
    assert ignores_input(rec) == [] and input_not_reflected(rec) == []


# --- input-not-reflected --------------------------------------------------------------------------

def test_input_not_reflected():
    ev = input_not_reflected(rpc_record([FORECAST, FORECAST], vary=FORECAST))
    assert signals_of(ev) == {"input-not-reflected": 1.0}
    assert "sent sku='SKU-00001', the answer says sku='SKU-00042'" in ev[0].detail
    assert "'SKU-00002' got 'SKU-00042' too" in ev[0].detail
    two = {"customer_id": 17, "sku": "SKU-00001"}
    answer = {"customer_id": 3, "sku": "SKU-00042", "total": 10.0}
    assert signals_of(input_not_reflected(rpc_record([answer], body=two))) == {"input-not-reflected": 1.5}


@pytest.mark.parametrize("body,answer", [
    ({"sku": "kt-100", "qty": 3}, {"sku": "KT-100", "qty": 3, "total": 89.7}),           # normalised case
    ({"student_id": "1"}, {"student_id": 1, "status": "ok"}),                             # "1" vs 1
    ({"code": "SAVE-0010"}, {"valid": False, "code": "COUPON_NOT_FOUND"}),               # an error code
    ({"sku": "SKU-00001"}, {"sku": "SKU-001", "note": "legacy sku"}),                     # another shape
    ({"sku": "SKU-00001"}, {"suggestions": [{"sku": "SKU-00007"}, {"sku": "SKU-00013"}]}),  # related items
    ({"name": "Kettle"}, {"name": "Electric kettle"}),                                    # free text
    ({"sku": "SKU-00001"}, {"error": {"sku": "SKU-00000"}}),
    ({"query": "SKU-00001"}, {"query": "SKU-00002"}),                                     # not an identifier key
    ({"email": "ada@x.io"}, {"email": "a***@x.io", "sent": True}),                        # masked on purpose
])
def test_input_reflected_or_not_comparable(body, answer):
    assert input_not_reflected(rpc_record([answer], body=body)) == []


def test_rpc_mock_needs_two_signals():
    canned = build_verdict(rpc_record([FORECAST, FORECAST], vary=FORECAST))
    assert canned.verdict == "mock" and canned.confidence >= 0.8, canned.to_dict()
    # the same answer for another input, alone (a cold-start default, a flat rate): still real
    flat = {"carrier": "DHL", "days": 2, "price": 4.99, "currency": "EUR", "service": "standard"}
    v = build_verdict(rpc_record([flat, flat], vary=flat, body={"sku": "SKU-00001", "postcode": "75001"}))
    assert v.verdict == "real", v.to_dict()
    assert {e.signal for e in v.evidence if e.points_to == "mock"} == {"ignores-input"}


# --- constant latency on POST samples -------------------------------------------------------------

def test_constant_latency_uses_the_sends_of_a_non_create_post():
    fixed = rpc_record([FORECAST] * 6, latencies=[131.0, 121.2, 120.8, 121.0, 121.4, 120.9])
    assert signals_of(constant_latency(fixed)) == {"constant-latency": 2.0}
    jittery = rpc_record([FORECAST] * 6, latencies=[90.0, 61.0, 84.0, 72.5, 95.0, 55.0])
    assert constant_latency(jittery) == []
    created = rpc_record([FORECAST] * 6, latencies=[131.0, 121.2, 120.8, 121.0, 121.4, 120.9])
    created.info["non_create"] = False            # a creating POST's timings are not samples of one path
    assert constant_latency(created) == []


def test_constant_latency_survives_a_few_hiccups_with_more_samples():
    lat = [230.0, 202.4, 220.6, 203.1, 227.1, 202.1, 201.6, 202.9]   # seen on a loaded host, 200 ms sleep
    o = [obs("base", {"ok": 1}, latency=lat[0])] + [obs("repeat", {"ok": 1}, latency=x) for x in lat[1:]]
    host = [obs("control", {"detail": "nf"}, status=404, latency=1.0)]
    ev = constant_latency(read_record(o, host=host, varied=None))
    assert signals_of(ev) == {"constant-latency": 2.0}
    assert "220.6, 227.1" in ev[0].detail


# --- lorem ipsum and template lists -------------------------------------------------------------

NOTIFICATIONS = [
    {"id": 1, "title": "Sample notification", "type": "info", "read": False,
     "body": "Lorem ipsum dolor sit amet, consectetur adipiscing elit.", "created_at": "2024-01-01T00:00:00Z"},
    {"id": 2, "title": "Sample notification", "type": "info", "read": False,
     "body": "Lorem ipsum dolor sit amet, sed do eiusmod tempor incididunt.", "created_at": "2024-01-01T00:00:00Z"},
    {"id": 3, "title": "Sample notification", "type": "warning", "read": True,
     "body": "Lorem ipsum dolor sit amet.", "created_at": "2024-01-01T00:00:00Z"},
]


def test_lorem_ipsum_weighs_on_its_own():
    rec = read_record([obs("base", NOTIFICATIONS)], varied=None)
    ev = placeholder_content(rec)
    assert signals_of(ev) == {"placeholder-content": 2.5}
    assert ev[0].detail.startswith("lorem ipsum placeholder text in body=")
    # one lorem field in a large, otherwise real body still counts
    big = {"id": 7, "sku": "KT-100", "name": "Kettle", "price": 29.9, "stock": 12, "brand": "Brewmaster",
           "weight_kg": 1.2, "colour": "steel", "warranty_years": 2, "ean": "4006381333931",
           "description": "Lorem ipsum dolor sit amet, consectetur adipiscing elit."}
    assert signals_of(placeholder_content(read_record([obs("base", big)])))["placeholder-content"] == 2.5
    # generated lorem vocabulary (faker, json-schema-faker): a little less — a dev seed can hold it
    seeded = dict(big, description="Voluptatem accusantium doloremque laudantium totam aperiam.")
    assert signals_of(placeholder_content(read_record([obs("base", seeded)])))["placeholder-content"] == 2.0


def test_lorem_text_the_request_sent_is_not_evidence():
    text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit."
    answer = {"summary": text, "words": 8, "language": "la", "model": "sum-2", "chars": len(text)}
    rec = rpc_record([answer, answer], body={"text": text, "max_words": 20})
    assert placeholder_content(rec) == []
    assert lorem_weight({"summary": text}, exclude={text}) == (0.0, "")


def test_lorem_weight_thresholds():
    assert lorem_weight({"t": "Lorem ipsum"})[0] == 2.5
    assert lorem_weight({"t": "nostrud anim dolore deserunt non"})[0] == 2.0      # Prism -d sentence
    assert lorem_weight({"t": "Sed ut perspiciatis unde omnis iste natus, lorem ipsum dolor sit amet"})[0] == 2.0
    for real in ({"name": "Magna Dolores"}, {"name": "Nulla"}, {"t": "Magna Carta and the rule of law"},
                 {"t": "Summa cum laude"}, {"city": "Dolores"}, {"motto": "Veritas vos liberabit"},
                 {"title": "Why we replaced the lorem ipsum in our mock-ups with real copy"}):
        assert lorem_weight(real)[0] == 0.0, real


def test_weak_placeholder_words_stay_share_based():
    post = {"id": 1, "title": "A sample of Provençal recipes", "author": "Ada Lovelace",
            "body": "Three sample menus for a summer week, tested in our kitchen.", "tags": ["cooking"],
            "published_at": "2024-02-03T08:15:00Z"}
    assert placeholder_content(read_record([obs("base", post)])) == []
    tests = [{"id": i, "name": f"Load test {i}", "status": "passed", "duration_s": 30 + i} for i in range(4)]
    assert placeholder_content(read_record([obs("base", tests)], varied=None)) == []


def test_uniform_items():
    ev = uniform_items(read_record([obs("base", NOTIFICATIONS)], varied=None))
    assert signals_of(ev) == {"uniform-items": 1.5}
    assert "created_at='2024-01-01T00:00:00Z'" in ev[0].detail and "Sample notification" in ev[0].detail
    clones = [{"id": i, "name": "Wireless Mouse", "price": 24.99} for i in range(3)]
    assert signals_of(uniform_items(read_record([obs("base", clones)], varied=None))) == {"uniform-items": 1.5}
    stamped = [dict(c, created_at="2024-01-01T00:00:00Z") for c in clones]
    assert signals_of(uniform_items(read_record([obs("base", stamped)], varied=None))) == {"uniform-items": 2.0}


@pytest.mark.parametrize("items", [
    # a migration's midnight timestamp on otherwise distinct rows: weak on its own
    [{"id": i, "name": n, "created_at": "2024-01-01T00:00:00Z"} for i, n in enumerate(["Kitchen", "Coffee", "Parts"])],
])
def test_uniform_timestamps_alone_are_weak(items):
    assert signals_of(uniform_items(read_record([obs("base", items)], varied=None))) == {"uniform-items": 1.0}
    assert decide(read_record([obs("base", items)], varied=None),
                  uniform_items(read_record([obs("base", items)], varied=None)) + [
                      Evidence("ignores-auth", "mock", 0.7, "x")])[0] == "real"


@pytest.mark.parametrize("items", [
    [{"id": i, "category": "Home Appliances", "name": n, "created_at": f"2024-01-0{i + 1}T10:0{i}:00Z"}
     for i, n in enumerate(["Kettle", "Toaster", "Mixer"])],                  # a filtered list
    [{"id": i, "status": "available", "capacity": 4} for i in range(5)],     # identical seats: no text
    [{"id": i, "amount": 20.07, "created_at": "2024-01-16T11:01:00Z"} for i in range(3)],  # batch, not round
    [{"id": 1, "name": "a"}, {"id": 2, "name": "a"}],                         # too short to tell
])
def test_real_lists_are_not_uniform(items):
    assert uniform_items(read_record([obs("base", items)], varied=None)) == []


def test_notifications_pattern_is_mock_without_the_auth_signal():
    rec = read_record([obs("base", NOTIFICATIONS)], varied=None)
    v = build_verdict(rec)
    assert v.verdict == "mock", v.to_dict()
    assert {"placeholder-content", "uniform-items"} <= {e.signal for e in v.evidence}


def test_sign_in_answer_is_not_a_created_resource():
    answer = {"token": "t-1", "token_type": "Bearer", "user_id": 7, "expires_in": 3600}
    w1 = obs("write", answer, method="POST", url="http://127.0.0.1:9/auth/sign-in")
    w2 = obs("write", dict(answer, token="t-2"), method="POST", url="http://127.0.0.1:9/auth/sign-in")
    t = ProbeTarget("sign-in", "POST", "http://127.0.0.1:9/auth/sign-in", {}, body={"email": "a@b.io", "password": "x"})
    rec = ProbeRecord(target=t, observations=[w1, w2], info={"kind": "write", "writes_allowed": True})
    assert signals_of(write_persistence(rec)) == {"write-unverifiable": 0.0}   # not write-same-id
