"""Response contracts: the documented schema of an endpoint's 2xx bodies, and checking a body
against it. Readiness reports a mismatch as evidence, smoke as a failure:

    body does not match the documented schema: $.items[0].price: 'abc' is not of type 'number'

Where an endpoint's schema comes from, first match wins:

1. ``response_schema`` on the endpoint (once the campaign model has the field): an inline JSON
   Schema, or ``"FILE#/json/pointer"`` relative to the campaign file. FILE may be a schema file
   (``shop.schemas.json#/endpoints/list-products``) or the OpenAPI spec itself
   (``openapi.yaml#/paths/~1api~1products/get/responses/200``: a response object, an operation —
   its 2xx responses — or a schema; OpenAPI 3.0 schemas are converted).
2. The side file ``init --openapi`` writes next to the campaign: ``<campaign stem>.schemas.json``,
   entry ``endpoints.<endpoint name>``.

Schemas are JSON Schema 2020-12 (``jsonschema``), formats checked where the library can.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from campaigns.importers.openapi import SCHEMA_SUFFIX, _json_media
from campaigns.importers.result import load_source
from campaigns.importers.spec import Spec, resolve_pointer
from tasks import safejson

PREFIX = "body does not match the documented schema"
MAX_PROBLEMS = 3


@dataclass(frozen=True)
class Contract:
    """The documented schema of one endpoint's 2xx bodies."""

    where: str                # e.g. "shop.schemas.json#/endpoints/list-products"
    validator: Any = None
    error: str | None = None  # the schema could not be read: every check reports it

    def check(self, status: int | None, body: bytes) -> list[str]:
        """Problems with a response (empty when it matches or is not a 2xx answer)."""
        if status is None or not 200 <= status < 300 or status == 204:
            return []
        if self.error:
            return [f"response schema {self.where}: {self.error}"]
        if not body.strip():
            return [f"{PREFIX}: $: the body is empty"]
        try:
            document = safejson.loads(body)
        except ValueError:
            return [f"{PREFIX}: $: the body is not JSON"]
        try:
            return problems(self.validator, document)
        except Exception as exc:  # noqa: BLE001 - a schema the validator cannot use is this endpoint's problem only
            return [f"response schema {self.where}: unusable schema: {type(exc).__name__}: {str(exc)[:200]}"]


def _path(parts: Any) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def problems(validator: Any, document: Any) -> list[str]:
    from jsonschema.exceptions import relevance

    errors = sorted(validator.iter_errors(document), key=relevance)
    out = []
    for err in errors[:MAX_PROBLEMS]:
        # for anyOf/oneOf, the deepest sub-error says more than "is not valid under any of"
        best = min(err.context, key=relevance) if err.context else err
        text = best.message if len(best.message) <= 160 else best.message[:157] + "..."
        out.append(f"{PREFIX}: {_path(best.absolute_path)}: {text}")
    if len(errors) > MAX_PROBLEMS:
        out.append(f"{PREFIX}: … and {len(errors) - MAX_PROBLEMS} more")
    return out


@lru_cache(maxsize=32)
def _document(path: str, mtime: float) -> Any:
    text = Path(path).read_text(encoding="utf-8")
    return json.loads(text) if path.endswith(".json") else load_source(text)


def _openapi_target(doc: dict[str, Any], pointer: str, file: str) -> dict[str, Any]:
    """A self-contained schema document for a pointer into an OpenAPI spec."""
    spec = Spec(doc, file)
    target = spec.deref(resolve_pointer(doc, pointer))
    schemas = []
    if isinstance(target, dict) and "responses" in target:   # an operation: its 2xx responses
        targets = [spec.deref(r) for c, r in (target.get("responses") or {}).items()
                   if str(c).upper() == "2XX" or (str(c).isdigit() and 200 <= int(c) < 300)]
    else:
        targets = [target]
    for t in targets:
        if isinstance(t, dict) and "content" in t:            # a response object
            media = _json_media(t["content"])
            if media and "schema" in media[1]:
                schemas.append(spec.to_json_schema(media[1]["schema"]))
        elif isinstance(t, dict):
            schemas.append(spec.to_json_schema(t))
    schema: Any = schemas[0] if len(schemas) == 1 else {"anyOf": schemas} if schemas else True
    return {"components": spec.components_as_json_schema(), "target": schema}


