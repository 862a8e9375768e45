"""Artillery flows → endpoints and steps (the half of the Artillery importer that reads
``scenarios[].flow``; ``artillery.py`` reads ``config`` and assembles the campaign).

Every request becomes a step naming an endpoint derived from its method, path and query
(``get /api/bounties?limit=20`` → ``get-api-bounties``). Values only a flow has — captured
variables — never reach an endpoint: readiness and smoke send endpoints on their own, so a
captured path segment becomes a ``{placeholder}`` with a sample, and the step carries the real
``{{ value }}``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from campaigns.importers.result import scalarish, slug, unique, var_name
from campaigns.templating import BUILTINS
from campaigns.types import check_secret_value, format_duration, parse_duration

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
TEMPLATE = re.compile(r"\{\{\{?\s*(.+?)\s*\}?\}\}")
_FUNC = re.compile(r"^\$(\w+)(?:\(([^()]*)\))?$")
_ENV = re.compile(r"^\$(?:env|processEnvironment)\.([A-Za-z_][A-Za-z0-9_]*)$")


class Context:
    """Per-import state: variables, captures, endpoints, notes."""

    def __init__(self, file: str):
        self.file = file
        self.notes: list[str] = []
        self.problems: list[str] = []
        self.scalars: dict[str, Any] = {}
        self.lists: dict[str, list[Any]] = {}
        self.payload_fields: dict[str, str] = {}     # field → feeder name
        self.captured: set[str] = set()
        self.used: dict[str, set[str]] = {}         # variable → scenarios that use it
        self.endpoints: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.names: set[str] = set()
        self.origin: tuple[str, str] = ("", "")     # scheme://host of the target
        self.base_path = ""                         # the target's own path (e.g. /v1)
        self.secret_envs: dict[str, str] = {}
        self.scenario = ""
        self.conditions: dict[str, list[str]] = {}  # ifTrue expression → steps
        self.renames: dict[str, str] = {}           # variable as written → its template name
        self.feeders: set[str] = set()              # data feeder names
        self.loops: list[tuple[str, str]] = []      # (count var, element var) of the loops we are in
        self.undefined: dict[str, str] = {}         # variable → why it is defined as 'undefined'
        self.env_refs: set[str] = set()             # environment variables the script reads
        self.target = ""                            # config.target as written
        self.payload_rows: dict[str, list[dict[str, str]]] = {}  # loadAll payloads, read at import time
        self.loop_fallbacks: dict[str, str] = {}
        self.default_cookies: dict[str, Any] = {}     # config.defaults.cookie
        self.source_dir: Path | None = None            # the script's folder (payload files are relative to it)
        self.output_dir: Path | None = None            # the campaign file's folder
        self.macros: dict[str, str] = {}               # variables whose value is itself a template
        self.feeder_rows: dict[str, list[dict[str, str]]] = {}  # payload rows read at import time
        self.redirects = False                         # a request that Artillery lets follow redirects
        self.scripted = False                          # the script has processor functions

    def rebase(self, path: str) -> str:
        """A path relative to the script, made relative to the campaign file (``-o`` elsewhere)."""
        if self.source_dir is None or self.output_dir is None or os.path.isabs(path):
            return path
        return Path(os.path.relpath((self.source_dir / path).resolve(), self.output_dir.resolve())).as_posix()

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


# ---------------------------------------------------------------------------------------------
# templates
# ---------------------------------------------------------------------------------------------


_ARTILLERY_VARS = {
    "$environment": "the name of the environment given with -e",
    "$testId": "the test run's id",
    "$dirname": "the script's folder",
    "$scenarioFile": "the script's path",
}


def _undefined(cx: Context, name: str, why: str) -> str:
    """A template the campaign cannot compute: a variable holding 'undefined' (what Artillery sends
    for a value it does not have), with the reason in the notes."""
    var = var_name(name.lstrip("$"))
    cx.undefined.setdefault(var, why)
    return "{{ " + var + " }}"


def _template(expr: str, cx: Context, where: str, allow_env: bool) -> str:
    """One ``{{ expr }}`` in our syntax (``${env:X}`` for environment references in headers)."""
    expr = expr.strip().strip("{}").strip()
    env = _ENV.match(expr)
    if env:
        cx.env_refs.add(env.group(1))
        return "${env:" + env.group(1) + "}" if allow_env else "{{ $env." + env.group(1) + " }}"
    for i, (count_var, element_var) in enumerate(reversed(cx.loops)):
        if i:  # an outer loop's value inside an inner loop has no equivalent
            break
        root = re.split(r"[.\[]", expr, maxsplit=1)[0]
        if root == count_var:
            return "{{ $loopCount }}"
        if root == element_var:
            return "{{ $loopElement" + expr[len(root):] + " }}"
    if expr in ("target",) or expr.startswith("target."):
        return cx.target + expr[len("target"):] if expr == "target" else _undefined(cx, expr, "config.target has "
                                                                                   "no fields")
    if expr in _ARTILLERY_VARS:
        return _undefined(cx, expr, f"{{{{ {expr} }}}} ({_ARTILLERY_VARS[expr]}) is set by the artillery command "
                                    f"line; give the variable a value under variables:")
    if expr in ("$loopCount", "$loopElement") or expr.startswith("$loopElement"):
        return _undefined(cx, expr, f"{{{{ {expr} }}}} is used outside a loop")
    if "|" in expr or (expr.startswith("$") and "(" in expr and not _FUNC.match(expr)):
        return _undefined(cx, "expression", f"{{{{ {expr} }}}} is not Artillery template syntax (filters such as "
                                            f"'| pad()' and nested calls are not rendered by Artillery either)")
    fn = _FUNC.match(expr)
    if fn:
        name, args = fn.group(1), (fn.group(2) or "").strip()
        if name == "uuid" and fn.group(2) is None:
            cx.note(f"{where}: {{{{ $uuid }}}} is one id per virtual user in Artillery; here each use draws a new "
                    f"one (capture it into a variable where the same id must repeat)")
            return "{{ $uuid() }}"
        if name in BUILTINS:
            return "{{ $" + name + "(" + args + ") }}"
        return _undefined(cx, f"${name}", f"{{{{ {expr} }}}} is not an Artillery built-in (a processor function or "
                                          f"plugin provides it, and perfcampaign runs no JavaScript); give the "
                                          f"variable a value under variables:, or use a built-in such as "
                                          f"$timestamp(), $randomEmail(), $randomNumber(a, b), $uuid()")
    root = re.split(r"[.\[]", expr, maxsplit=1)[0]
    if root in cx.renames:
        expr = cx.renames[root] + expr[len(root):]
        root = cx.renames[root]
    if root in cx.macros and expr == root:
        macro = cx.macros[root]
        if macro.startswith("{{ $randomFromArray("):
            return macro
        inner = TEMPLATE.fullmatch(macro.strip())
        cx.note(f"{where}: {{{{ {expr} }}}} holds the template {macro!r}: written out where it is used")
        return _template(inner.group(1), cx, where, allow_env) if inner else convert_templates(macro, cx, where,
                                                                                               allow_env)
    cx.used.setdefault(root, set()).add(cx.scenario)
    if root in cx.lists:
        return "{{ vars." + expr + " }}"
    if root in cx.payload_fields:
        return "{{ " + cx.payload_fields[root] + "." + expr + " }}"
    return "{{ " + expr + " }}"


def convert_templates(value: Any, cx: Context, where: str, allow_env: bool = False) -> Any:
    """Rewrite every template in ``value`` (recursively)."""
    if isinstance(value, str):
        return TEMPLATE.sub(lambda m: _template(m.group(1), cx, where, allow_env), value)
    if isinstance(value, dict):
        return {str(k): convert_templates(v, cx, where, allow_env) for k, v in value.items()}
    if isinstance(value, list):
        return [convert_templates(v, cx, where, allow_env) for v in value]
    return value


def _captured_in(value: Any, captured: set[str]) -> bool:
    """Whether ``value`` holds a template naming a captured variable."""
    if isinstance(value, str):
        return any(re.split(r"[.\[]", m.group(1).strip(), maxsplit=1)[0] in captured
                   for m in TEMPLATE.finditer(value))
    if isinstance(value, dict):
        return any(_captured_in(v, captured) for v in value.values())
    if isinstance(value, list):
        return any(_captured_in(v, captured) for v in value)
    return False


def _sampled(value: Any, captured: set[str]) -> Any:
    """``value`` with captured-variable templates replaced by a sample (what smoke and readiness send)."""
    if isinstance(value, str):
        whole = TEMPLATE.fullmatch(value.strip())
        if whole and whole.group(1).split(".")[0].split("[")[0] in captured:
            return 1
        return TEMPLATE.sub(lambda m: "1" if re.split(r"[.\[]", m.group(1), maxsplit=1)[0] in captured
                            else m.group(0), value)
    if isinstance(value, dict):
        return {k: _sampled(v, captured) for k, v in value.items()}
    if isinstance(value, list):
        return [_sampled(v, captured) for v in value]
    return value


def secret_headers(headers: dict[str, Any], cx: Context, where: str) -> dict[str, str]:
    """Headers as strings; a literal secret becomes an ``${env:NAME}`` reference (and a note)."""
    out = {}
    for key, value in headers.items():
        text = str(value)
        try:
            check_secret_value(key, text)
        except ValueError:
            env = cx.secret_envs.setdefault(key.lower(), var_name(f"ARTILLERY_{key}").upper())
            scheme = re.match(r"^(bearer|basic|token|apikey|digest)\s+", text, re.IGNORECASE)
            text = (scheme.group(0) if scheme else "") + "${env:" + env + "}"
            cx.note(f"{where}: header {key} held a literal secret; it is now ${{env:{env}}} — set {env} before running")
        out[str(key)] = text
    return out


def seconds(value: Any, where: str, cx: Context) -> float | None:
    """Seconds from a number or Artillery's ``"2min"``/``"1 hour"``/``"30s"``; a problem when unreadable."""
    if isinstance(value, str):
        value = re.sub(r"\s+", "", value.lower())
        value = re.sub(r"(\d)(seconds?|secs?)$", r"\1s", value)
        value = re.sub(r"(\d)(minutes?|mins?)$", r"\1m", value)
        value = re.sub(r"(\d)(hours?|hrs?)$", r"\1h", value)
    if isinstance(value, str) and "{{" in value:
        cx.note(f"{where}: {value!r} is computed at run time in Artillery (a template): left out")
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        cx.problems.append(f"{cx.file}: {where}: {exc}")
        return None


