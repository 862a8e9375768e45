"""Does a 2xx write leave a trace?  Read-back after POST/PUT/PATCH/DELETE, repeated POSTs, what the
API's lists and balances show before and after, invalid input, creation times.

A ``Location`` that cannot be followed is weak evidence: an API may name a route it does not
expose (a versioned path, a UI page). When the route it names is not routed at all (the router's
own 404), it weighs 0.3; when the route exists but does not know the new id, 2.5. What the rest of
the API shows outweighs it: the new id or the probe's unique value listed by a related read
(``effect-listed``, 2.0), a balance or a count that moved (``effect-changed``, 1.0).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from ..content import find_id, leaves, normalize_for_compare, canonical, parse_datetime
from ..models import Evidence
from ..probe import Observation, ProbeRecord
from . import register
from .base import _is_empty_body, _norm, _path, _q, same_software, unchanged

#: keys that say when an object was created (its creation time is "now" when the write makes it)
CREATION_KEY = re.compile(r"^(created|creation|inserted|registered|submitted|placed|ordered)([_-]?(at|on|date|time|"
                          r"timestamp))?$|^(date|time)[_-]?created$", re.IGNORECASE)


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


def _sent(rec: ProbeRecord, obs: Observation) -> Any:
    return obs.sent if obs.sent is not None and not isinstance(obs.sent, bytes) else rec.target.body


def _follow(rec: ProbeRecord) -> Observation | None:
    follow = rec.first("follow")
    retry = rec.first("follow-retry")
    if follow is not None and retry is not None and retry.ok:
        return retry  # the read after a short wait is the one that counts
    return follow


def _mentions(text: str, value: str) -> bool:
    return bool(value) and re.search(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", text) is not None


def creation_confirmed(rec: ProbeRecord) -> str | None:
    """How the object a POST created is known to exist, or None: read back by id, or listed by a
    related read that did not list it before."""
    writes = rec.labeled("write")
    if not writes or not writes[0].is_2xx:
        return None
    w1 = writes[0]
    follow = _follow(rec)
    created = rec.info.get("created_id")
    if follow is not None and follow.is_2xx:
        r = reflects(_sent(rec, w1), follow.json if follow.is_json else None)
        if r is None or r >= 0.5:
            return f"id {created or '?'} (read back at {_path(follow)})"
    listed = _listed_by(rec)
    if listed:
        return f"id {created or '?'} ({listed})"
    return None


def _listed_by(rec: ProbeRecord) -> str | None:
    w1 = rec.labeled("write")[0]
    marks = [str(m) for m in (rec.info.get("created_id"), w1.meta.get("token")) if m]
    if not marks:
        return None
    before = {o.meta.get("read"): o for o in rec.labeled("effect-before")}
    for after in rec.labeled("effect-after"):
        b = before.get(after.meta.get("read"))
        if not after.is_2xx:
            continue
        for m in marks:
            if _mentions(after.text, m) and (b is None or not _mentions(b.text, m)):
                what = "the probe's unique value" if m == w1.meta.get("token") else f"id {m}"
                return f"{after.method} {_path(after)} lists {what} after the POST"
    return None


def _changed_fields(before: Observation, after: Observation) -> list[str]:
    if not (before.is_json and after.is_json):
        return [] if before.text == after.text else ["body"]
    a = normalize_for_compare(before.json)
    b = normalize_for_compare(after.json)
    if canonical(a) == canonical(b):
        return []
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if canonical(a.get(k)) != canonical(b.get(k)):
                out.append(f"{k}: {_q(a.get(k), 24)} → {_q(b.get(k), 24)}")
    elif isinstance(a, list) and isinstance(b, list):
        out.append(f"{len(a)} → {len(b)} items" if len(a) != len(b) else "items changed")
    return out or ["body"]


def effects(rec: ProbeRecord) -> list[Evidence]:
    """What related reads show before and after a POST that created something."""
    after = rec.labeled("effect-after")
    if not after:
        return []
    listed = _listed_by(rec)
    if listed:
        return [Evidence("effect-listed", "real", 2.0, listed)]
    before = {o.meta.get("read"): o for o in rec.labeled("effect-before") if o.is_2xx}
    changed = []
    moving = rec.info.get("unstable_reads") or set()
    for a in after:
        b = before.get(a.meta.get("read"))
        if b is not None and a.is_2xx and a.meta.get("read") not in moving:
            diff = _changed_fields(b, a)
            if diff:
                changed.append(f"{a.method} {_path(a)} ({'; '.join(diff[:3])})")
    if changed:
        return [Evidence("effect-changed", "real", 1.0, "after the POST: " + ", ".join(changed[:3]))]
    compared = [a for a in after if a.is_2xx and a.meta.get("read") in before and a.meta.get("read") not in moving]
    if compared and not creation_confirmed(rec):
        return [Evidence("effect-none", "mock", 1.0,
                         f"nothing the API lists changed after the POST ({', '.join(_path(a) for a in compared[:3])} "
                         f"answered as before)")]
    return []


def _echo(rec: ProbeRecord, w1: Observation) -> list[Evidence]:
    """The created object names something else than what was sent: the probe's unique value (its
    ``name``, ``email``…) is not in the answer, where the answer has that very field."""
    token = w1.meta.get("token")
    sent = w1.sent if isinstance(w1.sent, dict) else None
    if not token or sent is None or not w1.is_json or not isinstance(w1.json, dict):
        return []
    got = w1.json
    for wrap in ("data", "item", "result"):
        if isinstance(got.get(wrap), dict):
            got = got[wrap]
    for k, v in sent.items():
        if isinstance(v, str) and token in v and isinstance(got.get(k), str) and token not in got[k].lower():
            return [Evidence("write-not-reflected", "mock", 1.5,
                             f"POST sent {k}={v!r}; the object it answered has {k}={got[k]!r}")]
    return []


def _creation_time(rec: ProbeRecord, w1: Observation) -> list[Evidence]:
    """A just-created object whose creation time is days away from now is canned."""
    if not w1.is_json or not isinstance(w1.json, dict):
        return []
    sent_keys = {str(k) for k, _ in leaves(_sent(rec, w1))} if _sent(rec, w1) is not None else set()
    now = datetime.now(timezone.utc)
    obj = w1.json
    for wrap in ("data", "item", "result"):
        if isinstance(obj.get(wrap), dict):
            obj = obj[wrap]
    for k, v in obj.items():
        if not isinstance(v, str) or not CREATION_KEY.match(str(k)) or str(k) in sent_keys:
            continue
        dt = parse_datetime(v)
        if dt is not None and abs((now - dt).total_seconds()) > 2 * 86400:
            return [Evidence("creation-time-not-now", "mock", 2.0,
                             f"the object {w1.method} {_path(w1)} just created says {k}={v!r}")]
    return []


def _stubbed_read(write: Observation, read: Observation | None) -> str:
    from ..signatures import match_fingerprints

    if read is None or not read.ok or same_software(write, read):
        return ""   # one piece of software answered both: the read-back is no stub in front of a backend
    tool = [(fp, q) for fp, q in match_fingerprints(read) if fp.weight >= 4.0]
    if tool and not [fp for fp, _ in match_fingerprints(write) if fp.weight >= 4.0]:
        fp, quote = tool[0]
        return (f"GET {_path(read)} is answered by {fp.tool} ({quote}) while the {write.method} itself is not: "
                f"the read-back is a stub, persistence not judged")
    return ""


@register
def write_persistence(rec: ProbeRecord) -> list[Evidence]:
    """Does a 2xx write leave a trace?"""
    if rec.info.get("kind") != "write" or not rec.info.get("writes_allowed") or rec.info.get("not_probed"):
        return []
    t = rec.target
    method = t.method.upper()
    ev: list[Evidence] = []
    ghost = rec.first("ghost-write")
    if ghost is not None and ghost.ok and method == "DELETE":
        gval = ghost.meta.get("value", "")
        if ghost.status in (404, 410):
            ev.append(Evidence("unknown-id-rejected", "real", 1.0, f"DELETE on nonexistent id {gval} answered "
                                                                   f"{ghost.status}"))
        elif ghost.is_2xx:
            ev.append(Evidence("ignores-path-id", "mock", 1.0, f"DELETE on nonexistent id {gval} answered "
                                                               f"{ghost.status}"))
    if method == "DELETE" and rec.info.get("delete_no_effect"):
        # the cleanup's own DELETE through this route: 2xx, and the object answered unchanged after
        ev.append(Evidence("write-not-persisted", "mock", 2.0, rec.info["delete_no_effect"]))
    if rec.info.get("withheld"):
        return ev + _malformed(rec)
    writes = rec.labeled("write")
    if not writes or not writes[0].is_2xx:
        return ev
    w1 = writes[0]
    follow = _follow(rec)
    stub = _stubbed_read(w1, follow)
    if stub:
        # the read-back is answered by a mock tool while the write is not (proxy mode with the GET
        # stubbed): it says nothing about what the write stored
        return ev + [Evidence("read-back-stubbed", "real", 0.0, stub)]
    if w1.status == 202:
        if method == "POST" and not rec.info.get("non_create"):
            ev += _twin(rec, w1, writes) + _malformed(rec)  # one job id for two requests; garbage accepted
        return ev + [Evidence("write-accepted-async", "real", 0.0,
                              f"{method} answered 202 Accepted: processed asynchronously, persistence not checked")]
    if method == "POST":
        return ev + _post(rec, w1, writes, follow)
    if method in ("PUT", "PATCH"):
        return ev + _modify(rec, w1, follow)
    if method == "DELETE":
        pre = rec.first("pre")
        if follow is not None and pre is not None and pre.is_2xx:
            if follow.status in (404, 410):
                ev.append(Evidence("write-persisted", "real", 2.0,
                                   f"after DELETE, GET {_path(follow)} answered {follow.status}"))
            elif follow.is_2xx and unchanged(follow, pre) and not rec.info.get("delete_no_effect"):
                ev.append(Evidence("write-not-persisted", "mock", 2.0,
                                   f"after a {w1.status} DELETE, GET {_path(follow)} still answers {follow.status} "
                                   f"with the same body"))
    return ev



def _malformed(rec: ProbeRecord) -> list[Evidence]:
    bad = rec.first("malformed")
    if bad is not None and bad.ok:
        if bad.is_2xx:
            return [Evidence("accepts-malformed", "mock", 2.0,
                             f"a body that is not JSON at all answered {bad.status}: {_q(bad.text)}")]
        if 400 <= (bad.status or 0) < 500:
            return [Evidence("rejects-malformed", "real", 0.5, f"a body that is not JSON answered {bad.status}")]
    return []


def _twin(rec: ProbeRecord, w1: Observation, writes: list[Observation]) -> list[Evidence]:
    """Two POSTs with different values: the same new id twice is a canned answer."""
    if len(writes) < 2:
        return []
    w2 = writes[1]
    ev: list[Evidence] = []
    t = rec.target
    path = urlsplit(w1.url).path
    i1 = find_id(w1.json, path) if w1.is_json else None
    i2 = find_id(w2.json, path) if w2.is_2xx and w2.is_json else None
    if w2.status == 409:
        ev.append(Evidence("write-conflict", "real", 1.0, f"the repeated POST was refused with 409: {_q(w2.text)}"))
    elif i1 is not None and i2 is not None:
        idempotent = any(re.search(r"idempoten", k, re.IGNORECASE) for k in t.headers)
        if str(i1) == str(i2) and idempotent:
            ev.append(Evidence("write-idempotent", "real", 0.0,
                               f"two POSTs with the same Idempotency-Key answered id={i1!r}"))
        elif str(i1) == str(i2) and w1.sent != w2.sent:
            # a real store gives a second object a new id (or refuses it); an upsert keyed on a
            # field both bodies share could answer the same id: strong, not alone decisive
            ev.append(Evidence("write-same-id", "mock", 2.5,
                               f"two POSTs with different values both answered id={i1!r}"))
        elif str(i1) == str(i2):
            ev.append(Evidence("write-same-id", "mock", 2.0,
                               f"two identical POSTs both answered id={i1!r} as a new object"))
        else:
            ev.append(Evidence("write-new-id", "real", 0.5, f"two POSTs answered id={i1!r} and id={i2!r}"))
    return ev


def _post(rec: ProbeRecord, w1: Observation, writes: list[Observation], follow: Observation | None) -> list[Evidence]:
    t = rec.target
    ev: list[Evidence] = []
    if rec.info.get("non_create"):
        return ev
    ev += _twin(rec, w1, writes)
    ev += _creation_time(rec, w1)
    ev += _echo(rec, w1)
    ev += _malformed(rec)
    ev += effects(rec)
    listed = any(e.signal == "effect-listed" for e in ev)
    if follow is None:
        if w1.header("location") is None and (find_id(w1.json, urlsplit(w1.url).path) if w1.is_json else None) is None:
            ev.append(Evidence("write-unverifiable", "real", 0.0,
                               "the POST response has neither a Location header nor an id to read back"))
        return ev
    if follow.error_kind == "refused":
        ev.append(Evidence("location-offsite", "real", 0.0,
                           f"the Location {follow.meta.get('location')!r} points outside the allowed hosts: not followed"))
        return ev
    via = follow.meta.get("via")
    blind = rec.info.get("readback_blind") or rec.info.get("readback_ghost")
    if follow.is_2xx and blind:
        ev.append(Evidence("read-back-id-blind", "real", 0.0,
                           f"GET {_path(follow)} answered {follow.status}, but {blind}: the "
                           f"read-back proves nothing"))
    elif follow.is_2xx:
        r = reflects(_sent(rec, w1), follow.json if follow.is_json else None)
        if r is None or r >= 0.5:
            ev.append(Evidence("write-persisted", "real", 2.0 if r is not None else 1.5,
                               f"GET {_path(follow)} after the POST answered {follow.status}"
                               + (f" with {r:.0%} of the written values" if r is not None else "")))
        elif r == 0.0:
            ev.append(Evidence("write-not-reflected", "mock", 1.5,
                               f"GET {_path(follow)} after the POST answered {follow.status} without any of the "
                               f"written values: {_q(follow.text)}"))
    elif follow.status in (404, 410):
        route = rec.info.get("follow_route")
        known = rec.first("known")
        by_id = rec.first("follow-id")
        if by_id is not None and by_id.is_2xx:
            return ev  # the Location is not routed, but the object is there by id
        if listed:
            ev.append(Evidence("location-unroutable", "real", 0.0,
                               f"GET {_path(follow)} (the POST's {'Location' if via == 'location' else 'id'}) "
                               f"answered {follow.status}, but the new object is listed elsewhere"))
        elif via == "location" and route is not None and route.exists is False:
            ev.append(Evidence("location-unroutable", "mock", 0.3,
                               f"POST answered {w1.status} with Location: {follow.meta.get('location')}, a route the API "
                               f"does not expose ({route.detail}): weak evidence"))
        elif via in ("location", "route") and route is not None and route.exists or known is not None and known.is_2xx:
            why = route.detail if route is not None and route.exists else f"GET {_path(known)} answered {known.status}"
            ev.append(Evidence("write-not-persisted", "mock", 2.5,
                               f"POST answered {w1.status} with id={rec.info.get('created_id') or follow.meta.get('id')!r}, "
                               f"but GET {_path(follow)} answered {follow.status} although that route works ({why})"))
        else:
            ev.append(Evidence("write-not-persisted", "mock", 1.0 if via in ("location", "route") else 0.5,
                               f"POST answered {w1.status}, GET {_path(follow)} answered {follow.status} "
                               f"(the item route there is a guess, or could not be confirmed)"))
    return ev


def _modify(rec: ProbeRecord, w1: Observation, follow: Observation | None) -> list[Evidence]:
    method = rec.target.method.upper()
    ev: list[Evidence] = []
    sent = _sent(rec, w1)
    kept = w1.meta.get("kept") or []
    if isinstance(sent, dict) and kept:  # fields sent as they already were prove nothing
        sent = {k: v for k, v in sent.items() if k not in kept} or None
    if follow is not None and follow.is_2xx and follow.is_json and sent is not None:
        r = reflects(sent, follow.json)
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
            ev.append(Evidence("unknown-id-rejected", "real", 1.0, f"{method} on nonexistent id {gval} answered {gw.status}"))
        elif gw.is_2xx and not _is_empty_body(gw) and _norm(gw, {gval}) == _norm(w1, {base_val}):
            ev.append(Evidence("ignores-path-id", "mock", 1.5 if method == "PATCH" else 0.8,
                               f"{method} on nonexistent id {gval} answered {gw.status} with the same body"))
    if rec.info.get("restored") is False:
        ev.append(Evidence("not-restored", "error", 0.0, "the sample's previous values could not be put back"))
    return ev
