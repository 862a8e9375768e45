"""The write plan: POST, PUT, PATCH, DELETE — and the rules that keep it harmless (see
:mod:`tasks.readiness.plans`)."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import quote, urlsplit

from .content import extract_list, find_id, is_id_key, vary_identifier, with_value
from .identifiers import addressed_fields, route_regex, slots, strip_url
from .ledger import NAME_FIELDS, as_route_collection, made_list, new_token, resolve_references, uniquify
from .models import ProbeTarget
from .plans import (
    FOLLOW_RETRY_S, MALFORMED_BODY, RESEND_MIN_MS, RESENDS, WRITE_BUDGET, Related, Run, _finish, _real_combos,
    get_following, not_probed_reason, unlisted_sample,
)
from .probe import (
    GHOST_INT, Observation, Prober, ProbeRecord, fill, ghost_value, is_non_create, is_success, join_url, origin_of,
    sample_combos,
    strip_query, typed_combos, varied_placeholder,
)


def _own_combo(target: ProbeTarget, run: Run, base: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    found = _real_combos(target, run.pool, base, own_only=True, limit=1)
    return found[0] if found else None


def _own_combo_parent(target: ProbeTarget, run: Run, base: dict[str, Any]) -> dict[str, Any] | None:
    """Values for every placeholder but the last one (the parents of the item), from this run's
    objects; ``base`` when the item has no parent."""
    sl = slots(target.url)
    combo = dict(base)
    for s in sl[:-1]:
        cands = run.pool.candidates(fill(s.collection, combo), s.name, s.literal, own_only=True, prefer_own=True)
        if not cands:
            return None
        combo[s.name] = cands[0][0]
    return combo


async def provision(target: ProbeTarget, collection: str, run: Run) -> bool:
    """Create one object with ``target`` (a POST that creates) in ``collection``; record it."""
    if not_probed_reason(target, run) is not None:
        return False
    prober = run.prober(2)
    body, _ = _body_for(run, target.body, new_token())
    slash = "/" if target.url.partition("?")[0].endswith("/") else ""
    obs = await prober.send("provision", "POST", strip_url(collection) + slash, dict(target.headers), body)
    if obs is None or not obs.is_2xx:
        return False
    assert run.ledger is not None
    return run.ledger.record(target.name, strip_query(obs.url), obs.json if obs.is_json else None,
                             obs.header("location"), obs.url) is not None


async def probe_write(target: ProbeTarget, run: Run) -> ProbeRecord:
    prober = run.prober(WRITE_BUDGET)
    reason = not_probed_reason(target, run)
    rec = ProbeRecord(target=target, info={"kind": "write", "writes_allowed": reason is None})
    method = target.method.upper()
    headers = dict(target.headers)
    combos = sample_combos(target)
    varied, varied_in = varied_placeholder(target)
    rec.info.update(varied=varied, varied_in=varied_in)
    combo = combos[0]
    has_slots = bool(slots(target.url))
    own = _own_combo(target, run, combo) if has_slots else None
    if own is None and has_slots and method == "DELETE" and reason is None and run.provision is not None:
        # the objects this run created here were used up (another DELETE route): make one to delete
        first = _own_combo_parent(target, run, combo)
        if first is not None and await run.provision(fill(slots(target.url)[-1].collection, first)):
            own = _own_combo(target, run, combo)
    if own is not None:
        combo = own[0]
        rec.info["own_object"] = own[1]
    url = fill(target.url, combo)
    rec.info["values"] = {k: str(v) for k, v in combo.items()}
    origin = origin_of(url)

    if reason is not None:
        rec.info["not_probed"] = reason
        obs = await prober.send("options", "OPTIONS", url, headers)
        if obs is not None:
            rec.observations.append(obs)
            if obs.ok and obs.status in (404, 410):
                # the router's own 404? (crosscheck decides whether OPTIONS can be trusted here)
                rec.info["options_route"] = await run.oracle.options_not_found(obs, prober, headers)
            if not obs.error:
                rec.host_observations = await run.hosts.get(origin, prober, headers)
        return _finish(rec, prober)

    verb = update_verb(url) if method == "POST" and own is None else None
    if verb:
        await _withhold(rec, run, prober, url, headers, (
            f"not written: its path names a change to an existing object ({verb}), which readiness could not undo "
            f"on the campaign's sample; only a body the API must refuse was sent (mark it safe: true if it only "
            f"reads)"))
    elif method == "DELETE":
        await _probe_delete(rec, run, prober, url, headers, own is not None, combo)
    elif method == "POST" and not has_slots or method == "POST" and own is not None and _is_create_url(target):
        await _probe_post(rec, run, prober, url, headers)
    else:
        await _probe_modify(rec, run, prober, url, headers, own is not None, combo)
    rec.host_observations = await run.hosts.get(origin, prober, headers, url)
    return _finish(rec, prober)


def _is_create_url(target: ProbeTarget) -> bool:
    """A POST whose path ends in a literal collection under an item (``/work_pools/{name}/queues``)."""
    last = urlsplit(target.url.partition("?")[0]).path.rstrip("/").rsplit("/", 1)[-1]
    return "{" not in last


async def _snapshot(rec: ProbeRecord, run: Run, label: str, related: list[Related]) -> None:
    if not related:
        return
    prober = run.prober(3 * len(related))
    for r in related:
        if r.method == "GET":
            obs = await get_following(prober, label, r.url, r.headers, meta={"read": r.name})
        else:
            obs = await prober.send(label, r.method, r.url, r.headers, r.body, meta={"read": r.name}, is_write=False)
        if obs is not None:
            rec.observations.append(obs)
    rec.extra_requests += prober.count


def _body_for(run: Run, body: Any, token: str) -> tuple[Any, list[str]]:
    resolved, notes = resolve_references(body, run.pool)
    unique, changed = uniquify(resolved, token)
    return unique, notes + [f"{c} made unique" for c in changed]


async def _send_write(rec: ProbeRecord, prober: Prober, run: Run, label: str, method: str, url: str,
                      headers: dict[str, str], body: Any, meta: dict | None = None) -> Observation | None:
    obs = await prober.send(label, method, url, headers, body, meta=meta)
    if obs is not None:
        rec.observations.append(obs)
    return obs


async def _withhold(rec: ProbeRecord, run: Run, prober: Prober, url: str, headers: dict[str, str],
                    reason: str) -> None:
    """Nothing a valid POST creates here could be removed: send only a body the API must refuse."""
    target = rec.target
    rec.info["withheld"] = reason
    run.withheld[target.name] = reason
    if isinstance(target.body, (dict, list)) and target.body:
        bad = await prober.send("malformed", "POST", url, headers, raw=MALFORMED_BODY)
        if bad is not None:
            rec.observations.append(bad)
            if bad.is_2xx:
                _record(rec, run, bad, url)
            elif bad.ok and bad.status in (404, 410):
                rec.info["route"] = unlisted_sample(rec, run, await run.oracle.check(bad, prober, headers))


async def _probe_post(rec: ProbeRecord, run: Run, prober: Prober, url: str, headers: dict[str, str]) -> None:
    target = rec.target
    assert run.ledger is not None
    withheld = await _removal_unknown(rec, run, prober, url, headers)
    if withheld:
        await _withhold(rec, run, prober, url, headers, withheld)
        return
    related = run.related(target, url)
    await _snapshot(rec, run, "effect-before", related)
    token = new_token()
    base_body = target.body
    body1, notes = _body_for(run, base_body, token)
    rec.info["body_notes"] = notes
    w1 = await _send_write(rec, prober, run, "write", "POST", url, headers, body1, {"token": token})
    if w1 is None or w1.error:
        return
    if w1.status in (400, 404, 409, 422) and target.body is not None:
        fixed, more = resolve_references(target.body, run.pool, placeholders_only=False)
        if more:
            w1.label = "write-refused"
            token = new_token()
            base_body = fixed
            body1, notes = _body_for(run, fixed, token)
            rec.info["body_notes"] = notes + more
            w1 = await _send_write(rec, prober, run, "write", "POST", url, headers, body1, {"token": token})
            if w1 is None or w1.error:
                return
    if w1.status in (400, 401, 403, 409, 422) and any("made unique" in n for n in notes):
        # the unique values were refused (a sign-in checks the e-mail it gets): the campaign's own values
        w1.label = "write-refused"
        body1, _ = resolve_references(base_body, run.pool)
        rec.info["body_notes"] = [n for n in notes if "made unique" not in n] + [
            f"unique values refused ({w1.status}): the campaign's own values were sent"]
        token = ""
        w1 = await _send_write(rec, prober, run, "write", "POST", url, headers, body1, {})
        if w1 is None or w1.error:
            return
    if w1.status in (404, 410):
        rec.info["route"] = unlisted_sample(rec, run, await run.oracle.check(w1, prober, headers))
    if w1.status == 501 and isinstance(target.body, (dict, list)) and target.body:
        # "not implemented" for this body, or for this route? A handler that parses the body first
        # refuses one that is not JSON with a 4xx (Jupyter: 501 for a kernel it does not have)
        bad = await prober.send("malformed", "POST", url, headers, raw=MALFORMED_BODY)
        if bad is not None:
            rec.observations.append(bad)
            if bad.is_2xx:
                _record(rec, run, bad, url)
    if not is_success(w1, target.expect_status):
        return
    if _bulk_made(w1):
        # a list body made a list of objects (Directus: {"data": [{"id": 3}, …]}): each is removed; never
        # sent again (it looked like an answer to compare, and every resend made more)
        _record(rec, run, w1, url)
        await _snapshot(rec, run, "effect-after", related)
        return
    if is_non_create(w1) and _item_routed(run, url) and run.ledger.record(
            target.name, strip_query(url), w1.json, None, url) is not None:
        # a collection the campaign deletes items of: a 2xx answer naming an object
        # (``{"name": "1", …}``) made one — never resent, and removed like any other
        rec.info.setdefault("created", []).append(run.ledger.created[-1].ref)
        await _snapshot(rec, run, "effect-after", related)
        return
    if _record_by_sent_name(rec, run, w1, url) is not None:
        await _snapshot(rec, run, "effect-after", related)
        return
    if is_non_create(w1) or (w1.is_2xx and not w1.body.strip() and not w1.header("location")):
        rec.info["non_create"] = is_non_create(w1)
        if not is_non_create(w1):
            run.ledger.unknown_effects.append(f"{target.name}: POST {urlsplit(url).path} answered {w1.status} "
                                              f"without saying what it created")
        if is_non_create(w1):  # an answer to compare: send the very same request again
            w2 = await _send_write(rec, prober, run, "write", "POST", url, headers, body1, {"n": 2, "token": token})
            await _probe_non_create(rec, prober, run, url, headers, body1, w2)
        return
    answered = find_id(w1.json, urlsplit(url).path) if w1.is_json else None
    if has_item_slot(target) and answered is not None and str(answered) in {
            str(v) for v in (rec.info.get("values") or {}).values()}:
        # the answer is the very item the path names (POST /tasks/{id}/complete): an action on it,
        # not a new child; nothing to read back, nothing created, no twin
        rec.info["non_create"] = f"it answered the item its path names (id {answered}): an action on that item"
        await _snapshot(rec, run, "effect-after", related)
        return
    created1 = _record(rec, run, w1, url)
    await _follow_created(rec, prober, run, url, headers, w1, created1)
    confirmed = _read_back(rec, w1) and not await _follow_blind(rec, prober, headers)
    _never_stored(rec, run, created1)
    if not confirmed and (_deletable(run, created1) or _echo_share(w1) < 0.5):
        # not confirmed by reading it back: a second object with other values tells a canned answer
        # (the same id twice) from a real one — sent when the twin can be deleted, or when the
        # answer echoes little of what was sent (canned: the twin creates nothing). A confirmed
        # object needs no twin: one object less, and no pair of objects that could set each other
        # off (automations, webhooks).
        token2 = new_token()
        body2, _ = _body_for(run, base_body, token2)
        w2 = await _send_write(rec, prober, run, "write", "POST", url, headers, body2, {"n": 2, "token": token2})
        if w2 is not None and w2.is_2xx:
            _record(rec, run, w2, url)
    await _snapshot(rec, run, "effect-after", related)
    if isinstance(target.body, (dict, list)) and target.body and not confirmed and not _listed(rec):
        # invalid JSON: a real handler refuses it before doing anything. Not sent once the object
        # was read back or listed: a permissive store would keep the garbage, with no id to delete
        bad = await prober.send("malformed", "POST", url, headers, raw=MALFORMED_BODY)
        if bad is not None:
            rec.observations.append(bad)
            if bad.is_2xx:
                _record(rec, run, bad, url)


async def _removal_unknown(rec: ProbeRecord, run: Run, prober: Prober, url: str, headers: dict[str, str]) -> str | None:
    """Why a valid POST to ``url`` must not be sent, or None: it adds to a collection the campaign
    lists (``GET`` on the same path), and nothing says how to remove what it adds — no ``DELETE``
    item route in the campaign, and ``OPTIONS`` on an item URL lists no ``DELETE``. A POST to a
    path the campaign does not list (an action, a computation) is sent as before."""
    if _item_routed(run, url):
        return None
    coll = strip_url(strip_query(url))
    verb = creation_verb(url)
    if verb:
        # an RPC-style creation (``/v3/auth/user/add``, ``/users/create``): it answers with no id or
        # Location to delete by, and nothing in the campaign undoes it
        return _creation_withheld(verb)
    items_under = any(_item_of(strip_url(t), coll) for t in run.oracle.templates)
    listed = coll in run.list_urls or any(re.fullmatch(route_regex(t), coll) for t in run.list_templates)
    if not listed and not items_under:
        return None  # an action or a computation, not a collection (no list, no item route under it)
    slash = "/" if strip_query(url).endswith("/") else ""
    item = f"{coll}/{GHOST_INT}{slash}"
    opt = await prober.send("removal-options", "OPTIONS", item, headers)
    if opt is not None:
        rec.observations.append(opt)
        for name in ("allow", "access-control-allow-methods"):
            listed = {m.strip().upper() for m in (opt.header(name) or "").split(",")}
            if opt.ok and opt.status < 400 and "DELETE" in listed or opt.ok and name == "allow" and "DELETE" in listed:
                rec.info["removal"] = f"OPTIONS {urlsplit(item).path} lists DELETE ({name}: {opt.header(name)})"
                return None
    return (f"not written: nothing a POST adds to {urlsplit(coll).path or '/'} could be removed afterwards (the "
            f"campaign has no DELETE for its items, and OPTIONS on an item lists none); only a body the API "
            f"must refuse was sent (add the DELETE operation, or mark it safe: true)")


def _item_of(template: str, coll: str) -> bool:
    """``template`` is an item route of ``coll``: ``/tenants/{tenant_name}``, ``/notes/{id}`` — not a
    lookup by something else (``/quotes/{sym}`` beside a POST /quotes that computes a price)."""
    from .identifiers import noun_of, split_placeholder

    parent, _, last = template.rpartition("/")
    if not (last.startswith("{") and last.endswith("}")) or not re.fullmatch(route_regex(parent), coll):
        return False
    noun, fld = split_placeholder(last.strip("{}"))
    return noun == noun_of(coll.rsplit("/", 1)[-1]) or noun is None and fld in ("id", "uuid", "name", "slug", "key")


#: the last path segment of an RPC-style operation that makes something (etcd's ``/v3/auth/user/add``,
#: ``/v3/kv/put``, ``/users/create``, ``/projects/{id}/add-member``)
CREATION_VERBS = {"add", "create", "new", "insert", "put", "grant", "register", "signup", "enroll", "enrol",
                  "subscribe", "upload", "import", "append"}


def _last_segment_verb(url: str, verbs: set[str]) -> str | None:
    """The first of ``verbs`` the path's last (literal) segment names, or None."""
    from .ledger import _tokens

    last = urlsplit(strip_query(url)).path.rstrip("/").rsplit("/", 1)[-1]
    if not last or "{" in last:
        return None
    hits = sorted(_tokens(last) & verbs)
    return hits[0] if hits else None


