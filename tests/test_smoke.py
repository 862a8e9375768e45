from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.requests import Request  # module-level: handlers' string annotations resolve here

from campaigns.loader import load_campaign
from flows.runner import RunOptions, run_campaign
from tasks.base import RunContext
from tasks.smoke import SmokeStage
from tests.shop import shop_campaign
from warehouse.store import Warehouse


def context(tmp_path: Path, text: str, env: str = "dev") -> RunContext:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return RunContext(loaded=load_campaign(path), env_name=env, run_id="r", out_dir=tmp_path)


def test_smoke_passes_real_endpoints_and_reports_each(tmp_path, shop_url):
    result = asyncio.run(SmokeStage().run(context(tmp_path, shop_campaign(shop_url))))
    assert result.status == "passed", result.gates
    assert [g.name for g in result.gates] == ["smoke list-products", "smoke product", "smoke create-order"]
    by_name = {e["name"]: e for e in result.endpoints}
    assert by_name["create-order"]["status_code"] == 201
    assert by_name["product"]["url"] == f"{shop_url}/api/products/1"
    assert all(e["latency_ms"] > 0 for e in result.endpoints)
    assert {r["endpoint"] for r in result.rows["smoke_checks"]} == {"list-products", "product", "create-order"}


def test_every_kind_of_expectation_can_fail_with_a_readable_reason(tmp_path, shop_url):
    extra = """\
  - {name: wrong-status, path: /api/products/999, expect: {status: [200]}}
  - {name: wrong-field, path: /api/products/1, expect: {fields: [sku], values: {name: Product 2}}}
  - {name: too-slow, path: /api/slow, expect: {max_latency_ms: 5}}
  - {name: wrong-type, path: /api/products/1, expect: {content_type: text/html, body_contains: nope}}
"""
    result = asyncio.run(SmokeStage().run(context(tmp_path, shop_campaign(shop_url, extra))))
    assert result.status == "failed"
    failures = {e["name"]: e["failures"] for e in result.endpoints}
    assert failures["wrong-status"] == ["status 404, expected [200]"]
    assert failures["wrong-field"] == ["JSON field sku missing", "JSON field name is 'Product 1', expected 'Product 2'"]
    assert failures["too-slow"][0].startswith("latency ") and failures["too-slow"][0].endswith("over budget 5 ms")
    assert failures["wrong-type"] == ["content-type 'application/json', expected 'text/html'",
                                      "body does not contain 'nope'"]
    assert sum(not g.passed for g in result.gates) == 4


def test_production_never_receives_writes(tmp_path, shop_url):
    result = asyncio.run(SmokeStage().run(context(tmp_path, shop_campaign(shop_url), env="production")))
    order = next(e for e in result.endpoints if e["name"] == "create-order")
    assert order["outcome"] == "skipped" and "production" in order["reason"]
    assert "smoke create-order" not in [g.name for g in result.gates]


def test_blocked_endpoints_are_checked_but_do_not_gate(tmp_path, shop_url):
    extra = "  - {name: missing, path: /api/nothing-here}\n"
    ctx = context(tmp_path, shop_campaign(shop_url, extra))
    ctx.blocked["missing"] = "missing (90%)"
    result = asyncio.run(SmokeStage().run(ctx))
    assert result.status == "passed"
    missing = next(e for e in result.endpoints if e["name"] == "missing")
    assert missing["status_code"] == 404 and missing["gating"] is False


def test_unreachable_target_is_an_infrastructure_failure(tmp_path):
    from tests.loopback import free_port

    result = asyncio.run(SmokeStage().run(context(tmp_path, shop_campaign(f"http://127.0.0.1:{free_port()}"))))
    assert result.infrastructure_failure and result.status == "error"
    assert all(e["error_kind"] == "connect" for e in result.endpoints if e["outcome"] != "skipped")


