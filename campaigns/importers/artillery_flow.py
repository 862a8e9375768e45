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
import re
from typing import Any
from urllib.parse import urlsplit

from campaigns.importers.result import scalarish, slug, unique, var_name
from campaigns.types import check_secret_value, format_duration, parse_duration

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
TEMPLATE = re.compile(r"\{\{\s*(.+?)\s*\}\}")
_FUNC = re.compile(r"^\$(\w+)(?:\((.*)\))?$")
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

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


# ---------------------------------------------------------------------------------------------
# templates
# ---------------------------------------------------------------------------------------------


def _template(expr: str, cx: Context, where: str, allow_env: bool) -> str:
    """One ``{{ expr }}`` in our syntax (``${env:X}`` for environment references)."""
    env = _ENV.match(expr)
    if env:
        if allow_env:
            return "${env:" + env.group(1) + "}"
        cx.note(f"{where}: {{{{ {expr} }}}} reads the environment: perfcampaign resolves ${{env:NAME}} "
                f"references in headers only; replace it with a variable")
        return "{{ " + expr + " }}"
    fn = _FUNC.match(expr)
    if fn:
        name, args = fn.group(1), (fn.group(2) or "").strip()
        if name == "randomString":
            return "{{ $randomString(" + args + ") }}"
        if name == "randomNumber":
            return "{{ $randomInt(" + args + ") }}"
        if name == "uuid":
            return "{{ $uuid() }}"
        cx.note(f"{where}: no equivalent for the template function ${name} (kept as written; it fails at run time)")
        return "{{ " + expr + " }}"
    root = re.split(r"[.\[]", expr, maxsplit=1)[0]
    if root in cx.renames:
        expr = cx.renames[root] + expr[len(root):]
        root = cx.renames[root]
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
                try:
                    out.setdefault("status", []).extend(int(c) for c in codes)
                except (TypeError, ValueError):
                    cx.note(f"{where}.expect.statusCode {value!r}: not a list of codes (ignored)")
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


def _request(method: str, spec: dict[str, Any], cx: Context, where: str) -> dict[str, Any] | None:
    """One request → a step (and its endpoint, registered in ``cx.endpoints``)."""
    url = spec.get("url")
    if not isinstance(url, str):
        cx.problems.append(f"{cx.file}: {where}.url: required")
        return None
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
    headers = secret_headers(convert_templates(spec.get("headers") or {}, cx, where, allow_env=True), cx, where)
    capture = _capture(spec.get("capture"), cx, where)
    expect = _expect(spec.get("expect"), cx, where)
    for key in ("body", "form", "formData"):
        if key in spec:
            cx.note(f"{where}.{key}: only JSON bodies convert (request sent without a body)")
    if "auth" in spec:
        cx.note(f"{where}.auth: basic auth has no equivalent; send an Authorization header with a "
                f"${{env:NAME}} reference")
    if "ifTrue" in spec:
        cx.conditions.setdefault(str(spec["ifTrue"]).strip(), []).append(where)
    for key in sorted(set(spec) - {"url", "qs", "json", "headers", "capture", "expect", "body", "form", "formData",
                                   "auth", "ifTrue", "name"}):
        cx.note(f"{where}.{key}: no equivalent (ignored)")

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
            count = item.get("count")
            body = item["loop"] if isinstance(item["loop"], list) else []
            if isinstance(count, int) and 1 <= count <= 10 and "over" not in item:
                for _ in range(count):
                    flow_steps(body, cx, f"{here}.loop", steps)
                cx.note(f"{here}: loop of {count} unrolled")
            else:
                flow_steps(body, cx, f"{here}.loop", steps)
                cx.note(f"{here}: loop ({'over ' + str(item['over']) if 'over' in item else f'count {count}'}) "
                        f"has no equivalent: its steps run once")
        elif "parallel" in item:
            flow_steps(item["parallel"] if isinstance(item["parallel"], list) else [], cx, f"{here}.parallel", steps)
            cx.note(f"{here}: parallel requests run one after the other")
        elif "function" in item:
            cx.note(f"{here}: function {item['function']!r} (processor JavaScript) has no equivalent (ignored)")
        elif "log" in item:
            cx.note(f"{here}: log has no equivalent (ignored)")
        else:
            cx.note(f"{here}: {next(iter(item))!r} has no equivalent (ignored)")


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
