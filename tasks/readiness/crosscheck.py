"""Evidence that takes several endpoints to see, added to each record's ``cross`` list after every
probe has run (the ``cross-endpoint`` signal reports it).

* **Transport siblings.** Endpoints on one base URL are normally served by one piece of software:
  the same header casing and order, the same ``Date``/``Keep-Alive``/framing habits. When a few
  endpoints answer with another transport than their siblings, one side is a mock tool (a stub in
  front of, or beside, a real backend). The side that is blamed is the one without the ``Date``
  header every real origin server sends (RFC 9110 §6.6.1), else the one without the ``Server``
  header its siblings carry, else the much smaller group, else the group where two or more
  endpoints are mock on their own evidence (none with strong real evidence) beside a group with none.
  When the odd group holds an endpoint judged mock on its own evidence and none with strong real
  evidence (R >= 2), its other endpoints are more stubs of the same tool (``co-served-with-mocks``,
  1.5; 2 when two or more of the group are mock on their own evidence): a fleet where one tool
  serves the stubs beside the real backend.
* **Phantom parents.** Two endpoints about the same thing (``/customers/{id}/wallet`` and
  ``/customers/{id}/loyalty``, or ``?customer_id=``) disagree on whether a nonexistent one exists:
  the one answering 2xx for it did not look it up.
* **Lists that the item route contradicts.** ``GET /team/2`` answers ``name: "John Doe"`` for the
  member the list ``GET /team`` shows as ``"Jane Doe"``: one of them is not reading the store.
  Both are blamed, the item route more (it usually is the canned one); only text fields no write
  of the run touched are compared.
* **Routes that OPTIONS says are missing.** An endpoint that is not written to (production, the
  never-write list) whose ``OPTIONS`` answers the router's own 404 (the same answer as a path that
  surely does not exist) is ``missing`` — but only where ``OPTIONS`` is a route oracle: sibling
  routes on that base URL answer ``OPTIONS`` 2xx from the same software that wrote the 404, and no
  other method of the campaign answered 2xx on that path (a stub tool answers only the methods it
  was given and 404s the rest, ``OPTIONS`` included).
* **Writes routed to the mock tool.** A write whose path answers ``OPTIONS`` like the reads
  judged mock, and unlike the reads another piece of software serves (the engine asks both,
  ``sibling_options``, where the reads of a base URL split so): the host routes that path to the
  mock tool (a gateway, a stub tool beside a proxied backend). An unsent write (production) is
  then ``mock``; a sent one too, unless it showed strong real evidence of its own.
* **Read-backs through a route that ignores its id.** A POST "confirmed" by ``GET /holds/501``
  proves nothing when ``GET /holds/{id}`` answers the same body for a nonexistent id: the
  ``write-persisted`` evidence is not given (``read-back-id-blind``, informational).
* **Lists that do not move.** A POST whose object is confirmed (read back by id, or listed by
  another endpoint) while the list of its own collection answers exactly as before: the list is
  canned (the blame goes to the side that did not change). A list that changed after the writes
  is live.
"""

from __future__ import annotations

import re
from collections import defaultdict
from urllib.parse import urlsplit

from .content import canonical, extract_list, is_id_key, is_volatile_key, leaves, normalize_for_compare
from .identifiers import list_collection, noun_of, object_id, ref_noun, route_regex, slots, strip_url
from .models import Evidence
from .probe import PLACEHOLDER_RE, Observation, ProbeRecord, origin_of
from .signals.base import body_is_stable, same_software, transport_print
from .signals.writes import creation_confirmed

#: a group this small (or smaller) next to a bigger one is the odd one out
MIN_SIBLINGS = 3


