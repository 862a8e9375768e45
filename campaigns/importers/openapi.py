"""OpenAPI 3.0 / 3.1 → a campaign: ``perfcampaign init --openapi SPEC``.

One endpoint per operation, named after its ``operationId`` (kebab-case) or its method and path:

    path parameters      params, one sample each (example, default, enum, or from the schema)
    query parameters     query: the required ones, and optional ones that document an example
    header parameters    headers: the required ones (secret-looking ones as ${env:NAME})
    security             headers with ${env:NAME} references (bearer, basic, apiKey in a header)
    request body (JSON)  json: the example, else a value generated from the schema
    responses            expect.status: the documented 2xx/3xx codes; content_type when only JSON
    response schemas     a side file ``<campaign>.schemas.json`` (draft 2020-12, 3.0 converted)
                         that readiness and smoke validate 2xx bodies against (``contract.py``)

    request body (form/multipart) form: / multipart: fields from the schema (file parts for binary)
    links, created ids   e2e API journeys (``chains.py``): link targets filled from the first answer;
                         a create followed by the read/update/delete of the id it returned

Swagger 2.0 documents are converted to OpenAPI 3.0 first (``swagger.py``). Request bodies are
checked against the spec's own schema (jsonschema); one that cannot be made to match is named in
the notes. Servers become environments (``--base-url`` gives one ``dev`` environment instead); a
load section runs the GET operations at 5 iterations/s for a minute. What is not sent (optional
parameters, cookie parameters, API keys in the query, callbacks, webhooks, binary bodies…) is
listed in the notes.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import Any

from campaigns.importers.result import ImportResult, scalarish, slug, unique, var_name
from campaigns.importers.samples import explicit, parameter_value, sample
from campaigns.importers.spec import Spec, load_spec, pointer
from campaigns.types import is_secret_key

SCHEMA_SUFFIX = ".schemas.json"
_FORM = object()  # a form or multipart body (see _Importer.form_body)
_FORM_MEDIA = ("application/x-www-form-urlencoded", "multipart/form-data")
_SKIP_HEADERS = {"accept", "content-type", "authorization", "user-agent", "content-length"}


def schemas_file_for(campaign_file: str) -> str:
    """The response-schema side file of a campaign file: ``shop.yaml`` → ``shop.schemas.json``."""
    path = PurePosixPath(campaign_file.replace("\\", "/"))
    return path.stem + SCHEMA_SUFFIX


def _json_media(content: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(content, dict):
        return None
    for media, obj in content.items():
        if media.split(";")[0].strip() == "application/json":
            return media, obj or {}
    for media, obj in content.items():
        base = media.split(";")[0].strip()
        if base.endswith("+json") or base.endswith("/json") or base == "*/*":
            return media, obj or {}
    return None


_READ_VERBS = ("read", "get", "list", "count", "search", "query", "filter", "find", "paginate", "lookup")
#: words that make an operation a write whatever else it says
_WRITE_WORDS = frozenset(
    "create creates add adds update updates delete deletes remove removes set sets put puts post posts patch "
    "patches insert inserts upsert upserts save saves grant grants revoke revokes enable enables disable disables "
    "change changes move moves promote promotes send sends start starts stop stops cancel cancels reset resets "
    "register registers apply applies import imports upload uploads submit submits approve approves compact "
    "compacts defragment defragments transfer transfers increment increments modify modifies write writes "
    "activate activates deactivate deactivates renew renews keep keeps run runs execute executes trigger "
    "triggers issue issues generate generates login logout sign".split())
#: how an operation's summary starts when it only reads: "Lists all users", "Range gets the keys…",
#: "Retrieve the status"
_READ_SUMMARY = re.compile(r"^(?:[A-Z][A-Za-z0-9]*\s+)?(?:gets?|lists?|returns?|retrieves?|reads?|fetch(?:es)?|"
                           r"counts?|search(?:es)?|quer(?:y|ies)|finds?|looks? up|describes?|shows?)\b",
                           re.IGNORECASE)
#: a POST to one of these hands out a credential or a session, whatever its summary says
_CREDENTIAL_PATH = re.compile(r"/(?:token|tokens|login|logout|signin|sign-in|session|sessions|oauth2?)/?$",
                              re.IGNORECASE)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text).lower())


def query_operation(path: str, op: dict[str, Any]) -> bool:
    """A POST that only reads, as its description says: the path ends in a query word (filter,
    count, search, paginate…), its ``operationId`` starts with a read verb (``read_flows``,
    ``count_deployments``) or is a gRPC-style method named after one (``UserList``, ``RoleGet``),
    its summary's first sentence says it only reads ("MemberList lists all the members…",
    "Range gets the keys…") and names no write, or an ``x-safe`` / ``x-readonly`` extension says so."""
    from campaigns.model import reads_only

    if op.get("x-safe") is True or op.get("x-readonly") is True or op.get("x-read-only") is True:
        return True
    if reads_only("POST", path):
        return True
    op_id = re.sub(r"([a-z])([A-Z])", r"\1_\2", str(op.get("operationId") or "")).lower()
    if op_id and op_id.split("_")[0] in _READ_VERBS:
        return True
    if _CREDENTIAL_PATH.search(path):
        return False
    tokens = _words(str(op.get("operationId") or ""))
    if tokens and tokens[-1] in ("get", "list", "count", "search", "query", "lookup") and \
            not _WRITE_WORDS.intersection(tokens):
        return True
    text = str(op.get("summary") or op.get("description") or "").strip()
    first = re.split(r"(?<=[.!?])\s|\n", text, maxsplit=1)[0]
    if first and _READ_SUMMARY.match(first):
        # "Alarm activates, deactivates, and queries alarms" writes too; the operation's own name
        # (first word) is not a verb of the sentence
        rest = _words(first)[1:] if re.match(r"^[A-Z][a-z0-9]+[A-Z]", first) else _words(first)
        return not _WRITE_WORDS.intersection(rest)
    return False


def _env_name(*parts: str) -> str:
    return var_name("_".join(slug(p).replace("-", "_") for p in parts if p)).upper()


class _Importer:
    def __init__(self, spec: Spec, file: str):
        self.spec = spec
        self.file = file
        self.notes: list[str] = []
        self.envs_used: dict[str, str] = {}    # env var → what it holds
        self.unsent: dict[str, list[str]] = {}  # optional parameters not sent: kind → "METHOD path: name"

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # -- pieces of an endpoint --------------------------------------------------------------------
    def security_headers(self, op: dict[str, Any], where: str) -> dict[str, str]:
        requirements = op.get("security", self.spec.doc.get("security"))
        if not requirements:
            return {}
        first = next((r for r in requirements if r), None)
        if first is None:  # an empty requirement: authentication is optional
            return {}
        schemes = ((self.spec.doc.get("components") or {}).get("securitySchemes") or {})
        headers: dict[str, str] = {}
        for name in first:
            scheme = self.spec.deref(schemes.get(name) or {})
            kind = scheme.get("type")
            if kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
                env = _env_name(name, "credentials")
                headers["Authorization"] = "Basic ${env:" + env + "}"
                self.envs_used[env] = f"base64 of user:password for {name}"
            elif kind in ("http", "oauth2", "openIdConnect"):
                env = _env_name(name, "token")
                headers["Authorization"] = "Bearer ${env:" + env + "}"
                self.envs_used[env] = f"a bearer token for {name}"
            elif kind == "apiKey" and scheme.get("in") == "header":
                env = _env_name(name)
                headers[str(scheme.get("name", "X-API-Key"))] = "${env:" + env + "}"
                self.envs_used[env] = f"the API key {name}"
            else:
                self.note(f"{where}: security scheme {name} ({kind} in {scheme.get('in', '?')}) has no "
                          f"equivalent: send its credential in a header with an ${{env:NAME}} reference")
        return headers

    def body(self, op: dict[str, Any], where: str) -> tuple[bool, Any]:
        raw = op.get("requestBody")
        if raw is None:
            return False, None
        body = self.spec.deref(raw)
        media = _json_media(body.get("content") or {})
        if media is None:
            content = body.get("content") or {}
            if any(m.split(";")[0].strip() in _FORM_MEDIA for m in content):
                return True, _FORM
            kinds = ", ".join(content) or "no content"
            self.note(f"{where}/requestBody: no JSON, form or multipart body is documented ({kinds}): sent without "
                      f"a body")
            return False, None
        schema = media[1].get("schema") or {}
        found, value = explicit(media[1])
        if found and isinstance(value, str) and value.strip()[:1] in ("{", "["):
            try:  # an example written as JSON text
                value = json.loads(value)
            except ValueError:
                pass
        if found and schema and not self.spec.validates(schema, value):
            self.note(f"{where}/requestBody: the documented example does not match the body's schema "
                      f"({'; '.join(self.spec.schema_problems(schema, value, 1))}): a generated body is sent instead")
            found = False
        if not found:
            value = sample(self.spec, schema)
        problems = self.spec.schema_problems(schema, value) if schema else []
        if problems:
            self.note(f"{where}/requestBody: no body that matches the schema could be generated "
                      f"({'; '.join(problems[:2])}): edit the endpoint's json")
        return True, value

    def form_body(self, op: dict[str, Any], where: str) -> tuple[str, dict[str, Any]] | None:
        """``("form", fields)`` or ``("multipart", fields)`` for a form or multipart request body."""
        content = self.spec.deref(op["requestBody"]).get("content") or {}
        media = next((m for m in content if m.split(";")[0].strip() == "application/x-www-form-urlencoded"),
                     None) or next(m for m in content if m.split(";")[0].strip() == "multipart/form-data")
        obj = content[media] or {}
        schema = self.spec.deref(obj.get("schema") or {})
        found, value = explicit(obj)
        if not (found and isinstance(value, dict)):
            value = sample(self.spec, schema)
        if not isinstance(value, dict):
            self.note(f"{where}/requestBody: the {media} body's schema is not an object of fields: sent without a body")
            return None
        props = schema.get("properties") or {}
        fields: dict[str, Any] = {}
        for key, item in value.items():
            prop = self.spec.deref(props.get(key) or {})
            binary = prop.get("format") in ("binary", "base64") or prop.get("contentMediaType") or (
                prop.get("type") == "array" and self.spec.deref(prop.get("items") or {}).get("format") == "binary")
            if media.startswith("multipart") and binary:
                fields[key] = {"filename": f"{key}.bin", "content": "sample",
                               "content_type": str(prop.get("contentMediaType") or "application/octet-stream")}
            elif isinstance(item, (dict, list)) and not (isinstance(item, list) and all(
                    isinstance(x, (str, int, float, bool)) for x in item)):
                fields[key] = json.dumps(item, separators=(",", ":"))
            elif item is None:
                fields[key] = ""
            else:
                fields[key] = item
        return ("multipart" if media.startswith("multipart") else "form"), fields

    def responses(self, op: dict[str, Any]) -> tuple[list[int], str | None, Any]:
        """(documented success codes, content type to expect, response schema or None)."""
        responses = op.get("responses") or {}
        codes, ranged, schemas, medias = [], False, [], set()
        for code, raw in responses.items():
            text = str(code).upper()
            if text == "2XX":
                ranged = True
            elif text.isdigit() and 200 <= int(text) < 400:
                codes.append(int(text))
            else:
                continue
            if not (text == "2XX" or 200 <= int(text) < 300):
                continue
            resp = self.spec.deref(raw)
            content = resp.get("content") or {}
            medias |= {m.split(";")[0].strip() for m in content}
            media = _json_media(content)
            if media and "schema" in media[1]:
                converted = self.spec.to_json_schema(media[1]["schema"])
                if converted not in schemas:
                    schemas.append(converted)
        status = [] if ranged else sorted(codes)
        content_type = "application/json" if medias == {"application/json"} else None
        schema = schemas[0] if len(schemas) == 1 else ({"anyOf": schemas} if schemas else None)
        return status, content_type, schema

    def endpoint(self, path: str, method: str, op: dict[str, Any], params: list[dict[str, Any]],
                 taken: set[str]) -> tuple[dict[str, Any], Any]:
        where = pointer("paths", path, method)
        op_id = op.get("operationId")
        name = unique(slug(op_id) if op_id else slug(f"{method}-{path.replace('{', '').replace('}', '')}"), taken)
        renames = {}
        ep_params: dict[str, list[Any]] = {}
        query: dict[str, Any] = {}
        headers: dict[str, str] = {}
        for p in params:
            pname, where_in = str(p.get("name")), p.get("in")
            if where_in == "path":
                key = var_name(pname)
                renames[pname] = key
                value = scalarish(parameter_value(self.spec, p))
                ep_params[key] = [value if not isinstance(value, list) else scalarish(value[0] if value else "")]
            elif where_in == "query":
                schema = self.spec.deref(p.get("schema") or {})
                has_example = any(k in p or k in schema for k in ("example", "examples"))
                if p.get("required") or has_example:
                    value = parameter_value(self.spec, p)
                    if schema.get("type") == "array" and not isinstance(value, list):
                        value = [value]
                    query[pname] = scalarish(value)
                else:
                    self.unsent.setdefault("query", []).append(f"{method.upper()} {path}: {pname}")
            elif where_in == "header":
                if pname.lower() == "authorization" and p.get("required") and not op.get(
                        "security", self.spec.doc.get("security")):
                    env = _env_name(pname)
                    headers["Authorization"] = "${env:" + env + "}"
                    self.envs_used[env] = "the Authorization header (scheme included)"
                    continue
                if pname.lower() in _SKIP_HEADERS:
                    self.unsent.setdefault("header", []).append(f"{method.upper()} {path}: {pname} (set by the "
                                                                f"HTTP client or the security scheme)")
                    continue
                if not p.get("required"):
                    self.unsent.setdefault("header", []).append(f"{method.upper()} {path}: {pname}")
                    continue
                if is_secret_key(pname):
                    env = _env_name(pname)
                    headers[pname] = "${env:" + env + "}"
                    self.envs_used[env] = f"the {pname} header"
                else:
                    headers[pname] = str(parameter_value(self.spec, p))
            elif where_in == "cookie" and p.get("required"):
                self.note(f"{where}: cookie parameter {pname} has no equivalent (not sent)")
            elif where_in == "cookie":
                self.unsent.setdefault("cookie", []).append(f"{method.upper()} {path}: {pname}")
        for callback in (op.get("callbacks") or {}):
            self.note(f"{where}/callbacks/{callback}: callbacks are requests the API sends to its client: not tested")
        our_path = re.sub(r"\{([^}]+)\}", lambda m: "{" + renames.get(m.group(1), var_name(m.group(1))) + "}", path)
        ep: dict[str, Any] = {"name": name}
        if method != "get":
            ep["method"] = method.upper()
        ep["path"] = our_path
        if ep_params:
            ep["params"] = ep_params
        if query:
            ep["query"] = query
        headers.update(self.security_headers(op, where))
        if headers:
            ep["headers"] = headers
        has_body, body = self.body(op, where)
        if has_body:
            form = self.form_body(op, where) if body is _FORM else None
            if form is not None:
                ep[form[0]] = form[1]
            elif body is not _FORM:
                ep["json"] = body
        if method == "post" and query_operation(our_path, op):
            ep["safe"] = True   # a query sent as a body: probed, smoke-tested and loaded like a GET
        status, content_type, schema = self.responses(op)
        expect: dict[str, Any] = {}
        if status:
            expect["status"] = status
        if content_type:
            expect["content_type"] = content_type
        if expect:
            ep["expect"] = expect
        tags = [slug(t) for t in op.get("tags") or [] if isinstance(t, str)]
        if tags:
            ep["tags"] = tags
        return ep, schema

    # -- environments --------------------------------------------------------------------------------
    def environments(self, base_url: str | None) -> dict[str, Any]:
        if base_url:
            return {"dev": {"kind": "dev", "base_url": base_url.rstrip("/")}}
        envs: dict[str, Any] = {}
        taken: set[str] = set()
        for i, server in enumerate(self.spec.doc.get("servers") or []):
            if not isinstance(server, dict) or not server.get("url"):
                continue
            url = str(server["url"])
            for var, spec in (server.get("variables") or {}).items():
                url = url.replace("{" + var + "}", str((spec or {}).get("default", "")))
            if not re.match(r"^https?://", url):
                self.note(f"{pointer('servers', i, 'url')}: {server['url']} is relative: "
                          f"base_url set to http://127.0.0.1:8080{url if url.startswith('/') else ''} (use --base-url)")
                url = "http://127.0.0.1:8080" + (url if url.startswith("/") else "")
            label = f"{server.get('description', '')} {url}".lower()
            kind = ("production" if "prod" in label else "staging" if "stag" in label else "dev")
            name = unique(slug(server.get("description") or kind, kind)[:40].strip("-") or kind, taken)
            env: dict[str, Any] = {"kind": kind, "base_url": url.rstrip("/")}
            if kind == "production":
                env["caps"] = {"max_rps": 10, "max_vus": 5, "max_duration": "1m"}
                self.note(f"environment {name}: production, given conservative caps (max_rps 10, max_vus 5, "
                          f"max_duration 1m)")
            envs[name] = env
        if not envs:
            envs["dev"] = {"kind": "dev", "base_url": "http://127.0.0.1:8080"}
            self.note("the spec names no server: base_url set to http://127.0.0.1:8080 (use --base-url)")
        return envs


def import_openapi(text: str, file: str = "openapi.yaml", *, base_url: str | None = None,
                   campaign: str | None = None, team: str | None = None,
                   output: str | None = None) -> ImportResult:
    """A campaign from an OpenAPI 3.0/3.1 document; :class:`SourceError` (every problem, with its
    JSON pointer) when the spec is broken. ``output`` names the campaign file the result will be
    written to (it names the response-schema side file)."""
    spec = load_spec(text, file)
    imp = _Importer(spec, file)
    for note in spec.notes:
        imp.note(note)
    info = spec.doc.get("info") or {}
    name = campaign or slug(info.get("title") or PurePosixPath(file).stem, "api")
    output = output or f"{name}.yaml"
    endpoints, schemas, taken, ops = [], {}, set(), []
    for path, method, op, params in spec.operations():
        if method == "trace":
            imp.note(f"{pointer('paths', path, method)}: TRACE has no equivalent (left out)")
            continue
        ep, schema = imp.endpoint(path, method, op, params, taken)
        endpoints.append(ep)
        ops.append((path, method, op, params))
        if schema is not None:
            schemas[ep["name"]] = schema
    for kind, where in sorted(imp.unsent.items()):
        examples = "; ".join(where[:3]) + ("…" if len(where) > 3 else "")
        imp.note(f"optional {kind} parameters are not sent ({len(where)}, e.g. {examples}): readiness and smoke "
                 f"call each operation in its simplest form; add one to an endpoint's "
                 f"{'query' if kind == 'query' else 'headers'} to send it")
    if spec.doc.get("webhooks"):
        imp.note(f"webhooks ({', '.join(spec.doc['webhooks'])}): requests the API sends, not operations to call: "
                 f"not tested")
    from campaigns.importers.chains import journeys as chain_journeys

    chained = chain_journeys(spec, endpoints, ops, imp.note)
    out: dict[str, Any] = {"version": 1, "campaign": name, "team": team or "unassigned"}
    title = " ".join(str(x) for x in (info.get("title"), info.get("version")) if x)
    out["description"] = f"Imported from OpenAPI {spec.version} ({PurePosixPath(file).name}): {title}".rstrip(": ")
    out["environments"] = imp.environments(base_url)
    out["endpoints"] = endpoints
    reads = [ep["name"] for ep in endpoints if ep.get("method", "GET") == "GET" or ep.get("safe")]
    if reads:
        out["load"] = {"test_type": "load", "rate": 5, "duration": "1m",
                       "scenarios": [{"name": n, "weight": 1, "steps": [{"endpoint": n}]} for n in reads]}
        writes = [ep["name"] for ep in endpoints if ep.get("method", "GET") != "GET" and not ep.get("safe")]
        if writes:
            imp.note(f"load: writes ({', '.join(writes)}) are left out of the load scenarios; add them where "
                     f"the environment can take the data")
    if chained:
        out["e2e"] = {"api_journeys": chained}
        links = [j["name"] for j in chained if j["name"].startswith("link-")]
        lifecycles = [j["name"] for j in chained if not j["name"].startswith("link-")]
        imp.note("e2e.api_journeys: " + ", ".join(filter(None, [
            f"{len(links)} from the spec's links ({', '.join(links[:5])}{'…' if len(links) > 5 else ''})" if links
            else "", f"{len(lifecycles)} create → read/update/delete chains with the created id "
            f"({', '.join(lifecycles[:5])}{'…' if len(lifecycles) > 5 else ''})" if lifecycles else ""])))
    if not team:
        imp.note("team: set to 'unassigned' (use --team)")
    if imp.envs_used:
        imp.note("set before running: " + "; ".join(f"{k} ({v})" for k, v in sorted(imp.envs_used.items())))
    files = {}
    if schemas:
        side = schemas_file_for(output)
        from campaigns.model import Endpoint

        if "response_schema" in Endpoint.model_fields:  # say it in the file once the model has the field
            for ep in endpoints:
                if ep["name"] in schemas:
                    ep["response_schema"] = f"{side}#/endpoints/{ep['name']}"
        doc = {"$comment": f"Response schemas of the 2xx responses documented in {PurePosixPath(file).name} "
                           f"(JSON Schema 2020-12), written by perfcampaign init. Readiness and smoke validate "
                           f"bodies against endpoints.<name>.",
               "source": PurePosixPath(file).name, "openapi": spec.version,
               "endpoints": schemas, "components": spec.components_as_json_schema()}
        files[side] = json.dumps(doc, indent=2, sort_keys=False, default=str) + "\n"
        imp.note(f"response schemas: {len(schemas)} endpoint(s) in {side}; readiness and smoke report a body "
                 f"that does not match them")
    origins = {ep["name"]: (ep.get("method", "GET"), ep["path"]) for ep in endpoints}
    return ImportResult(campaign=out, notes=imp.notes, files=files, source=PurePosixPath(file).name,
                        origins=origins)
