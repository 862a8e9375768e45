"""What every signal module shares: quoting, paths, body normalisation, and the "same server" test."""

from __future__ import annotations

import re
from typing import Any, Callable

from ..content import NOT_JSON, canonical, extract_list, normalize_for_compare
from ..models import Evidence
from ..probe import USER_AGENT, Observation, ProbeRecord

Signal = Callable[[ProbeRecord], list[Evidence]]


def _q(v: Any, n: int = 70) -> str:
    s = v if isinstance(v, str) else canonical(v)
    return s if len(s) <= n else s[: n - 1] + "…"


def _path(obs: Observation) -> str:
    m = re.match(r"^[a-z]+://[^/]+(.*)$", obs.url)
    return (m.group(1) if m else obs.url) or "/"


def _ms(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.1f}" for v in values) + "] ms"


_VOLATILE_HEADERS = {"date", "content-length", "content-type", "etag", "last-modified", "vary", "location",
                     "transfer-encoding", "connection", "keep-alive", "set-cookie", "x-total-count",
                     "cache-control", "expires", "pragma", "age", "content-encoding", "x-request-id",
                     "access-control-expose-headers", "content-security-policy", "x-content-type-options"}


def echoes_request(obs: Observation | None) -> bool:
    """The body mirrors the request (httpbin's ``/anything``, ``/headers``, ``/etag/{etag}``; a
    debugging echo in a real app): it quotes the probe's own User-Agent, which nothing but an echo
    of the request would. Such a body is a function of the request, not a phantom resource."""
    return obs is not None and obs.ok and USER_AGENT in obs.text


def same_server(a: Observation | None, b: Observation | None) -> bool:
    """Heuristic: were two responses produced by the same server software?
    (Same Server / X-Powered-By and mostly the same header names.)"""
    if a is None or b is None or not a.ok or not b.ok:
        return False
    for h in ("server", "x-powered-by"):
        va, vb = (a.header(h) or "").lower(), (b.header(h) or "").lower()
        if va != vb:
            return False
    na = {k.lower() for k, _ in a.headers} - _VOLATILE_HEADERS
    nb = {k.lower() for k, _ in b.headers} - _VOLATILE_HEADERS
    if not na and not nb:
        return True
    return len(na & nb) / max(1, len(na | nb)) >= 0.5


def _body_value(obs: Observation) -> Any:
    return obs.json if obs.is_json else obs.body


def _is_empty_body(obs: Observation) -> bool:
    if not obs.body.strip():
        return True
    j = obs.json
    if j is NOT_JSON:
        return False
    if j in (None, {}, [], "", 0, False):
        return True
    if isinstance(j, dict):
        lst = extract_list(j)
        if lst is not None and len(lst) == 0:
            return True
        return all(v in (None, "", [], {}) for v in j.values())
    return False


def _norm(obs: Observation, mask: set[str] | None = None) -> str:
    if obs.is_json:
        return canonical(normalize_for_compare(obs.json, mask=mask))
    text = obs.text
    for m in mask or set():
        if m:
            text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(m)}(?![0-9A-Za-z])", "<ID>", text)
    return text


def unchanged(a: Observation, b: Observation) -> bool:
    """The very same answer, timestamps set or cleared included: a soft delete that sets
    ``deleted_at`` (or a status) changed the object; a clock stamped on every answer did not."""
    from datetime import datetime, timezone

    from ..content import is_recent_time

    now = datetime.now(timezone.utc)

    def same(x: Any, y: Any) -> bool:
        if isinstance(x, dict) and isinstance(y, dict):
            return x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
        if isinstance(x, list) and isinstance(y, list):
            return len(x) == len(y) and all(same(p, q) for p, q in zip(x, y))
        return x == y or (isinstance(x, str) and isinstance(y, str) and is_recent_time(x, now)
                          and is_recent_time(y, now))

    if a.is_json and b.is_json:
        return same(a.json, b.json)
    return a.text == b.text


def body_is_stable(rec: ProbeRecord) -> bool:
    """Do the identical base requests get the same body (volatile fields and
    recent timestamps aside)?  Comparisons between different ids mean
    nothing when the body changes on its own."""
    same = [o for o in rec.same_request() if o.is_2xx]
    if len(same) < 2:
        return True
    first = _norm(same[0])
    return all(_norm(o) == first for o in same[1:])


# ---------------------------------------------------------------------------
# Transport: what the serving software shows of itself
# ---------------------------------------------------------------------------

_INFRA = ("date", "server", "x-powered-by", "connection", "keep-alive", "transfer-encoding", "content-length",
          "content-type", "etag")
def transport_print(obs: Observation) -> tuple:
    """What the serving software shows of itself on one response, body and app headers aside."""
    names = [k for k, _ in obs.headers]
    low = [k.lower() for k in names]
    # the habit, not every header: Prism spells one header of its error pages in lower case
    lower = sum(k == k.lower() for k in names)
    if names and lower * 3 >= len(names) * 2:
        casing = "lower"
    elif names and (len(names) - lower) * 3 >= len(names) * 2:
        casing = "title"
    else:
        casing = "mixed"
    server = (obs.header("server") or "").split("/")[0].strip().lower()
    powered = (obs.header("x-powered-by") or "").split("/")[0].strip().lower()
    framing = "chunked" if "chunked" in (obs.header("transfer-encoding") or "").lower() else (
        "length" if obs.header("content-length") is not None else "close")
    order = tuple(k for k in low if k in _INFRA and k not in ("content-length", "transfer-encoding"))
    return (casing, server, powered, "date" in low, "keep-alive" in low, framing, order)


def same_software(a: Observation | None, b: Observation | None) -> bool:
    """Did one piece of software write both responses? Same header casing, the same Server and
    X-Powered-By, the same habits about Date and Keep-Alive (framing and order aside: they change
    with the body)."""
    if a is None or b is None or not a.ok or not b.ok:
        return False
    pa, pb = transport_print(a), transport_print(b)
    return pa[:5] == pb[:5]