def _describe(p: tuple) -> str:
    casing, server, powered, date, keep_alive = p[:5]
    bits = [f"{casing}-case headers", f"Server: {server or '(none)'}"]
    if powered:
        bits.append(f"X-Powered-By: {powered}")
    bits += ["Date" if date else "no Date", "Keep-Alive" if keep_alive else "no Keep-Alive"]
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
        if p is not None:  # the software's identity only: framing and header order change with the body
            by_origin[origin_of(p.url)].append((rec, transport_print(p)[:5]))
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
                blame_other, why = _blame_by_verdicts(main, others)
            if blame_other is None:
                continue
            odd, odd_print, ref_print, n_ref = (others, other_print, main_print, len(main)) if blame_other else \
                (main, main_print, other_print, len(others))
            weight = 1.0 if why == "size" else 1.5
            if why == "date" and bool(odd_print[1]) != bool(ref_print[1]) and not odd_print[3] and not odd_print[1]:
                # neither the Date nor the Server header its siblings carry: another piece of software
                # wrote these answers, and not an origin server (RFC 9110 §6.6.1)
                weight = 2.3
            for rec in odd:
                rec.cross.append(Evidence(
                    "transport-differs", "mock", weight,
                    f"served differently from {n_ref} sibling endpoint(s) on {origin} ({_describe(odd_print)} vs "
                    f"{_describe(ref_print)}): {_WHY[why]}"))


_WHY = {"date": "no Date header, which every real origin server sends (RFC 9110 §6.6.1)",
        "server": "no Server header where its siblings name theirs",
        "size": "a small group of endpoints with another transport than the rest",
        "verdicts": "two or more endpoints of this group are mock on their own evidence, none of the other's is"}

#: endpoints of one transport group that must be mock on their own evidence to blame it
BLAME_BY_MOCKS = 2


def _blame_by_verdicts(main: list[ProbeRecord], others: list[ProbeRecord]) -> tuple[bool | None, str]:
    """Two transports of about the same size, neither missing a Date nor a Server header the other
    has (a stub tool relaying the rest to a backend through itself: apimocker ``--proxy``): the
    side blamed is the one where two or more endpoints are mock on their own evidence, none shows
    strong real evidence, and the other side has no mock at all."""
    from .signals import collect
    from .verdict import decide

    def judged(group: list[ProbeRecord]) -> tuple[int, bool]:
        mocks, strong_real = 0, False
        for rec in group:
            ev = collect(rec)
            mocks += decide(rec, ev)[0] == "mock"
            strong_real |= sum(e.weight for e in ev if e.points_to == "real") >= CO_SERVED_REAL_R
        return mocks, strong_real

    (m_main, real_main), (m_other, real_other) = judged(main), judged(others)
    if m_other >= BLAME_BY_MOCKS and not real_other and m_main == 0:
        return True, "verdicts"
    if m_main >= BLAME_BY_MOCKS and not real_main and m_other == 0:
        return False, "verdicts"
    return None, ""


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
            if not items or not all(isinstance(i, dict) and object_id(i) is not None for i in items[:5]):
                continue  # only a list of the collection's own objects can be expected to show a new one
            if after.method != "GET" and after.sent not in (None, {}, []):
                continue  # a query with a filter may rightly leave the new object out
            if _norm(after) == _norm(b):
                limit = _limit_of(after.url)
                if limit is not None and len(items) >= limit:
                    continue  # a full page may not show the newest item
                r.cross.append(Evidence(
                    "frozen-list", "mock", 2.0,
                    f"after POST {_path(w.primary)} created {confirmed}, {r.target.method.upper()} {_path(after)} "
                    f"answered exactly as before ({len(items)} items): the list does not move"))
            elif r.info.get("kind") != "read" or body_is_stable(r):
                # a list that changes between identical reads with no write at all (a template's
                # random values) says nothing by changing after one
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


def _ghost_noun(rec: ProbeRecord) -> str | None:
    """The noun of the thing the ghost probe asked for: ``/customers/{id}/wallet`` → customer,
    ``?customer_id={id}`` → customer."""
    varied, where = rec.info.get("varied"), rec.info.get("varied_in")
    if not varied:
        return None
    if where == "query":
        return ref_noun(rec.info.get("varied_key") or varied)
    for sl in slots(rec.target.url):
        if sl.name == varied:
            return ref_noun(varied) or noun_of(strip_url(sl.collection).rsplit("/", 1)[-1])
    return None


