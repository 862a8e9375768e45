"""The pieces that keep readiness harmless and honest, without a network: real identifiers, a
missing route told from an unknown id, unique values, real references, destructive operations,
the campaign's own routes for reading and deleting, cross-endpoint evidence."""

from __future__ import annotations

import pytest
from starlette.requests import Request  # module-level: handlers' string annotations resolve here

from tasks.readiness import ProbeTarget
from tasks.readiness.crosscheck import crosscheck
from tasks.readiness.identifiers import IdPool, looks_placeholder, slots, split_placeholder, value_for
from tasks.readiness.ledger import ItemRoute, Ledger, destructive, item_urls, resolve_references, uniquify
from tasks.readiness.probe import ProbeRecord
from tasks.readiness.routing import control_path, same_not_found

from .test_signals import obs

H = "http://127.0.0.1:9"


# --- identifiers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("placeholder,expected", [
    ("id", (None, "id")), ("flow_name", ("flow", "name")), ("work_pool_name", ("workpool", "name")),
    ("blockTypeId", ("blocktype", "id")), ("sku", (None, "sku")), ("id_or_name", (None, "id")),
    ("flow_run_id", ("flowrun", "id")),
])
def test_placeholders_name_a_noun_and_a_field(placeholder, expected):
    assert split_placeholder(placeholder) == expected


def test_slots_know_which_collection_a_placeholder_indexes():
    s = slots(f"{H}/api/work_pools/{{work_pool_name}}/queues/{{name}}")
    assert [(x.name, x.collection) for x in s] == [("work_pool_name", f"{H}/api/work_pools"),
                                                   ("name", f"{H}/api/work_pools/{{work_pool_name}}/queues")]
    by_name = slots(f"{H}/api/flows/name/{{name}}")
    assert by_name[0].collection == f"{H}/api/flows" and by_name[0].literal == "name"


def test_value_for_reads_the_field_a_route_addresses_by():
    obj = {"id": "u-1", "name": "pool-a", "slug": "pool-a-slug"}
    assert value_for(obj, "id") == "u-1"
    assert value_for(obj, "work_pool_name") == "pool-a"
    assert value_for(obj, "slug", "slug") == "pool-a-slug"
    assert value_for(obj, "id_or_name") == "u-1"


def test_the_pool_offers_listed_ids_then_its_own_and_references_by_noun():
    pool = IdPool()
    pool.harvest(f"{H}/api/flows/filter", "POST", [{"id": "f-1", "name": "etl"}, {"id": "f-2", "name": "ml"}])
    pool.harvest(f"{H}/api/flow_runs/filter", "POST", [{"id": "r-1", "flow_id": "f-9"}])
    assert [v for v, _ in pool.candidates(f"{H}/api/flows", "id")] == ["f-1", "f-2", "f-9"]
    assert [v for v, _ in pool.candidates(f"{H}/api/deployments", "flow_name", "name")] == ["etl", "ml"]
    pool.add(f"{H}/api/flows", {"id": "own-1", "name": "mine"}, own=True, source="POST /api/flows")
    assert pool.candidates(f"{H}/api/flows", "id", own_only=True)[0][0] == "own-1"
    assert pool.reference("flow")[0] == "own-1"            # a body's flow_id points at the run's own flow
    pool.forget(f"{H}/api/flows", "own-1")
    assert all(v != "own-1" for v, _ in pool.candidates(f"{H}/api/flows", "id"))


def test_spec_examples_are_placeholders():
    assert looks_placeholder("3fa85f64-5717-4562-b3fc-2c963f66afa6") and looks_placeholder("string")
    assert looks_placeholder(0) and not looks_placeholder(7) and not looks_placeholder("SKU-00001")


# --- routing ----------------------------------------------------------------------------------------

def test_an_entity_404_differs_from_the_routers_own():
    entity = obs("base", {"detail": "Flow not found"}, status=404, url=f"{H}/api/flows/3fa85f64")
    router = obs("route-control", {"detail": "Not Found"}, status=404, url=f"{H}/api/zz-readiness-ab/cd")
    assert not same_not_found(entity, router)
    missing = obs("base", {"detail": "Not Found"}, status=404, url=f"{H}/api/notifications/unread-count")
    assert same_not_found(missing, router)
    express = obs("base", b"<pre>Cannot GET /api/x/1</pre>", status=404, url=f"{H}/api/x/1")
    express_ctrl = obs("c", b"<pre>Cannot GET /api/zz-readiness-ab/cd</pre>", status=404, url=f"{H}/api/zz-readiness-ab/cd")
    assert same_not_found(express, express_ctrl)            # the path it echoes is masked
    wm = obs("base", b"Request was not matched\n closest stub: /api/a", status=404, url=f"{H}/api/y")
    wm_ctrl = obs("c", b"Request was not matched\n closest stub: /api/b", status=404, url=f"{H}/zz")
    assert same_not_found(wm, wm_ctrl)                      # a tool's "no stub matched" page is its router's


def test_control_paths_stay_under_the_mount_prefix():
    assert control_path(f"{H}/api/flows/{{id}}").startswith("/api/zz-readiness-")
    assert control_path(f"{H}/products/1").startswith("/zz-readiness-")


# --- ledger -----------------------------------------------------------------------------------------

def test_unique_values_touch_names_never_references():
    body = {"name": "sample", "email": "kj@nasa.test", "title": "Rice cooker", "product_id": 7,
            "course_code": "CS-101", "sku": "WF-001", "flow_name": "etl", "data": {"x": 1}}
    out, changed = uniquify(body, "pc123abc")
    assert out["name"] == "samplepc123abc" and out["email"] == "kjpc123abc@nasa.test"
    assert out["title"] == "Rice cooker pc123abc"
    assert {k: out[k] for k in ("product_id", "course_code", "sku", "flow_name")} == \
        {"product_id": 7, "course_code": "CS-101", "sku": "WF-001", "flow_name": "etl"}
    assert sorted(changed) == ["email", "name", "title"]
    items, _ = uniquify([{"name": "a"}, {"name": "b"}], "pcx")
    assert [i["name"] for i in items] == ["apcx", "bpcx"]


