"""Sample values from OpenAPI schemas, for path and query parameters and request bodies.

Order of preference (the first that fits wins): ``example``, ``examples`` (first), ``default``,
``const``, ``enum`` (first) — an example outside the schema's ``enum`` is skipped, an example
written as JSON text for an object or array schema is parsed — then a value built from the type and
format (``uuid``, ``email``, ``date-time``, ``date``, ``uri``, ``int32``/``int64``…) within
``minimum``/``maximum``/``multipleOf``, ``minLength``/``maxLength``, ``minItems``.

Composition: ``allOf`` merges; ``anyOf`` and ``oneOf`` try their branches in order, non-null branches
first (the pydantic/FastAPI shape ``anyOf: [{$ref: X}, {type: 'null'}]`` gives an X, never a null),
and keep the first candidate the whole schema accepts (checked with a JSON Schema validator, so a
``oneOf`` value matches exactly one branch); a ``discriminator`` property is set to the branch's
mapping key. Objects list their required properties (when none is required: the properties that
document a value, or all of them at the top level); ``readOnly`` properties are left out of
requests. A ``$ref`` cycle stops by leaving the optional property out (an empty array or object,
or null where nullable, when it is required); plain nesting stops at a depth of 12.
"""

from __future__ import annotations

import json
import math
from typing import Any

from campaigns.importers.spec import Spec

MAX_DEPTH = 12
_OMIT = object()  # a property to leave out (a $ref cycle)
FORMATS: dict[str, Any] = {
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "12:00:00Z",
    "duration": "P1D",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "/example",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "byte": "c2FtcGxl",
    "binary": "sample",
    "password": "sample-password",
    "regex": "^sample$",
    "json-pointer": "/sample",
    # a number carried in a string: protobuf's JSON mapping (grpc-gateway) writes 64-bit integers
    # so, and Swagger specs say ``type: string, format: int64``; "sample" there is refused as a number
    "int64": "1",
    "uint64": "1",
    "int32": "1",
    "uint32": "1",
    "integer": "1",
    "number": "1",
    "double": "1",
    "float": "1",
    "decimal": "1",
}


def _fits_enum(node: dict[str, Any], value: Any) -> bool:
    enum = node.get("enum")
    return not isinstance(enum, list) or not enum or value in enum


def _parsed(node: dict[str, Any], value: Any) -> Any:
    """An example written as JSON text for an object or array schema, parsed."""
    if isinstance(value, str) and node.get("type") in ("object", "array") and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def explicit(node: dict[str, Any]) -> tuple[bool, Any]:
    """``(True, value)`` when the schema or parameter documents a value itself."""
    candidates: list[Any] = []
    if "example" in node:
        candidates.append(node["example"])
    examples = node.get("examples")
    if isinstance(examples, list) and examples:
        candidates.append(examples[0])
    if isinstance(examples, dict) and examples:  # parameter / media-type examples: {name: {value}}
        first = next(iter(examples.values()))
        if isinstance(first, dict) and "value" in first:
            candidates.append(first["value"])
    for key in ("default", "const"):
        if key in node:
            candidates.append(node[key])
    for value in candidates:
        value = _parsed(node, value)
        if _fits_enum(node, value):
            return True, value
    if isinstance(node.get("enum"), list) and node["enum"]:
        return True, node["enum"][0]
    return False, None


def _merge(spec: Spec, parts: list[Any], seen: frozenset[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        part, seen = _resolve(spec, part, seen)
        if not isinstance(part, dict):
            continue
        if "allOf" in part:
            part = {**{k: v for k, v in part.items() if k != "allOf"}, **_merge(spec, part["allOf"], seen)}
        for key, value in part.items():
            if key == "properties" and isinstance(value, dict):
                out.setdefault("properties", {}).update(value)
            elif key == "required" and isinstance(value, list):
                out["required"] = sorted(set(out.get("required", [])) | set(value))
            elif key == "additionalProperties" and value is False:
                continue  # allOf with closed parts: the merged object keeps every part's properties
            else:
                out.setdefault(key, value)
    return out


def _resolve(spec: Spec, schema: Any, seen: frozenset[str]) -> tuple[Any, frozenset[str]]:
    """Follow ``$ref``s; ``(_OMIT, …)`` when one is already being expanded (a cycle)."""
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        ref = schema["$ref"]
        if ref in seen:
            return _OMIT, seen
        seen = seen | {ref}
        target = spec.deref({"$ref": ref})
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **siblings} if siblings and isinstance(target, dict) else target
    return schema, seen


def _type(schema: dict[str, Any]) -> str | None:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "null" if "null" in t else None)
    if t is None:
        if "properties" in schema or "additionalProperties" in schema:
            return "object"
        if "items" in schema:
            return "array"
    return t