def creation_verb(url: str) -> str | None:
    """The creation verb the path's last (literal) segment names, or None."""
    return _last_segment_verb(url, CREATION_VERBS)


#: a POST whose path names one of these changes an object that already exists (MLflow's
#: ``/experiments/update``, ``/runs/set-tag``, ``/runs/log-metric``; ``/orders/{id}/cancel``)
UPDATE_VERBS = {"update", "rename", "set", "edit", "modify", "replace", "log", "tag", "untag", "assign", "unassign",
                "attach", "detach", "link", "unlink", "move", "archive", "unarchive", "publish", "unpublish",
                "approve", "reject", "close", "reopen", "cancel", "transition", "merge", "mark", "complete",
                "activate", "deactivate", "lock", "unlock", "pause", "resume", "rate", "vote", "star", "unstar",
                "follow", "unfollow", "upsert", "patch", "change", "toggle"}


async def _options(rec: ProbeRecord, prober: Prober, url: str, headers: dict[str, str]) -> Observation | None:
    """A write that is not sent still gets its ``OPTIONS`` (safe): the tool may name itself there."""
    obs = await prober.send("options", "OPTIONS", url, headers)
    if obs is not None:
        rec.observations.append(obs)
    return obs


def update_verb(url: str) -> str | None:
    """The update verb the path's last (literal) segment names, or None."""
    return _last_segment_verb(url, UPDATE_VERBS)