def test_references_point_at_objects_that_exist():
    pool = IdPool()
    pool.add(f"{H}/api/flows", {"id": "f-own"}, own=True, source="POST /api/flows")
    body = {"flow_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "name": "d", "work_queue_id": "keep-me"}
    fixed, notes = resolve_references(body, pool)
    assert fixed["flow_id"] == "f-own" and fixed["work_queue_id"] == "keep-me" and len(notes) == 1


def test_an_integer_reference_keeps_its_type():
    """A retry with real references (placeholders_only=False) never puts a listed string id into
    an integer field (the demo's enrollments answered 422 int_parsing when a listed student id
    "S-001" replaced student_id 17); a numeric string becomes the integer."""
    pool = IdPool()
    pool.add(f"{H}/api/students", {"id": "S-001"}, own=False, source="GET /api/students")
    body = {"student_id": 17, "course_id": 3}
    fixed, notes = resolve_references(body, pool, placeholders_only=False)
    assert fixed == body and notes == []
    pool = IdPool()
    pool.add(f"{H}/api/students", {"id": "42"}, own=False, source="GET /api/students")
    fixed, _ = resolve_references(body, pool, placeholders_only=False)
    assert fixed["student_id"] == 42


@pytest.mark.parametrize("method,url,bad", [
    ("POST", f"{H}/api/flows/bulk_delete", True), ("POST", f"{H}/api/limits/tag/{{tag}}/reset", True),
    ("DELETE", f"{H}/api/admin/storage", True), ("POST", f"{H}/api/notifications/send", True),
    ("DELETE", f"{H}/api/flows/{{id}}", False), ("POST", f"{H}/api/orders", False),
    ("PATCH", f"{H}/api/settings", False), ("POST", f"{H}/api/deployments/{{id}}/create_flow_run", False),
    # held-out bed: Directus's POST /auth/password/request mails a reset link
    ("POST", f"{H}/auth/password/request", True), ("PATCH", f"{H}/users/{{id}}/password", True),
    ("POST", f"{H}/auth/login", False),
])
def test_destructive_operations_are_named(method, url, bad):
    assert bool(destructive(method, url)) is bad


def test_the_campaigns_own_item_routes_address_created_objects():
    routes = [ItemRoute("del-pool", f"{H}/api/work_pools/{{name}}"),
              ItemRoute("del-queue", f"{H}/api/work_pools/{{work_pool_name}}/queues/{{name}}"),
              ItemRoute("graph", f"{H}/api/flows/{{id}}/graph")]
    assert item_urls(routes, f"{H}/api/work_pools", {"id": "u1", "name": "p1"}, "u1") == [
        (f"{H}/api/work_pools/p1", routes[0])]
    assert item_urls(routes, f"{H}/api/work_pools/p1/queues", {"id": "q", "name": "q1"}, "q") == [
        (f"{H}/api/work_pools/p1/queues/q1", routes[1])]
    assert item_urls(routes, f"{H}/api/flows", {"id": "f"}, "f") == []        # /graph is not the item itself
    ledger = Ledger(IdPool(), deletes=routes[:2])
    entry = ledger.record("create-pool", f"{H}/api/work_pools", {"id": "u1", "name": "p1"}, None, f"{H}/api/work_pools")
    assert ledger.delete_urls(entry)[0][0] == f"{H}/api/work_pools/p1"
    assert ledger.find(f"{H}/api/work_pools/p1") is entry


# --- cross-endpoint evidence ---------------------------------------------------------------------

def _read(name: str, url: str, base, ghost=None, *, headers=(), std=True, varied="id"):
    t = ProbeTarget(name, "GET", url, {"id": [1]})
    o = [obs("base", base, url=url.replace("{id}", "1"), headers=headers, std_headers=std, meta={"chosen": True})]
    if ghost is not None:
        status, body = ghost
        o.append(obs("ghost", body, status=status, url=url.replace("{id}", "987654321"), headers=headers,
                     std_headers=std, meta={"value": "987654321"}))
    return ProbeRecord(t, o, info={"kind": "read", "varied": varied, "varied_in": "path", "values": {"id": "1"}})


def test_a_sibling_that_denies_a_parent_exposes_the_one_that_invents_it():
    wallet = _read("wallet", f"{H}/api/customers/{{id}}/wallet", {"balance": 10},
                   (404, {"detail": "customer not found"}))
    loyalty = _read("loyalty", f"{H}/api/customers/{{id}}/loyalty", {"tier": "gold", "points": 1200},
                    (200, {"tier": "gold", "points": 1200}))
    crosscheck([wallet, loyalty])
    assert [e.signal for e in loyalty.cross] == ["phantom-parent"] and wallet.cross == []


def test_a_count_of_nothing_for_a_parent_that_does_not_exist_is_not_a_phantom():
    """Chroma: ``GET …/databases/{db}/collections_count`` answers ``0`` for a database that does not
    exist (a COUNT over nothing), where ``GET …/databases/{db}`` says 404: lenient, not canned (held-out
    bed: a real endpoint called mock)."""
    database = _read("database", f"{H}/api/databases/{{id}}", {"name": "default"}, (404, {"error": "not found"}))
    count = _read("count", f"{H}/api/databases/{{id}}/collections_count", 2, (200, 0))
    totals = _read("totals", f"{H}/api/databases/{{id}}/totals", {"count": 2, "size": 40},
                   (200, {"count": 0, "size": 0, "items": None}))
    crosscheck([database, count, totals])
    assert count.cross == [] and totals.cross == []


def test_endpoints_served_by_other_software_than_their_siblings():
    uv = [("date", "Mon"), ("server", "uvicorn"), ("content-type", "application/json")]
    stub = [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")]
    real = [_read(f"r{i}", f"{H}/api/r{i}", {"i": i}, headers=uv, std=False, varied=None) for i in range(4)]
    stubbed = _read("stub", f"{H}/api/wallet", {"balance": 1}, headers=stub, std=False, varied=None)
    crosscheck(real + [stubbed])
    assert [e.signal for e in stubbed.cross] == ["transport-differs"] and "no Date" in stubbed.cross[0].detail
    assert all(r.cross == [] for r in real)


def test_an_item_route_that_contradicts_its_list():
    members = [{"id": 1, "name": "John Doe", "role": "owner"}, {"id": 2, "name": "Jane Doe", "role": "developer"}]
    team = _read("team", f"{H}/api/team/", members, varied=None)
    member = _read("member", f"{H}/api/team/{{id}}/", {"id": 1, "name": "John Doe", "role": "owner"})
    member.observations.append(obs("alt", {"id": 2, "name": "John Doe", "role": "owner"}, url=f"{H}/api/team/2/"))
    crosscheck([team, member])
    assert [(e.signal, e.weight) for e in member.cross] == [("list-item-contradiction", 1.0)]
    assert [(e.signal, e.weight) for e in team.cross] == [("list-item-contradiction", 0.7)]
    assert "'John Doe'" in team.cross[0].detail and "'Jane Doe'" in team.cross[0].detail
    # a real pair: the item says what the list says (a shortened text in the list is fine); a field
    # some write of the run sends is not compared (the write may have changed it in between)
    books = _read("books", f"{H}/api/books", {"items": [{"id": 1, "title": "Dune", "blurb": "A desert…"},
                                                       {"id": 2, "title": "Kindred", "blurb": "Time…"}]}, varied=None)
    book = _read("book", f"{H}/api/books/{{id}}", {"id": 2, "title": "Kindred", "blurb": "Time travel"})
    book.observations[0].url = f"{H}/api/books/2"
    renamed = _read("book2", f"{H}/api/books/{{id}}", {"id": 1, "title": "samplepc3f9a1b", "blurb": "A desert planet"})
    patch = ProbeRecord(ProbeTarget("rename", "PATCH", f"{H}/api/books/{{id}}", {"id": [1]}, body={"title": "x"}),
                        [], info={"kind": "write"})
    crosscheck([books, book, renamed, patch])
    assert books.cross == [] and book.cross == [] and renamed.cross == []


def _unwritten(name: str, method: str, path: str, status: int, headers, body=None, route=None):
    from tasks.readiness.routing import RouteCheck

    t = ProbeTarget(name, method, f"{H}{path}", {"id": [1]} if "{id}" in path else {})
    o = obs("options", body, status=status, url=f"{H}{path.replace('{id}', '1')}", method="OPTIONS",
            headers=headers, std_headers=False)
    info = {"kind": "write", "not_probed": "environment 'production' does not allow writes"}
    if route is not None:
        info["options_route"] = RouteCheck(route, "OPTIONS answered 404 like a path that surely does not exist")
    return ProbeRecord(t, [o], info=info)


def test_options_tells_a_missing_route_only_where_it_tells_routes_apart():
    from tasks.readiness.verdict import decide

    werkzeug = [("Server", "Werkzeug/3.1"), ("Date", "Mon"), ("Content-Type", "text/html; charset=utf-8")]
    stub = [("Content-Type", "application/json"), ("Date", "Mon"), ("Connection", "close")]
    review = _unwritten("post-review", "POST", "/api/reviews", 200, werkzeug, b"")
    email = _unwritten("email", "POST", "/api/notifications/email", 200, werkzeug, b"")
    renew = _unwritten("renew", "POST", "/api/loans/{id}/renewals", 404, werkzeug, b"<h1>Not Found</h1>", False)
    crosscheck([review, email, renew])
    verdict, _, reason = decide(renew, [])
    assert verdict == "missing" and "/api/reviews" in reason
    assert decide(review, [])[0] == "unverified"
    # a stub tool beside a real backend: its 404 to OPTIONS is not the backend's, and a GET on the
    # same path answered: the route is there, only OPTIONS was not stubbed
    payout = _unwritten("payout", "POST", "/api/payouts", 404, stub, {"error": "no stub"}, False)
    invoice = _unwritten("create-invoice", "POST", "/api/invoices", 404, stub, {"error": "no stub"}, False)
    invoices = _read("invoices", f"{H}/api/invoices", {"items": []}, headers=stub, std=False, varied=None)
    crosscheck([review, email, payout, invoice, invoices])
    assert decide(payout, [])[0] == "unverified" and decide(invoice, [])[0] == "unverified"
    # the same stub 404 on a host where its siblings answer OPTIONS from the stub too: still a GET
    # on the path answered, so not missing
    stub_ok = _unwritten("delete-x", "DELETE", "/api/x/{id}", 200, stub, b"")
    crosscheck([stub_ok, invoice, invoices])
    assert decide(invoice, [])[0] == "unverified"


def test_a_stub_beside_stubs_of_the_same_tool():
    from tasks.readiness.models import Evidence

    werkzeug = [("Server", "Werkzeug/3.1"), ("Date", "Mon"), ("Content-Type", "application/json")]
    stub = [("Content-Type", "application/json"), ("Date", "Mon"), ("Connection", "close")]
    canned = {"name": "string", "email": "user@example.com", "id": 0, "status": "string", "note": "string"}
    real = [_read(f"r{i}", f"{H}/api/books/{{id}}/r{i}", {"title": f"Dune {i}"}, headers=werkzeug, std=False)
            for i in range(5)]

    def stubs(n_canned: int) -> list[ProbeRecord]:
        return [_read(f"s{i}", f"{H}/api/invoices/s{i}", canned if i < n_canned else {"items": [{"id": i}]},
                      headers=stub, std=False, varied=None) for i in range(4)]

    fleet = stubs(1)
    crosscheck(real + fleet)
    assert [(e.signal, e.weight) for e in fleet[3].cross] == [("transport-differs", 1.5),
                                                              ("co-served-with-mocks", 1.5)]
    assert "s0" in fleet[3].cross[1].detail
    assert all(e.signal != "co-served-with-mocks" for e in fleet[0].cross)          # already a mock
    assert all(e.signal != "co-served-with-mocks" for r in real for e in r.cross)
    # two of the group are mock on their own evidence: the others lean further
    fleet = stubs(2)
    crosscheck(real + fleet)
    assert [(e.signal, e.weight) for e in fleet[3].cross] == [("transport-differs", 1.5),
                                                              ("co-served-with-mocks", 2.0)]
    # one endpoint of the group shows strong real evidence (an object it created was listed): a real
    # service behind the same gateway, with one canned handler; nothing is inferred for the others
    fleet = stubs(1)
    fleet[2].cross.append(Evidence("effect-listed", "real", 2.0, "GET /api/invoices lists id 7 after the POST"))
    crosscheck(real + fleet)
    assert all(e.signal != "co-served-with-mocks" for r in fleet for e in r.cross)
    # no mock in the group: nothing is inferred
    fleet = stubs(0)
    crosscheck(real + fleet)
    assert all(e.signal != "co-served-with-mocks" for r in fleet for e in r.cross)


def test_destructive_words_run_together_and_global_switches():
    assert "delete" in destructive("POST", f"{H}/v3/kv/deleterange")
    assert "enable" in destructive("POST", f"{H}/v3/auth/enable")
    assert destructive("POST", f"{H}/api/addresses") is None and destructive("POST", f"{H}/api/books") is None


def test_a_read_back_through_a_route_that_ignores_its_id_proves_nothing():
    from tasks.readiness.signals import collect

    hold = {"id": 501, "book_id": 2, "member_id": 1, "status": "held"}
    holds = _read("hold", f"{H}/api/holds/{{id}}", hold, (200, hold))
    w = ProbeRecord(ProbeTarget("create-hold", "POST", f"{H}/api/holds", body={"book_id": 2, "member_id": 1}),
                    [obs("write", hold, status=201, url=f"{H}/api/holds", method="POST",
                         meta={"write": True, "token": ""}),
                     obs("follow", hold, url=f"{H}/api/holds/501", meta={"via": "id", "id": "501"})],
                    info={"kind": "write", "writes_allowed": True, "values": {}})
    w.observations[0].sent = {"book_id": 2, "member_id": 1}
    assert "write-persisted" in {e.signal for e in collect(w)}
    crosscheck([holds, w])
    signals = {e.signal for e in collect(w)}
    assert "write-persisted" not in signals and "read-back-id-blind" in signals


def test_lists_of_names_get_unique_values_too():
    body, changed = uniquify({"usernames": ["sample", "bob"], "admin": True, "skus": ["SKU-1"]}, "pcX")
    assert body == {"usernames": ["samplepcX", "bobpcX1"], "admin": True, "skus": ["SKU-1"]}
    assert changed == ["usernames"]


# --- query POSTs ------------------------------------------------------------------------------------

def test_posts_that_only_read_are_safe_by_path_or_by_the_spec():
    from campaigns.importers.openapi import import_openapi, query_operation
    from campaigns.model import Endpoint

    assert Endpoint(name="f", method="POST", path="/flows/filter").is_safe
    assert Endpoint(name="c", method="POST", path="/events/count-by/{unit}", params={"unit": ["day"]}).is_safe
    assert not Endpoint(name="o", method="POST", path="/orders").is_safe
    assert Endpoint(name="f2", method="POST", path="/flows/filter", safe=False).is_write   # the campaign says otherwise
    assert Endpoint(name="q", method="POST", path="/quotes", safe=True).is_safe
    assert query_operation("/flows/lateness", {"operationId": "read_flow_lateness"})
    assert query_operation("/x", {"operationId": "makeThing", "x-safe": True})
    assert not query_operation("/flows/", {"operationId": "create_flow"})
    spec = """openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /flows/filter:
    post: {operationId: read_flows, requestBody: {content: {application/json: {schema: {type: object}}}},
           responses: {"200": {description: ok}}}
  /flows/:
    post: {operationId: create_flow, requestBody: {content: {application/json: {schema: {type: object}}}},
           responses: {"201": {description: ok}}}
    get: {operationId: list_flows, responses: {"200": {description: ok}}}
"""
    result = import_openapi(spec, "spec.yaml", base_url="http://127.0.0.1:9")
    eps = {e["name"]: e for e in result.campaign["endpoints"]}
    assert eps["read-flows"].get("safe") is True and "safe" not in eps["create-flow"]
    loaded = {s["name"] for s in result.campaign["load"]["scenarios"]}
    assert loaded == {"read-flows", "list-flows"}                      # query POSTs are loaded like GETs


def test_an_upsert_answering_an_existing_object_is_never_deleted():
    """A POST that answers the id of an object listed before it (an upsert, or a stub's fixed
    answer) made nothing: the cleanup must not delete what the team had (it did: 501 was gone)."""
    import asyncio

    from fastapi import FastAPI

    from tasks.readiness.engine import run_readiness
    from tasks.readiness.models import ProbeTarget

    from .servers import serve_asgi

    app = FastAPI()
    store = {501: {"id": 501, "name": "existing", "status": "waiting"}}
    deleted: list[int] = []

    @app.get("/api/holds")
    def holds():
        return list(store.values())

    @app.post("/api/holds", status_code=201)
    async def create_hold(request: Request):
        store[501].update(await request.json())
        return store[501]

    @app.get("/api/holds/{hid}")
    def hold(hid: int):
        return store.get(hid) or {"detail": "not found"}

    @app.delete("/api/holds/{hid}", status_code=204)
    def cancel(hid: int):
        deleted.append(hid)
        store.pop(hid, None)

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("holds", "GET", f"{u}/api/holds"),
                   ProbeTarget("create-hold", "POST", f"{u}/api/holds", body={"name": "sample"}, expect_status=(201,)),
                   ProbeTarget("hold", "GET", f"{u}/api/holds/{{id}}", {"id": [501]}),
                   ProbeTarget("cancel-hold", "DELETE", f"{u}/api/holds/{{id}}", {"id": [501]})]
        report = asyncio.run(run_readiness(targets, samples=3))
    finally:
        server.stop()
    assert 501 in store and 501 not in deleted, deleted
    harm = report.harm()
    assert harm["created"] == 0 and harm["left_behind"] == []
    assert any("answered id 501" in e and "not deleted" in e for e in harm["unknown_effects"]), harm


def test_a_split_of_equal_sides_is_blamed_on_the_side_with_mocks():
    """A stub tool relaying the rest through itself (apimocker ``--proxy``): the relayed answers keep
    the backend's lower-case headers and close the connection, the tool's own are Title-Case with
    Keep-Alive; both carry the tool's CORS headers, a Date and no Server. Neither side lacks what the
    other has, and they are about the same size: the side with two endpoints mock on their own
    evidence is blamed, and its other endpoints lean to mock with it."""
    cors = [("X-Powered-By", "Express"), ("Access-Control-Allow-Origin", "*")]
    relayed = cors + [("content-type", "application/json"), ("vary", "Origin"), ("date", "Mon"),
                      ("connection", "close")]
    own = cors + [("Content-Type", "application/json; charset=UTF-8"), ("Date", "Mon"), ("Connection", "keep-alive"),
                  ("Keep-Alive", "timeout=5")]
    canned = {"name": "string", "email": "user@example.com", "id": 0, "status": "string", "note": "string"}
    real = [_read(f"r{i}", f"{H}/api/v2/r{i}", {"title": f"Dune {i}"}, headers=relayed, std=False, varied=None)
            for i in range(4)]
    stubs = [_read(f"s{i}", f"{H}/api/v2/esc/s{i}", canned if i < 2 else {"items": [{"id": i}]}, headers=own,
                   std=False, varied=None) for i in range(4)]
    crosscheck(real + stubs)
    assert [(e.signal, e.weight) for e in stubs[3].cross] == [("transport-differs", 1.5),
                                                              ("co-served-with-mocks", 2.0)]
    assert "mock on their own evidence" in stubs[3].cross[0].detail
    assert all(e.signal != "transport-differs" for r in real for e in r.cross)
    # one mock only on that side: the split is not blamed
    stubs = [_read(f"s{i}", f"{H}/api/v2/esc/s{i}", canned if i < 1 else {"items": [{"id": i}]}, headers=own,
                   std=False, varied=None) for i in range(4)]
    crosscheck(real + stubs)
    assert all(e.signal != "transport-differs" for r in real + stubs for e in r.cross)
    # a mock on both sides (canned handlers in both services): nobody is blamed
    real[0] = _read("r0", f"{H}/api/v2/r0", canned, headers=relayed, std=False, varied=None)
    stubs = [_read(f"s{i}", f"{H}/api/v2/esc/s{i}", canned if i < 2 else {"items": [{"id": i}]}, headers=own,
                   std=False, varied=None) for i in range(4)]
    crosscheck(real + stubs)
    assert all(e.signal != "transport-differs" for r in real + stubs for e in r.cross)


def test_an_unknown_id_answered_with_nothing_is_a_hint():
    from tasks.readiness.signals.identity import ignores_path_id

    empty = _read("escalation", f"{H}/api/v2/escalations/{{id}}", {"id": "esc-1", "level": 1}, (200, b""))
    ev = ignores_path_id(empty)
    assert [(e.signal, e.points_to, e.weight) for e in ev] == [("unknown-id-empty", "mock", 0.7)]
    refused = _read("escalation", f"{H}/api/v2/escalations/{{id}}", {"id": "esc-1", "level": 1},
                    (404, {"detail": "not found"}))
    assert [e.signal for e in ignores_path_id(refused)] == ["unknown-id-rejected"]


def test_random_picks_that_look_like_a_rotation_are_counted_once():
    """A real ``/products/random`` picking among a few products can, by chance, answer A B A B A:
    that is one observation (the body changes), so ``cycling-body`` and ``unstable-random-body``
    are not both given."""
    from tasks.readiness.signals import collect

    a = {"id": 1, "name": "Kettle", "created_at": "2024-03-03T09:03:00Z", "stock": 4}
    b = {"id": 3, "name": "Toaster", "created_at": "2024-03-05T09:05:00Z", "stock": 9}
    url = f"{H}/api/products/random"
    rec = ProbeRecord(ProbeTarget("random", "GET", url), [obs("base", a, url=url)] + [
        obs("repeat", body, url=url) for body in (b, a, b, a)], info={"kind": "read"})
    signals = [e.signal for e in collect(rec) if e.points_to == "mock"]
    assert "cycling-body" in signals and "unstable-random-body" not in signals, signals


def test_a_put_to_a_sample_that_cannot_be_read_is_not_sent():
    """Held-out bed (Prometheus Pushgateway): GET /metrics/job/{job} answers 405, and a PUT or POST
    there creates the group; readiness created three groups and reported nothing left behind."""
    import asyncio

    from fastapi import FastAPI, Response

    from tasks.readiness.engine import run_readiness
    from tasks.readiness.models import ProbeTarget

    from .servers import serve_asgi

    app = FastAPI()
    groups: dict[str, dict] = {"billing": {"job": "billing"}}

    @app.api_route("/metrics/job/{job}", methods=["PUT", "POST"], status_code=200)
    async def push(job: str):
        groups[job] = {"job": job}
        return Response(status_code=200)

    @app.api_route("/metrics/job/{job}/instance/{instance}", methods=["PUT", "POST"], status_code=200)
    async def push_instance(job: str, instance: str):
        groups[f"{job}/{instance}"] = {"job": job, "instance": instance}
        return Response(status_code=200)

    @app.get("/api/v1/metrics")
    def metrics():
        return {"status": "success", "data": list(groups.values())}

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("metrics", "GET", f"{u}/api/v1/metrics"),
                   ProbeTarget("heartbeat", "PUT", f"{u}/metrics/job/{{job}}", {"job": ["nightly-backup"]},
                               body="up 1\n"),
                   ProbeTarget("heartbeat-instance", "POST", f"{u}/metrics/job/{{job}}/instance/{{instance}}",
                               {"job": ["etl"], "instance": ["worker-1"]}, body="up 1\n")]
        report = asyncio.run(run_readiness(targets, samples=2))
    finally:
        server.stop()
    assert set(groups) == {"billing"}, groups
    verdicts = {v.name: v for v in report.verdicts}
    assert verdicts["heartbeat"].verdict == "unverified" and "GET answered 405" in verdicts["heartbeat"].reason
    assert verdicts["heartbeat-instance"].verdict == "unverified"
    assert set(report.harm()["withheld"]) == {"heartbeat", "heartbeat-instance"}