# ---------------------------------------------------------------------------------------------
# flows
# ---------------------------------------------------------------------------------------------


def _path_and_query(url: str, cx: Context, where: str) -> str | None:
    """The path (with any query string) relative to the target; None when the URL leaves it."""
    if re.match(r"^[a-z][a-z0-9+.-]*://", url, re.IGNORECASE):
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != cx.origin:
            cx.note(f"{where}: {url} is outside the target {cx.origin[0]}://{cx.origin[1]}: step left out "
                    f"(a campaign sends traffic to its environment's hosts only)")
            return None
        path = parts.path
        if cx.base_path and (path == cx.base_path or path.startswith(cx.base_path + "/")):
            path = path[len(cx.base_path):]
        url = path + (f"?{parts.query}" if parts.query else "")
    if not url.startswith("/"):
        url = "/" + url
    return url


def _endpoint_name(method: str, path: str) -> str:
    words = [method]
    for seg in path.split("?", 1)[0].split("/"):
        if not seg:
            continue
        m = TEMPLATE.fullmatch(seg) or re.fullmatch(r"\{(\w+)\}", seg)
        word = m.group(1).strip().split("(")[0].rsplit(".", 1)[-1] if m else seg
        words.append(slug(re.sub(r"[$()\s]|\{\{|\}\}", " ", word), "x"))
    return slug("-".join(words if len(words) > 1 else words + ["root"]))


