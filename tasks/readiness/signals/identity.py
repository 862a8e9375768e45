"""Does the answer depend on the id asked for?  Other and nonexistent ids, ids in the body."""

from __future__ import annotations

from typing import Any

from ..content import leaves
from ..models import Evidence
from ..probe import ProbeRecord
from . import register
from .base import _is_empty_body, _norm, _path, _q, body_is_stable, echoes_request

@register
def ignores_path_id(rec: ProbeRecord) -> list[Evidence]:
    """Compare the base body with another supplied id and a nonexistent id."""
    if rec.info.get("kind") != "read" or not rec.info.get("varied"):
        return []
    base = rec.base
    if base is None or not base.is_2xx or _is_empty_body(base):
        return []
    varied, where = rec.info["varied"], rec.info.get("varied_in")
    base_val = str(rec.info.get("values", {}).get(varied, ""))
    ghost, alt = rec.first("ghost"), rec.first("alt")
    ev: list[Evidence] = []
    raw_base = _norm(base)
    masked_base = _norm(base, {base_val})
    sig = "ignores-path-id" if where == "path" else "ignores-query"
    if echoes_request(ghost) or echoes_request(base):
        return [Evidence("echo-endpoint", "real", 0.0, f"the body mirrors the request (it quotes the probe's own "
                                                       f"User-Agent): what any id gets is an echo, not a lookup")]
    if ghost is not None and ghost.ok:
        gval = ghost.meta.get("value", "")
        if ghost.is_2xx:
            identical = _norm(ghost) == raw_base
            echo = not identical and _norm(ghost, {gval}) == masked_base
            if identical:
                w = 2.0 if where == "path" else 1.0
                also = ""
                if alt is not None and alt.is_2xx and _norm(alt) == raw_base:
                    w += 0.5 if where == "path" else 1.0
                    also = f" and {varied}={alt.meta.get('value')}"
                ev.append(Evidence(sig, "mock", w,
                                   f"{varied}={gval} (nonexistent){also} answered {ghost.status} with the same body "
                                   f"as {varied}={base_val}: {_q(base.text)}"))
            elif echo:
                ev.append(Evidence(sig, "mock", 1.5 if where == "path" else 0.8,
                                   f"{varied}={gval} (nonexistent) answered {ghost.status} with the same body as "
                                   f"{varied}={base_val} except the echoed id: {_q(ghost.text)}"))
            elif not _is_empty_body(ghost) and where == "path":
                made_up = _mentions(ghost.json, str(gval)) if ghost.is_json else str(gval) in ghost.text
                ev.append(Evidence("phantom-resource", "mock", 1.5 if made_up else 1.0,
                                   f"{varied}={gval} (nonexistent) answered {ghost.status} with a full body"
                                   + (" about that very id" if made_up else "") + f": {_q(ghost.text)}"))
            elif where == "path" and _is_empty_body(ghost):
                # nothing at all where an existing id gets an object: no lookup refused it
                # (a real store answers 404; a sloppy handler can also send 200 with nothing)
                ev.append(Evidence("unknown-id-empty", "mock", 0.7,
                                   f"{varied}={gval} (nonexistent) answered {ghost.status} with an empty body "
                                   f"where {varied}={base_val} answered an object"))
            elif where == "query" and _is_empty_body(ghost):
                ev.append(Evidence("unknown-id-rejected", "real", 0.8,
                                   f"{varied}={gval} (nonexistent) answered an empty result"))
        elif ghost.status in (404, 410):
            from ..routing import same_not_found

            control = rec.first("ghost-control")
            if control is None or not control.ok:
                control = next((o for o in rec.host_observations if o.label == "control" and o.ok), None)
            if where == "path" and control is not None and control.status in (404, 410) \
                    and same_not_found(ghost, control):
                # the very answer a path that does not exist gets (a fixture folder: no file for that
                # id; a static server's 404): no lookup is seen refusing the id
                ev.append(Evidence("unknown-id-rejected", "real", 0.0,
                                   f"{varied}={gval} (nonexistent) answered {ghost.status}, the same answer as a path "
                                   f"that does not exist ({_path(control)})"))
            else:
                ev.append(Evidence("unknown-id-rejected", "real", 1.0,
                                   f"{varied}={gval} (nonexistent) answered {ghost.status}"))
        elif ghost.status in (400, 422):
            ev.append(Evidence("unknown-id-rejected", "real", 0.6,
                               f"{varied}={gval} (nonexistent) answered {ghost.status}"))
    if alt is not None and alt.is_2xx and not _is_empty_body(alt) and body_is_stable(rec):
        aval = alt.meta.get("value", "")
        if _norm(alt) != raw_base and _norm(alt, {aval}) != masked_base:
            ev.append(Evidence("distinct-by-id", "real", 0.8,
                               f"{varied}={aval} and {varied}={base_val} answered different bodies"))
    return ev