def test_a_post_that_changes_an_existing_object_is_not_sent():
    """Held-out bed (MLflow 3): readiness sent ``POST /experiments/update`` renaming the team's
    experiment (left renamed: every job resolving it by name failed), a neighbour-id variant to an
    experiment the campaign never named, and ``/runs/set-tag`` / ``/runs/log-metric`` into the team's
    run. A POST whose path names an update is withheld like an unremovable creation."""
    import asyncio

    from fastapi import FastAPI, HTTPException

    from tasks.readiness.engine import run_readiness
    from tasks.readiness.models import ProbeTarget

    from .servers import serve_asgi

    app = FastAPI()
    experiments = {"1": {"experiment_id": "1", "name": "churn-model"}, "2": {"experiment_id": "2", "name": "other"}}
    tags: dict[str, str] = {}

    @app.get("/api/2.0/mlflow/experiments/get")
    def get(experiment_id: str):
        if experiment_id not in experiments:
            raise HTTPException(404, "RESOURCE_DOES_NOT_EXIST")
        return {"experiment": experiments[experiment_id]}

    @app.post("/api/2.0/mlflow/experiments/update")
    async def update(request: Request):
        body = await request.json()
        if body.get("experiment_id") not in experiments:
            raise HTTPException(404, "RESOURCE_DOES_NOT_EXIST")
        experiments[body["experiment_id"]]["name"] = body["new_name"]
        return {}

    @app.post("/api/2.0/mlflow/runs/set-tag")
    async def set_tag(request: Request):
        body = await request.json()
        tags[body["key"]] = body["value"]
        return {}

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("get", "GET", f"{u}/api/2.0/mlflow/experiments/get?experiment_id=1"),
                   ProbeTarget("rename", "POST", f"{u}/api/2.0/mlflow/experiments/update",
                               body={"experiment_id": "1", "new_name": "churn-model-q4"}),
                   ProbeTarget("set-tag", "POST", f"{u}/api/2.0/mlflow/runs/set-tag",
                               body={"run_id": "cd1125", "key": "reviewed", "value": "yes"})]
        report = asyncio.run(run_readiness(targets, samples=2))
    finally:
        server.stop()
    assert experiments["1"]["name"] == "churn-model" and experiments["2"]["name"] == "other" and tags == {}
    verdicts = {v.name: v for v in report.verdicts}
    assert verdicts["rename"].verdict == "unverified" and "(update)" in verdicts["rename"].reason
    assert set(report.harm()["withheld"]) == {"rename", "set-tag"}