def _creation_withheld(verb: str) -> str:
    return (f"not written: its path names a creation ({verb}) and nothing in the campaign removes what it creates "
            f"(no DELETE item route under it); only a body the API must refuse was sent (add the DELETE "
            f"operation, or test it by hand)")


def _keep_identity(body: dict, notes: list[str], current: dict, names: set[str]) -> tuple[dict, list[str]]:
    """``body`` with the fields named in ``names`` (and the ids) as ``current`` has them: a write
    never renames, or re-ids, what its route addresses."""
    kept = [k for k in body if k in current and (str(k).lower() in names or is_id_key(str(k)))]
    return ({**body, **{k: current[k] for k in kept}},
            [n for n in notes if n.split(" ")[0] not in kept] + [f"{k} kept as it is" for k in kept])


def notes_kept(notes: list[str]) -> list[str]:
    """The body fields a write kept as they were (``"name kept as it is"``)."""
    return [n[: -len(" kept as it is")] for n in notes if n.endswith(" kept as it is")]


def has_item_slot(target: ProbeTarget) -> bool:
    return bool(slots(target.url))


def _item_routed(run: Run, url: str) -> bool:
    """The campaign has a DELETE item route (``DELETE …/{id}``) right under ``url``: a POST there
    adds to a collection of things one removes."""
    assert run.ledger is not None
    coll = strip_url(strip_query(url))
    for route in run.ledger.deletes:
        sl = slots(route.template)
        if not sl or not route.template.partition("?")[0].rstrip("/").endswith("{" + sl[-1].name + "}"):
            continue
        pattern = route_regex(sl[-1].collection)
        if re.fullmatch(pattern, coll) or re.fullmatch(pattern, as_route_collection(coll, sl[-1].collection)):
            return True
    return False


