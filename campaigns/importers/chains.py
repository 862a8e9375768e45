"""Operations chained as API journeys (e2e): OpenAPI ``links``, and ids a create returns.

- A response's ``links`` (``operationId`` or ``operationRef``, ``parameters``, ``requestBody``)
  becomes a journey: the operation, then the linked one with its parameters filled from the first
  answer — ``$response.body#/id`` is captured as a JSON path, ``$response.header.X`` from the
  header, ``$request.path.p`` / ``$request.query.p`` reuse what the first request sent, a literal
  stays a literal.
- A create (``POST /things`` answering an object with an id) and the operations on
  ``/things/{thingId}`` become a lifecycle journey: create, read, update, delete — the created id
  goes into the later paths, and the delete cleans up what the journey created.

Journeys send inline requests named after the operations' endpoints, so metrics group with them.
Writes are never sent to a production environment (the e2e stage skips them there).
"""

from __future__ import annotations

import re
from typing import Any

from campaigns.importers.result import slug, unique, var_name
from campaigns.importers.spec import Spec, pointer

_ID_NAMES = ("id", "uuid", "key", "slug", "name")
_EXPR = re.compile(r"^\$(request|response)\.(body|path|query|header)(?:\.([\w.\-]+))?(?:#(/.*))?$")


def _json_path(json_pointer: str) -> str:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in json_pointer.strip("/").split("/") if p]
    out = "$"
    for p in parts:
        out += f"[{p}]" if p.isdigit() else f".{p}"
    return out