def test_json_fixtures_served_from_disk_beside_real_routes_are_mock(tmp_path):
    """Held-out bed (round 3): nginx ``try_files $uri.json`` and http-server ``-e json`` serving a fixtures
    folder as the API beside a real backend: 0 of 12 caught. A file's headers (Accept-Ranges: bytes,
    Last-Modified) on a JSON answer no handler writes give them away; the real routes stay real."""
    import asyncio
    import json

    from fastapi import FastAPI, HTTPException
    from fastapi.responses import FileResponse

    from tasks.readiness.engine import run_readiness
    from tasks.readiness.models import ProbeTarget

    from .servers import serve_asgi

    fixtures = tmp_path / "fixtures"
    (fixtures / "menus").mkdir(parents=True)
    (fixtures / "menus.json").write_text(json.dumps([{"id": 1, "name": "Spring"}, {"id": 2, "name": "Summer"}]))
    (fixtures / "menus" / "1.json").write_text(json.dumps({"id": 1, "name": "Spring", "dishes": 12}))
    (fixtures / "rota.json").write_text(json.dumps({"week": 49, "shifts": [{"staff": "ann", "day": "mon"}]}))
    items = {1: {"id": 1, "name": "flour", "stock": 40}, 2: {"id": 2, "name": "salt", "stock": 9}}
    app = FastAPI()

    @app.get("/api/items")
    def list_items():
        return list(items.values())

    @app.get("/api/items/{iid}")
    def item(iid: int):
        if iid not in items:
            raise HTTPException(404, f"item {iid} not found")
        return items[iid]

    @app.get("/api/{path:path}")
    def fixture(path: str):   # nginx: location /api/ { try_files $uri.json =404; }
        file = fixtures / f"{path}.json"
        if not file.is_file():
            raise HTTPException(404)
        return FileResponse(file, media_type="application/json")

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("items", "GET", f"{u}/api/items"),
                   ProbeTarget("item", "GET", f"{u}/api/items/{{id}}", {"id": [1]}),
                   ProbeTarget("menus", "GET", f"{u}/api/menus"),
                   ProbeTarget("menu", "GET", f"{u}/api/menus/{{id}}", {"id": [1]}),
                   ProbeTarget("rota", "GET", f"{u}/api/rota")]
        report = asyncio.run(run_readiness(targets, samples=2))
    finally:
        server.stop()
    verdicts = {v.name: v.verdict for v in report.verdicts}
    assert verdicts == {"items": "real", "item": "real", "menus": "mock", "menu": "mock", "rota": "mock"}, [
        (v.name, v.verdict, v.reason, [(e.signal, e.weight) for e in v.evidence]) for v in report.verdicts]