def test_smoke_results_land_in_the_warehouse(tmp_path, shop_url):
    path = tmp_path / "c.yaml"
    path.write_text(shop_campaign(shop_url))
    store = Warehouse(tmp_path / "w.duckdb")
    report = asyncio.run(run_campaign(load_campaign(path), store, RunOptions(environments=["dev"], stages=["smoke"])))
    run_id = report.environments["dev"].run_id
    assert report.exit_code == 0
    assert store.fetchall("SELECT status, finished_at IS NOT NULL FROM runs WHERE run_id = ?", [run_id]) == [
        ("passed", True)]
    assert store.fetchall("SELECT stage, status FROM stage_results WHERE run_id = ?", [run_id]) == [("smoke", "passed")]
    assert store.fetchall("SELECT count(*) FROM smoke_checks WHERE run_id = ? AND passed", [run_id]) == [(3,)]
    assert store.fetchall("SELECT count(*) FROM endpoint_metrics WHERE run_id = ? AND stage = 'smoke'",
                          [run_id]) == [(3,)]


# --- no harm: unique values, cleanup, never-write, samples left alone ------------------------------

def _notes_app():
    """A real little API with a unique-name constraint, DELETE, a settings singleton and a bulk delete."""
    from fastapi import FastAPI, HTTPException, Response

    app = FastAPI()
    notes: dict[int, dict] = {1: {"id": 1, "name": "keep me", "text": "the campaign's sample"}}
    settings = {"theme": "dark", "lang": "en"}
    seq = iter(range(2, 10_000))
    app.state.notes, app.state.settings, app.state.bulk_calls = notes, settings, []

    @app.get("/api/notes")
    async def list_notes():
        return list(notes.values())

    @app.post("/api/notes", status_code=201)
    async def create(body: dict):
        if any(n["name"] == body.get("name") for n in notes.values()):
            raise HTTPException(409, "a note with that name exists")
        nid = next(seq)
        notes[nid] = {"id": nid, **body}
        return notes[nid]

    @app.get("/api/notes/{nid}")
    async def read(nid: int):
        if nid not in notes:
            raise HTTPException(404, "note not found")
        return notes[nid]

    @app.delete("/api/notes/{nid}", status_code=204)
    async def delete(nid: int):
        if notes.pop(nid, None) is None:
            raise HTTPException(404, "note not found")
        return Response(status_code=204)

    @app.get("/api/settings")
    async def get_settings():
        return settings

    @app.patch("/api/settings")
    async def patch_settings(body: dict):
        settings.update(body)
        return settings

    @app.post("/api/notes/bulk_delete")
    async def bulk_delete(body: dict):
        app.state.bulk_calls.append(body)
        notes.clear()
        return {"deleted": "all"}

    @app.post("/api/notes/search")
    async def search(body: dict):
        return [n for n in notes.values() if body.get("q", "") in n.get("text", "")]

    return app


NOTES_CAMPAIGN = """\
campaign: notes
team: t
environments:
  dev: {{kind: dev, base_url: "{base}"}}
  production: {{kind: production, base_url: "{base}"}}
endpoints:
  - {{name: list, path: /api/notes}}
  - {{name: create, method: POST, path: /api/notes, json: {{name: sample, text: hello}}, expect: {{status: [201]}}}}
  - {{name: read, path: "/api/notes/{{id}}", params: {{id: [1]}}}}
  - {{name: delete, method: DELETE, path: "/api/notes/{{id}}", params: {{id: [1]}}, expect: {{status: [204]}}}}
  - {{name: settings, method: PATCH, path: /api/settings, json: {{theme: light}}}}
  - {{name: wipe, method: POST, path: /api/notes/bulk_delete, json: {{all: true}}}}
  - {{name: search, method: POST, path: /api/notes/search, json: {{q: sample}}}}
{extra}"""