def phantom_parents(records: list[ProbeRecord]) -> None:
    """Two endpoints about the same thing disagree on whether it exists: ``GET /customers/987654321/
    wallet`` says customer 987654321 does not exist (404 from its handler), ``GET /customers/
    987654321/loyalty`` answers 200 with a full body for it. The second one did not look it up."""
    by_noun: dict[tuple[str, str], list[ProbeRecord]] = defaultdict(list)
    for rec in records:
        noun = _ghost_noun(rec)
        if noun and rec.first("ghost") is not None and rec.first("ghost").ok:
            by_noun[(origin_of(rec.first("ghost").url), noun)].append(rec)
    for (_, noun), recs in by_noun.items():
        deniers = [r for r in recs if r.first("ghost").status in (404, 410) and r.base is not None and r.base.is_2xx]
        if not deniers:
            continue
        ref = deniers[0].first("ghost")
        for rec in recs:
            g = rec.first("ghost")
            if rec in deniers or not g.is_2xx or _empty(g):
                continue
            rec.cross.append(Evidence(
                "phantom-parent", "mock", 2.0,
                f"{ref.method} {_path(ref)} says that {noun} does not exist ({ref.status}), yet {g.method} {_path(g)} "
                f"answered {g.status} with a full body for it"))


def _empty(obs: Observation) -> bool:
    """Nothing found: no body, an empty list, or only zeros and blanks (Chroma's ``collections_count``
    answers ``0`` for a database that does not exist: a COUNT over nothing, not a canned answer)."""
    j = obs.json if obs.is_json else None
    if j in (None, {}, [], ""):
        return not obs.body.strip() or j is not None
    items = extract_list(j)
    if items is not None:
        return len(items) == 0
    values = [v for _, v in leaves(j)] if isinstance(j, (dict, list)) else [j]
    return all(v in (None, "", 0, False) or v == [] or v == {} for v in values)


def crosscheck(records: list[ProbeRecord]) -> None:
    """Add cross-endpoint evidence to every record (idempotent per run: clears it first)."""
    for rec in records:
        rec.cross = [e for e in rec.cross if e.signal not in ("transport-differs", "frozen-list", "list-moves",
                                                              "phantom-parent", "list-item-contradiction",
                                                              "co-served-with-mocks", "host-of-mocks")]
    unstable_reads(records)
    readback_blind(records)
    transport_siblings(records)
    co_served_with_mocks(records)
    list_item_contradictions(records)
    options_missing(records)
    options_like_mocks(records)
    frozen_lists(records)
    phantom_parents(records)
    host_of_mocks(records)


def unstable_reads(records: list[ProbeRecord]) -> None:
    """Reads whose identical requests already got different bodies (a gauge, a rotation of canned
    answers): that one changed after a write says nothing about the write. Written into each write
    record's ``info["unstable_reads"]`` for the effects signal."""
    moving = set()
    for rec in records:
        same = [o for o in rec.same_request() if o.is_2xx]
        if rec.info.get("kind") == "read" and len(same) >= 2 and len({_norm(o) for o in same}) > 1:
            moving.add(rec.target.name)
    for rec in records:
        if rec.info.get("kind") == "write":
            rec.info["unstable_reads"] = moving


def _parent(url: str) -> str:
    return strip_url(url).rpartition("/")[0]