def _nullable(schema: dict[str, Any]) -> bool:
    t = schema.get("type")
    return schema.get("nullable") is True or t == "null" or (isinstance(t, list) and "null" in t)


def _is_null_branch(spec: Spec, branch: Any) -> bool:
    branch = spec.deref(branch)
    return isinstance(branch, dict) and (branch.get("type") == "null" or branch.get("enum") == [None])


class _Sampler:
    def __init__(self, spec: Spec, for_request: bool = True):
        self.spec = spec
        self.for_request = for_request

    def valid(self, schema: Any, value: Any) -> bool:
        return self.spec.validates(schema, value)

    def value(self, schema: Any, depth: int = 0, name: str = "", seen: frozenset[str] = frozenset()) -> Any:
        schema, seen = _resolve(self.spec, schema, seen)
        if schema is _OMIT:
            return _OMIT
        if schema is True or schema == {}:
            return "sample"
        if not isinstance(schema, dict) or depth > MAX_DEPTH:
            return _OMIT
        found, value = explicit(schema)
        if found and not (value is None and not _nullable(schema)):  # a null default of a non-null type: build one
            return value
        if "allOf" in schema:
            merged = _merge(self.spec, [{k: v for k, v in schema.items() if k != "allOf"}, *schema["allOf"]], seen)
            return self.value(merged, depth, name, seen)
        for key in ("oneOf", "anyOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                return self.choice(schema, key, branches, depth, name, seen)
        kind = _type(schema)
        if kind == "object":
            return self.object(schema, depth, seen)
        if kind == "array":
            return self.array(schema, depth, name, seen)
        if kind in ("integer", "number"):
            return _number(schema, kind)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return _string(schema, name)

    def choice(self, schema: dict[str, Any], key: str, branches: list[Any], depth: int, name: str,
               seen: frozenset[str]) -> Any:
        rest = {k: v for k, v in schema.items() if k not in (key, "discriminator")}
        disc = schema.get("discriminator") if isinstance(schema.get("discriminator"), dict) else None
        order = sorted(range(len(branches)), key=lambda i: _is_null_branch(self.spec, branches[i]))
        first = _OMIT
        for i in order:
            branch = branches[i]
            merged = _merge(self.spec, [rest, branch], seen) if rest else branch
            candidate = self.value(merged, depth, name, seen)
            if candidate is _OMIT:
                continue
            tries = [candidate]
            if disc and isinstance(candidate, dict) and disc.get("propertyName"):
                tagged = {**candidate, disc["propertyName"]: _discriminator_value(disc, branch)}
                tries = [tagged, candidate] if disc.get("mapping") or disc["propertyName"] not in candidate \
                    else [candidate, tagged]
            full = self.full_object(merged, depth, seen)
            if full is not None:
                tries.append(full)
            if first is _OMIT:
                first = tries[0]
            for value in tries:
                if self.valid(schema, value):
                    return value
        if first is _OMIT and _nullable(schema):
            return None
        return first

    def full_object(self, schema: Any, depth: int, seen: frozenset[str]) -> dict[str, Any] | None:
        """The branch's object with every property (tells apart branches that share the required ones)."""
        resolved, seen = _resolve(self.spec, schema, seen)
        if not isinstance(resolved, dict) or _type(resolved) != "object" or not resolved.get("properties"):
            return None
        return self.object({**resolved, "required": list(resolved["properties"])}, depth, seen)

    def object(self, schema: dict[str, Any], depth: int, seen: frozenset[str]) -> Any:
        props = schema.get("properties") or {}
        required = [p for p in schema.get("required") or [] if isinstance(p, str)]
        if not required:
            documented = [p for p, s in props.items() if isinstance(s, dict) and explicit(self.spec.deref(s))[0]
                          and explicit(self.spec.deref(s))[1] is not None]
            required = documented or (list(props) if depth == 0 else [])
            optional = True
        else:
            optional = False
        out: dict[str, Any] = {}
        for prop in required:
            sub = props.get(prop)
            if sub is None:
                extra = schema.get("additionalProperties")
                sub = extra if isinstance(extra, dict) else {"type": "string"}
            resolved = self.spec.deref(sub)
            if self.for_request and isinstance(resolved, dict) and resolved.get("readOnly"):
                continue
            value = self.value(sub, depth + 1, prop, seen)
            if value is _OMIT:
                if optional:
                    continue
                value = _minimal(resolved if isinstance(resolved, dict) else {})
            out[prop] = value
        for _ in range(max(int(schema.get("minProperties") or 0) - len(out), 0)):
            out[f"key{len(out) + 1}"] = "sample"
        return out

    def array(self, schema: dict[str, Any], depth: int, name: str, seen: frozenset[str]) -> Any:
        low = int(schema.get("minItems") or 0)
        n = max(low, 1)
        if schema.get("maxItems") is not None:
            n = min(n, int(schema["maxItems"]))
        item = self.value(schema.get("items") if isinstance(schema.get("items"), dict) else {}, depth + 1, name, seen)
        if item is _OMIT:
            return []
        out = [item for _ in range(min(n, 3))]
        if schema.get("uniqueItems") and len(out) > 1:
            out = out[:1]
        return out


def _discriminator_value(disc: dict[str, Any], branch: Any) -> str:
    ref = branch.get("$ref") if isinstance(branch, dict) else None
    for key, target in (disc.get("mapping") or {}).items():
        if target == ref or (ref and str(target) == ref.rsplit("/", 1)[-1]):
            return str(key)
    return ref.rsplit("/", 1)[-1] if ref else "sample"


def _minimal(schema: dict[str, Any]) -> Any:
    if _nullable(schema):
        return None
    kind = _type(schema)
    return {"object": {}, "array": [], "integer": 0, "number": 0, "boolean": False}.get(kind or "", "")


def _number(schema: dict[str, Any], kind: str) -> Any:
    low, high = schema.get("minimum"), schema.get("maximum")
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    value: float = 1
    if isinstance(ex_low, (int, float)) and not isinstance(ex_low, bool):
        value = ex_low + 1
    elif isinstance(low, (int, float)) and not isinstance(low, bool):
        value = low + 1 if ex_low is True else low
    if isinstance(high, (int, float)) and not isinstance(high, bool) and value > high:
        value = high - 1 if ex_high is True else high
    if isinstance(ex_high, (int, float)) and not isinstance(ex_high, bool) and value >= ex_high:
        value = ex_high - 1
    step = schema.get("multipleOf")
    if isinstance(step, (int, float)) and not isinstance(step, bool) and step > 0:
        value = math.ceil(value / step) * step
    return int(value) if kind == "integer" else value


def _string(schema: dict[str, Any], name: str) -> str:
    fmt = schema.get("format")
    if fmt in FORMATS:
        text = FORMATS[fmt]
    else:
        text = "1" if name.lower().endswith("id") else "sample"
    min_len = int(schema.get("minLength") or 0)
    if len(text) < min_len:
        text = text + "x" * (min_len - len(text))
    max_len = schema.get("maxLength")
    return text[: int(max_len)] if max_len is not None else text


def sample(spec: Spec, schema: Any, depth: int = 0, name: str = "") -> Any:
    """One plausible value for ``schema`` (``None`` when the schema gives nothing to build)."""
    value = _Sampler(spec).value(schema, depth, name)
    return None if value is _OMIT else value


def parameter_value(spec: Spec, param: dict[str, Any]) -> Any:
    """A sample for a parameter: its own example(s), then its schema's."""
    found, value = explicit(param)
    if found:
        return value
    # Swagger 2.0 types a non-body parameter on the parameter itself (``type: integer``)
    schema = spec.deref(param.get("schema") or {k: param[k] for k in ("type", "format", "enum", "minimum", "maximum",
                                                                     "default", "items", "pattern") if k in param})
    value = sample(spec, schema, 0, str(param.get("name", "")))
    if isinstance(value, list):  # an array parameter: one item is enough for a sample
        value = value[0] if value else None
    if value is None or isinstance(value, dict):
        return 1 if str(param.get("name", "")).lower().endswith("id") else "sample"
    return value
