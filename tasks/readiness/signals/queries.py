"""Query parameters a list should honour (``limit``)."""

from __future__ import annotations

from ..content import extract_list
from ..models import Evidence
from ..probe import ProbeRecord
from . import register
from .base import body_is_stable

@register
def ignores_query(rec: ProbeRecord) -> list[Evidence]:
    """limit=1 vs the URL's own limit."""
    lim, base = rec.first("limit"), rec.base
    if lim is None or base is None or not lim.is_2xx or not lim.is_json or not base.is_json:
        return []
    lb, ll = extract_list(base.json), extract_list(lim.json)
    if lb is None or ll is None:
        return []
    name, v, bv = lim.meta["param"], lim.meta["value"], lim.meta["base_value"]
    if v == 1 and len(lb) > 1:
        if len(ll) == len(lb):
            return [Evidence("ignores-query", "mock", 2.0,
                             f"{name}=1 returned {len(ll)} items, the same as {name}={bv}")]
        if len(ll) <= 1 and body_is_stable(rec):
            return [Evidence("limit-honoured", "real", 1.0,
                             f"{name}=1 returned {len(ll)} item(s), {name}={bv} returned {len(lb)}")]
    if v == 3 and len(lb) <= 1 and len(ll) > 1 and body_is_stable(rec):
        return [Evidence("limit-honoured", "real", 1.0,
                         f"{name}=3 returned {len(ll)} items, {name}={bv} returned {len(lb)}")]
    return []
