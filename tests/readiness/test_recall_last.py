"""Last-stretch recall cases from the held-out bed (evalbed2): a read-back through an item route
that answers any id, and a tool's home page under the endpoint's parent path (a gateway mount)."""

from __future__ import annotations

from starlette.requests import Request  # module-level: the handlers' string annotations resolve here

from tasks.readiness.models import ProbeTarget
from tasks.readiness.probe import parent_paths


def test_parent_paths_are_the_first_two_literal_prefixes():
    assert parent_paths("http://h:1/api/catalog/series/3") == ["http://h:1/api/", "http://h:1/api/catalog/"]
    assert parent_paths("http://h:1/api/things") == ["http://h:1/api/"]
    assert parent_paths("http://h:1/things") == []


def test_a_read_back_through_a_route_that_answers_any_id_is_no_persistence():
    """A stub ``POST /api/holds`` → ``{"id": 501}`` every time, ``GET /api/holds/{id}`` → the same
    object for any id: the read-back matches only because the campaign's sample equals the fixture.
    The ghost read-back unmasks it, the second POST is sent and answers the same id. (Alone that
    is 2.5, short of mock; in the bed the tool's other traits add up: transport, co-served.)"""
    import asyncio

    from fastapi import FastAPI

    from tasks.readiness.engine import run_readiness

    from .servers import serve_asgi

    app = FastAPI()
    posts: list[dict] = []
    fixture = {"id": 501, "status": "waiting", "position": 3, "book_id": 2, "member_id": 1}

    @app.post("/api/holds", status_code=201)
    async def create_hold(request: Request):
        posts.append(await request.json())
        return {"id": 501, "status": "waiting", "position": 3}

    @app.get("/api/holds/{hid}")
    def hold(hid: str):
        return fixture

    @app.delete("/api/holds/{hid}", status_code=204)
    def cancel(hid: str):
        return None

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("create-hold", "POST", f"{u}/api/holds", body={"book_id": 2, "member_id": 1, "label": "sample"},
                               expect_status=(201,)),
                   ProbeTarget("hold", "GET", f"{u}/api/holds/{{id}}", {"id": [501]}),
                   ProbeTarget("cancel-hold", "DELETE", f"{u}/api/holds/{{id}}", {"id": [501]})]
        report = asyncio.run(run_readiness(targets, samples=3))
    finally:
        server.stop()
    by = {v.name: v for v in report.verdicts}
    sig = {e.signal for e in by["create-hold"].evidence}
    assert "write-persisted" not in sig, by["create-hold"].to_dict()
    assert "write-same-id" in sig, by["create-hold"].to_dict()
    same = [e for e in by["create-hold"].evidence if e.signal == "write-same-id"]
    assert same and same[0].weight == 2.5, same  # the bodies differ (a unique label): strong, not alone decisive
    assert len(posts) >= 2
    # the cleanup's DELETE through the campaign's route answered 204, the hold still answers unchanged,
    # and a nonexistent id is "deleted" too: a DELETE with no effect
    sig = {e.signal for e in by["cancel-hold"].evidence}
    assert {"write-not-persisted", "ignores-path-id"} <= sig, by["cancel-hold"].to_dict()
    assert by["cancel-hold"].verdict == "mock", by["cancel-hold"].to_dict()


def test_a_real_read_back_still_counts():
    """The same shapes on a real store: the ghost id is 404, the write persists, one POST only."""
    import asyncio
    import itertools

    from fastapi import FastAPI, HTTPException

    from tasks.readiness.engine import run_readiness

    from .servers import serve_asgi

    app = FastAPI()
    ids = itertools.count(502)
    holds: dict[int, dict] = {501: {"id": 501, "status": "waiting", "book_id": 2, "member_id": 1}}

    @app.post("/api/holds", status_code=201)
    async def create_hold(request: Request):
        hid = next(ids)
        holds[hid] = {"id": hid, "status": "waiting", **(await request.json())}
        return holds[hid]

    @app.get("/api/holds/{hid}")
    def hold(hid: int):
        if hid not in holds:
            raise HTTPException(404, "no such hold")
        return holds[hid]

    @app.delete("/api/holds/{hid}", status_code=204)
    def cancel(hid: int):
        if holds.pop(hid, None) is None:
            raise HTTPException(404, "no such hold")

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("create-hold", "POST", f"{u}/api/holds", body={"book_id": 2, "member_id": 1},
                               expect_status=(201,)),
                   ProbeTarget("hold", "GET", f"{u}/api/holds/{{id}}", {"id": [501]}),
                   ProbeTarget("cancel-hold", "DELETE", f"{u}/api/holds/{{id}}", {"id": [501]})]
        report = asyncio.run(run_readiness(targets, samples=3))
    finally:
        server.stop()
    by = {v.name: v for v in report.verdicts}
    sig = {e.signal for e in by["create-hold"].evidence}
    assert "write-persisted" in sig, by["create-hold"].to_dict()
    assert by["create-hold"].verdict == "real", by["create-hold"].to_dict()
    assert list(holds) == [501], holds
    assert "write-not-persisted" not in {e.signal for e in by["cancel-hold"].evidence}, by["cancel-hold"].to_dict()


