"""Failure modes found on the held-out bed (issue 11, round 2): fast checks of the pure pieces."""

from __future__ import annotations

import json

from starlette.requests import Request  # module-level: the handlers' string annotations resolve here

from tasks.readiness.identifiers import IdPool
from tasks.readiness.ledger import Ledger
from tasks.readiness.models import ProbeTarget
from tasks.readiness.probe import USER_AGENT, Observation, ProbeRecord, typed_combos
from tasks.readiness.signals.base import echoes_request
from tasks.readiness.signals.stability import cycling_body


def _rec(bodies: list[dict]) -> ProbeRecord:
    rec = ProbeRecord(target=ProbeTarget("x", "GET", "http://h/x"), info={"kind": "read"})
    for i, b in enumerate(bodies):
        obs = Observation("base" if i == 0 else "repeat", "GET", "http://h/x", 200,
                          [("Content-Type", "application/json")], json.dumps(b).encode())
        obs.meta["chosen"] = i == 0
        rec.observations.append(obs)
    return rec


def test_a_rotation_of_bodies_is_a_playlist_and_drift_is_not():
    a, b, c = {"usd": 1.08}, {"usd": 1.09}, {"usd": 1.07}
    ev = cycling_body(_rec([a, b, c, a, b]))
    assert ev and ev[0].weight == 2.0
    assert cycling_body(_rec([a, b, a, b, a]))[0].weight < 2.0   # two replicas behind a balancer?
    assert not cycling_body(_rec([a, b, c, b, a]))
    assert not cycling_body(_rec([a, a, a, a, a]))


def test_untyped_text_samples_get_an_integer_then_a_uuid():
    target = ProbeTarget("links", "GET", "http://h/links/{n}/{offset}", {"n": ["sample"], "offset": ["sample"]})
    (as_int, why), (as_uuid, _) = typed_combos(target, {"n": "sample", "offset": "sample"})
    assert as_int == {"n": "1", "offset": "1"} and "integer" in why
    assert as_uuid["n"].count("-") == 4
    assert typed_combos(ProbeTarget("b", "GET", "http://h/b/{id}", {"id": [7]}), {"id": 7}) == []


def test_an_echo_of_the_request_is_recognised():
    echo = Observation("ghost", "GET", "http://h/etag/zz", 200, [("Content-Type", "application/json")],
                       json.dumps({"headers": {"User-Agent": USER_AGENT}}).encode())
    assert echoes_request(echo)
    assert not echoes_request(Observation("ghost", "GET", "http://h/a/1", 200, [], b'{"id": 1}'))


def test_a_reused_id_after_a_delete_is_a_new_object():
    ledger = Ledger(IdPool())
    first = ledger.record("create", "http://h/books", {"id": 9, "title": "a"}, None, "http://h/books")
    ledger.mark(first, "deleted", "deleted")
    second = ledger.record("create", "http://h/books", {"id": 9, "title": "b"}, None, "http://h/books")
    assert second is not first and second.state == "created"
    assert ledger.own("http://h/books") == [second]


# --- on a live app (FastAPI on loopback) ----------------------------------------------------------

def _app():
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.responses import JSONResponse

    app = FastAPI()
    state = {"enrollments": [{"id": 1, "course": 1}], "terminals": {}, "redirects": 0}

    @app.get("/api/enrollments")
    def enrollments():
        return state["enrollments"]

    @app.post("/api/enrollments", status_code=201)
    async def enroll(request: Request):  # stored, and no way to remove it
        body = await request.json()
        item = {"id": len(state["enrollments"]) + 1, **body}
        state["enrollments"].append(item)
        return item

    @app.get("/api/terminals")
    def terminals():
        return list(state["terminals"].values())

    @app.post("/api/terminals")
    def new_terminal():  # 200 with a name, no id (Jupyter's terminals)
        name = str(len(state["terminals"]) + 1)
        state["terminals"][name] = {"name": name}
        return state["terminals"][name]

    @app.delete("/api/terminals/{name}", status_code=204)
    def close_terminal(name: str):
        if state["terminals"].pop(name, None) is None:
            raise HTTPException(404, "Terminal not found")

    @app.get("/links/{n}/{offset}")
    def links(n: int, offset: int):  # a typed route: "sample" is the router's own 404... FastAPI: 422
        return {"n": n, "offset": offset}

    @app.post("/api/sessions")
    async def sessions(request: Request):
        try:
            await request.json()
        except ValueError:
            return JSONResponse({"message": "bad json"}, status_code=400)
        return JSONResponse({"message": "Kernel 'sample' not found"}, status_code=501)

    return app, state