def list_item_contradictions(records: list[ProbeRecord]) -> None:
    """An item route and its collection's list disagree about the same object's text fields."""
    written = {k for rec in records if rec.info.get("kind") == "write" for k, _ in leaves(rec.target.body)}
    lists: dict[str, tuple[ProbeRecord, dict[str, dict]]] = {}
    for rec in records:
        p = _primary_2xx(rec)
        if rec.info.get("kind") != "read" or p is None or p.method != "GET" or not p.is_json:
            continue
        items = extract_list(p.json)
        if not items or not all(isinstance(i, dict) for i in items):
            continue
        by_id = {str(object_id(i)): i for i in items if object_id(i) is not None}
        if by_id:
            lists.setdefault(list_collection(p.url), (rec, by_id))
    for rec in records:
        if rec.info.get("kind") != "read" or rec.info.get("varied_in") != "path":
            continue
        for o in rec.labeled("base", "alt"):
            if o.method != "GET" or not o.is_2xx or not isinstance(o.json, dict) or object_id(o.json) is None:
                continue
            hit = lists.get(_parent(o.url))
            if hit is None or hit[0] is rec:
                continue
            lst, by_id = hit
            item = by_id.get(str(object_id(o.json)))
            if item is None:
                continue
            diffs = [k for k, v in item.items()
                     if isinstance(v, str) and isinstance(o.json.get(k), str) and k not in written
                     and not is_id_key(str(k)) and not is_volatile_key(str(k)) and v.strip() and o.json[k].strip()
                     and not o.json[k].startswith(v.rstrip(".… ")) and not v.startswith(o.json[k].rstrip(".… "))]
            if not diffs:
                continue
            k = diffs[0]
            what = (f"GET {_path(o)} answers {k}={o.json[k][:40]!r} for the object GET {_path(lst.primary)} lists "
                    f"as {k}={item[k][:40]!r}" + (f" ({len(diffs)} fields differ)" if len(diffs) > 1 else ""))
            rec.cross.append(Evidence("list-item-contradiction", "mock", 1.0, what + ": the item route does not "
                                      "read what the list shows"))
            if not any(e.signal == "list-item-contradiction" for e in lst.cross):
                lst.cross.append(Evidence("list-item-contradiction", "mock", 0.7, what + ": the list and its item "
                                          "route disagree"))
            break


def _template(url: str) -> str:
    return PLACEHOLDER_RE.sub("{}", strip_url(url))


def options_missing(records: list[ProbeRecord]) -> None:
    """Sets ``info["options_missing"]`` (the reason) on unwritten endpoints whose ``OPTIONS`` got
    the router's own 404 on a host where ``OPTIONS`` tells routes apart."""
    for rec in records:
        rec.info.pop("options_missing", None)
    for rec in records:
        check = rec.info.get("options_route")
        opt = rec.first("options")
        if not rec.info.get("not_probed") or check is None or check.exists is not False or opt is None:
            continue
        origin, here = origin_of(opt.url), _template(rec.target.url)
        answered_here = [r.target.name for r in records if r is not rec and _template(r.target.url) == here
                         and any(o.is_2xx and o.method != "OPTIONS" for o in r.observations)]
        if answered_here:
            continue
        vouchers = [o for r in records if r is not rec for o in r.observations
                    if o.label in ("options", "removal-options", "route-options") and o.is_2xx
                    and origin_of(o.url) == origin
                    and _template(o.url) != here and same_software(o, opt)]
        if not vouchers:
            continue
        rec.info["options_missing"] = (f"{check.detail}, while {urlsplit(vouchers[0].url).path} and "
                                       f"{len(vouchers) - 1} other sibling route(s) answer OPTIONS "
                                       f"{vouchers[0].status} from the same server")