def test_a_control_path_the_campaigns_own_catch_all_route_takes_proves_nothing():
    """Held-out bed (verdaccio 6 on a registry where the team's packages were never published):
    ``GET /{pkg}`` and ``/{pkg}/{version}`` are catch-alls, so the "surely nonexistent" control path
    landed on the same handler ("no such package available") and both existing routes were called
    missing and left out of load. The campaign names no two-segment catch-all here (``/left-padder/{version}``):
    a deeper control path reaches the router's own 404."""
    import asyncio

    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    from tasks.readiness.engine import run_readiness
    from tasks.readiness.models import ProbeTarget

    from .servers import serve_asgi

    app = FastAPI()

    @app.get("/-/ping")
    def ping():
        return {}

    @app.get("/{pkg}")
    def packument(pkg: str):
        return JSONResponse({"error": "no such package available"}, status_code=404)

    @app.get("/{pkg}/{version}")
    def manifest(pkg: str, version: str):
        return JSONResponse({"error": "no such package available"}, status_code=404)

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("ping", "GET", f"{u}/-/ping"),
                   ProbeTarget("packument", "GET", f"{u}/{{pkg}}", {"pkg": ["left-padder"]}),
                   ProbeTarget("version", "GET", f"{u}/left-padder/{{version}}", {"version": ["1.0.0"]}),
                   ProbeTarget("stats", "GET", f"{u}/-/verdaccio/data/stats")]
        report = asyncio.run(run_readiness(targets, samples=2))
    finally:
        server.stop()
    verdicts = {v.name: v for v in report.verdicts}
    assert verdicts["packument"].verdict == "unverified", verdicts["packument"].reason
    assert verdicts["version"].verdict == "unverified", verdicts["version"].reason
    assert verdicts["stats"].verdict == "missing" and verdicts["ping"].verdict == "real"