def _listed(rec: ProbeRecord) -> bool:
    from .signals.writes import creation_confirmed

    return creation_confirmed(rec) is not None


def _deletable(run: Run, entry) -> bool:
    """The campaign has a DELETE operation for the collection ``entry`` lives in."""
    from .ledger import item_urls

    return entry is not None and bool(item_urls(run.ledger.deletes, entry.collection,  # type: ignore[union-attr]
                                                run.ledger.object_of(entry), entry.ref))  # type: ignore[union-attr]


def _echo_share(w1: Observation) -> float:
    """How much of what was sent the answer repeats (1.0 when nothing was sent to compare)."""
    from .content import leaves

    sent = [str(v).strip().lower() for _, v in leaves(w1.sent) if isinstance(v, (str, int, float))
            and not isinstance(v, bool) and len(str(v).strip()) >= 2] if not isinstance(w1.sent, bytes) else []
    if not sent:
        return 1.0
    text = w1.text.lower()
    return sum(v in text for v in sent) / len(sent)


def _never_stored(rec: ProbeRecord, run: Run, entry) -> None:
    """The API's own item route (its Location, or the campaign's route) says the object it just
    announced does not exist, twice: nothing was stored, nothing is left to remove."""
    follow = rec.first("follow-retry") or rec.first("follow")
    check = rec.info.get("follow_route")
    if entry is None or follow is None or check is None or not check.exists or follow.status not in (404, 410):
        return
    obj = run.ledger.object_of(entry)  # type: ignore[union-attr]
    if any(isinstance(obj.get(k), str) and obj[k] for k in ("name", "slug")):
        return  # the API may address it by name (Chroma): the cleanup tries that before calling it gone
    if follow.meta.get("via") in ("location", "route"):
        run.ledger.mark(entry, "gone", f"never stored: GET {urlsplit(follow.url).path} answered "  # type: ignore
                                       f"{follow.status} from a route that exists")