def test_smoke_writes_do_no_harm(tmp_path):
    from tests.loopback import serve

    app = _notes_app()
    with serve(app) as base:
        for _ in range(2):   # twice: a fixed name would collide (409) the second time
            result = asyncio.run(SmokeStage().run(context(tmp_path, NOTES_CAMPAIGN.format(base=base, extra=""))))
            by = {e["name"]: e for e in result.endpoints}
            assert by["create"]["status_code"] == 201 and by["create"]["passed"], by["create"]
            assert by["delete"]["status_code"] == 204, by["delete"]           # it deleted one of its own
            assert by["wipe"]["outcome"] == "skipped" and "bulk" in by["wipe"]["reason"]
            assert by["search"]["status_code"] == 200                         # a query POST is a read
            assert result.summary["harm"]["left_behind"] == []
        assert list(app.state.notes) == [1] and app.state.notes[1]["name"] == "keep me"   # the sample survived
        assert app.state.settings == {"theme": "dark", "lang": "en"}                      # put back
        assert app.state.bulk_calls == []


def test_smoke_never_writes_where_it_must_not(tmp_path):
    from tests.loopback import serve

    app = _notes_app()
    never = "readiness: {never_write: [create, settings]}\n"
    with serve(app) as base:
        text = NOTES_CAMPAIGN.format(base=base, extra="") + never
        dev = asyncio.run(SmokeStage().run(context(tmp_path, text)))
        prod = asyncio.run(SmokeStage().run(context(tmp_path, NOTES_CAMPAIGN.format(base=base, extra=""),
                                                    env="production")))
    by = {e["name"]: e for e in dev.endpoints}
    assert by["create"]["outcome"] == "skipped" and "never-write" in by["create"]["reason"]
    assert by["settings"]["outcome"] == "skipped"
    assert by["delete"]["outcome"] == "skipped"          # nothing of its own to delete, the sample is never deleted
    prod_by = {e["name"]: e for e in prod.endpoints}
    assert all(prod_by[n]["outcome"] == "skipped" for n in ("create", "delete", "settings", "wipe"))
    assert prod_by["search"]["outcome"] == "checked"      # a query POST is read in production too
    assert list(app.state.notes) == [1] and app.state.settings["theme"] == "dark"


def test_smoke_never_renames_what_a_patch_addresses(tmp_path):
    """JupyterHub: PATCH /users/{name} with "name" in its body renames the user; the put-back then
    finds nobody. Smoke leaves the field the route addresses by out of the PATCH."""
    from fastapi import FastAPI, HTTPException

    from tests.loopback import serve

    app = FastAPI()
    users = {"ann": {"name": "ann", "admin": False}}

    @app.get("/api/users/{name}")
    async def read(name: str):
        if name not in users:
            raise HTTPException(404, "no such user")
        return users[name]

    @app.patch("/api/users/{name}")
    async def patch(name: str, body: dict):
        if name not in users:
            raise HTTPException(404, "no such user")
        user = {**users.pop(name), **body}
        users[user["name"]] = user
        return user

    text = """\
campaign: hub
team: t
environments:
  dev: {{kind: dev, base_url: "{base}"}}
endpoints:
  - {{name: patch-user, method: PATCH, path: "/api/users/{{name}}", params: {{name: [ann]}}, json: {{name: sample, admin: true}}}}
"""
    with serve(app) as base:
        result = asyncio.run(SmokeStage().run(context(tmp_path, text.format(base=base))))
    by = {e["name"]: e for e in result.endpoints}
    assert by["patch-user"]["status_code"] == 200, by["patch-user"]
    assert users == {"ann": {"name": "ann", "admin": False}}, users     # changed, then put back, never renamed


