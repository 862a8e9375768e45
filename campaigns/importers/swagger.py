"""Swagger 2.0 → OpenAPI 3.0, so ``init --openapi`` reads both (the mapping of the OpenAPI
Initiative's 3.0 "changes from 2.0", as swagger2openapi applies it):

    host + basePath + schemes          servers (one per scheme; http first)
    definitions / parameters /
      responses / securityDefinitions  components.schemas / parameters / responses / securitySchemes
    #/definitions/X references         #/components/schemas/X (every other local reference likewise)
    in: body parameter                 requestBody (one content entry per consumes type; JSON default)
    in: formData parameters            requestBody: application/x-www-form-urlencoded, or
                                       multipart/form-data when consumes says so or a type is file
    type/format/items/enum/default/
      minimum… on a parameter          its schema; collectionFormat → style/explode
    responses.*.schema / examples      content per produces type (JSON default), examples → example
    type: file                         string, format: binary
    basic / apiKey / oauth2            http basic / apiKey / oauth2 flows
    x-nullable: true                   nullable: true

:func:`convert` returns the new document and notes on what it could not carry over.
"""

from __future__ import annotations

import copy
import json
from typing import Any

_PARAM_SCHEMA_KEYS = ("type", "format", "items", "enum", "default", "minimum", "maximum", "exclusiveMinimum",
                      "exclusiveMaximum", "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems",
                      "multipleOf")
_STYLES = {"csv": ("form", False), "ssv": ("spaceDelimited", False), "pipes": ("pipeDelimited", False),
           "multi": ("form", True)}
_REF_MAP = {"#/definitions/": "#/components/schemas/", "#/parameters/": "#/components/parameters/",
            "#/responses/": "#/components/responses/"}