@register
def random_template(rec: ProbeRecord) -> list[Evidence]:
    """An item route that answers a nonexistent id like an existing one (the same body but the
    echoed id, or a full body about that very id) *and* whose answer changes at random between
    identical requests: a response template with random helpers (camouflage, Mockoon, WireMock
    templating), not a stored record. Each alone is a hint — a default for unknown ids, a live
    gauge — so each stays weak; together they corroborate (+1). A real stored record that does not
    exist is refused, and one that exists does not change between two reads milliseconds apart."""
    made_up = [e for e in ignores_path_id(rec) if e.signal in ("ignores-path-id", "phantom-resource")
               and e.weight >= 1.5]
    if not made_up:
        return []
    from .stability import unstable_body

    random = [e for e in unstable_body(rec) if e.signal == "unstable-random-body"]
    if not random:
        return []
    return [Evidence("random-template", "mock", 1.0,
                     f"a nonexistent id gets an answer ({made_up[0].signal}) and identical requests get "
                     f"different ones ({random[0].detail[:80]}): a template with random helpers")]


def _mentions(obj: Any, value: str) -> bool:
    for _, v in leaves(obj):
        if v is None or isinstance(v, bool):
            continue
        sv = str(v)
        if sv == value or (len(value) >= 3 and value in sv):
            return True
        if isinstance(v, (int, float)):
            try:
                if float(value) == float(v):
                    return True
            except ValueError:
                pass
    return False


def _top_id(obj: Any, varied: str) -> Any:
    if not isinstance(obj, dict):
        return None
    for k in (varied, "id", "_id", "uuid"):
        v = obj.get(k)
        if isinstance(v, (str, int)) and not isinstance(v, bool):
            return v
    return None


@register
def id_mismatch(rec: ProbeRecord) -> list[Evidence]:
    """Asked for ``/items/11``, got an object whose own id is 1 and which
    mentions 11 nowhere: the body is canned.  (A real ``/users/{username}``
    answers an object whose ``id`` differs but whose ``username`` matches, so
    it is not flagged.)"""
    if rec.info.get("kind") != "read" or not rec.info.get("varied"):
        return []
    varied, where = rec.info["varied"], rec.info.get("varied_in")
    for label in ("alt", "ghost"):
        o = rec.first(label)
        if o is None or not o.is_2xx or not o.is_json:
            continue
        req = str(o.meta.get("value", ""))
        if where == "path":
            oid = _top_id(o.json, varied)
        else:  # ?customer_id=2 answered {"customer_id": 1, …}: only the echo of the parameter itself
            key = rec.info.get("varied_key") or varied
            oid = o.json.get(key) if isinstance(o.json, dict) else None
            oid = oid if isinstance(oid, (str, int)) and not isinstance(oid, bool) else None
        if oid is not None and str(oid) != req and not _mentions(o.json, req):
            what = "an object with id" if where == "path" else f"{rec.info.get('varied_key') or varied}"
            return [Evidence("id-mismatch", "mock", 1.0 if where == "path" else 1.5,
                             f"GET {_path(o)} answered {what}={oid!r} and never mentions {req!r}")]
    return []


@register
def accepts_malformed_id(rec: ProbeRecord) -> list[Evidence]:
    """An id of the wrong shape (letters where the ids are numbers, not a UUID where they are
    UUIDs) answered 2xx with the answer every id gets: nothing looked the id up."""
    bad, base = rec.first("bad-input"), rec.base
    if bad is None or base is None or not bad.is_2xx or not base.is_2xx or _is_empty_body(bad):
        return []
    varied = rec.info.get("varied")
    base_val = str(rec.info.get("values", {}).get(varied, ""))
    if _norm(bad, {str(bad.meta.get("value", ""))}) == _norm(base, {base_val}):
        return [Evidence("accepts-malformed", "mock", 1.5,
                         f"{varied}={bad.meta.get('value')!r} (not an id of that shape) answered {bad.status} with "
                         f"the same answer as {varied}={base_val}")]
    return []