def _placeholders(path: str, captured: set[str]) -> tuple[str, dict[str, str]]:
    """Captured-variable templates in the path → ``{var}`` placeholders (endpoint params)."""
    found: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        expr = m.group(1).strip()
        if re.fullmatch(r"[A-Za-z_]\w*", expr) and expr in captured:
            found[expr] = m.group(0)
            return "{" + expr + "}"
        return m.group(0)

    return TEMPLATE.sub(sub, path), found


def _expect(raw: Any, cx: Context, where: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    items = raw if isinstance(raw, list) else [{k: v} for k, v in raw.items()] if isinstance(raw, dict) else []
    out: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            if key == "statusCode":
                codes = value if isinstance(value, list) else [value]
                for code in codes:
                    text = convert_templates(str(code), cx, where).strip()
                    if "$loop" in text:  # a table-driven test: the loop's item says which status
                        out.setdefault("status", []).append(text)
                        continue
                    m = TEMPLATE.fullmatch(text)
                    if m and m.group(1).strip() in cx.scalars:
                        text = str(cx.scalars[m.group(1).strip()])
                    try:
                        out.setdefault("status", []).append(int(text))
                    except ValueError:
                        cx.note(f"{where}.expect.statusCode {code!r}: not a status code the file gives (ignored)")
                if not out.get("status"):
                    out.pop("status", None)
            elif key == "contentType":
                out["content_type"] = "application/json" if value == "json" else str(value)
            elif key == "hasProperty":
                out.setdefault("fields", []).append(str(value))
            else:
                cx.note(f"{where}.expect.{key}: no equivalent (perfcampaign checks status, content type, "
                        f"fields, values and body text)")
    return out


def _capture(raw: Any, cx: Context, where: str) -> dict[str, str]:
    items = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    out = {}
    for item in items:
        if not isinstance(item, dict) or "as" not in item:
            continue
        name = var_name(item["as"])
        if "json" in item:
            path = str(item["json"])
            if ".." in path or "?(" in path:
                cx.note(f"{where}.capture {path}: recursive and filter JSON paths are not supported")
                continue
            out[name] = path if path.startswith("$") else "$." + path
            cx.captured.add(name)
            for key in sorted(set(item) - {"json", "as", "strict", "transform"}):
                cx.note(f"{where}.capture.{key}: no equivalent (ignored)")
            if "transform" in item:
                cx.note(f"{where}.capture.transform: no equivalent (the raw value is captured)")
        else:
            kind = next((k for k in item if k != "as"), "?")
            cx.note(f"{where}.capture by {kind}: only JSON captures convert ({name} is never set)")
    return out


_LEADING = re.compile(r"^\s*\{\{\{?\s*([^{}]+?)\s*\}?\}\}")
_REQUEST_KEYS = {"url", "uri", "qs", "json", "headers", "capture", "expect", "body", "form", "formData", "auth",
                 "ifTrue", "name", "cookie", "followRedirect", "gzip", "probability", "beforeRequest",
                 "afterResponse", "setContentLengthHeader", "match"}


def _resolve_url(url: str, cx: Context, where: str) -> tuple[str, bool] | None:
    """A URL whose start is a variable (``{{ base }}/health``): the variable's value when the file gives it;
    ``(url, looped)`` where ``looped`` says the whole URL comes from a loop item."""
    m = _LEADING.match(url)
    if not m:
        return url, False
    expr = m.group(1).strip()
    rest = url[m.end():]
    root = re.split(r"[.\[]", expr, maxsplit=1)[0]
    root = cx.renames.get(root, root)
    value: Any = None
    if expr == "target":
        value = cx.target
    elif root in cx.scalars and root == expr:
        value = cx.scalars[root]
    if isinstance(value, str) and value:
        return value + rest, False  # Artillery concatenates the text as it is
    if cx.loops and root in (cx.loops[-1][1], "$loopElement") and not rest.startswith(("http", "//")):
        return url, True  # the item holds the path (a table-driven test)
    cx.note(f"{where}.url {url!r}: it starts with {{{{ {expr} }}}}, a value only the run has; perfcampaign sends "
            f"every request to the environment's base_url, so this one goes to base_url{rest or '/'}")
    return rest or "/", False


def _request(method: str, spec: dict[str, Any], cx: Context, where: str) -> dict[str, Any] | None:
    """One request → a step (and its endpoint, registered in ``cx.endpoints``)."""
    url = spec.get("url", spec.get("uri"))
    if not isinstance(url, str) or not url.strip():
        cx.problems.append(f"{cx.file}: {where}.url: required")
        return None
    resolved = _resolve_url(url, cx, where)
    if resolved is None:
        return None
    url, from_loop = resolved
    if from_loop:
        path = url
    else:
        path = _path_and_query(url, cx, where)
        if path is None:
            return None
    path = convert_templates(path, cx, where)
    qs = spec.get("qs") or {}
    if not isinstance(qs, dict):
        cx.note(f"{where}.qs: not a mapping (ignored)")
        qs = {}
    query = {str(k): scalarish(v) for k, v in convert_templates(qs, cx, where).items()}
    body = convert_templates(spec["json"], cx, where) if "json" in spec else None
    raw_headers = dict(spec.get("headers") or {}) if isinstance(spec.get("headers"), dict) else {}
    if isinstance(spec.get("auth"), dict) and {"user", "pass"} <= set(spec["auth"]):
        import base64

        user, password = str(spec["auth"]["user"]), str(spec["auth"]["pass"])
        if "{{" in user + password:
            cx.note(f"{where}.auth: basic auth from templates has no equivalent; send an Authorization header "
                    f"(Basic ${{env:NAME}})")
        else:
            raw_headers.setdefault("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    elif "auth" in spec:
        cx.note(f"{where}.auth: only {{user, pass}} (basic auth) converts")
    cookies = {**cx.default_cookies, **(spec.get("cookie") if isinstance(spec.get("cookie"), dict) else {})}
    if cookies:
        raw_headers.setdefault("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))
    headers = secret_headers(convert_templates(raw_headers, cx, where, allow_env=True), cx, where)
    capture = _capture(spec.get("capture"), cx, where)
    expect = _expect(spec.get("expect"), cx, where)
    if "body" in spec:
        cx.note(f"{where}.body: a raw text body has no equivalent (only JSON bodies convert): sent without a body")
    form_kind, form = _form(spec, cx, where)
    if "probability" in spec:
        cx.note(f"{where}.probability {spec['probability']}: sent every time (Artillery sends it "
                f"{spec['probability']}% of the time)")
    for key in ("beforeRequest", "afterResponse"):
        if key in spec:
            cx.note(f"{where}.{key}: processor functions (JavaScript) are not run (ignored)")
    if spec.get("followRedirect") is not False:
        cx.redirects = True
    if "gzip" in spec:
        cx.note(f"{where}.gzip: responses are read as the server sends them (ignored)")
    if "match" in spec:
        cx.note(f"{where}.match: legacy match checks have no equivalent (use expect)")
    if "ifTrue" in spec:
        cx.conditions.setdefault(str(spec["ifTrue"]).strip(), []).append(where)
    for key in sorted(set(spec) - _REQUEST_KEYS):
        cx.note(f"{where}.{key}: no equivalent (ignored)")

    looped = any("$loop" in json.dumps(v, default=str) for v in (path, query, headers, body, expect))
    if looped:  # a request that changes with the loop's pass: an inline request, unrolled with the loop
        name = unique(slug(spec["name"]) if isinstance(spec.get("name"), str) else _endpoint_name(method, path),
                      cx.names)
        request: dict[str, Any] = {"method": method.upper(), "path": path}
        if query:
            request["query"] = query
        if headers:
            request["headers"] = headers
        if body is not None:
            request["json"] = body
        inline: dict[str, Any] = {"name": name, "request": request}
        if capture:
            inline["capture"] = capture
        if expect:
            inline["expect"] = expect
        if "ifTrue" in spec and re.fullmatch(r"[A-Za-z_]\w*", str(spec["ifTrue"]).strip()):
            inline["if"] = str(spec["ifTrue"]).strip()
        return inline

    # the endpoint: captured values become placeholders / samples; the step keeps the real ones
    path_t, params = _placeholders(path, cx.captured)
    q_endpoint = {}
    for k, v in query.items():
        if isinstance(v, str) and _captured_in(v, cx.captured):
            expr = TEMPLATE.fullmatch(v.strip())
            var = expr.group(1).strip() if expr else ""
            if re.fullmatch(r"[A-Za-z_]\w*", var):
                path_t += ("&" if "?" in path_t else "?") + f"{k}={{{var}}}"
                params[var] = v
                continue
            cx.note(f"{where}.qs.{k}: a captured value inside a query value is sent as the sample 1")
            v = _sampled(v, cx.captured)
        q_endpoint[k] = v
    key = (method.upper(), path_t, json.dumps(q_endpoint, sort_keys=True, default=str))
    ep = cx.endpoints.get(key)
    static_headers = {k: v for k, v in headers.items() if "{{" not in v}
    if ep is None:
        name = unique(_endpoint_name(method, path_t), cx.names)
        if isinstance(spec.get("name"), str) and slug(spec["name"], "") and slug(spec["name"]) not in cx.names:
            cx.names.discard(name)
            name = unique(slug(spec["name"]), cx.names)
        ep = {"name": name}
        if method != "get":
            ep["method"] = method.upper()
        ep["path"] = path_t
        if params:
            ep["params"] = {p: [1] for p in params}
        if q_endpoint:
            ep["query"] = q_endpoint
        if static_headers:
            ep["headers"] = static_headers
        if body is not None:
            ep["json"] = _sampled(body, cx.captured)
        elif form_kind is not None:
            ep[form_kind] = _sampled(form, cx.captured)
        if expect:
            ep["expect"] = expect
        cx.endpoints[key] = ep
    step: dict[str, Any] = {"endpoint": ep["name"]}
    if params:
        step["params"] = {p: [tmpl] for p, tmpl in params.items()}
    step_headers = {k: v for k, v in headers.items() if ep.get("headers", {}).get(k) != v}
    if step_headers:
        step["headers"] = step_headers
    if body is not None and body != ep.get("json"):
        step["json"] = body
    if form_kind is not None and form != ep.get(form_kind):  # the step's own values, encoded as the endpoint's
        from campaigns.bodies import encode_form

        step["json"] = encode_form(form)[0] if form_kind == "form" else None
        if step["json"] is None:
            del step["json"]
            cx.note(f"{where}.formData: values captured at run time are sent as the endpoint's samples")
    if capture:
        step["capture"] = capture
    if expect is not None and expect != ep.get("expect"):
        step["expect"] = expect
    if "ifTrue" in spec:
        cond = str(spec["ifTrue"]).strip()
        if re.fullmatch(r"[A-Za-z_]\w*", cond):
            step["if"] = cond
    return step


def flow_steps(items: list[Any], cx: Context, where: str, steps: list[dict[str, Any]]) -> None:
    for j, item in enumerate(items):
        here = f"{where}[{j}]"
        if not isinstance(item, dict) or not item:
            cx.note(f"{here}: not a step (ignored)")
            continue
        method = next((m for m in METHODS if m in item), None)
        if method is not None:
            spec = item[method]
            if isinstance(spec, str):
                spec = {"url": spec}
            step = _request(method, spec or {}, cx, here)
            if step is not None:
                steps.append(step)
        elif "think" in item:
            pause = seconds(item["think"], f"{here}.think", cx)
            if pause is None:
                continue
            if steps:
                steps[-1]["think"] = format_duration(parse_duration(steps[-1].get("think", 0)) + pause)
            else:
                cx.note(f"{here}: think before the first request has no equivalent (ignored)")
        elif "loop" in item:
            _loop(item, cx, here, steps)
        elif "parallel" in item:
            flow_steps(item["parallel"] if isinstance(item["parallel"], list) else [], cx, f"{here}.parallel", steps)
            cx.note(f"{here}: parallel requests run one after the other")
        elif "function" in item:
            cx.note(f"{here}: function {item['function']!r} (processor JavaScript) has no equivalent (ignored)")
        elif "log" in item:
            cx.note(f"{here}: log has no equivalent (ignored)")
        else:
            cx.note(f"{here}: {next(iter(item))!r} has no equivalent (ignored)")


MAX_FILE_PART = 1_000_000


def _form(spec: dict[str, Any], cx: Context, where: str) -> tuple[str | None, dict[str, Any] | None]:
    """Artillery's ``form`` (urlencoded) and ``formData`` (multipart; ``fromFile`` parts read now)."""
    if isinstance(spec.get("form"), dict):
        return "form", {str(k): scalarish(v) for k, v in convert_templates(spec["form"], cx, where).items()}
    if not isinstance(spec.get("formData"), dict):
        for key in ("form", "formData"):
            if key in spec:
                cx.note(f"{where}.{key}: not a mapping of fields (sent without a body)")
        return None, None
    out: dict[str, Any] = {}
    for key, value in spec["formData"].items():
        if isinstance(value, dict) and "fromFile" in value:
            path = (cx.source_dir / str(value["fromFile"])) if cx.source_dir else Path(str(value["fromFile"]))
            try:
                data = path.read_bytes()[:MAX_FILE_PART].decode("utf-8")
            except (OSError, UnicodeDecodeError):
                data = "sample"
                cx.note(f"{where}.formData.{key}: {value['fromFile']} could not be read as text at import time: the "
                        f"part is sent with the content 'sample'")
            out[str(key)] = {"filename": Path(str(value["fromFile"])).name, "content": data,
                             "content_type": str(value.get("contentType") or "application/octet-stream")}
            cx.note(f"{where}.formData.{key}: the file {value['fromFile']} is written into the campaign "
                    f"({len(data)} characters; import again after it changes)")
        elif isinstance(value, dict) and "value" in value:
            out[str(key)] = scalarish(convert_templates(value["value"], cx, where))
        else:
            out[str(key)] = scalarish(convert_templates(value, cx, where))
    return "multipart", out


MAX_LOOP_ITEMS = 1000


def _loop(item: dict[str, Any], cx: Context, here: str, steps: list[dict[str, Any]]) -> None:
    """Artillery's ``loop`` (count, range, over a list or a variable) → a campaign ``loop`` item."""
    body = item["loop"] if isinstance(item["loop"], list) else []
    count_var = str(item.get("loopValue") or "$loopCount")
    element_var = str(item.get("loopElement") or "$loopElement")
    inner: list[dict[str, Any]] = []
    cx.loops.append((count_var, element_var))
    try:
        flow_steps(body, cx, f"{here}.loop", inner)
    finally:
        cx.loops.pop()
    for key in sorted(set(item) - {"loop", "count", "over", "loopValue", "loopElement", "whileTrue"}):
        cx.note(f"{here}.{key}: no equivalent on a loop (ignored)")
    if not inner:
        cx.note(f"{here}: the loop holds no request that converts: left out")
        return
    count, over = item.get("count"), item.get("over")
    if "whileTrue" in item:
        cx.note(f"{here}.whileTrue: {item['whileTrue']!r} is a processor function (JavaScript, not run here): "
                f"the loop's steps run once")
        steps.extend(_bind_once(inner))
        return
    if over is not None:
        items = _over_items(over, cx, here)
        if items is None:
            steps.extend(_bind_once(inner, cx.loop_fallbacks.get(here)))
            return
        items = _item_urls(inner, items, cx, here)
        if items:
            steps.append({"loop": inner, "over": items})
        return
    if count is None:
        cx.note(f"{here}: a loop without count or over repeats until the virtual user is stopped in Artillery; "
                f"here its steps run once (give it a count)")
        steps.extend(_bind_once(inner))
        return
    n = _count(count, cx, here)
    if n is None:
        steps.extend(_bind_once(inner))
        return
    if n > 0:
        steps.append({"loop": inner, "count": n})


def _count(count: Any, cx: Context, here: str) -> int | None:
    text = str(count).strip()
    if isinstance(count, bool):
        return None
    if re.fullmatch(r"\d+", text):
        n = int(text)
        if n == 0:
            cx.note(f"{here}: count 0: the loop never runs (left out)")
        return n
    m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", text)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        cx.note(f"{here}: count {text!r} runs passes {lo} to {hi - 1} in Artillery: {max(hi - lo, 0)} passes here, "
                f"with {{{{ $loopCount }}}} counted from 0")
        return max(hi - lo, 0)
    cx.note(f"{here}: count {count!r} is computed at run time in Artillery (a template): its steps run once")
    return None


def _over_items(over: Any, cx: Context, here: str) -> list[Any] | None:
    """The literal items a loop goes over, or None (with a note) when only the run has them."""
    if isinstance(over, list):
        return over or None
    name = cx.renames.get(str(over), str(over))
    if name in cx.payload_rows:
        rows = cx.payload_rows[name]
        if len(rows) > MAX_LOOP_ITEMS:
            cx.note(f"{here}: over {over}: the first {MAX_LOOP_ITEMS} of {len(rows)} rows (the loop is unrolled)")
        cx.note(f"{here}: over {over}: the {min(len(rows), MAX_LOOP_ITEMS)} rows of its CSV are written into the "
                f"loop (import again after editing the CSV)")
        return rows[:MAX_LOOP_ITEMS]
    if name in cx.scalars and isinstance(cx.scalars[name], list):
        return cx.scalars[name] or None
    if name in cx.lists:
        cx.note(f"{here}: over {over}: Artillery gives each virtual user one value of the list variable {over}, "
                f"so the loop goes over that one value's items; here it goes over the whole list")
        return cx.lists[name] or None
    cx.note(f"{here}: over {over}: a value known only at run time (captured or set by a function) has no "
            f"equivalent: the loop's steps run once, with {{{{ $loopElement }}}} as {{{{ {name}[0] }}}}")
    cx.loop_fallbacks[here] = name
    return None


_ITEM_PATH = re.compile(r"^\{\{ \$loopElement((?:\.[A-Za-z_]\w*)*) \}\}$")


def _item_urls(inner: list[dict[str, Any]], items: list[Any], cx: Context, here: str) -> list[Any]:
    """Items that hold a request's whole URL (a table-driven test): a URL of the target becomes its
    path, one outside it is left out (traffic stays on the environment's hosts)."""
    fields = {m.group(1) for st in inner for m in [_ITEM_PATH.match(str((st.get("request") or {}).get("path", "")))]
              if m}
    if not fields:
        return items
    out = []
    for n, item in enumerate(items):
        keep = item
        for field in fields:
            keys = [k for k in field.split(".") if k]
            value: Any = item
            for k in keys:
                value = value.get(k) if isinstance(value, dict) else None
            if not isinstance(value, str):
                continue
            path = _path_and_query(value, cx, f"{here}.over[{n}]")
            if path is None:
                keep = None
                break
            if path != value:
                keep = json.loads(json.dumps(keep))
                target = keep
                for k in keys[:-1]:
                    target = target[k]
                if keys:
                    target[keys[-1]] = path
                else:
                    keep = path
        if keep is not None:
            out.append(keep)
    return out


def _bind_once(inner: list[dict[str, Any]], element: str | None = None) -> list[dict[str, Any]]:
    """Loop steps run once: ``$loopCount`` is 0, ``$loopElement`` the first item of ``element`` (a
    variable) or, without one, 0 (Artillery's element is the pass number when there is no ``over``)."""
    text = json.dumps(inner)
    text = re.sub(r"\{\{\s*\$loopCount\s*\}\}", "0", text)
    if element is None:
        text = re.sub(r"\{\{\s*\$loopElement\s*\}\}", "0", text)
    else:
        text = re.sub(r"\{\{\s*\$loopElement", "{{ " + element + "[0]", text)
    return json.loads(text)


def walk_requests(items: list[Any]):
    """Every request spec of a flow (loops and parallel blocks included)."""
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        for m in METHODS:
            if isinstance(item.get(m), dict):
                yield item[m]
        for key in ("loop", "parallel"):
            if isinstance(item.get(key), list):
                yield from walk_requests(item[key])