def test_a_soft_delete_is_an_effect():
    """A DELETE that marks the object deleted (GET still 200, with ``deleted_at`` set) is real."""
    import asyncio
    import itertools
    from datetime import datetime, timezone

    from fastapi import FastAPI, HTTPException

    from tasks.readiness.engine import run_readiness

    from .servers import serve_asgi

    app = FastAPI()
    ids = itertools.count(2)
    notes: dict[int, dict] = {1: {"id": 1, "title": "first", "deleted_at": None}}

    @app.get("/api/notes")
    def lst():
        return [n for n in notes.values() if n["deleted_at"] is None]

    @app.post("/api/notes", status_code=201)
    async def create(request: Request):
        nid = next(ids)
        notes[nid] = {"id": nid, **(await request.json()), "deleted_at": None}
        return notes[nid]

    @app.get("/api/notes/{nid}")
    def get(nid: int):
        if nid not in notes:
            raise HTTPException(404, "no such note")
        return notes[nid]

    @app.delete("/api/notes/{nid}", status_code=204)
    def delete(nid: int):
        if nid not in notes:
            raise HTTPException(404, "no such note")
        notes[nid]["deleted_at"] = datetime.now(timezone.utc).isoformat()

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("notes", "GET", f"{u}/api/notes"),
                   ProbeTarget("create-note", "POST", f"{u}/api/notes", body={"title": "sample"}),
                   ProbeTarget("note", "GET", f"{u}/api/notes/{{id}}", {"id": [1]}),
                   ProbeTarget("delete-note", "DELETE", f"{u}/api/notes/{{id}}", {"id": [1]})]
        report = asyncio.run(run_readiness(targets, samples=3))
    finally:
        server.stop()
    by = {v.name: v for v in report.verdicts}
    assert "write-not-persisted" not in {e.signal for e in by["delete-note"].evidence}, [(e.signal, e.detail) for e in by["delete-note"].evidence]
    assert by["delete-note"].verdict != "mock", by["delete-note"].to_dict()


def test_a_tools_home_page_at_the_gateway_mount_names_the_tool():
    """json-server mounted by a gateway under ``/api/catalog/``: its HTML home page answers there, not
    at the root (the gateway's own 404). The endpoint's answers come from the same software."""
    import asyncio

    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse
    from starlette.routing import Route

    from tasks.readiness.engine import run_readiness

    from .servers import serve_asgi

    home = ("<!doctype html><html><head><title>JSON Server</title></head><body><h1>JSON Server</h1>"
            "<ul><li><a href='series'>/series</a></li></ul></body></html>")
    series = [{"id": "1", "name": "Dune"}, {"id": "2", "name": "Foundation"}]

    async def index(request):
        return HTMLResponse(home)

    async def lst(request):
        return JSONResponse(series)

    async def item(request):
        sid = request.path_params["sid"]
        for s in series:
            if s["id"] == sid:
                return JSONResponse(s)
        return JSONResponse({}, status_code=404)

    async def not_found(request):
        return PlainTextResponse("Not Found", status_code=404)

    app = Starlette(routes=[Route("/api/catalog/", index), Route("/api/catalog/series", lst),
                            Route("/api/catalog/series/{sid}", item), Route("/", not_found)])
    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("series-list", "GET", f"{u}/api/catalog/series"),
                   ProbeTarget("series", "GET", f"{u}/api/catalog/series/{{id}}", {"id": ["1", "2"]})]
        report = asyncio.run(run_readiness(targets, samples=3))
    finally:
        server.stop()
    by = {v.name: v for v in report.verdicts}
    for name in ("series-list", "series"):
        sig = {e.signal for e in by[name].evidence}
        assert "mock-server-host" in sig, by[name].to_dict()
        assert by[name].verdict == "mock", by[name].to_dict()