def test_smoke_never_posts_under_a_sample_it_cannot_undo(tmp_path):
    """Held-out bed (issue 11, no harm): smoke POSTed a stock movement to the campaign's seeded item 5
    (``POST /items/{id}/movements``; movements have no DELETE) and reported nothing left behind; the
    same for Datasette's ``POST /{table}/{id}/-/update``. Such a POST is sent only when the campaign
    can delete what it adds (``DELETE /items/{id}/notes/{nid}``)."""
    from fastapi import FastAPI, HTTPException, Response

    from tests.loopback import serve

    app = FastAPI()
    items = {5: {"id": 5, "stock": 120.0}}
    movements: list[dict] = []
    notes: dict[int, dict] = {}

    @app.get("/api/items/{iid}")
    async def item(iid: int):
        if iid not in items:
            raise HTTPException(404, "item not found")
        return items[iid]

    @app.post("/api/items/{iid}/movements", status_code=201)
    async def move(iid: int, body: dict):
        items[iid]["stock"] += body.get("delta", 0)
        movements.append({"id": len(movements) + 1, "item": iid, **body})
        return movements[-1]

    @app.post("/api/items/{iid}/notes", status_code=201)
    async def note(iid: int, body: dict):
        nid = len(notes) + 100
        notes[nid] = {"id": nid, "item": iid, **body}
        return notes[nid]

    @app.delete("/api/items/{iid}/notes/{nid}", status_code=204)
    async def drop_note(iid: int, nid: int):
        notes.pop(nid)
        return Response(status_code=204)

    text = """\
campaign: pantry
team: t
environments:
  dev: {{kind: dev, base_url: "{base}"}}
endpoints:
  - {{name: item, path: "/api/items/{{id}}", params: {{id: [5]}}}}
  - {{name: record-movement, method: POST, path: "/api/items/{{id}}/movements", params: {{id: [5]}}, json: {{delta: 2.5}}}}
  - {{name: add-note, method: POST, path: "/api/items/{{id}}/notes", params: {{id: [5]}}, json: {{text: hi}}}}
  - {{name: drop-note, method: DELETE, path: "/api/items/{{id}}/notes/{{nid}}", params: {{id: [5], nid: [1]}}}}
"""
    with serve(app) as base:
        result = asyncio.run(SmokeStage().run(context(tmp_path, text.format(base=base))))
    by = {e["name"]: e for e in result.endpoints}
    assert by["record-movement"]["outcome"] == "skipped" and "no DELETE" in by["record-movement"]["reason"]
    assert items[5]["stock"] == 120.0 and movements == []
    assert by["add-note"]["status_code"] == 201 and notes == {}, (by["add-note"], notes)   # sent, then deleted
    assert result.summary["harm"]["left_behind"] == []


def test_a_json_string_body_is_sent_as_json_and_raw_text_keeps_its_type(tmp_path):
    """Held-out bed (verdaccio): ``json: "1.0.0"`` (npm's dist-tag API takes a JSON string) went out as
    the bare text 1.0.0 with no Content-Type, and the registry answered 415."""
    from fastapi import FastAPI

    from tests.loopback import serve

    app = FastAPI()

    @app.put("/tags/{tag}")
    async def tag(tag: str, request: Request):
        return {"type": request.headers.get("content-type"), "body": (await request.body()).decode()}

    text = """\
campaign: tags
team: t
environments:
  dev: {{kind: dev, base_url: "{base}"}}
endpoints:
  - {{name: dist-tag, method: PUT, path: /tags/canary, json: "1.0.0", safe: false}}
  - {{name: metrics, method: PUT, path: /tags/metrics, json: "up 1", headers: {{Content-Type: text/plain}}}}
"""
    from campaigns.loader import load_campaign

    with serve(app) as base:
        path = tmp_path / "c.yaml"
        path.write_text(text.format(base=base))
        loaded = load_campaign(path)
        eps = {e.name: e for e in loaded.campaign.endpoints}
        assert eps["dist-tag"].body == '"1.0.0"' and eps["dist-tag"].headers["Content-Type"] == "application/json"
        assert eps["metrics"].body == "up 1"
        import httpx

        from tasks.smoke import _body

        got = [httpx.put(base + ep.path, headers=ep.headers, **_body(ep.body)).json()   # on the wire, as smoke sends
               for ep in eps.values()]
    assert got == [{"type": "application/json", "body": '"1.0.0"'}, {"type": "text/plain", "body": "up 1"}]


