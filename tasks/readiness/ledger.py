"""Write probes that do no harm: unique values, real references, and everything created removed.

* :func:`uniquify` gives every write its own values: the fields that name an object (``name``,
  ``title``, ``slug``, ``key``, ``email``…) get a short random suffix (``sample`` →
  ``samplepc3f9a1b``), so two probes never collide (no 409 on a fixed name, no upsert answering
  an object someone else created) and whatever is left can be recognised.
* :func:`resolve_references` replaces example ids in a body (``flow_id: 3fa85f64-…``, the spec's
  sample) by a real one: an object this run created, else one the target listed.
* :class:`Ledger` records every object a probe created (from its ``id`` or ``Location``) and
  removes them at the end, newest first, with the campaign's own ``DELETE`` operation for that
  collection, else ``DELETE`` on the ``Location`` or on ``{collection}/{id}``. An object that no
  delete removes is listed as left behind, with the reason. Nothing is ever deleted that the
  run did not create.
* :func:`destructive` names operations never probed on their own (bulk deletes, resets, purges,
  sends…): they are ``unverified`` unless the campaign marks them ``safe``.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from .identifiers import IdPool, noun_of, object_id, ref_noun, slots, strip_url, value_for
from .models import CreatedObject
from .probe import Prober, fill, join_url, origin_of

TOKEN_PREFIX = "pc"
NAME_FIELDS = {"name", "title", "slug", "key", "username", "login", "handle", "email", "label", "display_name",
               "displayname", "nickname", "subject"}
_DESTRUCTIVE = {"bulk", "batch", "purge", "reset", "clear", "truncate", "wipe", "flush", "drop", "destroy",
                "delete", "remove", "shutdown", "restart", "reboot", "kill", "terminate", "install", "uninstall",
                "migrate", "import", "restore", "rollback", "seed", "send", "notify", "email", "sms",
                "broadcast", "increment", "decrement", "empty", "revoke", "disable", "enable",
                # a password reset or change mails someone or locks them out (Directus /auth/password/request)
                "password", "passwords"}
#: destructive words long enough to be recognised at the start of a run-together segment
#: (etcd's ``/v3/kv/deleterange``): ``deleterange`` deletes, ``addresses`` adds nothing
_DESTRUCTIVE_PREFIXES = tuple(sorted(w for w in _DESTRUCTIVE if len(w) >= 5))


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_hex(3)


def _unique_value(key: str, value: str, token: str) -> str:
    if "@" in value and re.fullmatch(r"[^@\s]+@[^@\s]+", value):
        local, domain = value.split("@", 1)
        return f"{local}{token}@{domain}"
    return f"{value} {token}" if " " in value.strip() else f"{value}{token}"


def uniquify(body: Any, token: str) -> tuple[Any, list[str]]:
    """A copy of ``body`` whose naming fields carry ``token``, and the fields changed. Only the top
    level of an object (or of each object of a list, or of a one-key wrapper like ``data``):
    references (``course_code``, ``flow_name``) and identifiers shaped like ``SKU-00001`` are left
    alone."""
    changed: list[str] = []

    def one(obj: dict, prefix: str) -> dict:
        out = dict(obj)
        for k, v in obj.items():
            low = str(k).lower()
            if isinstance(v, str) and v.strip() and low in NAME_FIELDS and not re.fullmatch(r"[A-Za-z]*[-_]?\d+", v):
                out[k] = _unique_value(low, v, token)
                changed.append(prefix + str(k))
            elif isinstance(v, list) and v and low.endswith("s") and low[:-1] in NAME_FIELDS and all(
                    isinstance(x, str) and x.strip() and not re.fullmatch(r"[A-Za-z]*[-_]?\d+", x) for x in v):
                # a list of the names it makes (JupyterHub's POST /users {"usernames": [...]})
                out[k] = [_unique_value(low[:-1], x, token) + (str(i) if i else "") for i, x in enumerate(v)]
                changed.append(prefix + str(k))
            elif isinstance(v, dict) and len(obj) == 1:
                out[k] = one(v, f"{prefix}{k}.")
        return out

    if isinstance(body, dict):
        return one(body, ""), changed
    if isinstance(body, list):
        return [one(x, f"[{i}].") if isinstance(x, dict) else x for i, x in enumerate(body)], changed
    return body, changed


def resolve_references(body: Any, pool: IdPool, *, placeholders_only: bool = True) -> tuple[Any, list[str]]:
    """A copy of ``body`` whose ``<noun>_id`` fields point at objects that exist: example values
    (the spec's sample UUID, ``0``, ``"string"``) always, any value when ``placeholders_only`` is
    False (a retry after the target refused the body)."""
    from .identifiers import looks_placeholder

    notes: list[str] = []

    def walk(obj: Any, depth: int) -> Any:
        if depth > 3:
            return obj
        if isinstance(obj, dict):
            out = {}
            for k, v in obj.items():
                noun = ref_noun(str(k))
                if noun and isinstance(v, (str, int)) and not isinstance(v, bool) and (
                        not placeholders_only or looks_placeholder(v)):
                    found = pool.reference(noun)
                    ref = found[0] if found is not None else None
                    if isinstance(v, int) and not isinstance(ref, int):
                        # an integer field keeps its type: "12" becomes 12, "S-001" is no reference here
                        ref = int(ref) if isinstance(ref, str) and ref.isdigit() else None
                    if found is not None and ref is not None and str(ref) != str(v):
                        out[k] = ref
                        notes.append(f"{k}={ref!r} ({found[1]})")
                        continue
                out[k] = walk(v, depth + 1)
            return out
        if isinstance(obj, list):
            return [walk(v, depth + 1) for v in obj]
        return obj

    return walk(body, 0), notes


def _tokens(text: str) -> set[str]:
    words = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", text)
    return {w.lower() for w in words}


#: objects that make the target act on its own once they exist (an automation firing on every
#: event, a webhook calling out): creating or changing one, even for a second, can set off a storm
_REACTIVE_WORDS = {"automation", "automations", "trigger", "triggers", "webhook", "webhooks", "hook", "hooks"}
_REACTIVE_KEYS = {"trigger", "triggers", "webhook", "webhook_url", "webhookurl", "callback_url", "callbackurl"}


def destructive(method: str, url: str, body: Any = None) -> str | None:
    """Why an operation is never probed on its own, or None: a ``DELETE`` of a whole collection
    (no id in the path), a write whose path names a bulk or irreversible action, and a write that
    makes or changes an object the target acts on by itself (automations, triggers, webhooks)."""
    path = urlsplit(url.partition("?")[0]).path
    if method.upper() == "DELETE" and not slots(url):
        return "a DELETE without an id in its path removes a whole collection or a setting"
    literals = [s for s in path.split("/") if s and "{" not in s]
    words = set().union(*(_tokens(s) for s in literals)) if literals else set()
    flat = [re.sub(r"[^a-z]", "", s.lower()) for s in literals]
    hits = sorted(words & _DESTRUCTIVE) or sorted(w for s in flat for w in _DESTRUCTIVE_PREFIXES if s.startswith(w))
    if hits and method.upper() != "DELETE":
        return f"its path names a bulk or irreversible action ({', '.join(hits)})"
    reactive = sorted(words & _REACTIVE_WORDS) or sorted(
        k for k in (body if isinstance(body, dict) else {}) if str(k).lower().replace("-", "_") in _REACTIVE_KEYS)
    if reactive and method.upper() in ("POST", "PUT", "PATCH"):
        return (f"it makes or changes something the target acts on by itself ({', '.join(reactive)}): even a "
                f"short-lived one can set off a storm")
    return None


@dataclass
class ItemRoute:
    """A campaign operation on one item (``GET``/``DELETE /flows/{id}``): its URL template and headers."""

    name: str
    template: str
    headers: dict[str, str] = field(default_factory=dict)


DeleteRoute = ItemRoute


def as_route_collection(collection: str, route_collection: str) -> str:
    """``collection`` spelled as a route names it: the same parent and the same noun in the last
    segment, singular or plural (Alertmanager creates at ``/silences``, deletes at ``/silence/{id}``)."""
    head, _, last = strip_url(collection).rpartition("/")
    rhead, _, rlast = strip_url(route_collection).rpartition("/")
    if last != rlast and "{" not in rlast and noun_of(last) == noun_of(rlast):
        return f"{head}/{rlast}"
    return strip_url(collection)


def item_urls(routes: list[ItemRoute], collection: str, obj: dict, ref: str) -> list[tuple[str, ItemRoute]]:
    """The URLs of one object through the campaign's item routes of its collection: the earlier
    placeholders come from the collection URL it lives in, the last from the object itself (its
    id, or the field the route names: ``/work_pools/{name}``)."""
    out: list[tuple[str, ItemRoute]] = []
    for route in routes:
        sl = slots(route.template)
        if not sl:
            continue
        last = sl[-1]
        if not route.template.partition("?")[0].rstrip("/").endswith("{" + last.name + "}"):
            continue  # the route goes on past the item (/flows/{id}/graph): not the item itself
        pattern = re.escape(strip_url(last.collection))
        for s in sl[:-1]:
            pattern = pattern.replace(re.escape("{" + s.name + "}"), f"(?P<{_group(s.name)}>[^/]+)")
        m = re.fullmatch(pattern, collection) or re.fullmatch(pattern, as_route_collection(collection,
                                                                                        last.collection))
        if not m:
            continue
        values: dict[str, Any] = {s.name: m.group(_group(s.name)) for s in sl[:-1]}
        v = value_for(obj, last.name, last.literal) if obj else None
        if v is None and (not obj or last.name.lower() in ("id", "uuid", "pk", "key")):
            v = ref
        if v is None:
            continue
        values[last.name] = v
        out.append((fill(route.template, values), route))
    return out


def made_list(data: Any) -> list[dict] | None:
    """The objects a bulk create answered, bare (``[{...}, …]``) or in an envelope (Directus:
    ``{"data": [{"id": 3}, …]}``), or None when the answer is not such a list."""
    if isinstance(data, dict) and len(data) <= 2:
        data = data.get("data")
    if isinstance(data, list) and data and all(isinstance(i, dict) for i in data):
        return data
    return None


@dataclass
class Ledger:
    """What this run's write probes created, and removing it."""

    pool: IdPool
    deletes: list[ItemRoute] = field(default_factory=list)
    reads: list[ItemRoute] = field(default_factory=list)
    created: list[CreatedObject] = field(default_factory=list)
    unknown_effects: list[str] = field(default_factory=list)
    #: seconds the cleanup may spend waiting for an overloaded target, over the whole run
    retry_budget_s: float = 30.0
    _objects: dict[int, dict] = field(default_factory=dict)
    #: the campaign's DELETE routes whose 2xx left the object answering as before: name → what was seen
    no_effect: dict[str, str] = field(default_factory=dict)

    def record(self, endpoint: str, collection: str, obj: Any, location: str | None, base_url: str) -> CreatedObject | None:
        """A write answered 2xx with an id or a Location: remember the object (and offer it to
        the pool as this run's own)."""
        data = obj if isinstance(obj, dict) else {}
        for wrap in ("data", "item", "result", "resource", "object"):
            if isinstance(data.get(wrap), dict) and (object_id(data[wrap]) is not None or len(data) <= 2):
                data = data[wrap]   # an envelope: {"data": {...}} (JSON:API, Directus), with or without an id
                break
        ref = object_id(data)
        if ref is None:
            # the field named after the collection's noun (Directus: POST /collections answers
            # {"data": {"collection": "samplepc…"}}; DELETE /collections/{collection})
            noun = noun_of(urlsplit(strip_url(collection)).path.rstrip("/").rsplit("/", 1)[-1])
            keys = ("name", "slug", "key") + ((noun,) if noun else ())
            ref = next((data[k] for k in keys if isinstance(data.get(k), (str, int)) and not isinstance(data[k], bool)),
                       None)
        if ref is None:
            from .content import find_id

            # a lone id named after the collection (Alertmanager: {"silenceID": …} from POST /silences)
            ref = find_id(data, urlsplit(strip_url(collection)).path) if data else None
        url = join_url(base_url, location)
        if ref is None and url is None:
            return None
        coll = strip_url(collection)
        if ref is None:
            ref = url.rstrip("/").rsplit("/", 1)[-1]
        for c in self.created:
            # an object still standing; a deleted one's id may be handed out again (SQLite, json-server)
            if c.collection == coll and c.ref == str(ref) and c.state == "created":
                return c
        entry = CreatedObject(endpoint=endpoint, collection=coll, ref=str(ref),
                              url=url or f"{coll}/{quote(str(ref), safe='')}")
        if any(not k.own and str(object_id(k.obj)) == str(ref) for k in self.pool.objects(coll)):
            # the id of an object read before this write (an upsert answering the existing one, or a
            # stub's fixed answer): nothing this run made, so nothing it may delete
            entry.state = "existed"
            entry.detail = (f"the write answered id {ref}, an object read from {coll} before it (an upsert, or a "
                            f"fixed answer): not deleted")
            self.created.append(entry)
            self.unknown_effects.append(f"{endpoint}: {entry.detail}")
            return entry
        self.created.append(entry)
        self._objects[id(entry)] = data
        if data:
            self.pool.add(coll, data, own=True, source=f"POST {urlsplit(coll).path}")
        return entry

    def record_sent(self, endpoint: str, collection: str, sent: Any, base_url: str) -> CreatedObject | None:
        """A write answered 2xx with nothing in it (Chroma's ``{}`` to POST …/databases) still made
        what its body named: record it under the unique name this run sent, or None."""
        if not isinstance(sent, dict):
            return None
        key = next((k for k in ("name", "slug", "key", "title")
                    if isinstance(sent.get(k), str) and TOKEN_PREFIX in sent[k]), None)
        return self.record(endpoint, collection, {key: sent[key]}, None, base_url) if key else None

    def refresh(self, url: str, obj: Any) -> None:
        """An object this run created was changed (PATCH/PUT): keep its current fields."""
        entry = self.find(url)
        if entry is not None and isinstance(obj, dict):
            self._objects[id(entry)] = {**self._objects.get(id(entry), {}), **obj}
            self.pool.add(entry.collection, self._objects[id(entry)], own=True, source=f"POST "
                          f"{urlsplit(entry.collection).path}")

    def own(self, collection: str) -> list[CreatedObject]:
        coll = strip_url(collection)
        return [c for c in self.created if c.collection == coll and c.state == "created"]

    def object_of(self, entry: CreatedObject) -> dict:
        return self._objects.get(id(entry), {})

    def mark(self, entry: CreatedObject, state: str, detail: str = "") -> None:
        entry.state = state  # type: ignore[assignment]
        entry.detail = detail
        if state in ("deleted", "gone"):
            self.pool.forget(entry.collection, entry.ref)

    def find(self, url: str) -> CreatedObject | None:
        """The created object a URL addresses: its own URL, collection/ref, or collection/<a name it
        has> (``/work_pools/{name}``)."""
        from urllib.parse import unquote

        u = strip_url(url)
        for c in self.created:
            if c.state == "created" and (strip_url(c.url or "") == u or u == f"{c.collection}/{c.ref}"):
                return c
        for c in self.created:
            if c.state != "created" or not u.startswith(c.collection + "/"):
                continue
            last = unquote(u[len(c.collection) + 1:].split("/")[-1])
            obj = self.object_of(c)
            if last == c.ref or any(str(obj.get(k)) == last for k in ("name", "slug", "key", "id", "uuid")):
                return c
        return None

    def delete_urls(self, entry: CreatedObject) -> list[tuple[str, dict[str, str], str, str | None]]:
        """Where ``entry`` could be deleted, each with its headers, how it was found and the
        campaign's route name (None when not through one): the campaign's DELETE for its collection,
        its Location, ``{collection}/{id}``."""
        obj = self.object_of(entry)
        out: list[tuple[str, dict[str, str], str, str | None]] = [
            (url, route.headers, f"the campaign's {route.name}", route.name)
            for url, route in item_urls(self.deletes, entry.collection, obj, entry.ref)]
        if entry.url:
            out.append((entry.url, {}, "its Location" if entry.url != f"{entry.collection}/{entry.ref}" else
                        "collection/id", None))
        plain = f"{entry.collection}/{quote(entry.ref, safe='')}"
        if all(u != plain for u, *_ in out):
            out.append((plain, {}, "collection/id", None))
        name = next((obj[k] for k in ("name", "slug") if isinstance(obj.get(k), str) and obj[k]), None)
        if name and name != entry.ref:
            # Chroma deletes a collection by its name, not by the id its POST answers
            tail = "/" + quote(entry.ref, safe="")
            out += [(u[: -len(tail)] + "/" + quote(name, safe=""), h, f"{how}, by name", r)
                    for u, h, how, r in list(out) if u.endswith(tail) and r is not None]
        return out

    def read_urls(self, entry: CreatedObject) -> list[tuple[str, ItemRoute]]:
        """Where the campaign itself reads ``entry`` (its GET item route for the collection)."""
        return item_urls(self.reads, entry.collection, self.object_of(entry), entry.ref)

    async def _delete(self, prober: Prober, url: str, headers: dict[str, str], how: str):
        """DELETE, retried with backoff while the target is overloaded (5xx, 429, timeouts) — within
        the run's retry allowance, so a dead target does not hold the run for long."""
        delay = 0.5
        while True:
            obs = await prober.send("cleanup", "DELETE", url, headers, meta={"how": how})
            busy = obs is not None and (obs.error_kind in ("timeout", "protocol") or obs.ok and (
                obs.status == 429 or (obs.status or 0) >= 500))
            if not busy or self.retry_budget_s < delay:
                return obs
            self.retry_budget_s -= delay
            prober.budget += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 4.0)

    async def remove(self, entry: CreatedObject, prober: Prober, headers: dict[str, str]) -> None:
        """Delete one created object; mark it deleted, gone, or left behind (with why)."""
        tried: list[str] = []
        gone_at: str | None = None
        for url, extra, how, route in self.delete_urls(entry):
            if origin_of(url) != origin_of(entry.collection):
                continue
            obs, sent_how = None, how
            pre = await prober.send("cleanup-pre", "GET", url, headers) if route else None
            for attempt in range(2):  # the DELETE, then once more where the framework's redirect points
                obs = await self._delete(prober, url, {**headers, **extra}, sent_how)
                if obs is None or obs.error or attempt:
                    break
                moved = obs.header("location") if obs.status in (301, 302, 307, 308) else None
                target = join_url(url, moved)
                if not target or target == url or origin_of(target) != origin_of(url):
                    break
                # the framework's redirect to its canonical URL (a trailing slash): DELETE there
                url, sent_how = target, how + ", redirected"
            if obs is None:
                tried.append(f"{url}: no request budget left")
                break
            if obs.error:
                tried.append(f"DELETE {urlsplit(url).path}: {obs.error}")
                continue
            if obs.is_2xx or obs.status == 202:
                self.mark(entry, "deleted", f"DELETE {urlsplit(url).path} ({how}) answered {obs.status}")
                if route and obs.is_2xx and obs.status != 202 and pre is not None and pre.is_2xx and pre.is_json:
                    await self._check_effect(prober, url, headers, route, pre, obs)
                return
            tried.append(f"DELETE {urlsplit(url).path} ({how}) answered {obs.status}")
            if obs.status in (404, 410):
                gone_at = gone_at or url
        if gone_at and all(" answered 404" in t or " answered 410" in t for t in tried):
            check = await prober.send("cleanup-check", "GET", entry.url or gone_at, headers)
            if check is not None and check.ok and check.status in (404, 410):
                self.mark(entry, "gone", f"DELETE {urlsplit(gone_at).path} answered 404 and GET "
                                         f"{urlsplit(check.url).path} answers {check.status}: nothing is there")
                return
        self.mark(entry, "left", "; ".join(tried) or "no way to delete it was found")

    async def _check_effect(self, prober: Prober, url: str, headers: dict[str, str], route: str, pre, obs) -> None:
        """After the campaign's DELETE answered 2xx: does the object still answer, unchanged (re-read
        once after 0.5 s)? A soft delete changes it (``deleted_at``, a status): that is an effect."""
        from .signals.base import unchanged

        for wait in (0.0, 0.5):
            await asyncio.sleep(wait)
            again = await prober.send("cleanup-check", "GET", url, headers)
            if again is None or not again.is_2xx or not again.is_json or not unchanged(again, pre):
                return
        self.no_effect.setdefault(route, f"after DELETE {urlsplit(url).path} answered {obs.status} (removing what "
                                         f"this run created), GET {urlsplit(url).path} still answers "
                                         f"{again.status} with the same body")

    async def cleanup(self, prober_factory, headers_for, only: str | None = None) -> None:
        """Remove every object still standing, newest first (children before their parents)."""
        for entry in reversed(self.created):
            if entry.state != "created":
                continue
            if only is not None and not (entry.collection == strip_url(only)
                                         or entry.collection.startswith(strip_url(only) + "/")):
                continue
            prober = prober_factory()
            await self.remove(entry, prober, headers_for(entry))


def _group(name: str) -> str:
    return "g_" + re.sub(r"\W", "_", name)