async def _follow_blind(rec: ProbeRecord, prober: Prober, headers: dict[str, str]) -> bool:
    """The read-back route answers a full object for an id that surely does not exist (a stub that
    ignores its id, or one that makes up the object the path names): reading the created object
    back through it proves nothing. Sets ``info["readback_ghost"]`` with the reason."""
    follow = rec.first("follow-retry") or rec.first("follow")
    created = rec.info.get("created_id")
    if follow is None or not follow.is_2xx or not created:
        return False
    p = urlsplit(follow.url)
    head, _, last = p.path.rstrip("/").rpartition("/")
    if last != quote(str(created), safe=""):
        return False
    ghost = ghost_value(created)
    url = p._replace(path=f"{head}/{quote(ghost, safe='')}" + ("/" if p.path.endswith("/") else "")).geturl()
    obs = await prober.send("follow-ghost", "GET", url, headers, meta={"value": ghost})
    if obs is None:
        return False
    rec.observations.append(obs)
    data = obs.json if obs.is_2xx and obs.is_json else None
    if isinstance(data, dict) and len(data) >= 2:
        rec.info["readback_ghost"] = (f"GET {urlsplit(url).path} (an id that does not exist) answered {obs.status} "
                                      f"with a full object too")
        return True
    return False


def _read_back(rec: ProbeRecord, w1: Observation) -> bool:
    """The object the first POST created was read back with the values written."""
    from .signals.writes import reflects

    follow = rec.first("follow-retry") or rec.first("follow")
    if follow is None or not follow.is_2xx:
        return False
    r = reflects(w1.sent, follow.json if follow.is_json else None)
    return r is None or r >= 0.5


def _bulk_made(obs: Observation) -> bool:
    """A 2xx answer listing objects with ids, bare or as ``{"data": [...]}`` (a bulk create)."""
    from .identifiers import object_id

    made = made_list(obs.json) if obs.is_2xx and obs.is_json else None
    return made is not None and obs.header("location") is None and all(object_id(i) is not None for i in made)


def _record_by_sent_name(rec: ProbeRecord, run: Run, obs: Observation, url: str):
    """A 2xx with nothing in it (Chroma's ``{}`` to POST …/databases) still made the object the body
    named, and the campaign deletes items by that name: record it under the unique name it was sent."""
    empty = not obs.body.strip() or (obs.is_json and obs.json in ({}, None))
    if not obs.is_2xx or not empty or not _item_routed(run, url):
        return None
    entry = run.ledger.record_sent(rec.target.name, strip_query(url), obs.sent, url)  # type: ignore[union-attr]
    if entry is not None:
        rec.info.setdefault("created", []).append(entry.ref)
    return entry


def _record(rec: ProbeRecord, run: Run, obs: Observation, url: str):
    assert run.ledger is not None
    data = obs.json if obs.is_json else None
    listed = made_list(data)
    if listed is not None and obs.header("location") is None:
        # a bulk create (JupyterHub's POST /users {"usernames": [...]}) answers the list it made:
        # every one of them is recorded, to be removed
        entries = [run.ledger.record(rec.target.name, strip_query(url), item, None, url) for item in listed[:20]]
        made = [e for e in entries if e is not None]
        for e in made:
            rec.info.setdefault("created", []).append(e.ref)
        if made:
            run.withheld.setdefault(rec.target.name, f"not sent again: its POST answered {obs.status} with a list of "
                                                     f"the objects it made (a bulk create); readiness removed them")
            return made[0]
    entry = run.ledger.record(rec.target.name, strip_query(url), data, obs.header("location"), url)
    if entry is not None:
        rec.info.setdefault("created", []).append(entry.ref)
    elif obs.is_2xx:
        run.ledger.unknown_effects.append(f"{rec.target.name}: POST {urlsplit(url).path} answered {obs.status} "
                                          f"without an id or a Location")
        if obs.status != 202 and obs.is_json and isinstance(obs.json, (dict, list)) and obs.json:
            # an object came back, but nothing to address it by (Mockoon: "id": null): whatever a
            # later stage's POST makes here could not be removed either
            run.withheld.setdefault(rec.target.name, f"not sent: its POST answered {obs.status} with an object but no "
                                                     f"id or Location, so what it creates could not be removed")
    return entry