def options_like_mocks(records: list[ProbeRecord]) -> None:
    """Sets ``info["options_like_mocks"]`` (the reason) on writes whose ``OPTIONS`` (an unsent
    write's own, or ``own_options`` the engine asked for a sent one) is answered by the same
    software as ``OPTIONS`` on the reads judged mock, and by other software than ``OPTIONS`` on the
    reads served by something else (``sibling_options``, asked by the engine): a host that routes
    by path (a gateway, a stub tool beside a proxied backend) sends the write's path to the mock
    tool. Where one piece of software answers ``OPTIONS`` on every path
    (a tool in proxy mode answering preflights itself, one app with canned handlers), the answers do
    not differ and nothing is said: the write may still be relayed to a real backend."""
    from .signals import collect
    from .verdict import decide

    for rec in records:
        rec.info.pop("options_like_mocks", None)
    def route_options(r: ProbeRecord) -> Observation | None:
        o = r.first("options") if r.info.get("not_probed") else r.info.get("own_options")
        return o if isinstance(o, Observation) and o.ok else None

    unsent = [r for r in records if route_options(r) is not None]
    if not unsent:
        return
    asked = [r for r in records if isinstance(r.info.get("sibling_options"), Observation)
             and r.info["sibling_options"].ok]
    if not asked:
        return
    mocks = {id(r) for r in asked if decide(r, collect(r))[0] == "mock"}
    for rec in unsent:
        opt = route_options(rec)
        assert opt is not None
        origin = origin_of(opt.url)
        here = [r for r in asked if origin_of(r.info["sibling_options"].url) == origin]
        mock_prints = {options_print(r.info["sibling_options"]) for r in here if id(r) in mocks}
        elsewhere = [r for r in here if id(r) not in mocks]
        other_prints = {options_print(r.info["sibling_options"]) for r in elsewhere}
        # OPTIONS must split cleanly along the line the reads' own evidence drew: every mock read's
        # answer alike, none of the others' like them, and the write's like the mocks'
        if len(mock_prints) != 1 or not other_prints or mock_prints & other_prints \
                or options_print(opt) not in mock_prints:
            continue
        names = ", ".join(r.target.name for r in here if id(r) in mocks)
        rec.info["options_like_mocks"] = (
            f"OPTIONS {urlsplit(opt.url).path} was answered like OPTIONS on {names} (mock on their own "
            f"evidence: {_describe_options(opt)}), and unlike OPTIONS on {elsewhere[0].target.name} "
            f"({_describe_options(elsewhere[0].info['sibling_options'])}): the host routes this path to the "
            f"mock tool")


def options_print(obs: Observation) -> tuple:
    """What answered an ``OPTIONS``: the serving software's transport habits, and how it treats
    OPTIONS — its status, a CORS preflight answer, an ``Allow`` list (a gateway that rewrites the
    transport headers still passes these through from whatever serves the path)."""
    return (*transport_print(obs)[:5], obs.status, obs.header("access-control-allow-origin") is not None,
            obs.header("allow") is not None)


def _describe_options(obs: Observation) -> str:
    extra = [f"{obs.status}"] + (["CORS"] if obs.header("access-control-allow-origin") is not None else []) + (
        ["Allow"] if obs.header("allow") is not None else [])
    return f"{' + '.join(extra)}; {_describe(transport_print(obs))}"


#: real evidence this strong on any endpoint of the odd group vouches for the whole group
CO_SERVED_REAL_R = 2.0
CO_SERVED_WEIGHT = 1.5
#: added when two or more endpoints of the group are mock on their own, independent evidence
CO_SERVED_MORE = 0.5


def co_served_with_mocks(records: list[ProbeRecord]) -> None:
    """Endpoints blamed by ``transport-differs`` that share their software with at least one
    endpoint judged mock on its own evidence, in a group where no endpoint shows strong real
    evidence (R >= 2: a write read back by an id-aware route, an effect listed…): one more stub of
    the same tool (mocks-server, dyson, mountebank beside a proxied real backend). A group of real
    endpoints behind the same gateway shows its own strong real evidence somewhere, or no mock."""
    from .signals import collect
    from .verdict import decide

    groups: dict[tuple, list[ProbeRecord]] = defaultdict(list)
    for rec in records:
        p = _primary_2xx(rec)
        if p is not None and any(e.signal == "transport-differs" for e in rec.cross):
            groups[(origin_of(p.url), transport_print(p)[:5])].append(rec)
    for members in groups.values():
        if len(members) < 2:
            continue
        own: dict[int, tuple[str, float]] = {}
        for rec in members:
            ev = collect(rec)
            verdict, _, _ = decide(rec, ev)
            own[id(rec)] = (verdict, sum(e.weight for e in ev if e.points_to == "real"))
        if any(r >= CO_SERVED_REAL_R for _, r in own.values()):
            continue
        for rec in members:
            mocks = [r.target.name for r in members if r is not rec and own[id(r)][0] == "mock"]
            if mocks and own[id(rec)][0] != "mock":
                rec.cross.append(Evidence(
                    "co-served-with-mocks", "mock", CO_SERVED_WEIGHT + (CO_SERVED_MORE if len(mocks) >= 2 else 0.0),
                    f"served by the same software as {', '.join(mocks[:3])} on this base URL (mock on their own "
                    f"evidence), and no endpoint it serves shows strong real evidence"))