def test_no_unremovable_object_no_resent_create_no_untyped_missing():
    import asyncio

    from tasks.readiness.engine import run_readiness

    from .servers import serve_asgi

    app, state = _app()
    server = serve_asgi(app)
    try:
        u = server.url
        targets = [
            ProbeTarget("enrollments", "GET", f"{u}/api/enrollments"),
            ProbeTarget("enroll", "POST", f"{u}/api/enrollments", body={"course": 2}),
            ProbeTarget("terminals", "GET", f"{u}/api/terminals"),
            ProbeTarget("new-terminal", "POST", f"{u}/api/terminals"),
            ProbeTarget("close-terminal", "DELETE", f"{u}/api/terminals/{{name}}", {"name": ["1"]}),
            ProbeTarget("links", "GET", f"{u}/links/{{n}}/{{offset}}", {"n": ["sample"], "offset": ["sample"]}),
            ProbeTarget("sessions", "POST", f"{u}/api/sessions", body={"kernel": {"name": "sample"}}),
        ]
        report = asyncio.run(run_readiness(targets, samples=3))
    finally:
        server.stop()
    by = {v.name: v for v in report.verdicts}
    assert state["enrollments"] == [{"id": 1, "course": 1}]          # never written: no way to remove it
    assert by["enroll"].verdict == "unverified" and "enroll" in report.withheld
    assert state["terminals"] == {}                                   # created, recorded, removed
    assert by["links"].verdict == "real", by["links"].to_dict()        # typed retry, not "missing"
    assert by["sessions"].verdict == "unverified", by["sessions"].to_dict()  # the body's 501, not the route's


def test_rpc_creations_without_an_undo_are_never_sent_with_a_valid_body():
    """etcd's grpc-gateway: ``POST /v3/auth/user/add`` answers ``{"header": {...}}`` (no id, no
    Location) and creates a user; ``…/project/{id}/add-member`` the same under an item. Only a body
    the API must refuse is sent; nothing is created."""
    import asyncio

    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    from tasks.readiness.engine import run_readiness

    from .servers import serve_asgi

    app = FastAPI()
    users: list[str] = []
    members: list[str] = []

    async def _json(request: Request):
        try:
            return await request.json()
        except ValueError:
            return None

    @app.post("/v3/auth/user/add")
    async def user_add(request: Request):
        body = await _json(request)
        if not isinstance(body, dict) or not body.get("name"):
            return JSONResponse({"error": "invalid character", "code": 3}, status_code=400)
        users.append(body["name"])
        return {"header": {"cluster_id": "1", "revision": str(len(users))}}

    @app.post("/v3/projects/{pid}/add-member")
    async def add_member(pid: int, request: Request):
        body = await _json(request)
        if not isinstance(body, dict):
            return JSONResponse({"error": "bad json"}, status_code=400)
        members.append(str(body))
        return {"ok": True}

    @app.post("/v3/auth/user/list")
    def user_list():
        return {"header": {"revision": str(len(users))}, "users": users}

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("user-add", "POST", f"{u}/v3/auth/user/add", body={"name": "sample", "password": "x"}),
                   ProbeTarget("add-member", "POST", f"{u}/v3/projects/{{pid}}/add-member", {"pid": [1]},
                               body={"user": "sample"}),
                   ProbeTarget("user-list", "POST", f"{u}/v3/auth/user/list", body={}, safe=True)]
        report = asyncio.run(run_readiness(targets, samples=3))
    finally:
        server.stop()
    by = {v.name: v for v in report.verdicts}
    assert users == [] and members == []
    for name in ("user-add", "add-member"):
        assert by[name].verdict == "unverified" and "creation" in by[name].reason, by[name].to_dict()
        assert name in report.withheld
    assert by["user-list"].verdict == "real", by["user-list"].to_dict()


def test_a_stream_that_never_ends_is_alive_not_unreachable():
    """etcd's ``POST /v3/watch`` (grpc-gateway): 200 and the first JSON line at once, then the body
    stays open. Headers came in time: the endpoint is alive (unverified), and it is asked once."""
    import asyncio

    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse

    from tasks.readiness.engine import run_readiness

    from .servers import serve_asgi

    app = FastAPI()
    calls = []

    @app.post("/v3/watch")
    async def watch():
        calls.append(1)

        async def lines():
            yield b'{"result":{"header":{"revision":"7"},"created":true}}\n'
            await asyncio.sleep(30)
        return StreamingResponse(lines(), media_type="application/json")

    server = serve_asgi(app)
    try:
        targets = [ProbeTarget("watch", "POST", f"{server.url}/v3/watch", body={"create_request": {"key": "YQ=="}},
                               safe=True)]
        report = asyncio.run(run_readiness(targets, samples=3, timeout_s=1.0))
    finally:
        server.stop()
    v = report.verdicts[0]
    assert v.verdict == "unverified" and "streams" in v.reason and v.status_code == 200, v.to_dict()
    assert len(calls) == 1