async def _probe_non_create(rec: ProbeRecord, prober: Prober, run: Run, url: str, headers: dict[str, str],
                            body: Any, w2: Observation | None) -> None:
    """A POST that creates nothing: resend it a few times when it is slow enough for its latency to
    say something, then vary one identifier."""
    if w2 is not None and w2.is_2xx and w2.latency_ms >= RESEND_MIN_MS:
        for _ in range(max(RESENDS, run.samples - 1)):
            if prober.left <= 6:
                break
            obs = await prober.send("resend", "POST", url, headers, body)
            if obs is None:
                break
            rec.observations.append(obs)
    cand = vary_identifier(body)
    if cand is not None:
        path, old, new = cand
        obs = await prober.send("vary", "POST", url, headers, with_value(body, path, new),
                                meta={"field": ".".join(path), "from": old, "to": new})
        if obs is not None:
            rec.observations.append(obs)


async def _follow_created(rec: ProbeRecord, prober: Prober, run: Run, url: str, headers: dict[str, str],
                          w1: Observation, created) -> None:
    """Read back what the first POST says it created."""
    location = w1.header("location")
    if location and join_url(url, location) is None:
        rec.info["location_unusable"] = location[:200]
        location = None
    created_id = find_id(w1.json, urlsplit(url).path) if w1.is_json else None
    rec.info["created_id"] = None if created_id is None else str(created_id)
    collection = strip_query(url).rstrip("/")
    if w1.status == 202:
        return
    if location:
        obs = await prober.send("follow", "GET", join_url(url, location), headers,
                                meta={"via": "location", "location": location})
        if obs is not None:
            rec.observations.append(obs)
            if obs.error_kind == "refused":
                return
            if obs.status in (404, 410):
                rec.info["follow_route"] = await run.oracle.check(obs, prober, headers)
            await _retry_follow(rec, prober, headers)
            if obs.status not in (404, 410) or created_id is None:
                return
    routed = run.ledger.read_urls(created) if created is not None else []  # type: ignore[union-attr]
    if routed:
        item, route = routed[0]
        via, meta = "route", {"route": route.name}
    elif created_id is not None:
        item, via, meta = f"{collection}/{quote(str(created_id), safe='')}", "id", {}
    else:
        return
    if location and join_url(url, location).rstrip("/") == item.rstrip("/"):
        return
    obs = await prober.send("follow" if not location else "follow-id", "GET", item, headers,
                            meta={"via": via, "id": str(created_id), **meta})
    if obs is None:
        return
    rec.observations.append(obs)
    if obs.status not in (404, 410):
        return
    if not location:
        await _retry_follow(rec, prober, headers)
        retry = rec.first("follow-retry")
        if retry is not None and retry.status not in (404, 410):
            return
    rec.info.setdefault("follow_route", await run.oracle.check(obs, prober, headers))
    if via == "route":
        return
    lst = await prober.send("collection", "GET", collection, headers)
    if lst is None:
        return
    rec.observations.append(lst)
    items = extract_list(lst.json) if lst.is_2xx and lst.is_json else None
    from .content import item_ids
    ids = [i for i in item_ids(items or []) if str(i) != str(created_id)]
    if ids:
        obs = await prober.send("known", "GET", f"{collection}/{quote(str(ids[0]), safe='')}", headers,
                                meta={"id": str(ids[0])})
        if obs is not None:
            rec.observations.append(obs)


async def _retry_follow(rec: ProbeRecord, prober: Prober, headers: dict[str, str]) -> None:
    """Eventual consistency: re-read a 404 follow-up once after a short wait."""
    follow = rec.first("follow")
    if follow is not None and follow.status in (404, 410) and prober.left > 2 and not rec.first("follow-retry"):
        await asyncio.sleep(FOLLOW_RETRY_S)
        obs = await prober.send("follow-retry", "GET", follow.url, headers, meta=dict(follow.meta))
        if obs is not None:
            rec.observations.append(obs)


def _restore_body(method: str, sent: Any, before: Any) -> Any:
    if not isinstance(before, dict):
        return None
    if method == "PUT":
        return before
    if isinstance(sent, dict):
        keys = [k for k in sent if k in before]
        return {k: before[k] for k in keys} if keys else None
    return None


