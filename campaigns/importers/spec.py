"""Reading an OpenAPI 3.0 / 3.1 document: parse, check, follow local ``$ref``s, and turn its
schemas into plain JSON Schema (draft 2020-12) for response validation.

Every problem of a broken spec is reported at once, each as ``FILE: #/json/pointer: message`` so
the place is unambiguous (RFC 6901 pointers: ``/`` in a key is ``~1``, ``~`` is ``~0``).

OpenAPI 3.1 schemas are JSON Schema 2020-12 already. OpenAPI 3.0 schemas differ in three ways
that matter for validation, converted by :func:`to_json_schema`: ``nullable: true`` (→ a
``"null"`` type), boolean ``exclusiveMinimum``/``exclusiveMaximum`` (→ numbers) and ``example``
(→ ``examples``).
"""

from __future__ import annotations

import copy
import re
from typing import Any

import yaml

from campaigns.importers.result import SourceError, load_source

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_ONES = ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else",
                "unevaluatedItems", "unevaluatedProperties", "additionalItems")


def escape(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def pointer(*parts: Any) -> str:
    return "#/" + "/".join(escape(str(p)) for p in parts) if parts else "#"


def resolve_pointer(doc: Any, ref: str) -> Any:
    """The value at a local ``#/a/b`` pointer; ``KeyError`` when there is none."""
    if not ref.startswith("#"):
        raise KeyError(ref)
    node = doc
    for raw in [p for p in ref[1:].split("/")][1:] if ref not in ("#", "#/") else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(ref)
    return node


class Spec:
    """A checked OpenAPI document."""

    def __init__(self, doc: dict[str, Any], file: str):
        self.doc = doc
        self.file = file
        self.version = str(doc.get("openapi"))
        self.is_30 = self.version.startswith("3.0")
        self.notes: list[str] = []  # what reading the document changed (e.g. Swagger 2.0 converted)

    def deref(self, node: Any, depth: int = 0) -> Any:
        """Follow ``$ref`` until a node without one (local refs; checked at load time)."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and depth < 32:
            try:
                target = resolve_pointer(self.doc, node["$ref"])
            except KeyError:
                return {}
            if len(node) > 1 and not self.is_30:  # 3.1: siblings of $ref apply too
                target = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            node, depth = target, depth + 1
        return node

    def operations(self) -> list[tuple[str, str, dict[str, Any], list[dict[str, Any]]]]:
        """``(path, method, operation, parameters)`` with path-level parameters merged in."""
        out = []
        for path, item in (self.doc.get("paths") or {}).items():
            item = self.deref(item)
            if not isinstance(item, dict):
                continue
            shared = [self.deref(p) for p in item.get("parameters") or []]
            for method in HTTP_METHODS:
                op = item.get(method)
                if not isinstance(op, dict):
                    continue
                own = [self.deref(p) for p in op.get("parameters") or []]
                keys = {(p.get("name"), p.get("in")) for p in own}
                params = own + [p for p in shared if (p.get("name"), p.get("in")) not in keys]
                out.append((path, method, op, params))
        return out

    # -- JSON Schema ---------------------------------------------------------------------------
    def to_json_schema(self, schema: Any, inline: set[str] | None = None) -> Any:
        """``schema`` as JSON Schema 2020-12. References to ``#/components/schemas/X`` are kept (the
        caller ships the converted components beside it); other local references are inlined."""
        inline = inline or set()
        if isinstance(schema, bool) or not isinstance(schema, dict):
            return schema
        if isinstance(schema.get("$ref"), str):
            ref = schema["$ref"]
            if ref.startswith("#/components/schemas/"):
                rest = {k: v for k, v in schema.items() if k != "$ref"}
                if rest and not self.is_30:
                    return {"allOf": [{"$ref": ref}, self.to_json_schema(rest, inline)]}
                return {"$ref": ref}
            if ref in inline:
                return {}
            try:
                target = resolve_pointer(self.doc, ref)
            except KeyError:
                return {}
            return self.to_json_schema(target, inline | {ref})
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key in _SCHEMA_LISTS and isinstance(value, list):
                out[key] = [self.to_json_schema(v, inline) for v in value]
            elif key in _SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {k: self.to_json_schema(v, inline) for k, v in value.items()}
            elif key == "items" and isinstance(value, list):
                # the draft-4 tuple form, written in specs to mean "each item is one of these" (PowerDNS's
                # statistics); 2020-12 reads ``items`` as one schema and its validator crashed on a list
                out[key] = {"anyOf": [self.to_json_schema(v, inline) for v in value]} if value else {}
            elif key in _SCHEMA_ONES and isinstance(value, (dict, list)):
                out[key] = ([self.to_json_schema(v, inline) for v in value] if isinstance(value, list)
                            else self.to_json_schema(value, inline))
            elif key in ("discriminator", "xml", "externalDocs"):
                continue
            elif key == "example" and self.is_30:
                out["examples"] = [value]
            else:
                out[key] = copy.deepcopy(value)
        if self.is_30:
            for bound in ("Minimum", "Maximum"):
                flag = out.get(f"exclusive{bound}")
                if flag is True and f"{bound.lower()}" in out:
                    out[f"exclusive{bound}"] = out.pop(bound.lower())
                elif isinstance(flag, bool):
                    out.pop(f"exclusive{bound}")
            if out.pop("nullable", False) is True:
                if isinstance(out.get("type"), str):
                    out["type"] = [out["type"], "null"]
                    if isinstance(out.get("enum"), list) and None not in out["enum"]:
                        out["enum"] = [*out["enum"], None]
                else:
                    out = {"anyOf": [out, {"type": "null"}]}
        return out

    def components_as_json_schema(self) -> dict[str, Any]:
        cached = self.__dict__.get("_components")
        if cached is None:
            schemas = ((self.doc.get("components") or {}).get("schemas") or {})
            cached = {"schemas": {name: self.to_json_schema(s) for name, s in schemas.items()}}
            self.__dict__["_components"] = cached
        return cached

    def validator(self, schema: Any) -> Any:
        """A JSON Schema (2020-12) validator for an OpenAPI schema of this document (components
        references resolve inside it)."""
        from jsonschema import Draft202012Validator

        converted = self.to_json_schema(schema)
        if isinstance(converted, bool):
            return Draft202012Validator(converted)
        return Draft202012Validator({**converted, "components": self.components_as_json_schema()})

    def validates(self, schema: Any, value: Any) -> bool:
        try:
            return self.validator(schema).is_valid(value)
        except Exception:  # noqa: BLE001 - a schema jsonschema cannot use says nothing about the value
            return True

    def schema_problems(self, schema: Any, value: Any, limit: int = 3) -> list[str]:
        """Why ``value`` does not match ``schema`` (empty when it does), as ``$.path: message``."""
        from jsonschema.exceptions import relevance

        try:
            errors = sorted(self.validator(schema).iter_errors(value), key=relevance)
        except Exception:  # noqa: BLE001
            return []
        out = []
        for err in errors[:limit]:
            best = min(err.context, key=relevance) if err.context else err
            where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in best.absolute_path)
            out.append(f"{where}: {best.message[:160]}")
        return out


def _walk_refs(node: Any, path: tuple[str, ...], out: list[tuple[tuple[str, ...], str]]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            out.append((path + ("$ref",), ref))
        for k, v in node.items():
            if k != "$ref":
                _walk_refs(v, path + (str(k),), out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _walk_refs(v, path + (str(i),), out)


def load_spec(text: str, file: str = "openapi.yaml") -> Spec:
    """Parse and check an OpenAPI 3.0 / 3.1 document (YAML or JSON); :class:`SourceError` lists
    every problem, each with the file and the JSON pointer where it is."""
    try:
        doc = load_source(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise SourceError([f"{file}{line}: invalid YAML/JSON: {getattr(exc, 'problem', None) or exc}"]) from None
    if not isinstance(doc, dict):
        raise SourceError([f"{file}: #: an OpenAPI document is a mapping (openapi, info, paths)"])
    notes: list[str] = []
    if "swagger" in doc:
        if not str(doc["swagger"]).startswith("2"):
            raise SourceError([f"{file}: #/swagger: Swagger {doc['swagger']} is not supported (2.0, OpenAPI 3.0 and "
                               f"3.1 are)"])
        from campaigns.importers.swagger import convert

        doc, notes = convert(doc)
        notes.insert(0, "Swagger 2.0 document converted to OpenAPI 3.0 (servers from host/basePath/"
                        f"schemes, definitions → components, body and formData parameters → request bodies)")
    version = str(doc.get("openapi", ""))
    problems = []
    if not re.match(r"^3\.[01](\.\d+)?$", version):
        problems.append(f"{file}: #/openapi: {version or 'missing'}: this importer reads OpenAPI 3.0 and 3.1")
    if not isinstance(doc.get("info"), dict):
        problems.append(f"{file}: #/info: required (title, version)")
    paths = doc.get("paths")
    if not isinstance(paths, dict) or not paths:
        hooks = " (webhooks are requests the API sends, not operations to call)" if doc.get("webhooks") else ""
        problems.append(f"{file}: #/paths: no paths: nothing to test{hooks}")
        paths = {}
    refs: list[tuple[tuple[str, ...], str]] = []
    _walk_refs(doc, (), refs)
    for where, ref in refs:
        if not ref.startswith("#"):
            problems.append(f"{file}: {pointer(*where)}: external reference {ref!r} is not supported "
                            f"(bundle the spec into one file first, e.g. redocly bundle)")
            continue
        try:
            resolve_pointer(doc, ref)
        except KeyError:
            problems.append(f"{file}: {pointer(*where)}: unresolved reference {ref!r}")
    spec = Spec(doc, file)
    spec.notes = notes
    for path, item in paths.items():
        if not str(path).startswith("/"):
            problems.append(f"{file}: {pointer('paths', path)}: a path starts with '/'")
        if not isinstance(item, dict):
            problems.append(f"{file}: {pointer('paths', path)}: a path item is a mapping of operations")
            continue
        item = spec.deref(item)
        shared = item.get("parameters") or []
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            here = ("paths", path, method)
            if not isinstance(op, dict):
                problems.append(f"{file}: {pointer(*here)}: an operation is a mapping")
                continue
            if not isinstance(op.get("responses", {}), dict):
                problems.append(f"{file}: {pointer(*here, 'responses')}: a mapping of status codes")
            declared = set()
            for k, raw in [(f"parameters/{i}", p) for i, p in enumerate(op.get("parameters") or [])] + \
                          [(f"../parameters/{i}", p) for i, p in enumerate(shared)]:
                p = spec.deref(raw)
                loc = (*here, *k.split("/")) if not k.startswith("..") else ("paths", path, *k[3:].split("/"))
                if not isinstance(p, dict) or "name" not in p or "in" not in p:
                    problems.append(f"{file}: {pointer(*loc)}: a parameter needs 'name' and 'in'")
                    continue
                if p["in"] not in ("path", "query", "header", "cookie"):
                    problems.append(f"{file}: {pointer(*loc, 'in')}: {p['in']!r} is not path, query, header "
                                    f"or cookie")
                if p["in"] == "path":
                    declared.add(p["name"])
                    if p.get("required") is not True:  # a path parameter always is: the spec's slip, not the user's
                        notes.append(f"{file}: {pointer(*loc, 'required')}: a path parameter is required: true "
                                     f"(read as required)")
            for name in re.findall(r"\{([^}]+)\}", str(path)):
                if name not in declared:
                    # Directus 11's own served spec has /comments/{id} with no {id} declared: a new user
                    # must not be stopped by the vendor's slip; the parameter is taken as a string
                    notes.append(f"{file}: {pointer(*here, 'parameters')}: path parameter {{{name}}} is not "
                                 f"declared: taken as a string")
                    op.setdefault("parameters", []).append(
                        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}})
    if problems:
        raise SourceError(problems)
    return spec