def test_bulk_creates_are_removed_and_a_post_that_would_create_its_named_item_is_not_sent():
    """JupyterHub: ``POST /users {"usernames": [...]}`` answers 201 with the list of users it made
    (no id, no Location); ``POST /groups/{name}`` creates the group its path names."""
    import asyncio

    from fastapi import FastAPI, HTTPException

    from tasks.readiness.engine import run_readiness

    from .servers import serve_asgi

    app = FastAPI()
    users = {"ann": {"name": "ann", "kind": "user"}}
    groups: dict[str, dict] = {"ops": {"name": "ops", "users": []}}

    @app.get("/api/users")
    def list_users():
        return list(users.values())

    @app.post("/api/users", status_code=201)
    async def add_users(request: Request):
        body = await request.json()
        made = []
        for name in body.get("usernames", []):
            if name in users:
                raise HTTPException(409, f"User {name} already exists")
            users[name] = {"name": name, "kind": "user"}
            made.append(users[name])
        return made

    @app.get("/api/users/{name}")
    def get_user(name: str):
        if name not in users:
            raise HTTPException(404, f"No such user: {name}")
        return users[name]

    @app.delete("/api/users/{name}", status_code=204)
    def delete_user(name: str):
        if users.pop(name, None) is None:
            raise HTTPException(404, f"No such user: {name}")

    @app.patch("/api/users/{name}")
    async def patch_user(name: str, request: Request):  # "name" in the body renames the user
        if name not in users:
            raise HTTPException(404, f"No such user: {name}")
        body = await request.json()
        user = {**users.pop(name), **body}
        users[user["name"]] = user
        return user

    @app.post("/api/users/{name}", status_code=201)
    def add_user(name: str):
        if name in users:
            raise HTTPException(409, f"User {name} already exists")
        users[name] = {"name": name, "kind": "user"}
        return users[name]

    @app.get("/api/groups/{name}")
    def get_group(name: str):
        if name not in groups:
            raise HTTPException(404, f"No such group: {name}")
        return groups[name]

    @app.post("/api/groups/{name}", status_code=201)
    def add_group(name: str):
        groups[name] = {"name": name, "users": []}
        return groups[name]

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("users", "GET", f"{u}/api/users"),
                   ProbeTarget("add-users", "POST", f"{u}/api/users", body={"usernames": ["ann"]}),
                   ProbeTarget("user", "GET", f"{u}/api/users/{{name}}", {"name": ["ann"]}),
                   ProbeTarget("delete-user", "DELETE", f"{u}/api/users/{{name}}", {"name": ["ann"]}),
                   ProbeTarget("patch-user", "PATCH", f"{u}/api/users/{{name}}", {"name": ["ann"]},
                               body={"name": "sample", "kind": "admin"}),
                   ProbeTarget("add-group", "POST", f"{u}/api/groups/{{name}}", {"name": ["sample"]}, body={}),
                   ProbeTarget("add-user", "POST", f"{u}/api/users/{{name}}", {"name": ["sample"]}, body={})]
        report = asyncio.run(run_readiness(targets, samples=3))
    finally:
        server.stop()
    assert users == {"ann": {"name": "ann", "kind": "user"}} and set(groups) == {"ops"}, (users, groups)
    by = {v.name: v for v in report.verdicts}
    assert by["add-group"].verdict == "unverified" and "add-group" in report.withheld
    assert "add-users" in report.withheld        # later stages do not send the bulk create again
    assert "add-user" in report.withheld         # nor a POST that would create the campaign's sample


def test_a_create_undone_by_the_singular_item_route_is_probed_and_undone():
    """Alertmanager: ``POST /api/v2/silences`` answers ``{"silenceID": …}``; the undo is
    ``DELETE /api/v2/silence/{silenceID}`` (singular). The write is probed, and removed."""
    import asyncio
    import uuid

    from fastapi import FastAPI, HTTPException

    from tasks.readiness.engine import run_readiness

    from .servers import serve_asgi

    app = FastAPI()
    silences: dict[str, dict] = {"s-1": {"id": "s-1", "comment": "maintenance", "status": {"state": "active"}}}

    @app.get("/api/v2/silences")
    def list_silences():
        return list(silences.values())

    @app.post("/api/v2/silences")
    async def post_silence(request: Request):
        body = await request.json()
        sid = str(uuid.uuid4())
        silences[sid] = {"id": sid, **body, "status": {"state": "active"}}
        return {"silenceID": sid}

    @app.get("/api/v2/silence/{sid}")
    def get_silence(sid: str):
        if sid not in silences:
            raise HTTPException(404, "silence not found")
        return silences[sid]

    @app.delete("/api/v2/silence/{sid}")
    def delete_silence(sid: str):
        if silences.pop(sid, None) is None:
            raise HTTPException(404, "silence not found")
        return {}

    server = serve_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("silences", "GET", f"{u}/api/v2/silences"),
                   ProbeTarget("post-silences", "POST", f"{u}/api/v2/silences",
                               body={"comment": "sample", "createdBy": "sample", "matchers": []}),
                   ProbeTarget("silence", "GET", f"{u}/api/v2/silence/{{silenceID}}", {"silenceID": ["s-1"]}),
                   ProbeTarget("delete-silence", "DELETE", f"{u}/api/v2/silence/{{silenceID}}",
                               {"silenceID": ["s-1"]})]
        report = asyncio.run(run_readiness(targets, samples=3))
    finally:
        server.stop()
    by = {v.name: v for v in report.verdicts}
    assert "post-silences" not in report.withheld
    assert by["post-silences"].verdict == "real", by["post-silences"].to_dict()
    assert list(silences) == ["s-1"], silences
