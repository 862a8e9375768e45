"""POSTs that create nothing (RPC/query style): does the answer depend on the input, is it about
what was asked?"""

from __future__ import annotations

import re
from typing import Any

from ..content import id_shape, is_identifier_key, leaves, normalize_for_compare, same_identifier
from ..models import Evidence
from ..probe import Observation, ProbeRecord
from . import register
from .base import _is_empty_body, _norm, _q

_ERROR_KEYS = {"error", "errors", "detail", "message", "valid", "is_valid", "isvalid", "success", "ok", "fault",
               "problem", "violations", "reason"}
#: A non-create answer must carry at least this many informative fields before
#: "same answer for another input" means anything: ``{"valid": false}`` for
#: two invalid coupons, ``{"status": "subscribed"}`` for two emails are real.
INFORMATIVE_LEAVES = 5


def _informative(obj: Any) -> bool:
    """A body rich enough that two inputs sharing it is suspicious: enough
    non-volatile, non-empty fields, and not a verdict/error envelope."""
    if isinstance(obj, dict) and {str(k).lower() for k in obj} & _ERROR_KEYS:
        return False
    norm = normalize_for_compare(obj)
    vals = [v for _, v in leaves(norm) if v not in (None, "", "<NOW>") and not isinstance(v, bool)]
    return len(vals) >= INFORMATIVE_LEAVES


def _non_create_writes(rec: ProbeRecord) -> list[Observation]:
    if rec.info.get("kind") != "write" or not rec.info.get("writes_allowed") or not rec.info.get("non_create"):
        return []
    return [o for o in rec.labeled("write", "resend") if o.is_2xx and o.is_json]


@register
def ignores_input(rec: ProbeRecord) -> list[Evidence]:
    """The POST analogue of ``ignores-path-id``: the same request with one
    identifier changed (``sku`` SKU-00001 → SKU-00002) gets the very same
    answer, volatile fields aside.  Only for POSTs that create nothing, only
    for informative answers, only when identical sends agree with each other."""
    same = _non_create_writes(rec)
    vary = rec.first("vary")
    if not same or vary is None or not vary.ok:
        return []
    w1 = same[0]
    field_, old, new = vary.meta.get("field"), vary.meta.get("from"), vary.meta.get("to")
    first = _norm(w1)
    if any(_norm(o) != first for o in same[1:]):
        return []  # the answer changes on its own: comparing inputs means nothing
    if not vary.is_2xx:
        if vary.status is not None and 400 <= vary.status < 500:
            return [Evidence("depends-on-input", "real", 0.5,
                             f"{field_}={new!r} instead of {old!r} answered {vary.status}: the input is checked")]
        return []
    if not vary.is_json:
        return []
    if _norm(vary) == first:
        if not _informative(w1.json):
            return []
        return [Evidence("ignores-input", "mock", 2.0,
                         f"{field_}={new!r} instead of {old!r} got the same answer: {_q(w1.text)}")]
    if _norm(vary, {str(new)}) == _norm(w1, {str(old)}):
        if not _informative(w1.json):
            return []
        return [Evidence("ignores-input", "mock", 0.8,
                         f"{field_}={new!r} instead of {old!r} got the same answer except the echoed value: "
                         f"{_q(vary.text)}")]
    if not _is_empty_body(vary) or not _is_empty_body(w1):
        return [Evidence("depends-on-input", "real", 0.8,
                         f"{field_}={new!r} instead of {old!r} got a different answer")]
    return []


def _scalar_fields(obj: Any) -> dict[str, Any]:
    """Top-level scalar fields of an answer, and those of a single-object
    wrapper (``data``/``result``/``item``...).  Never inside lists: a list of
    related items legitimately carries other skus."""
    out: dict[str, Any] = {}
    if not isinstance(obj, dict):
        return out
    for wrap in ("data", "result", "item", "resource", "object"):
        if isinstance(obj.get(wrap), dict):
            out.update({str(k): v for k, v in obj[wrap].items() if not isinstance(v, (dict, list))})
    out.update({str(k): v for k, v in obj.items() if not isinstance(v, (dict, list))})
    return out


@register
def input_not_reflected(rec: ProbeRecord) -> list[Evidence]:
    """The answer names a *different* thing than the request asked about:
    ``{"sku": "SKU-00001"}`` in, ``{"sku": "SKU-00042", ...}`` out — a canned
    response.  Only identifier-like keys (sku, *_id, code, email, slug...),
    only when the value has the same id shape on both sides (same prefix,
    same number of digits: an error ``"code": "COUPON_NOT_FOUND"`` or a
    normalised ``"kt-100"`` → ``"KT-100"`` never count), only top-level fields."""
    same = _non_create_writes(rec)
    body = rec.target.body
    if not same or not isinstance(body, dict) or not isinstance(same[0].json, dict):
        return []
    w1 = same[0]
    if {str(k).lower() for k in w1.json} & {"error", "errors", "fault", "problem"}:
        return []
    got = _scalar_fields(w1.json)
    vary = rec.first("vary")
    vgot = _scalar_fields(vary.json) if vary is not None and vary.is_2xx and vary.is_json else {}
    misses: list[str] = []
    for key, sent in body.items():
        key = str(key)
        if not is_identifier_key(key) or key not in got:
            continue
        shape = id_shape(sent)
        if shape is None or id_shape(got[key]) != shape or same_identifier(sent, got[key]):
            continue
        if isinstance(got[key], str) and re.search(r"[*•…]|x{3,}|X{3,}", got[key]):
            continue  # masked on purpose ("a***@x.com")
        note = ""
        if vary is not None and vary.meta.get("field") == key and key in vgot and vgot[key] == got[key]:
            note = f", and {vary.meta.get('to')!r} got {got[key]!r} too"
        misses.append(f"sent {key}={sent!r}, the answer says {key}={got[key]!r}{note}")
    if not misses:
        return []
    return [Evidence("input-not-reflected", "mock", 1.0 if len(misses) == 1 else 1.5,
                     "the answer is about something else than the request: " + "; ".join(misses))]
