"""Response contracts: where an endpoint's schema comes from and what a mismatch says."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

from campaigns.importers.contract import contract_for, inline_contract, load_contract
from tests.importers.conftest import FIXTURES

PRODUCT = {"id": 1, "name": "Kettle", "category": None, "price": 4.5, "stock": 3, "created_at": "2024-01-01T01:00:00Z"}


def body(doc) -> bytes:
    return json.dumps(doc).encode()


def endpoint(name: str, schema=None):
    return SimpleNamespace(name=name, response_schema=schema)


def test_a_pointer_into_the_openapi_spec_itself(tmp_path):
    shutil.copy(FIXTURES / "demo-openapi.yaml", tmp_path / "openapi.yaml")
    # a response object: its JSON schema, with $refs and OpenAPI 3.0 nullable converted
    c = load_contract(tmp_path, "openapi.yaml#/paths/~1api~1products~1{id}/get/responses/200")
    assert c.error is None
    assert c.check(200, body(PRODUCT)) == []
    assert c.check(200, body({**PRODUCT, "price": "cheap"})) == [
        "body does not match the documented schema: $.price: 'cheap' is not of type 'number'"]
    assert c.check(200, body({"id": 1})) == [
        "body does not match the documented schema: $: 'name' is a required property",
        "body does not match the documented schema: $: 'price' is a required property",
        "body does not match the documented schema: $: 'stock' is a required property"]
    # an operation: its 2xx responses; formats are checked
    op = load_contract(tmp_path, "openapi.yaml#/paths/~1auth~1sign-in/post")
    assert op.check(200, body({"token": "abcdefghij", "token_type": "Bearer", "expires_in": 60})) == []
    assert op.check(200, body({"token": "abc", "token_type": "Bearer", "expires_in": 60})) == [
        "body does not match the documented schema: $.token: 'abc' is too short"]
    # errors and empty answers are not the contract's business
    assert c.check(404, b"not json") == [] and c.check(204, b"") == []
    assert c.check(200, b"<html>") == ["body does not match the documented schema: $: the body is not JSON"]
    assert c.check(200, b"") == ["body does not match the documented schema: $: the body is empty"]


def test_the_side_file_init_writes_is_found_by_convention(tmp_path):
    from campaigns.importers.openapi import import_openapi

    result = import_openapi((FIXTURES / "demo-openapi.yaml").read_text(), "demo-openapi.yaml", output="shop.yaml")
    for name, text in result.files.items():
        (tmp_path / name).write_text(text)
    campaign = tmp_path / "shop.yaml"
    listing = contract_for(campaign, endpoint("list-products"))
    assert listing is not None and listing.where == "shop.schemas.json#/endpoints/list-products"
    page = {"items": [PRODUCT, {**PRODUCT, "stock": -1}], "total": 2, "limit": 20, "offset": 0}
    assert listing.check(200, body(page)) == [
        "body does not match the documented schema: $.items[1].stock: -1 is less than the minimum of 0"]
    assert contract_for(campaign, endpoint("no-such-endpoint")) is None
    assert contract_for(tmp_path / "other.yaml", endpoint("list-products")) is None


def test_an_endpoint_field_wins_inline_or_by_reference(tmp_path):
    inline = contract_for(tmp_path / "c.yaml", endpoint("e", {"type": "object", "required": ["ok"]}))
    assert inline.check(200, body({"ok": True})) == []
    assert inline.check(201, body({})) == ["body does not match the documented schema: $: 'ok' is a required property"]
    missing = contract_for(tmp_path / "c.yaml", endpoint("e", "nowhere.json#/x"))
    assert missing.error and missing.check(200, b"{}")[0].startswith("response schema nowhere.json#/x: cannot read")
    (tmp_path / "s.json").write_text(json.dumps({"defs": {"n": {"type": "integer"}}}))
    assert load_contract(tmp_path, "s.json#/defs/n").check(200, b"3") == []
    assert load_contract(tmp_path, "s.json#/defs/nope").error == "#/defs/nope names nothing in s.json"
    bad = inline_contract({"type": 12}, "e.response_schema")
    assert bad.error and bad.error.startswith("not a JSON Schema")
    assert Path(tmp_path / "c.yaml").exists() is False  # nothing was written


def test_a_tuple_items_schema_is_read_as_any_of_and_never_crashes_the_check(tmp_path):
    """PowerDNS's served spec: ``items: [{$ref: StatisticItem}, {$ref: MapStatisticItem}, …]`` (the
    draft-4 tuple form). The 2020-12 validator raised AttributeError while checking, and that one
    endpoint took the whole readiness stage down (held-out bed, exit 3)."""
    from campaigns.importers.spec import Spec

    spec = Spec({"swagger": "2.0", "definitions": {}}, "pdns.yaml")
    converted = spec.to_json_schema({"type": "array", "items": [{"type": "object"}, {"type": "string"}]})
    assert converted == {"type": "array", "items": {"anyOf": [{"type": "object"}, {"type": "string"}]}}
    c = inline_contract(converted, "get-stats")
    assert c.check(200, body([{"name": "uptime"}, "x"])) == []
    assert c.check(200, body([3])) == ["body does not match the documented schema: $[0]: 3 is not of type 'object'"]
    (tmp_path / "x.schemas.json").write_text(json.dumps({"endpoints": {"s": {"type": "array", "items": [{}]}}}))
    raw = load_contract(tmp_path, "x.schemas.json#/endpoints/s")          # a side file written by hand
    assert raw.check(200, body([1])) == [
        "response schema x.schemas.json#/endpoints/s: unusable schema: AttributeError: 'list' object has no "
        "attribute 'get'"]


def test_documented_examples_are_read_by_json_path_through_refs(tmp_path):
    from campaigns.importers.contract import documented_examples

    (tmp_path / "c.schemas.json").write_text(json.dumps({
        "openapi": "3.0.3",   # init's side file names the spec's version
        "endpoints": {"export": {"type": "object", "properties": {
            "month": {"type": "string", "examples": ["2026-11"]},
            "status": {"type": "string", "enum": ["draft", "final"], "examples": ["draft"]},
            "lines": {"type": "array", "items": {"$ref": "#/components/schemas/Line"}}}},
            "swap": {"type": "object", "example": {"swapId": "swp_81f2", "status": "pending"}}},
        "components": {"schemas": {"Line": {"type": "object", "properties": {
            "staff": {"type": "string", "example": "ann"}, "hours": {"type": "number", "examples": [38.5]}}}}}}))
    campaign = tmp_path / "c.yaml"
    assert documented_examples(campaign, endpoint("export")) == {
        "$.month": "2026-11", "$.lines[].staff": "ann", "$.lines[].hours": 38.5}   # an enum member is no tell
    assert documented_examples(campaign, endpoint("swap")) == {"$.swapId": "swp_81f2", "$.status": "pending"}
    assert documented_examples(campaign, endpoint("nothing")) == {}
    # init also writes the reference on the endpoint itself
    declared = SimpleNamespace(name="other", response_schema="c.schemas.json#/endpoints/swap")
    assert documented_examples(campaign, declared) == {"$.swapId": "swp_81f2", "$.status": "pending"}