def test_a_write_on_a_sample_the_api_does_not_list_is_not_called_missing():
    """Held-out bed (PowerDNS 4.7): ``init --openapi`` wrote ``server_id: '1'``; the API has only
    ``localhost`` (listed by GET /servers) and answers its router's bare 404 for an unknown server:
    19 existing routes were called missing."""
    import asyncio

    from fastapi import FastAPI, HTTPException

    from tasks.readiness.engine import run_readiness
    from tasks.readiness.models import ProbeTarget

    from .servers import serve_asgi

    app = FastAPI()
    zones = {"corp.internal.": {"id": "corp.internal.", "name": "corp.internal.", "kind": "Native"}}

    @app.get("/api/v1/servers")
    def servers():
        return [{"id": "localhost", "type": "Server", "daemon_type": "authoritative"}]

    @app.get("/api/v1/servers/{server_id}/zones")
    def list_zones(server_id: str):
        if server_id != "localhost":
            raise HTTPException(404)
        return list(zones.values())

    @app.options("/api/v1/servers/{server_id}/zones")
    def no_options(server_id: str):   # PowerDNS's router answers OPTIONS with its bare 404 too
        raise HTTPException(404)

    @app.post("/api/v1/servers/{server_id}/zones", status_code=201)
    async def create_zone(server_id: str, request: Request):
        if server_id != "localhost":
            raise HTTPException(404)
        body = await request.json()
        zones[body["name"]] = {"id": body["name"], **body}
        return zones[body["name"]]

    @app.delete("/api/v1/servers/{server_id}/zones/{zone_id}", status_code=204)
    def delete_zone(server_id: str, zone_id: str):
        if server_id != "localhost" or zone_id not in zones:
            raise HTTPException(404)
        zones.pop(zone_id)

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("list-servers", "GET", f"{u}/api/v1/servers"),
                   ProbeTarget("create-zone", "POST", f"{u}/api/v1/servers/{{server_id}}/zones", {"server_id": ["1"]},
                               body={"name": "example.org.", "kind": "Native"})]
        report = asyncio.run(run_readiness(targets, samples=2))
    finally:
        server.stop()
    verdicts = {v.name: v for v in report.verdicts}
    assert verdicts["create-zone"].verdict != "missing", verdicts["create-zone"].reason
    assert "server_id=1 is not among the values the API lists (localhost)" in verdicts["create-zone"].reason
    assert list(zones) == ["corp.internal."]


def test_an_item_made_by_a_post_answering_200_with_a_wrapped_id_is_removed():
    """Held-out bed (Directus 11): ``POST /items/{collection}`` answers 200 ``{"data": {"id": 6}}`` with no
    Location; only a 201 or a Location counted as "made", so 9 articles and 9 authors stayed on the team's
    data and the harm report said nothing was left."""
    import asyncio
    import itertools

    from fastapi import FastAPI, HTTPException, Response

    from tasks.readiness.engine import run_readiness
    from tasks.readiness.models import ProbeTarget

    from .servers import serve_asgi

    app = FastAPI()
    store = {"articles": {1: {"id": 1, "title": "hello"}}}
    seq = itertools.count(6)

    @app.get("/items/{collection}")
    def items(collection: str):
        if collection not in store:
            raise HTTPException(403, "You don't have permission to access this.")
        return {"data": list(store[collection].values())}

    @app.post("/items/{collection}")
    async def create(collection: str, request: Request):
        if collection not in store:
            raise HTTPException(403, "You don't have permission to access this.")
        item = {"id": next(seq), **(await request.json())}
        store[collection][item["id"]] = item
        return {"data": item}

    @app.delete("/items/{collection}/{iid}", status_code=204)
    def delete(collection: str, iid: int):
        if store.get(collection, {}).pop(iid, None) is None:
            raise HTTPException(403, "You don't have permission to access this.")
        return Response(status_code=204)

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("list", "GET", f"{u}/items/{{collection}}", {"collection": ["articles"]}),
                   ProbeTarget("create", "POST", f"{u}/items/{{collection}}", {"collection": ["articles"]},
                               body={"title": "sample"}),
                   ProbeTarget("delete", "DELETE", f"{u}/items/{{collection}}/{{id}}",
                               {"collection": ["articles"], "id": [1]})]
        report = asyncio.run(run_readiness(targets, samples=2))
    finally:
        server.stop()
    assert list(store["articles"]) == [1], store
    harm = report.harm()
    assert harm["created"] >= 1 and harm["left_behind"] == [], harm