def test_a_template_token_left_in_the_answer_is_a_mock_trait():
    """apimocker's ``"alertname": "@alertname"`` (the request's own field), ``{{id}}``; a real API
    storing a template text with tokens for names the request did not send is not concerned."""
    from tasks.readiness.probe import Observation, ProbeRecord
    from tasks.readiness.signals.content import template_tokens

    def rec(url, body, answer, method="POST"):
        import json as _json

        t = ProbeTarget("x", method, url, body=body)
        o = Observation(label="write" if method == "POST" else "base", method=method, url=url, status=201,
                        headers=[("content-type", "application/json")], body=_json.dumps(answer).encode(),
                        latency_ms=2.0)
        return ProbeRecord(target=t, info={"kind": "write" if method == "POST" else "read"}, observations=[o])

    hit = template_tokens(rec("http://h/api/v2/escalations", {"alertname": "DiskFull", "level": 2},
                              {"id": "esc-4", "alertname": "@alertname", "level": 1}))
    assert hit and hit[0].signal == "template-token" and hit[0].weight == 2.0, hit
    assert template_tokens(rec("http://h/api/items/{id}/ack", {"by": "sre"}, {"id": "{{id}}", "ok": True}))
    # a stored alert template, tokens for names the request did not send: nothing
    assert not template_tokens(rec("http://h/api/templates", {"name": "disk"},
                                   {"id": 3, "name": "disk", "text": "{{ .CommonLabels.alertname }}",
                                    "summary": "@channel"}))
    # the request's own value echoed (it happens to look like a token): nothing
    assert not template_tokens(rec("http://h/api/notes", {"title": "@title"}, {"id": 3, "title": "@title"}))


def test_a_list_that_moves_without_writes_gets_no_list_moves():
    """camouflage's ``{{num_between}}``: the list differs between identical reads, so "it changed
    after the POST" is no write evidence."""
    import asyncio
    import random

    from fastapi import FastAPI

    from tasks.readiness.engine import run_readiness

    from .servers import serve_asgi

    app = FastAPI()

    @app.get("/api/timesheets/")
    def lst():
        return {"results": [{"id": i, "task": 1, "hours": random.randint(1, 8), "day": "2026-12-07"}
                            for i in (11, 12, 13)]}

    @app.post("/api/timesheets/", status_code=201)
    async def create(request: Request):
        return {"id": random.randint(1000, 99999), **(await request.json())}

    @app.get("/api/timesheets/{tid}/")
    def item(tid: int):
        return {"id": tid, "task": 1, "hours": random.randint(1, 8), "day": "2026-12-07"}

    @app.delete("/api/timesheets/{tid}/", status_code=204)
    def delete(tid: int):
        return None

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("timesheets", "GET", f"{u}/api/timesheets/"),
                   ProbeTarget("log-time", "POST", f"{u}/api/timesheets/", body={"task": 1, "hours": 2,
                                                                                 "day": "2026-12-07"}),
                   ProbeTarget("timesheet", "GET", f"{u}/api/timesheets/{{id}}/", {"id": [11]}),
                   ProbeTarget("delete-timesheet", "DELETE", f"{u}/api/timesheets/{{id}}/", {"id": [11]})]
        report = asyncio.run(run_readiness(targets, samples=5))
    finally:
        server.stop()
    by = {v.name: v for v in report.verdicts}
    assert "log-time" not in report.withheld, report.withheld
    assert "list-moves" not in {e.signal for e in by["timesheets"].evidence}, by["timesheets"].to_dict()
    assert by["timesheets"].verdict == "mock", by["timesheets"].to_dict()


def test_unchanged_ignores_a_clock_but_not_a_soft_delete():
    from datetime import datetime, timedelta, timezone

    from tasks.readiness.probe import Observation
    from tasks.readiness.signals.base import unchanged

    def o(body):
        import json as _json

        return Observation(label="x", method="GET", url="http://h/a/1", status=200,
                           headers=[("content-type", "application/json")], body=_json.dumps(body).encode())

    t1 = datetime.now(timezone.utc).isoformat()
    t2 = (datetime.now(timezone.utc) + timedelta(seconds=3)).isoformat()
    assert unchanged(o({"id": 1, "now": t1, "tags": ["a"]}), o({"id": 1, "now": t2, "tags": ["a"]}))
    assert not unchanged(o({"id": 1, "deleted_at": None}), o({"id": 1, "deleted_at": t1}))
    assert not unchanged(o({"id": 1, "status": "active"}), o({"id": 1, "status": "deleted"}))


def test_an_echo_of_the_request_whose_cookie_changed_is_not_random():
    """httpbin's ``/delay/1`` echoes the request's headers; a cookie another probe set on the shared
    client changes between identical requests: that is the client, not a random body."""
    import json as _json

    from tasks.readiness.probe import USER_AGENT, Observation, ProbeRecord
    from tasks.readiness.signals.stability import unstable_body

    def o(label, cookie):
        body = {"args": {}, "headers": {"User-Agent": USER_AGENT, "Cookie": cookie}, "origin": "127.0.0.1"}
        return Observation(label=label, method="GET", url="http://h/delay/1", status=200,
                           headers=[("content-type", "application/json")], body=_json.dumps(body).encode())

    obs = [o("base", "a=1"), o("repeat", "a=1; sample=zz-nonexistent-1"), o("repeat", "b=2"), o("repeat", "c=3")]
    rec = ProbeRecord(target=ProbeTarget("d", "GET", "http://h/delay/1"), info={"kind": "read"}, observations=obs)
    assert unstable_body(rec) == []
