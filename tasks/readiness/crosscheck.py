"""Evidence that takes several endpoints to see, added to each record's ``cross`` list after every
probe has run (the ``cross-endpoint`` signal reports it).

* **Transport siblings.** Endpoints on one base URL are normally served by one piece of software:
  the same header casing and order, the same ``Date``/``Keep-Alive``/framing habits. When a few
  endpoints answer with another transport than their siblings, one side is a mock tool (a stub in
  front of, or beside, a real backend). The side that is blamed is the one without the ``Date``
  header every real origin server sends (RFC 9110 §6.6.1), else the one without the ``Server``
  header its siblings carry, else the smaller group.
* **Lists that do not move.** A POST whose object is confirmed (read back by id, or listed by
  another endpoint) while the list of its own collection answers exactly as before: the list is
  canned (the blame goes to the side that did not change). A list that changed after the writes
  is live.
"""

from __future__ import annotations

from collections import defaultdict

from .content import canonical, extract_list, normalize_for_compare
from .identifiers import list_collection, strip_url
from .models import Evidence
from .probe import Observation, ProbeRecord, origin_of
from .signals.writes import creation_confirmed

_INFRA = ("date", "server", "x-powered-by", "connection", "keep-alive", "transfer-encoding", "content-length",
          "content-type", "etag")
#: a group this small (or smaller) next to a bigger one is the odd one out
MIN_SIBLINGS = 3


def transport_print(obs: Observation) -> tuple:
    """What the serving software shows of itself on one response, body and app headers aside."""
    names = [k for k, _ in obs.headers]
    low = [k.lower() for k in names]
    if all(k == k.lower() for k in names):
        casing = "lower"
    elif all(k[:1].isupper() for k in names):
        casing = "title"
    else:
        casing = "mixed"
    server = (obs.header("server") or "").split("/")[0].strip().lower()
    powered = (obs.header("x-powered-by") or "").split("/")[0].strip().lower()
    framing = "chunked" if "chunked" in (obs.header("transfer-encoding") or "").lower() else (
        "length" if obs.header("content-length") is not None else "close")
    order = tuple(k for k in low if k in _INFRA and k not in ("content-length", "transfer-encoding"))
    return (casing, server, powered, "date" in low, "keep-alive" in low, framing, order)


def _describe(p: tuple) -> str:
    casing, server, powered, date, keep_alive, framing, order = p
    bits = [f"{casing}-case headers", f"Server: {server or '(none)'}"]
    if powered:
        bits.append(f"X-Powered-By: {powered}")
    bits += ["Date" if date else "no Date", "Keep-Alive" if keep_alive else "no Keep-Alive", framing]
    return ", ".join(bits)


def _primary_2xx(rec: ProbeRecord) -> Observation | None:
    p = rec.primary
    if p is None or not p.is_2xx or not p.body.strip():
        return None
    return p


def transport_siblings(records: list[ProbeRecord]) -> None:
    by_origin: dict[str, list[tuple[ProbeRecord, tuple]]] = defaultdict(list)
    for rec in records:
        p = _primary_2xx(rec)
        if p is not None:
            by_origin[origin_of(p.url)].append((rec, transport_print(p)))
    for origin, items in by_origin.items():
        if len(items) < MIN_SIBLINGS:
            continue
        groups: dict[tuple, list[ProbeRecord]] = defaultdict(list)
        for rec, p in items:
            groups[p].append(rec)
        if len(groups) < 2:
            continue
        ranked = sorted(groups.items(), key=lambda g: -len(g[1]))
        main_print, main = ranked[0]
        for other_print, others in ranked[1:]:
            blame_other, why = _blame(main_print, other_print, len(main), len(others))
            if blame_other is None:
                continue
            odd, odd_print, ref_print, n_ref = (others, other_print, main_print, len(main)) if blame_other else \
                (main, main_print, other_print, len(others))
            weight = 1.5 if why != "size" else 1.0
            for rec in odd:
                rec.cross.append(Evidence(
                    "transport-differs", "mock", weight,
                    f"served differently from {n_ref} sibling endpoint(s) on {origin} ({_describe(odd_print)} vs "
                    f"{_describe(ref_print)}): {_WHY[why]}"))


_WHY = {"date": "no Date header, which every real origin server sends (RFC 9110 §6.6.1)",
        "server": "no Server header where its siblings name theirs",
        "size": "a small group of endpoints with another transport than the rest"}


def _blame(main: tuple, other: tuple, n_main: int, n_other: int) -> tuple[bool | None, str]:
    """(True: blame ``other``; False: blame ``main``; None: undecided), and why."""
    if main[3] != other[3]:
        return (not other[3]), "date"
    if bool(main[1]) != bool(other[1]):
        return (not other[1]), "server"
    if n_other * 3 <= n_main:
        return True, "size"
    return None, ""


def _norm(obs: Observation) -> str:
    return canonical(normalize_for_compare(obs.json)) if obs.is_json else obs.text


def frozen_lists(records: list[ProbeRecord]) -> None:
    by_name = {rec.target.name: rec for rec in records}
    for w in records:
        if w.info.get("kind") != "write" or not w.labeled("effect-after"):
            continue
        confirmed = creation_confirmed(w)
        if not confirmed:
            continue
        coll = strip_url(w.primary.url) if w.primary is not None else ""
        before = {o.meta.get("read"): o for o in w.labeled("effect-before") if o.is_2xx}
        for after in w.labeled("effect-after"):
            name = after.meta.get("read")
            b = before.get(name)
            r = by_name.get(name)
            if b is None or r is None or not after.is_2xx or r is w:
                continue
            same_collection = list_collection(after.url) == coll or strip_url(after.url) == coll
            if not same_collection or not after.is_json:
                continue
            items = extract_list(after.json)
            if items is None:
                continue
            if _norm(after) == _norm(b):
                limit = _limit_of(after.url)
                if limit is not None and len(items) >= limit:
                    continue  # a full page may not show the newest item
                r.cross.append(Evidence(
                    "frozen-list", "mock", 2.0,
                    f"after POST {_path(w.primary)} created {confirmed}, {r.target.method.upper()} {_path(after)} "
                    f"answered exactly as before ({len(items)} items): the list does not move"))
            else:
                r.cross.append(Evidence("list-moves", "real", 1.0,
                                        f"{r.target.method.upper()} {_path(after)} changed after POST {_path(w.primary)}"))


def _limit_of(url: str) -> int | None:
    from .probe import limit_param

    lp = limit_param(url)
    return lp[1] if lp else None


def _path(obs: Observation | None) -> str:
    if obs is None:
        return "?"
    from urllib.parse import urlsplit

    return urlsplit(obs.url).path or "/"


def crosscheck(records: list[ProbeRecord]) -> None:
    """Add cross-endpoint evidence to every record (idempotent per run: clears it first)."""
    for rec in records:
        rec.cross = [e for e in rec.cross if e.signal not in ("transport-differs", "frozen-list", "list-moves")]
    transport_siblings(records)
    frozen_lists(records)
