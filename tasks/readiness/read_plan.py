"""The read plan: GET/HEAD, and POSTs that only read (see :mod:`tasks.readiness.plans`)."""

from __future__ import annotations

from typing import Any

from .content import extract_list, flatten
from .identifiers import IdPool, list_collection, slots, strip_url
from .ledger import resolve_references
from .models import ProbeTarget
from .plans import Run, _finish, _real_combos, get_following, malformed_value, query_key, unlisted_sample
from .probe import (
    Observation, Prober, ProbeRecord, collection_url, fill, ghost_value, has_auth, is_success, limit_param, origin_of,
    placeholders, sample_combos, set_query_param, strip_query, typed_combos, varied_placeholder, without_auth,
)


async def _discover(target: ProbeTarget, pool: IdPool, prober: Prober, headers: dict[str, str],
                    combo: dict[str, Any], rec: ProbeRecord) -> None:
    """Nothing known for the last placeholder's collection: read the collection once (GET on the
    item route's parent) and keep the ids it lists."""
    sl = slots(target.url)
    if not sl:
        return
    coll = fill(sl[-1].collection, combo)
    if pool.objects(coll) or strip_url(coll) == strip_url(origin_of(coll)):
        return
    obs = await get_following(prober, "collection", coll, headers)
    if obs is None:
        return
    rec.observations.append(obs)
    if obs.is_2xx and obs.is_json:
        pool.harvest(obs.url, "GET", obs.json)