#: a base URL where this many endpoints, and this share of those that answer, are mock on their own
HOST_OF_MOCKS_AT = 5
HOST_OF_MOCKS_SHARE = 0.4
#: …and at most this share show any real-pointing evidence of weight >= 1
HOST_REAL_SHARE = 0.1
HOST_OF_MOCKS_WEIGHT = 3.0


def host_of_mocks(records: list[ProbeRecord]) -> None:
    """A base URL answered by one piece of software (no transport split) where many endpoints are
    mock on their own evidence and none shows strong real evidence: a mock generator serving a whole
    spec (connexion ``--mock=all``, openapi-mock-express-middleware, Prism ``-d``). Its endpoints
    that happened to give no evidence of their own (a random body that looked plausible, a write that
    was accepted) are more of the same (``host-of-mocks``, 3). A real service with canned handlers
    shows strong real evidence on its real endpoints (a write read back, an unknown id refused),
    and a gateway mixing a stub tool with a real backend splits by transport; neither qualifies."""
    from .signals import collect
    from .verdict import decide

    by_origin: dict[str, list[ProbeRecord]] = defaultdict(list)
    for rec in records:
        p = rec.primary
        if p is not None and p.ok and not p.error:
            by_origin[origin_of(p.url)].append(rec)
    for origin, members in by_origin.items():
        if any(e.signal == "transport-differs" for rec in members for e in rec.cross):
            continue
        own = {}
        for rec in members:
            ev = collect(rec)
            own[id(rec)] = (decide(rec, ev)[0], sum(e.weight for e in ev if e.points_to == "real"))
        judged = [rec for rec in members if own[id(rec)][0] in ("mock", "real", "unverified")]
        mocks = [rec for rec in judged if own[id(rec)][0] == "mock"]
        if len(mocks) < HOST_OF_MOCKS_AT or len(mocks) < HOST_OF_MOCKS_SHARE * len(judged):
            continue
        if any(r >= CO_SERVED_REAL_R for _, r in own.values()):
            continue
        if sum(1 for _, r in own.values() if r >= 1.0) > HOST_REAL_SHARE * len(judged):
            continue
        names = ", ".join(r.target.name for r in mocks[:3])
        for rec in judged:
            if own[id(rec)][0] != "mock":
                rec.cross.append(Evidence(
                    "host-of-mocks", "mock", HOST_OF_MOCKS_WEIGHT,
                    f"{len(mocks)} of the {len(judged)} endpoints on {origin} are mock on their own evidence "
                    f"({names}…), one piece of software answers them all, and none shows strong real evidence"))


def readback_blind(records: list[ProbeRecord]) -> None:
    """Sets ``info["readback_blind"]`` on writes read back through an item route that answers the
    same body whatever the id (``ignores-path-id`` ≥ 1.5 on that route's own probe)."""
    from .signals.identity import ignores_path_id

    blind: list[tuple[re.Pattern, str]] = []
    for rec in records:
        if rec.info.get("kind") != "read" or rec.info.get("varied_in") != "path":
            continue
        ev = [e for e in ignores_path_id(rec) if e.weight >= 1.5]
        if ev:
            pattern = re.compile(route_regex(rec.target.url) + "/?")
            blind.append((pattern, f"GET {urlsplit(rec.target.url).path} answers the same for any id "
                                   f"({rec.target.name}: {ev[0].detail[:80]})"))
    for rec in records:
        rec.info.pop("readback_blind", None)
        if rec.info.get("kind") != "write" or not blind:
            continue
        follow = rec.first("follow-retry") or rec.first("follow")
        if follow is None or not follow.is_2xx:
            continue
        for pattern, why in blind:
            if pattern.fullmatch(strip_url(follow.url)):
                rec.info["readback_blind"] = why
                break