def test_an_object_the_api_deletes_by_name_is_removed_by_name():
    """Held-out bed (Chroma 1.5): POST /collections answers ``{"id": <uuid>, "name": …}``, and DELETE
    /collections/{collection_id} takes the name (a UUID answers 404): two collections stayed in the
    team's database, and the cleanup's 404 read as "already gone"."""
    import asyncio
    import uuid

    from fastapi import FastAPI, HTTPException

    from tasks.readiness.engine import run_readiness
    from tasks.readiness.models import ProbeTarget

    from .servers import serve_asgi

    app = FastAPI()
    collections = {"support-articles": {"id": str(uuid.uuid4()), "name": "support-articles"}}

    @app.get("/api/v2/collections")
    def list_collections():
        return list(collections.values())

    @app.post("/api/v2/collections")
    async def create(request: Request):
        body = await request.json()
        collections[body["name"]] = {"id": str(uuid.uuid4()), "name": body["name"]}
        return collections[body["name"]]

    @app.get("/api/v2/collections/{name}")
    def get(name: str):
        if name not in collections:
            raise HTTPException(404, f"Collection [{name}] does not exist")
        return collections[name]

    @app.delete("/api/v2/collections/{name}")
    def delete(name: str):
        if collections.pop(name, None) is None:
            raise HTTPException(404, f"Collection [{name}] does not exist")
        return {}

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("list", "GET", f"{u}/api/v2/collections"),
                   ProbeTarget("create", "POST", f"{u}/api/v2/collections", body={"name": "my_collection"}),
                   ProbeTarget("get", "GET", f"{u}/api/v2/collections/{{collection_id}}",
                               {"collection_id": ["support-articles"]}),
                   ProbeTarget("delete", "DELETE", f"{u}/api/v2/collections/{{collection_id}}",
                               {"collection_id": ["support-articles"]})]
        report = asyncio.run(run_readiness(targets, samples=2))
    finally:
        server.stop()
    assert list(collections) == ["support-articles"], (collections, [c.to_dict() for c in report.created])
    assert {c.state for c in report.created} == {"deleted"}
    assert report.harm()["left_behind"] == []


def test_a_post_to_a_collection_with_an_item_route_but_no_list_or_delete_is_withheld():
    """Held-out bed (Chroma): POST /api/v2/tenants answers ``{}``, GET /api/v2/tenants/{tenant_name} reads
    one, nothing deletes one, and the campaign has no list: the POST was sent as if it were an action,
    and three tenants stayed on the server."""
    import asyncio

    from fastapi import FastAPI, HTTPException

    from tasks.readiness.engine import run_readiness
    from tasks.readiness.models import ProbeTarget

    from .servers import serve_asgi

    app = FastAPI()
    tenants = {"default_tenant": {"name": "default_tenant"}}

    @app.post("/api/v2/tenants")
    async def create(request: Request):
        body = await request.json()
        tenants[body["name"]] = {"name": body["name"]}
        return {}

    @app.get("/api/v2/tenants/{tenant_name}")
    def get(tenant_name: str):
        if tenant_name not in tenants:
            raise HTTPException(404, f"Tenant [{tenant_name}] not found")
        return tenants[tenant_name]

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("create-tenant", "POST", f"{u}/api/v2/tenants", body={"name": "sample"}),
                   ProbeTarget("get-tenant", "GET", f"{u}/api/v2/tenants/{{tenant_name}}", {"tenant_name": ["default_tenant"]})]
        report = asyncio.run(run_readiness(targets, samples=2))
    finally:
        server.stop()
    assert list(tenants) == ["default_tenant"], tenants
    assert "create-tenant" in report.harm()["withheld"]


def _flat(name: str, body, headers=()):
    url = f"{H}/api/{name}"
    return ProbeRecord(ProbeTarget(name, "GET", url), [obs("base", body, url=url, headers=headers,
                                                           meta={"chosen": True})],
                       info={"kind": "read", "varied": None, "varied_in": None, "values": {}})


def test_a_base_url_where_most_endpoints_are_mock_makes_the_quiet_ones_mock_too():
    """Held-out bed (connexion --mock=all, openapi-mock-express-middleware on listmonk's spec): every
    operation is generated, about half give evidence of their own, the rest answered plausibly once
    and were called real. One server, no real evidence anywhere: the quiet ones are more of the same."""
    static = [("Accept-Ranges", "bytes"), ("Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT")]
    mocks = [_flat(f"m{i}", {"i": i, "name": "x"}, static) for i in range(5)]
    quiet = [_flat(f"q{i}", {"i": i, "name": "y"}) for i in range(3)]
    crosscheck(mocks + quiet)
    assert all([e.signal for e in q.cross] == ["host-of-mocks"] for q in quiet)
    # the same host where one endpoint refuses an unknown id (a lookup): not a generator
    real = _read("item", f"{H}/api/items/{{id}}", {"id": 1}, (404, {"detail": "item not found"}))
    mocks = [_flat(f"m{i}", {"i": i, "name": "x"}, static) for i in range(5)]
    quiet = [_flat(f"q{i}", {"i": i, "name": "y"}) for i in range(3)]
    crosscheck(mocks + quiet + [real])
    assert all(q.cross == [] for q in quiet)


def test_a_post_to_a_list_under_a_parent_with_no_delete_is_withheld():
    """Held-out bed (Chroma): POST /api/v2/tenants/{tenant}/databases answers ``{}`` and nothing in the
    campaign deletes a database; the list is read under its parent (``/tenants/{tenant}/databases``), so
    the collection check did not see it and two databases were left."""
    import asyncio

    from fastapi import FastAPI

    from tasks.readiness.engine import run_readiness
    from tasks.readiness.models import ProbeTarget

    from .servers import serve_asgi

    app = FastAPI()
    databases = {"default_tenant": ["default_database"]}

    @app.get("/api/v2/tenants/{tenant}/databases")
    def list_databases(tenant: str):
        return [{"name": n, "tenant": tenant} for n in databases.get(tenant, [])]

    @app.post("/api/v2/tenants/{tenant}/databases")
    async def create(tenant: str, request: Request):
        databases.setdefault(tenant, []).append((await request.json())["name"])
        return {}

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("list-databases", "GET", f"{u}/api/v2/tenants/{{tenant}}/databases",
                               {"tenant": ["default_tenant"]}),
                   ProbeTarget("create-database", "POST", f"{u}/api/v2/tenants/{{tenant}}/databases",
                               {"tenant": ["default_tenant"]}, body={"name": "sample"})]
        report = asyncio.run(run_readiness(targets, samples=2))
    finally:
        server.stop()
    assert databases == {"default_tenant": ["default_database"]}, databases
    assert "create-database" in report.harm()["withheld"]


