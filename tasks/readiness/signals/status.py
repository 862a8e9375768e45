"""Status-derived facts: missing (404/405/501, stub "not implemented" answers), server and client
errors, unreachable targets, bad samples."""

from __future__ import annotations

import re

from ..content import leaves
from ..models import Evidence
from ..probe import Observation, ProbeRecord, is_success
from . import register
from .base import _path, _q

_NOT_IMPL_RE = re.compile(r"not\s+(yet\s+)?implemented|unimplemented|coming\s+soon|under\s+construction",
                          re.IGNORECASE)


_MESSAGE_KEYS = {"message", "msg", "detail", "details", "error", "status", "info", "reason", "description", "result"}


def _stub_message(obs: Observation, rx: re.Pattern) -> bool:
    """A short stub answer: a small JSON object whose message-like field says
    so (``{"message": "Not implemented yet"}``), or a short plain-text body.
    Product data that merely mentions "coming soon" does not count."""
    if len(obs.body) > 400:
        return False
    if obs.is_json:
        j = obs.json
        if isinstance(j, str):
            return bool(rx.search(j))
        if isinstance(j, dict) and len(leaves(j)) <= 4:
            return any(str(k).lower() in _MESSAGE_KEYS and isinstance(v, str) and rx.search(v)
                       for k, v in leaves(j))
        return False
    return len(obs.text.strip()) <= 120 and bool(rx.search(obs.text))


@register
def status_evidence(rec: ProbeRecord) -> list[Evidence]:
    """missing / error / unreachable facts from the primary response."""
    ev: list[Evidence] = []
    p = rec.primary
    if p is None:
        return ev
    if p.error:
        if p.error_kind in ("connect", "timeout"):
            ev.append(Evidence("unreachable", "error", 5.0, f"{p.method} {p.url}: {p.error}"))
        else:
            ev.append(Evidence("request-failed", "error", 3.0, f"{p.method} {p.url}: {p.error}"))
        return ev
    if rec.info.get("not_probed") or rec.info.get("no_own_object"):
        return ev
    s = p.status
    if s in (404, 410):
        bases = rec.labeled("base") or [p]
        tried = [o.meta.get("values", {}) for o in bases if o.ok]
        detail = f"{p.method} {_path(p)} answered {s}"
        if len(tried) > 1:
            detail += f" for every value tried ({', '.join(_q(t, 40) for t in tried)})"
        detail += f": {_q(p.text, 90)!s}"
        route = rec.info.get("route")
        if route is not None and route.exists is False:
            ev.append(Evidence("not-found", "missing", 3.0, f"{detail}; {route.detail}"))
        elif route is not None and route.exists:
            ev.append(Evidence("entity-not-found", "real", 0.0,
                               f"the route exists but no id that exists could be found: {detail}; {route.detail}"
                               + _discovery_note(rec)))
        else:
            why = route.detail if route is not None else "the router's own 404 was not compared"
            ev.append(Evidence("entity-not-found", "real", 0.0,
                               f"a missing route cannot be told from an unknown id: {detail}; {why}"
                               + _discovery_note(rec)))
        coll = rec.first("collection")
        if coll is not None and coll.is_2xx and rec.info.get("kind") == "read":
            ev.append(Evidence("collection-route-ok", "real", 0.0,
                               f"GET {_path(coll)} works ({coll.status}) while the ids tried 404: "
                               f"the route may exist and the test data be wrong"))
    elif s == 405:
        allow = p.header("allow")
        ev.append(Evidence("method-not-allowed", "missing", 3.0,
                           f"{p.method} {_path(p)} answered 405" + (f" (Allow: {allow})" if allow else "")))
    elif s == 501:
        ev.append(Evidence("not-implemented", "missing", 3.0, f"{p.method} {_path(p)} answered 501"))
    elif s is not None and s >= 500:
        ev.append(Evidence("server-error", "error", 3.0, f"{p.method} {_path(p)} answered {s}: {_q(p.text, 90)}"))
    elif s is not None and 400 <= s < 500 and not is_success(p, rec.target.expect_status):
        ev.append(Evidence("client-error", "error", 2.0, f"{p.method} {_path(p)} answered {s}: {_q(p.text, 90)}"))
    elif p.is_2xx and _stub_message(p, _NOT_IMPL_RE):
        ev.append(Evidence("not-implemented", "missing", 3.0,
                           f"{p.method} {_path(p)} answered {s} with {_q(p.text, 90)!r}"))
    elif p.is_2xx and _stub_message(p, re.compile(r"^\s*TODO\b")):
        ev.append(Evidence("not-implemented", "missing", 2.0,
                           f"{p.method} {_path(p)} answered {s} with {_q(p.text, 90)!r}"))
    expect = rec.target.expect_status
    if s is not None and expect and s not in expect:
        ev.append(Evidence("unexpected-status", "error", 0.0, f"got {s}, campaign expects {list(expect)}"))
    bases = rec.labeled("base")
    if p.is_2xx and len(bases) > 1:
        bad = [o for o in bases if o is not p and o.status in (400, 404, 410, 422) and not o.meta.get("discovered")]
        if bad and not p.meta.get("body"):
            found = f" ({p.meta['discovered']})" if p.meta.get("discovered") else ""
            ev.append(Evidence("bad-sample", "real", 0.0,
                               f"sample {bad[0].meta.get('values')} answered {bad[0].status} but "
                               f"{p.meta.get('values')}{found} works: check the campaign's test data"))
    if p.is_2xx and p.meta.get("body") == "empty":
        ev.append(Evidence("bad-sample", "real", 0.0, str(rec.info.get("body_note", ""))))
    if rec.info.get("missing_samples"):
        ev.append(Evidence("missing-sample", "error", 0.0,
                           f"no sample values for {rec.info['missing_samples']}; '1' was used"))
    return ev


def _discovery_note(rec: ProbeRecord) -> str:
    if rec.info.get("kind") != "read":
        return ""
    if any(o.meta.get("discovered") for o in rec.labeled("base")):
        return ""
    return "; no other endpoint listed one, and nothing this run created fits"