async def probe_read(target: ProbeTarget, run: Run, *, own_only: bool = False) -> ProbeRecord:
    prober = run.prober(read_only=True)
    rec = ProbeRecord(target=target, info={"kind": "read"})
    method = target.method.upper()
    headers = dict(target.headers)
    body = target.body if method not in ("GET", "HEAD") else None
    combos = sample_combos(target)
    varied, varied_in = varied_placeholder(target)
    rec.info.update(varied=varied, varied_in=varied_in, varied_key=query_key(target.url, varied))
    missing = [n for n in dict.fromkeys(sum(placeholders(target.url), [])) if not target.params.get(n)]
    if missing:
        rec.info["missing_samples"] = missing

    chosen: dict[str, Any] | None = None
    last: Observation | None = None
    routed = combos[0]   # the best combo so far: one whose path was found (not 404), for a body retry
    routed_real = False

    async def attempt(combo: dict[str, Any], meta: dict, send_body: Any = body) -> bool:
        nonlocal chosen, last, routed, routed_real
        obs = await prober.send("base", method, fill(target.url, combo), headers, send_body,
                                meta={"values": {k: str(v) for k, v in combo.items()}, **meta})
        if obs is None:
            return False
        rec.observations.append(obs)
        if obs.ok and obs.status not in (404, 410) and not routed_real:
            routed, routed_real = combo, bool(meta.get("discovered"))
        last = obs
        if obs.ok and is_success(obs, target.expect_status):
            obs.meta["chosen"] = True
            chosen = combo
            rec.info["body"] = send_body
            return True
        return False

    for i, combo in enumerate(combos[:2]):
        if await attempt(combo, {"combo": i}):
            break
        if last is None or last.error or last.status not in (404, 410) or not varied:
            break
    if chosen is None and last is not None and last.ok and last.status in (400, 404, 410, 422) and slots(target.url):
        found = _real_combos(target, run.pool, combos[0], own_only=own_only)
        if not found and not own_only:
            await _discover(target, run.pool, prober, headers, combos[0], rec)
            found = _real_combos(target, run.pool, combos[0], own_only=own_only)
        for combo, why in found:
            if await attempt(combo, {"discovered": why}):
                rec.info["discovered"] = why
                break
    if chosen is None and last is not None and last.ok and (last.status in (400, 404, 410, 422)
                                                            or last.status >= 500):
        for combo, why in typed_combos(target, routed if routed_real else combos[0]):
            if await attempt(combo, {"typed": why}):
                rec.info["typed"] = why
                break
    if chosen is None and last is not None and last.ok and last.status in (400, 422) and body not in (None, {}, []):
        if method == "POST":
            refused = f"{last.status}: {last.text[:80]}"
            fixed, notes = resolve_references(body, run.pool, placeholders_only=False)
            where = dict(routed)
            if notes and await attempt(where, {"body": "references resolved: " + "; ".join(notes)}, fixed):
                rec.info["body_note"] = (f"the campaign's example body was refused ({refused}); with references "
                                         f"resolved ({'; '.join(notes)}) it was answered")
            elif await attempt(where, {"body": "empty"}, {} if isinstance(body, dict) else []):
                rec.info["body_note"] = (f"the campaign's example body was refused ({refused}); an empty "
                                         f"query was answered: fix the campaign's example")
    base = rec.base
    if base is None or base.error:
        return _finish(rec, prober)
    origin = origin_of(base.url)
    if chosen is None:
        if base.status in (404, 410):
            rec.info["route"] = unlisted_sample(rec, run, await run.oracle.check(base, prober, headers))
        if base.status in (404, 410) and varied and varied_in == "path" and not rec.first("collection"):
            coll = collection_url(target.url, combos[0], varied)
            if coll and coll.rstrip("/") != origin:
                obs = await get_following(prober, "collection", coll, headers)
                if obs is not None:
                    rec.observations.append(obs)
        rec.host_observations = await run.hosts.get(origin, prober, headers, base.url)
        return _finish(rec, prober)

    if base.is_2xx and base.is_json:
        run.pool.harvest(base.url, method, base.json, item_template=bool(slots(target.url))
                         and strip_url(base.url) != list_collection(base.url) and extract_list(base.json) is None)
    rec.info["values"] = {k: str(v) for k, v in chosen.items()}
    url = base.url
    send_body = rec.info.get("body", body)

    async def repeat(n: int) -> None:
        for _ in range(n):
            if prober.left <= 5:
                return
            obs = await prober.send("repeat", method, url, headers, send_body)
            if obs is None:
                return
            rec.observations.append(obs)

    await repeat(run.samples - 1)
    if run.samples >= 3 and _numbers_vary(rec.same_request()):
        # a few values more tell a random draw (up and down by large amounts) from a live count
        # (a few steps, mostly one way): five draws come out sorted or close together too often
        await repeat(EXTRA_SAMPLES)
    if varied:
        base_val = str(chosen[varied])
        others = [v for v in (target.params.get(varied) or []) if str(v) != base_val]
        if rec.info.get("discovered") or not others:
            more = [c for c, _ in _real_combos(target, run.pool, chosen, own_only=False, limit=3)
                    if str(c.get(varied)) != base_val]
            others = others or [c[varied] for c in more]
        if others:
            alt_combo = dict(chosen, **{varied: others[0]})
            obs = await prober.send("alt", method, fill(target.url, alt_combo), headers, send_body,
                                    meta={"value": str(others[0])})
            if obs is not None:
                rec.observations.append(obs)
        ghost = ghost_value(chosen[varied])
        obs = await prober.send("ghost", method, fill(target.url, dict(chosen, **{varied: ghost})), headers,
                                send_body, meta={"value": ghost})
        if obs is not None:
            rec.observations.append(obs)
            if obs.ok and obs.status in (404, 410) and varied_in == "path":
                # is that 404 a lookup refusing the id, or just what any path there gets? (a fixture
                # folder behind nginx: no file for that id, the same page as /menus/zz/yy)
                import secrets

                below = strip_query(obs.url).rstrip("/") + f"/zz-readiness-{secrets.token_hex(3)}"
                o = await prober.send("ghost-control", method, below, headers, meta={"value": ghost})
                if o is not None:
                    rec.observations.append(o)
        bad = malformed_value(chosen[varied])
        if bad is not None and obs is not None and obs.is_2xx:  # only worth asking when a ghost got a 2xx
            o = await prober.send("bad-input", method, fill(target.url, dict(chosen, **{varied: bad})), headers,
                                  send_body, meta={"value": bad})
            if o is not None:
                rec.observations.append(o)
    rec.host_observations = await run.hosts.get(origin, prober, headers, url)
    lp = limit_param(url)
    if lp is not None and base.is_json:
        name, value = lp
        items = extract_list(base.json)
        probe_value = None
        if items is not None and len(items) > 1 and value != 1:
            probe_value = 1
        elif items is not None and len(items) <= 1 and value == 1:
            probe_value = 3
        if probe_value is not None:
            obs = await prober.send("limit", method, set_query_param(url, name, probe_value), headers, send_body,
                                    meta={"param": name, "value": probe_value, "base_value": value})
            if obs is not None:
                rec.observations.append(obs)
    if method == "GET" and base.is_json and isinstance(base.json, list) and "_page=" not in url:
        # a plain JSON array: json-server 1.x pages it into its own envelope ({first, prev, next,
        # last, pages, items, data}) when asked; a real API ignores the unknown parameters
        obs = await prober.send("tool-page", method, set_query_param(set_query_param(url, "_page", 1),
                                                                     "_per_page", 1), headers)
        if obs is not None:
            rec.observations.append(obs)
    if has_auth(headers):
        obs = await prober.send("noauth", method, url, without_auth(headers), send_body)
        if obs is not None:
            rec.observations.append(obs)
    return _finish(rec, prober)


#: identical reads added when the answers' numbers change between them
EXTRA_SAMPLES = 3


def _numbers_vary(same: list) -> bool:
    """Do identical requests' JSON answers hold a number that changed between them?"""
    flats = [flatten(o.json, sort_lists=True) for o in same if o.ok and o.is_2xx and o.is_json]
    if len(flats) < 3:
        return False
    for path in set(flats[0]).intersection(*flats[1:]):
        vals = [f[path] for f in flats]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals) and len(set(vals)) > 1:
            return True
    return False