def _refs(node: Any) -> Any:
    """Every local reference re-pointed at components; ``x-nullable`` and ``type: file`` translated."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                for old, new in _REF_MAP.items():
                    if value.startswith(old):
                        value = new + value[len(old):]
                out[key] = value
            elif key == "x-nullable":
                out["nullable"] = bool(value)
            else:
                out[key] = _refs(value)
        if out.get("type") == "file":
            out["type"], out["format"] = "string", "binary"
        return out
    if isinstance(node, list):
        return [_refs(v) for v in node]
    return node


def _schema_of(param: dict[str, Any]) -> dict[str, Any]:
    schema = {k: copy.deepcopy(param[k]) for k in _PARAM_SCHEMA_KEYS if k in param}
    if schema.get("type") == "file":
        schema["type"], schema["format"] = "string", "binary"
    if isinstance(schema.get("items"), dict) and schema["items"].get("type") == "file":
        schema["items"] = {"type": "string", "format": "binary"}
    return _refs(schema)


def _parameter(param: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in param:
        return _refs(param)
    out = {k: copy.deepcopy(v) for k, v in param.items()
           if k in ("name", "in", "description", "required", "deprecated", "allowEmptyValue") or k.startswith("x-")}
    out["schema"] = _schema_of(param)
    if "x-example" in param:
        out["example"] = param["x-example"]
    fmt = param.get("collectionFormat")
    if param.get("type") == "array" and fmt in _STYLES and param.get("in") in ("query", "header", "path", "cookie"):
        out["style"], out["explode"] = _STYLES[fmt]
    return out


def _content(types: list[str], schema: Any, examples: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {}
    for media in types:
        entry: dict[str, Any] = {}
        if schema is not None:
            entry["schema"] = _refs(schema)
        if examples and media in examples:
            entry["example"] = examples[media]
        out[media] = entry
    return out


class _Converter:
    def __init__(self, doc: dict[str, Any]):
        self.doc = doc
        self.notes: list[str] = []
        self.consumes = doc.get("consumes") or ["application/json"]
        self.produces = doc.get("produces") or ["application/json"]
        self.shared = doc.get("parameters") or {}

    def _resolve_param(self, param: Any) -> dict[str, Any]:
        if isinstance(param, dict) and isinstance(param.get("$ref"), str) and param["$ref"].startswith("#/parameters/"):
            return self.shared.get(param["$ref"][len("#/parameters/"):], {})
        return param if isinstance(param, dict) else {}

    def operation(self, op: dict[str, Any], shared_params: list[Any], where: str) -> dict[str, Any]:
        out = {k: copy.deepcopy(v) for k, v in op.items()
               if k not in ("parameters", "responses", "consumes", "produces", "schemes")}
        consumes = op.get("consumes") or self.consumes
        produces = op.get("produces") or self.produces
        params, body, form = [], None, []
        own = [self._resolve_param(p) for p in op.get("parameters") or []]
        keys = {(p.get("name"), p.get("in")) for p in own}
        merged = own + [p for p in (self._resolve_param(x) for x in shared_params) if (p.get("name"), p.get("in")) not in keys]
        for param in merged:
            where_in = param.get("in")
            if where_in == "body":
                body = param
            elif where_in == "formData":
                form.append(param)
            elif where_in in ("query", "header", "path", "cookie"):
                params.append(_parameter(param))
        if params:
            out["parameters"] = params
        if body is not None:
            json_like = [c for c in consumes if "json" in c] or consumes
            out["requestBody"] = {"content": _content(json_like, body.get("schema") or {}),
                                  "required": bool(body.get("required"))}
            if "x-examples" in body and isinstance(body["x-examples"], dict):
                for media, example in body["x-examples"].items():
                    if media in out["requestBody"]["content"]:
                        out["requestBody"]["content"][media]["example"] = example
        elif form:
            multipart = "multipart/form-data" in consumes or any(p.get("type") == "file" for p in form)
            media = "multipart/form-data" if multipart else "application/x-www-form-urlencoded"
            schema = {"type": "object", "properties": {p["name"]: _schema_of(p) for p in form if "name" in p}}
            required = [p["name"] for p in form if p.get("required") and "name" in p]
            if required:
                schema["required"] = required
            out["requestBody"] = {"content": {media: {"schema": schema}}, "required": bool(required)}
        responses = {}
        for code, resp in (op.get("responses") or {}).items():
            responses[str(code)] = self.response(resp, produces)
        out["responses"] = responses or {"default": {"description": "default"}}
        return out

    def response(self, resp: Any, produces: list[str]) -> dict[str, Any]:
        if not isinstance(resp, dict):
            return {"description": ""}
        if "$ref" in resp:
            return _refs(resp)
        out: dict[str, Any] = {"description": resp.get("description", "")}
        if "schema" in resp:
            out["content"] = _content(produces, resp["schema"], resp.get("examples"))
        if isinstance(resp.get("headers"), dict):
            out["headers"] = {k: {"schema": _schema_of(v), **({"description": v["description"]} if "description" in v
                                                             else {})}
                              for k, v in resp["headers"].items() if isinstance(v, dict)}
        return out

    def security_schemes(self) -> dict[str, Any]:
        out = {}
        for name, scheme in (self.doc.get("securityDefinitions") or {}).items():
            kind = (scheme or {}).get("type")
            if kind == "basic":
                out[name] = {"type": "http", "scheme": "basic"}
            elif kind == "apiKey":
                out[name] = {"type": "apiKey", "name": scheme.get("name"), "in": scheme.get("in")}
            elif kind == "oauth2":
                flow = {"implicit": "implicit", "password": "password", "application": "clientCredentials",
                        "accessCode": "authorizationCode"}.get(scheme.get("flow"), "implicit")
                spec = {"scopes": scheme.get("scopes") or {}}
                if "authorizationUrl" in scheme:
                    spec["authorizationUrl"] = scheme["authorizationUrl"]
                if "tokenUrl" in scheme:
                    spec["tokenUrl"] = scheme["tokenUrl"]
                out[name] = {"type": "oauth2", "flows": {flow: spec}}
            else:
                self.notes.append(f"#/securityDefinitions/{name}: type {kind!r} is not a Swagger 2.0 type (left out)")
        return out

    def convert(self) -> dict[str, Any]:
        doc = self.doc
        out: dict[str, Any] = {"openapi": "3.0.3", "info": copy.deepcopy(doc.get("info") or {"title": "API",
                                                                                        "version": "1"})}
        host = doc.get("host")
        base = doc.get("basePath") or ""
        if host:
            schemes = sorted(doc.get("schemes") or ["https"], key=lambda s: s != "http")
            out["servers"] = [{"url": f"{scheme}://{host}{base}"} for scheme in schemes if scheme in ("http", "https")]
        elif base:
            out["servers"] = [{"url": base}]
        paths: dict[str, Any] = {}
        for path, item in (doc.get("paths") or {}).items():
            if not isinstance(item, dict):
                continue
            new_item: dict[str, Any] = {}
            shared = item.get("parameters") or []
            for key, value in item.items():
                if key in ("get", "put", "post", "delete", "options", "head", "patch") and isinstance(value, dict):
                    new_item[key] = self.operation(value, shared, f"#/paths/{path}/{key}")
                elif key == "$ref":
                    self.notes.append(f"#/paths/{path}: a $ref path item is not converted (left out)")
                elif key != "parameters":
                    new_item[key] = copy.deepcopy(value)
            paths[path] = new_item
        out["paths"] = paths
        components: dict[str, Any] = {}
        if doc.get("definitions"):
            components["schemas"] = _refs(doc["definitions"])
        body_params = {k: v for k, v in self.shared.items() if isinstance(v, dict) and v.get("in") not in ("body",
                                                                                                         "formData")}
        if body_params:
            components["parameters"] = {k: _parameter(v) for k, v in body_params.items()}
        if doc.get("responses"):
            components["responses"] = {k: self.response(v, self.produces) for k, v in doc["responses"].items()}
        schemes = self.security_schemes()
        if schemes:
            components["securitySchemes"] = schemes
        if components:
            out["components"] = components
        for key in ("security", "tags", "externalDocs"):
            if key in doc:
                out[key] = copy.deepcopy(doc[key])
        return out


def convert(doc: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A Swagger 2.0 document as OpenAPI 3.0.3, and notes on what did not carry over."""
    conv = _Converter(json.loads(json.dumps(doc, default=str)))
    out = conv.convert()
    return out, conv.notes
