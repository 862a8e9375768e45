"""Sample values from OpenAPI schemas, for path and query parameters and request bodies.

Order of preference (the first that exists wins): ``example``, ``examples`` (first), ``default``,
``const``, ``enum`` (first), then a value built from the type and format — ``uuid``, ``email``,
``date-time``, ``date``, ``uri``, ``int32``/``int64``… — within ``minimum``/``maximum`` and
``minLength``. ``allOf`` merges, ``oneOf``/``anyOf`` take the first branch. Objects list their
required properties (every property when none is required); recursion stops at a depth of 6.
"""

from __future__ import annotations

from typing import Any

from campaigns.importers.spec import Spec

MAX_DEPTH = 6
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
    "uri-reference": "/example",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "byte": "c2FtcGxl",
    "password": "sample-password",
}


def explicit(node: dict[str, Any]) -> tuple[bool, Any]:
    """``(True, value)`` when the schema or parameter documents a value itself."""
    if "example" in node:
        return True, node["example"]
    examples = node.get("examples")
    if isinstance(examples, list) and examples:
        return True, examples[0]
    if isinstance(examples, dict) and examples:  # parameter / media-type examples: {name: {value}}
        first = next(iter(examples.values()))
        if isinstance(first, dict) and "value" in first:
            return True, first["value"]
    for key in ("default", "const"):
        if key in node:
            return True, node[key]
    if isinstance(node.get("enum"), list) and node["enum"]:
        return True, node["enum"][0]
    return False, None


def _merge(spec: Spec, parts: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        part = spec.deref(part)
        if not isinstance(part, dict):
            continue
        if "allOf" in part:
            part = {**{k: v for k, v in part.items() if k != "allOf"}, **_merge(spec, part["allOf"])}
        for key, value in part.items():
            if key == "properties":
                out.setdefault("properties", {}).update(value)
            elif key == "required":
                out["required"] = sorted(set(out.get("required", [])) | set(value))
            else:
                out.setdefault(key, value)
    return out


def _type(schema: dict[str, Any]) -> str | None:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    if t is None:
        if "properties" in schema:
            return "object"
        if "items" in schema:
            return "array"
    return t


def sample(spec: Spec, schema: Any, depth: int = 0, name: str = "") -> Any:
    """One plausible value for ``schema``."""
    schema = spec.deref(schema)
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return None
    found, value = explicit(schema)
    if found:
        return value
    if "allOf" in schema:
        return sample(spec, _merge(spec, [{k: v for k, v in schema.items() if k != "allOf"}, *schema["allOf"]]),
                      depth + 1, name)
    for key in ("oneOf", "anyOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return sample(spec, schema[key][0], depth + 1, name)
    kind = _type(schema)
    if kind == "object":
        props = schema.get("properties") or {}
        required = schema.get("required") or list(props)
        out = {}
        for prop in required:
            if prop in props:
                p = spec.deref(props[prop])
                if isinstance(p, dict) and p.get("readOnly"):
                    continue
                out[prop] = sample(spec, p, depth + 1, prop)
        return out
    if kind == "array":
        n = max(int(schema.get("minItems") or 1), 1)
        return [sample(spec, schema.get("items") or {}, depth + 1, name) for _ in range(min(n, 3))]
    if kind in ("integer", "number"):
        low = schema.get("minimum")
        ex_low = schema.get("exclusiveMinimum")
        high = schema.get("maximum")
        value = 1
        if isinstance(ex_low, (int, float)) and not isinstance(ex_low, bool):
            value = ex_low + 1
        elif low is not None:
            value = low if not ex_low else low + 1
        if high is not None and value > high:
            value = high
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "string" or kind is None:
        fmt = schema.get("format")
        if fmt in FORMATS:
            return FORMATS[fmt]
        text = "1" if name.lower().endswith("id") else "sample"
        min_len = int(schema.get("minLength") or 0)
        if len(text) < min_len:
            text = text + "x" * (min_len - len(text))
        max_len = schema.get("maxLength")
        return text[: int(max_len)] if max_len else text
    return None


def parameter_value(spec: Spec, param: dict[str, Any]) -> Any:
    """A sample for a parameter: its own example(s), then its schema's."""
    found, value = explicit(param)
    if found:
        return value
    schema = spec.deref(param.get("schema") or {})
    value = sample(spec, schema, 0, str(param.get("name", "")))
    if isinstance(value, list):  # an array parameter: one item is enough for a sample
        value = value[0] if value else None
    if value is None or isinstance(value, dict):
        return 1 if str(param.get("name", "")).lower().endswith("id") else "sample"
    return value