def test_an_answer_made_of_the_specs_examples_is_a_spec_driven_mock():
    """Held-out bed (openapi-backend's mockResponseForOperation beside real handlers): the payroll
    export answers the spec's example month, totals and lines whatever it is asked; real handlers
    answer their own data."""
    import asyncio

    from fastapi import FastAPI

    from tasks.readiness.engine import run_readiness
    from tasks.readiness.models import ProbeTarget

    from .servers import serve_asgi

    example = {"month": "2026-11", "total_hours": 1284.5, "lines": [{"staff": "Ann Lee", "hours": 38.5}]}
    paths = {"$.month": "2026-11", "$.total_hours": 1284.5, "$.lines[].staff": "Ann Lee", "$.lines[].hours": 38.5}
    app = FastAPI()

    @app.get("/api/payroll/export")
    def export(month: str = "2026-12"):
        return example

    @app.get("/api/staff")
    def staff():
        return [{"id": 1, "name": "Bo Ek", "hours": 12.0}, {"id": 2, "name": "Cy Ng", "hours": 30.5}]

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("export-payroll", "GET", f"{u}/api/payroll/export?month=2026-12", examples=paths),
                   ProbeTarget("staff", "GET", f"{u}/api/staff",
                               examples={"$[].name": "Ann Lee", "$[].hours": 38.5, "$[].id": 7})]
        report = asyncio.run(run_readiness(targets, samples=2))
    finally:
        server.stop()
    verdicts = {v.name: v for v in report.verdicts}
    assert verdicts["export-payroll"].verdict == "mock", verdicts["export-payroll"].evidence
    assert verdicts["staff"].verdict == "real"


def test_a_put_only_route_is_not_written_on_a_sample_get_cannot_see():
    """Held-out bed (verdaccio 6): GET is not routed at /-/package/{pkg}/dist-tags/{tag}, so its 404 looked
    like a missing route and the PUT was sent to find out: it created the team's dist-tag "canary".
    OPTIONS names the PUT route (Allow), so the PUT is withheld. (Here the route oracle's own OPTIONS
    comparison already catches it; the PUT-only branch guards a router whose control OPTIONS looks alike.)"""
    import asyncio

    from fastapi import FastAPI

    from tasks.readiness.engine import run_readiness
    from tasks.readiness.models import ProbeTarget

    from .servers import serve_asgi

    app = FastAPI()
    tags = {"latest": "1.1.0"}

    @app.get("/-/package/{pkg}/dist-tags")
    def list_tags(pkg: str):
        return tags

    @app.get("/-/package/{pkg}/dist-tags/{tag}")
    def no_get(pkg: str, tag: str):   # what a router answers for a path it does not route
        from fastapi import HTTPException

        raise HTTPException(404)

    @app.put("/-/package/{pkg}/dist-tags/{tag}", status_code=201)
    async def add(pkg: str, tag: str, request: Request):
        tags[tag] = await request.json()
        return {"ok": "package tagged"}

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("dist-tags", "GET", f"{u}/-/package/left-padder/dist-tags"),
                   ProbeTarget("add-dist-tag", "PUT", f"{u}/-/package/left-padder/dist-tags/{{tag}}",
                               {"tag": ["canary"]}, body="1.0.0")]
        report = asyncio.run(run_readiness(targets, samples=2))
    finally:
        server.stop()
    assert tags == {"latest": "1.1.0"}, tags
    assert {v.name: v.verdict for v in report.verdicts}["add-dist-tag"] == "unverified"


def test_an_object_a_post_answers_with_nothing_is_removed_by_the_name_it_was_sent():
    """Held-out bed (Chroma): POST /tenants/{tenant}/databases answers ``{}``; DELETE
    /tenants/{tenant}/databases/{database} takes the name. Two databases stayed on the server."""
    import asyncio

    from fastapi import FastAPI, HTTPException

    from tasks.readiness.engine import run_readiness
    from tasks.readiness.models import ProbeTarget

    from .servers import serve_asgi

    app = FastAPI()
    databases = {"default_tenant": {"default_database"}}

    @app.get("/api/v2/tenants/{tenant}/databases")
    def list_databases(tenant: str):
        return [{"name": n, "tenant": tenant} for n in sorted(databases.get(tenant, ()))]

    @app.post("/api/v2/tenants/{tenant}/databases")
    async def create(tenant: str, request: Request):
        databases.setdefault(tenant, set()).add((await request.json())["name"])
        return {}

    @app.delete("/api/v2/tenants/{tenant}/databases/{database}")
    def delete(tenant: str, database: str):
        if database not in databases.get(tenant, ()):
            raise HTTPException(404, f"Database [{database}] not found")
        databases[tenant].discard(database)
        return {}

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("list-databases", "GET", f"{u}/api/v2/tenants/{{tenant}}/databases",
                               {"tenant": ["default_tenant"]}),
                   ProbeTarget("create-database", "POST", f"{u}/api/v2/tenants/{{tenant}}/databases",
                               {"tenant": ["default_tenant"]}, body={"name": "sample"}),
                   ProbeTarget("delete-database", "DELETE", f"{u}/api/v2/tenants/{{tenant}}/databases/{{database}}",
                               {"tenant": ["default_tenant"], "database": ["default_database"]})]
        report = asyncio.run(run_readiness(targets, samples=2))
    finally:
        server.stop()
    assert databases == {"default_tenant": {"default_database"}}, (databases, [c.to_dict() for c in report.created])
    assert report.harm()["left_behind"] == []


def test_an_object_keyed_by_its_collections_noun_is_recorded_by_it():
    """Held-out bed (Directus 11): POST /collections answers ``{"data": {"collection": "samplepc…"}}`` and
    DELETE /collections/{collection} removes it; nothing else names it."""
    ledger = Ledger(IdPool(), deletes=[ItemRoute("delete-collection", f"{H}/collections/{{collection}}")])
    entry = ledger.record("create-collection", f"{H}/collections", {"data": {"collection": "samplepc1a2b3c",
                                                                            "meta": {"hidden": False}}}, None, H)
    assert entry is not None and entry.ref == "samplepc1a2b3c"
    assert ledger.delete_urls(entry)[0][0] == f"{H}/collections/samplepc1a2b3c"