def test_a_bulk_create_wrapped_in_data_is_removed_item_by_item(tmp_path):
    """Held-out bed (Directus 11, campaign from its own spec): ``POST /items/authors`` with ``[{}]``
    answers ``{"data": [{"id": 3}]}``; readiness and smoke recorded nothing, and 9 empty authors stayed."""
    import itertools

    from fastapi import FastAPI, HTTPException, Response

    from tests.loopback import serve

    app = FastAPI()
    authors = {1: {"id": 1, "name": "Ada"}}
    seq = itertools.count(2)

    @app.get("/items/authors")
    def read():
        return {"data": list(authors.values())}

    @app.get("/__count")
    def count():
        return {"n": len(authors)}

    @app.post("/items/authors")
    async def create(request: Request):
        body = await request.json()
        made = [{"id": next(seq), **b} for b in (body if isinstance(body, list) else [body])]
        authors.update({m["id"]: m for m in made})
        return {"data": made if isinstance(body, list) else made[0]}

    @app.delete("/items/authors/{aid}", status_code=204)
    def delete(aid: int):
        if authors.pop(aid, None) is None:
            raise HTTPException(403)
        return Response(status_code=204)

    text = """\
campaign: directus
team: t
environments:
  dev: {{kind: dev, base_url: "{base}"}}
endpoints:
  - {{name: read-items-authors, path: /items/authors}}
  - {{name: create-items-authors, method: POST, path: /items/authors, json: [{{name: x}}, {{name: y}}]}}
  - {{name: delete-single-items-authors, method: DELETE, path: "/items/authors/{{id}}", params: {{id: [1]}}}}
"""
    import httpx

    from flows.runner import RunOptions, run_campaign
    from warehouse.store import Warehouse

    with serve(app) as base:
        path = tmp_path / "c.yaml"
        path.write_text(text.format(base=base))
        report = asyncio.run(run_campaign(load_campaign(path), Warehouse(tmp_path / "w.duckdb"), RunOptions(
            environments=["dev"], stages=["readiness", "smoke"], trigger="test")))
        left = httpx.get(base + "/__count").json()["n"]
    dev = report.environments["dev"]
    assert left == 1, (dev.results["readiness"].summary["harm"], dev.results["smoke"].summary["harm"])
    harm = dev.results["readiness"].summary["harm"]
    assert harm["created"] == 2 and harm["left_behind"] == [], harm
    assert "bulk create" in dev.results["smoke"].summary["skipped"]["create-items-authors"]


def test_smoke_removes_what_a_post_answered_with_nothing_by_the_name_it_sent(tmp_path):
    """Held-out bed (Chroma): POST /tenants/{tenant}/databases answers ``{}``; smoke's database stayed."""
    from fastapi import FastAPI, HTTPException

    from tests.loopback import serve

    app = FastAPI()
    databases = {"default_database"}

    @app.post("/api/v2/tenants/{tenant}/databases")
    async def create(tenant: str, request: Request):
        databases.add((await request.json())["name"])
        return {}

    @app.get("/__names")
    def names():
        return sorted(databases)

    @app.delete("/api/v2/tenants/{tenant}/databases/{database}")
    def delete(tenant: str, database: str):
        if database not in databases:
            raise HTTPException(404)
        databases.discard(database)
        return {}

    text = """\
campaign: chroma
team: t
environments:
  dev: {{kind: dev, base_url: "{base}"}}
endpoints:
  - {{name: create-database, method: POST, path: "/api/v2/tenants/{{tenant}}/databases", params: {{tenant: [default_tenant]}}, json: {{name: sample}}}}
  - {{name: delete-database, method: DELETE, path: "/api/v2/tenants/{{tenant}}/databases/{{database}}", params: {{tenant: [default_tenant], database: [default_database]}}}}
"""
    import httpx

    with serve(app) as base:
        result = asyncio.run(SmokeStage().run(context(tmp_path, text.format(base=base))))
        left = httpx.get(base + "/__names").json()
    assert left == ["default_database"], (left, result.summary["harm"])
    assert result.summary["harm"]["created"] == 1 and result.summary["harm"]["left_behind"] == []