async def _probe_modify(rec: ProbeRecord, run: Run, prober: Prober, url: str, headers: dict[str, str],
                        own: bool, combo: dict[str, Any]) -> None:
    """PUT/PATCH (and POST actions on an item): an own object, or a sample put back afterwards."""
    target = rec.target
    method = target.method.upper()
    has_slots = bool(slots(target.url))
    verb = creation_verb(url) if method == "POST" else None
    if verb and not _item_routed(run, url):
        await _withhold(rec, run, prober, url, headers, _creation_withheld(verb))
        return
    if method == "POST" and not own and _is_create_url(target):
        # a creation under one of the campaign's samples (POST /tenants/{tenant}/databases): the same
        # question as for a top-level collection, can what it adds be removed?
        withheld = await _removal_unknown(rec, run, prober, url, headers)
        if withheld:
            await _withhold(rec, run, prober, url, headers, withheld)
            return
    pre = None
    if method in ("PUT", "PATCH") or not own:
        pre = await prober.send("pre", "GET", url, headers)
        if pre is not None:
            rec.observations.append(pre)
    if not own and pre is not None and pre.ok and (pre.status in (404, 410) or (pre.status or 0) >= 500):
        # a text sample a typed router did not take (Flask's <int:n>): an integer, then a UUID
        for typed, why in typed_combos(target, combo):
            probe = await prober.send("pre", "GET", fill(target.url, typed), headers, meta={"typed": why})
            if probe is None:
                break
            rec.observations.append(probe)
            if probe.ok and probe.status not in (404, 410) and (probe.status or 0) < 500:
                pre, url, combo = probe, fill(target.url, typed), typed
                rec.info["values"] = {k: str(v) for k, v in combo.items()}
                rec.info["typed"] = why
                break
    restorable = pre is not None and pre.is_2xx and pre.is_json and isinstance(pre.json, dict)
    names_item = target.url.partition("?")[0].rstrip("/").endswith("}")
    if not own and (method == "PUT" or method == "POST" and names_item) and pre is not None and pre.ok \
            and pre.status in (404, 410):
        check = await run.oracle.check(pre, prober, headers)
        if check.exists:  # the item route answers "no such item": a PUT (or a POST) there could create it
            reason = (f"not written: GET answered {pre.status} for the campaign's sample ({check.detail}), and a "
                      f"{method} there could create it; nothing this run created could be used")
            rec.info["not_probed"] = reason
            if method == "POST":  # JupyterHub's POST /groups/{name}: later stages must not create it either
                run.withheld.setdefault(target.name, reason)
            await _options(rec, prober, url, headers)
            return
        opt = await _options(rec, prober, url, headers)
        if opt is not None:
            allow = {m.strip().upper() for m in (opt.header("allow") or "").split(",") if m.strip()}
            if opt.ok and (opt.is_2xx or opt.status == 405) and method in allow:
                # only an Allow list that names the method: a mock tool answers every OPTIONS 200 (CORS)
                # verdaccio: GET is not routed at /-/package/{pkg}/dist-tags/{tag}, PUT is (Express answers
                # OPTIONS with Allow: PUT, DELETE): the PUT would create the tag
                reason = (f"not written: GET answered {pre.status} for the campaign's sample, but OPTIONS answered "
                          f"{opt.status}" + (f" (Allow: {opt.header('allow')})" if allow else "") + f": a {method} "
                          f"there could create it; nothing this run created could be used")
                rec.info["not_probed"] = reason
                run.withheld.setdefault(target.name, reason)
                return
    if not own and (method == "PUT" or method == "POST" and names_item) and pre is not None and pre.ok \
            and not pre.is_2xx and pre.status not in (404, 410) and (pre.status or 0) < 500:
        # Pushgateway: GET /metrics/job/{job} answers 405, and a PUT there creates the group: when the
        # sample cannot be read, nothing shows it exists, and the write could create it
        reason = (f"not written: GET answered {pre.status} for the campaign's sample, so nothing shows that it "
                  f"exists, and a {method} there could create it; nothing this run created could be used")
        rec.info["not_probed"] = reason
        run.withheld.setdefault(target.name, reason)
        await _options(rec, prober, url, headers)
        return
    if own and (method == "PUT" or method == "POST" and names_item):
        # probed on an object this run made; later stages send the campaign's own sample: if that one
        # does not exist, their PUT/POST would create it (JupyterHub: smoke's POST /users/sample)
        sample_url = fill(target.url, sample_combos(target)[0])
        if sample_url != url:
            probe = await prober.send("sample-pre", "GET", sample_url, headers)
            if probe is not None:
                rec.observations.append(probe)
                if probe.ok and probe.status in (404, 410):
                    run.withheld.setdefault(target.name, (
                        f"not sent by later stages: GET {urlsplit(sample_url).path} answered {probe.status}, so a "
                        f"{method} to the campaign's sample would create it"))
    if not own and not has_slots and not restorable and method in ("PUT", "PATCH"):
        rec.info["not_probed"] = ("not written: its current value could not be read "
                                  f"(GET answered {pre.status if pre is not None and pre.ok else 'nothing'}), "
                                  f"so it could not be put back")
        return
    if not own and method == "PATCH" and restorable and isinstance(target.body, dict) and \
            _restore_body(method, target.body, pre.json) is None:  # type: ignore[union-attr]
        rec.info["not_probed"] = ("not written: the fields it sets are not in the sample's current value, so the "
                                  "change could not be put back (it would add, or create, something)")
        return
    token = new_token()
    body, notes = _body_for(run, target.body, token)
    if own and isinstance(body, dict):
        entry = run.ledger.find(url)  # type: ignore[union-attr]
        current = run.ledger.object_of(entry) if entry is not None else {}  # type: ignore[union-attr]
        body, notes = _keep_identity(body, notes, current, NAME_FIELDS)
    addressed_by = addressed_fields(target.url)
    if not own and restorable and isinstance(body, dict) and method in ("PUT", "PATCH"):
        # a sample changed and put back: its identity stays (JupyterHub's PATCH /users/{name} with a
        # "name" renames the user, and the put-back then finds nobody by the old name)
        body, notes = _keep_identity(body, notes, pre.json, addressed_by)  # type: ignore[union-attr]
    dropped = [k for k in body if str(k).lower() in addressed_by] if method == "PATCH" and isinstance(body, dict) \
        else []
    if dropped and len(dropped) < len(body):
        # a PATCH sends what changes: never the field the route addresses the object by (JupyterHub
        # renames a user whose PATCH carries a "name", and answered 500 to its own name)
        body = {k: v for k, v in body.items() if k not in dropped}
        notes = [n for n in notes if n.split(" ")[0] not in dropped] + [f"{k} left out: the route addresses by it"
                                                                       for k in dropped]
    rec.info["body_notes"] = notes
    w1 = await _send_write(rec, prober, run, "write", method, url, headers, body,
                           {"token": token, "kept": notes_kept(notes)})
    if w1 is None or w1.error:
        return
    if w1.status in (404, 410):
        rec.info["route"] = unlisted_sample(rec, run, await run.oracle.check(w1, prober, headers))
    if method == "POST":
        made = find_id(w1.json, urlsplit(url).path) if w1.is_2xx and w1.is_json else None
        # a 201, a Location, or (Directus: POST /items/{collection} answers 200 {"data": {"id": 6}}) an
        # id that is none of the URL's own values: something new to remove. The id of the addressed
        # object itself (POST /orders/5/pay answering order 5) is not.
        if made is not None and (w1.status == 201 or w1.header("location")
                                 or str(made) not in {str(v) for v in combo.values()}):
            _record(rec, run, w1, url)
        elif made is None:
            _record_by_sent_name(rec, run, w1, url)
        return
    if w1.is_2xx:
        follow = await prober.send("follow", "GET", url, headers, meta={"via": "same-url"})
        if follow is not None:
            rec.observations.append(follow)
            if own and follow.is_2xx and follow.is_json:
                run.ledger.refresh(url, follow.json)  # type: ignore[union-attr]
    varied = rec.info.get("varied")
    if varied and method == "PATCH":
        ghost = ghost_value(combo[varied])
        obs = await prober.send("ghost-write", method, fill(target.url, dict(combo, **{varied: ghost})), headers,
                                body, meta={"value": ghost})
        if obs is not None:
            rec.observations.append(obs)
    if w1.is_2xx and not own and restorable:
        back = _restore_body(method, target.body, pre.json)  # type: ignore[union-attr]
        if method == "PATCH" and isinstance(back, dict) and dropped:
            back = {k: v for k, v in back.items() if k not in dropped} or None
        if back is not None:
            obs = await prober.send("restore", method, url, headers, back)
            if obs is not None:
                rec.observations.append(obs)
                rec.info["restored"] = obs.is_2xx
        else:
            rec.info["restored"] = False


