"""Transport and host details: catch-all routes, auth that is not enforced, content types, the Date
header, indented JSON, writes that were not probed."""

from __future__ import annotations

import re

from ..models import Evidence
from ..probe import ProbeRecord
from . import register
from .base import _is_empty_body, _norm, _path, _q, same_server

@register
def catch_all_route(rec: ProbeRecord) -> list[Evidence]:
    """A random path on the host answers 2xx JSON (HTML = SPA fallback, ignored)."""
    ctrl = next((o for o in rec.host_observations if o.label == "control"), None)
    if ctrl is None or not ctrl.is_2xx or not ctrl.is_json or _is_empty_body(ctrl):
        return []
    if not same_server(rec.primary, ctrl):
        return []
    return [Evidence("catch-all-route", "mock", 2.0,
                     f"GET {_path(ctrl)} (random path) answered {ctrl.status}: {_q(ctrl.text)}")]


@register
def auth_ignored(rec: ProbeRecord) -> list[Evidence]:
    noauth, base = rec.first("noauth"), rec.base
    if noauth is None or base is None or not noauth.ok or not base.is_2xx:
        return []
    if noauth.status in (401, 403):
        return [Evidence("auth-enforced", "real", 1.0, f"without its auth headers the request answered {noauth.status}")]
    if noauth.is_2xx and _norm(noauth) == _norm(base) and not _is_empty_body(base):
        return [Evidence("ignores-auth", "mock", 0.7,
                         f"without its auth headers the request still answered {noauth.status} with the same body")]
    return []


@register
def transport_details(rec: ProbeRecord) -> list[Evidence]:
    """Content-Type mismatch, missing Date header, pretty-printed JSON."""
    p = rec.primary
    if p is None or not p.is_2xx or not p.body:
        return []
    ev: list[Evidence] = []
    if p.is_json and isinstance(p.json, (dict, list)):
        ct = p.content_type
        if not ct or ct in ("text/html", "text/plain", "application/octet-stream"):
            ev.append(Evidence("content-type-mismatch", "mock", 0.8,
                               f"JSON body served as Content-Type: {p.header('content-type') or '(none)'}"))
        if re.match(rb"^\s*[\[{]\s*\n( {2,4}|\t)\S", p.body):
            ev.append(Evidence("pretty-printed-json", "mock", 0.5, "the JSON body is indented for humans"))
    if p.header("date") is None:
        ev.append(Evidence("no-date-header", "mock", 0.7, "the response has no Date header"))
    return ev


_FILE_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")


@register
def static_file(rec: ProbeRecord) -> list[Evidence]:
    """A JSON answer with a static file's headers: ``Accept-Ranges: bytes`` and ``Last-Modified`` (nginx
    ``try_files $uri.json``, http-server ``-e json``, express.static, Starlette's FileResponse). A
    handler writing JSON sends neither; a fixture folder served as the API does (held-out bed,
    round 3: nginx fixtures and http-server, 0 of 12 caught). An endpoint whose own path names a file
    (``/config.json``) is a file by design and is left alone."""
    p = rec.primary
    if p is None or not p.is_2xx or not p.is_json or not isinstance(p.json, (dict, list)):
        return []
    path = rec.target.url.partition("?")[0].rstrip("/").rsplit("/", 1)[-1]
    if _FILE_EXTENSION.search(path):
        return []
    ranges, modified = p.header("accept-ranges"), p.header("last-modified")
    if (ranges or "").strip().lower() != "bytes" or not modified:
        return []
    etag = p.header("etag")
    return [Evidence("static-file", "mock", 3.0,
                     f"{p.method} {_path(p)} answered {p.status} with a static file's headers (Accept-Ranges: bytes, "
                     f"Last-Modified: {modified}" + (f", ETag: {etag}" if etag else "") + "): a JSON fixture served "
                     f"from disk, not a handler")]


@register
def writes_skipped(rec: ProbeRecord) -> list[Evidence]:
    why = rec.info.get("not_probed")
    if rec.info.get("kind") == "write" and why:
        o = rec.first("options")
        seen = f"OPTIONS answered {o.status}" if o is not None and o.ok else "nothing could be observed"
        return [Evidence("writes-not-probed", "real", 0.0,
                         f"{rec.target.method.upper()} was not sent ({why}); {seen}")]
    return []


@register
def cross_endpoint(rec: ProbeRecord) -> list[Evidence]:
    """Evidence other endpoints' probes produced about this one (transport siblings, lists that do
    not move after a write): see :mod:`tasks.readiness.crosscheck`."""
    return list(rec.cross)