@lru_cache(maxsize=256)
def _validator(path: str, mtime: float, pointer: str) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    doc = _document(path, mtime)
    if isinstance(doc, dict) and "openapi" in doc:
        doc, pointer = _openapi_target(doc, pointer or "#", path), "#/target"
    resolve_pointer(doc, pointer or "#")  # KeyError when the pointer names nothing
    uri = Path(path).resolve().as_uri()
    registry = Registry().with_resource(uri, Resource.from_contents(doc, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": uri + (pointer or "#")}, registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def load_contract(base_dir: Path, ref: str) -> Contract:
    """The contract for ``"FILE#/pointer"`` relative to ``base_dir``."""
    file, _, frag = ref.partition("#")
    path = (base_dir / file).resolve()
    try:
        validator = _validator(str(path), path.stat().st_mtime, "#" + frag if frag else "#")
    except OSError as exc:
        return Contract(ref, error=f"cannot read {path}: {exc.strerror}")
    except KeyError:
        return Contract(ref, error=f"#{frag} names nothing in {path.name}")
    except (ValueError, yaml.YAMLError) as exc:
        return Contract(ref, error=f"{path.name} is not JSON or YAML: {exc}")
    except Exception as exc:  # noqa: BLE001 - a broken schema is reported with the endpoint, never a crash
        return Contract(ref, error=f"unusable schema: {type(exc).__name__}: {exc}")
    return Contract(ref, validator)


def inline_contract(schema: dict[str, Any], where: str) -> Contract:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return Contract(where, error=f"not a JSON Schema: {exc.message}")
    return Contract(where, Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER))


def contract_for(campaign_path: Path, endpoint: Any) -> Contract | None:
    """The response contract of ``endpoint`` of the campaign file at ``campaign_path``, if any."""
    declared = getattr(endpoint, "response_schema", None)
    base = campaign_path.parent
    if isinstance(declared, dict):
        return inline_contract(declared, f"{endpoint.name}.response_schema")
    if isinstance(declared, str) and declared:
        return load_contract(base, declared)
    side = base / (campaign_path.stem + SCHEMA_SUFFIX)
    if not side.is_file():
        return None
    try:
        doc = _document(str(side.resolve()), side.stat().st_mtime)
    except (OSError, ValueError) as exc:
        return Contract(side.name, error=f"cannot read {side}: {exc}")
    if not isinstance(doc, dict) or endpoint.name not in (doc.get("endpoints") or {}):
        return None
    return load_contract(base, f"{side.name}#/endpoints/{endpoint.name}")


def documented_examples(campaign_path: Path, endpoint: Any) -> dict[str, Any]:
    """The example values an endpoint's documented response schema gives, by JSON path (``$.swapId``,
    ``$.lines[].hours``): what a spec-driven mock (openapi-backend, connexion, Mockoon or Microcks
    from a spec) answers with. Empty when there is no side file entry or inline schema."""
    declared = getattr(endpoint, "response_schema", None)
    doc: Any = None
    schema: Any = None
    if isinstance(declared, dict):
        doc, schema = declared, declared
    elif isinstance(declared, str) and declared:
        file, _, frag = declared.partition("#")
        path = (campaign_path.parent / file).resolve()
        try:
            doc = _document(str(path), path.stat().st_mtime)
            if not (isinstance(doc, dict) and "paths" in doc):   # a spec's own response objects: not read here
                schema = resolve_pointer(doc, "#" + frag if frag else "#")
        except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError):
            schema = None
    elif not declared:
        side = campaign_path.parent / (campaign_path.stem + SCHEMA_SUFFIX)
        try:
            doc = _document(str(side.resolve()), side.stat().st_mtime) if side.is_file() else None
        except (OSError, ValueError):
            doc = None
        if isinstance(doc, dict):
            schema = (doc.get("endpoints") or {}).get(endpoint.name)
    out: dict[str, Any] = {}
    if isinstance(schema, dict):
        _walk_examples(doc, schema, "$", out, set(), 0)
    return out


def _walk_examples(doc: Any, node: Any, path: str, out: dict[str, Any], seen: set[str], depth: int) -> None:
    if not isinstance(node, dict) or depth > 12 or len(out) > 200:
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and ref not in seen:
        try:
            _walk_examples(doc, resolve_pointer(doc, ref), path, out, seen | {ref}, depth + 1)
        except (KeyError, TypeError, ValueError):
            pass
    given = node.get("examples")
    example = given[0] if isinstance(given, list) and given else node.get("example")
    if example is not None:
        _example_leaves(example, path, out, node.get("enum"))
    for key, sub in (node.get("properties") or {}).items() if isinstance(node.get("properties"), dict) else ():
        _walk_examples(doc, sub, f"{path}.{key}", out, seen, depth + 1)
    if isinstance(node.get("items"), dict):
        _walk_examples(doc, node["items"], f"{path}[]", out, seen, depth + 1)
    for combo in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(combo) or [] if isinstance(node.get(combo), list) else []:
            _walk_examples(doc, sub, path, out, seen, depth + 1)


def _example_leaves(value: Any, path: str, out: dict[str, Any], enum: Any) -> None:
    if isinstance(value, dict):
        for k, v in list(value.items())[:50]:
            _example_leaves(v, f"{path}.{k}", out, None)
    elif isinstance(value, list):
        for v in value[:5]:
            _example_leaves(v, f"{path}[]", out, None)
    elif not (isinstance(enum, list) and value in enum):   # an enum member is no tell: real data has it too
        out.setdefault(path, value)
