"""Does a 2xx write leave a trace?  Read-back after POST/PUT/PATCH/DELETE, repeated POSTs."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from ..content import find_id, leaves
from ..models import Evidence
from ..probe import ProbeRecord
from . import register
from .base import _is_empty_body, _norm, _path, _q

def _scalars(obj: Any) -> list[str]:
    out = []
    for _, v in leaves(obj):
        if isinstance(v, bool) or v is None:
            continue
        if isinstance(v, (int, float)):
            out.append(_num(v))
        elif isinstance(v, str) and len(v.strip()) >= 2:
            out.append(v.strip())
    return out


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def reflects(sent: Any, got: Any) -> float | None:
    """Share of the written scalar values found in the read-back body."""
    want = _scalars(sent)
    if len(want) < 2:
        return None
    have = set()
    for s in _scalars(got):
        have.add(s)
        try:
            have.add(_num(float(s)))
        except ValueError:
            pass
    return sum(1 for w in want if w in have) / len(want)


@register
def write_persistence(rec: ProbeRecord) -> list[Evidence]:
    """Does a 2xx write leave a trace?"""
    if rec.info.get("kind") != "write" or not rec.info.get("writes_allowed"):
        return []
    t = rec.target
    method = t.method.upper()
    writes = rec.labeled("write")
    if not writes or not writes[0].is_2xx:
        return []
    w1 = writes[0]
    follow = rec.first("follow")
    retry = rec.first("follow-retry")
    if follow is not None and retry is not None and retry.ok:
        follow = retry  # the read after a short wait is the one that counts
    ev: list[Evidence] = []
    if w1.status == 202:
        return [Evidence("write-accepted-async", "real", 0.0,
                         f"{method} answered 202 Accepted: processed asynchronously, persistence not checked")]
    if method == "POST":
        if len(writes) > 1:
            w2 = writes[1]
            path = urlsplit(w1.url).path
            i1 = find_id(w1.json, path) if w1.is_json else None
            i2 = find_id(w2.json, path) if w2.is_2xx and w2.is_json else None
            if w2.status == 409:
                ev.append(Evidence("write-conflict", "real", 1.0,
                                   f"the repeated POST was refused with 409: {_q(w2.text)}"))
            elif i1 is not None and i2 is not None:
                idempotent = any(re.search(r"idempoten", k, re.IGNORECASE) for k in t.headers)
                if str(i1) == str(i2) and idempotent:
                    ev.append(Evidence("write-idempotent", "real", 0.0,
                                       f"two POSTs with the same Idempotency-Key answered id={i1!r}"))
                elif str(i1) == str(i2):
                    ev.append(Evidence("write-same-id", "mock", 2.0,
                                       f"two POSTs both answered id={i1!r}"))
                else:
                    ev.append(Evidence("write-new-id", "real", 0.5, f"two POSTs answered id={i1!r} and id={i2!r}"))
        if follow is None:
            if w1.header("location") is None and (
                    find_id(w1.json, urlsplit(w1.url).path) if w1.is_json else None) is None:
                ev.append(Evidence("write-unverifiable", "real", 0.0,
                                   "the POST response has neither a Location header nor an id to read back"))
            return ev
        via = follow.meta.get("via")
        if follow.is_2xx:
            r = reflects(t.body, follow.json if follow.is_json else None)
            if r is None or r >= 0.5:
                ev.append(Evidence("write-persisted", "real", 2.0 if r is not None else 1.5,
                                   f"GET {_path(follow)} after the POST answered {follow.status}"
                                   + (f" with {r:.0%} of the written values" if r is not None else "")))
            elif r == 0.0:
                ev.append(Evidence("write-not-reflected", "mock", 1.5,
                                   f"GET {_path(follow)} after the POST answered {follow.status} without any of the "
                                   f"written values: {_q(follow.text)}"))
        elif follow.status in (404, 410):
            known = rec.first("known")
            if via == "location":
                ev.append(Evidence("write-not-persisted", "mock", 3.0,
                                   f"POST answered {w1.status} with Location: {follow.meta.get('location')}, "
                                   f"but GET there answered {follow.status}"))
            elif known is not None and known.is_2xx:
                ev.append(Evidence("write-not-persisted", "mock", 2.5,
                                   f"POST answered {w1.status} with id={follow.meta.get('id')!r}, but GET "
                                   f"{_path(follow)} answered {follow.status} while GET {_path(known)} "
                                   f"answered {known.status}"))
            else:
                ev.append(Evidence("write-not-persisted", "mock", 0.5,
                                   f"POST answered id={follow.meta.get('id')!r}, GET {_path(follow)} answered "
                                   f"{follow.status} (could not confirm the item route exists)"))
        return ev
    if method in ("PUT", "PATCH"):
        if follow is not None and follow.is_2xx and follow.is_json:
            r = reflects(t.body, follow.json)
            if r is not None and r >= 0.5:
                ev.append(Evidence("write-persisted", "real", 1.5,
                                   f"GET {_path(follow)} after the {method} shows {r:.0%} of the written values"))
            elif r == 0.0:
                ev.append(Evidence("write-not-reflected", "mock", 1.5,
                                   f"GET {_path(follow)} after the {method} shows none of the written values: "
                                   f"{_q(follow.text)}"))
        gw = rec.first("ghost-write")
        if gw is not None and gw.ok:
            gval = gw.meta.get("value", "")
            base_val = str(rec.info.get("values", {}).get(rec.info.get("varied"), ""))
            if gw.status in (404, 410):
                ev.append(Evidence("unknown-id-rejected", "real", 1.0,
                                   f"{method} on nonexistent id {gval} answered {gw.status}"))
            elif gw.is_2xx and not _is_empty_body(gw) and _norm(gw, {gval}) == _norm(w1, {base_val}):
                ev.append(Evidence("ignores-path-id", "mock", 1.5 if method == "PATCH" else 0.8,
                                   f"{method} on nonexistent id {gval} answered {gw.status} with the same body"))
        return ev
    if method == "DELETE":
        pre = rec.first("pre")
        if follow is not None and pre is not None and pre.is_2xx:
            if follow.status in (404, 410):
                ev.append(Evidence("write-persisted", "real", 2.0,
                                   f"after DELETE, GET {_path(follow)} answered {follow.status}"))
            elif follow.is_2xx and _norm(follow) == _norm(pre):
                ev.append(Evidence("write-not-persisted", "mock", 2.0,
                                   f"after a {w1.status} DELETE, GET {_path(follow)} still answers {follow.status} "
                                   f"with the same body"))
    return ev