class Chains:
    def __init__(self, spec: Spec, endpoints: list[dict[str, Any]], ops: list[tuple[str, str, dict[str, Any], Any]],
                 note: Any):
        self.spec = spec
        self.note = note
        #: (path, method) → endpoint dict
        self.by_op = {(p, m): ep for (p, m, _op, _params), ep in zip(ops, endpoints, strict=True)}
        self.by_id = {op.get("operationId"): (p, m) for p, m, op, _params in ops if op.get("operationId")}
        self.ops = ops
        self.names: set[str] = set()

    # -- one request --------------------------------------------------------------------------------
    def request(self, path: str, method: str, values: dict[str, str] | None = None,
                body: Any = None) -> dict[str, Any]:
        """An inline step for operation (path, method), path parameters from ``values`` (templates)
        or the endpoint's samples."""
        ep = self.by_op[(path, method)]
        samples = {k: v[0] for k, v in (ep.get("params") or {}).items()}
        filled = re.sub(r"\{([^}]+)\}", lambda m: str((values or {}).get(var_name(m.group(1)),
                                                                         samples.get(var_name(m.group(1)), 1))),
                        ep["path"])
        step: dict[str, Any] = {"name": ep["name"], "method": ep.get("method", "GET"), "path": filled}
        if ep.get("query"):
            step["query"] = dict(ep["query"])
        if ep.get("headers"):
            step["headers"] = dict(ep["headers"])
        if body is not None:
            step["json"] = body
        elif "json" in ep:
            step["json"] = ep["json"]
        if ep.get("expect"):
            step["expect"] = dict(ep["expect"])
        return step

    # -- links ------------------------------------------------------------------------------------------
    def from_links(self) -> list[dict[str, Any]]:
        journeys = []
        for path, method, op, _params in self.ops:
            for code, raw in (op.get("responses") or {}).items():
                resp = self.spec.deref(raw)
                for link_name, link in ((resp.get("links") or {}) if isinstance(resp, dict) else {}).items():
                    where = pointer("paths", path, method, "responses", code, "links", link_name)
                    journey = self.link(path, method, self.spec.deref(link), where, link_name)
                    if journey is not None:
                        journeys.append(journey)
        return journeys

    def link(self, path: str, method: str, link: dict[str, Any], where: str, link_name: str) -> dict[str, Any] | None:
        target = None
        if link.get("operationId") in self.by_id:
            target = self.by_id[link["operationId"]]
        elif isinstance(link.get("operationRef"), str) and link["operationRef"].startswith("#/paths/"):
            parts = [p.replace("~1", "/").replace("~0", "~") for p in link["operationRef"][len("#/paths/"):].split("/")]
            if len(parts) == 2 and (parts[0], parts[1]) in self.by_op:
                target = (parts[0], parts[1])
        if target is None or target not in self.by_op:
            self.note(f"{where}: link {link_name} names an operation this document does not have (left out)")
            return None
        first = self.request(path, method)
        capture: dict[str, str] = {}
        capture_headers: dict[str, str] = {}
        values: dict[str, str] = {}
        for pname, expr in (link.get("parameters") or {}).items():
            name = var_name(str(pname).split(".")[-1])
            m = _EXPR.match(str(expr)) if isinstance(expr, str) else None
            if m is None:
                values[name] = str(expr)  # a literal
                continue
            source, part, key, ptr = m.groups()
            if source == "response" and part == "body":
                capture[name] = _json_path(ptr or "")
                values[name] = "{{ " + name + " }}"
            elif source == "response" and part == "header" and key:
                capture_headers[name] = key
                values[name] = "{{ " + name + " }}"
            elif source == "request" and part in ("path", "query") and key:
                sample = (self.by_op[(path, method)].get("params") or {}).get(var_name(key), [None])[0]
                if sample is None:
                    sample = (self.by_op[(path, method)].get("query") or {}).get(key)
                values[name] = str(sample if sample is not None else 1)
            else:
                self.note(f"{where}: link {link_name} parameter {pname} = {expr} has no equivalent (a sample is sent)")
        if capture:
            first["capture"] = capture
        if capture_headers:
            first["capture_headers"] = capture_headers
        if "requestBody" in link:
            self.note(f"{where}: link {link_name}: requestBody expressions have no equivalent (the target's sample "
                      f"body is sent)")
        second = self.request(*target, values=values)
        name = unique(slug(f"link-{link_name}"), self.names)
        return {"name": name, "description": f"OpenAPI link {link_name}: {method.upper()} {path} → "
                                             f"{target[1].upper()} {target[0]}", "steps": [first, second]}

    # -- create → read / update / delete -----------------------------------------------------------------
    def lifecycles(self) -> list[dict[str, Any]]:
        journeys = []
        for path, method, op, _params in self.ops:
            if method != "post" or "{" in path.rsplit("/", 1)[-1]:
                continue
            member = [(p, m) for (p, m) in self.by_op
                      if re.fullmatch(re.escape(path.rstrip("/")) + r"/\{[^}/]+\}", p)]
            if not member:
                continue
            id_field = self.created_id(op)
            if id_field is None:
                continue
            var = "created_id"
            steps = [{**self.request(path, method), "capture": {var: f"$.{id_field}"}}]
            order = {"get": 0, "put": 1, "patch": 1, "delete": 2}
            values = {}
            for mp, mm in sorted(member, key=lambda x: order.get(x[1], 3)):
                if mm not in order:
                    continue
                param = re.search(r"\{([^}]+)\}$", mp).group(1)  # type: ignore[union-attr]
                values = {var_name(param): "{{ " + var + " }}"}
                steps.append(self.request(mp, mm, values=values))
            if len(steps) < 2:
                continue
            resource = slug(path.strip("/").split("/")[-1] or "root")
            journeys.append({"name": unique(f"lifecycle-{resource}", self.names),
                             "description": f"create with POST {path}, then use the created {id_field} "
                                            f"({', '.join(s['method'] for s in steps[1:])})",
                             "steps": steps})
        return journeys

    def created_id(self, op: dict[str, Any]) -> str | None:
        """The property of a create's answer that holds the new object's id."""
        for code, raw in (op.get("responses") or {}).items():
            if not (str(code).isdigit() and 200 <= int(code) < 300):
                continue
            resp = self.spec.deref(raw)
            for media, obj in ((resp.get("content") or {}) if isinstance(resp, dict) else {}).items():
                if "json" not in media:
                    continue
                schema = self.spec.deref((obj or {}).get("schema") or {})
                if "allOf" in schema:
                    props: dict[str, Any] = {}
                    for part in schema["allOf"]:
                        props.update(self.spec.deref(part).get("properties") or {})
                else:
                    props = schema.get("properties") or {}
                for key in _ID_NAMES:
                    if key in props:
                        return key
                for key in props:
                    if key.lower().endswith("id"):
                        return key
        return None


def journeys(spec: Spec, endpoints: list[dict[str, Any]], ops: list[Any], note: Any) -> list[dict[str, Any]]:
    """API journeys from ``links`` and create → use chains (see the module docstring)."""
    chains = Chains(spec, endpoints, ops, note)
    return chains.from_links() + chains.lifecycles()