async def _probe_delete(rec: ProbeRecord, run: Run, prober: Prober, url: str, headers: dict[str, str], own: bool,
                        combo: dict[str, Any]) -> None:
    """Delete an object this run created (and read it again); delete a nonexistent id."""
    target = rec.target
    assert run.ledger is not None
    varied = rec.info.get("varied")
    if own:
        pre = await prober.send("pre", "GET", url, headers)
        if pre is not None:
            rec.observations.append(pre)
        w1 = await _send_write(rec, prober, run, "write", "DELETE", url, headers, None)
        if w1 is not None and w1.ok and w1.status in (404, 410):
            rec.info["route"] = unlisted_sample(rec, run, await run.oracle.check(w1, prober, headers))
        if w1 is not None and w1.ok:
            entry = run.ledger.find(url)
            if w1.is_2xx and entry is not None:
                run.ledger.mark(entry, "deleted", f"deleted by the probe of {target.name}")
            if pre is not None and pre.is_2xx and w1.status != 202:
                follow = await prober.send("follow", "GET", url, headers, meta={"via": "same-url"})
                if follow is not None:
                    rec.observations.append(follow)
    else:
        rec.info["no_own_object"] = True
    if varied:
        ghost = ghost_value(combo[varied])
        obs = await prober.send("ghost-write", "DELETE", fill(target.url, dict(combo, **{varied: ghost})), headers,
                                meta={"value": ghost})
        if obs is not None:
            rec.observations.append(obs)
            if not own and obs.status in (404, 410):
                rec.info["route"] = unlisted_sample(rec, run, await run.oracle.check(obs, prober, headers))
