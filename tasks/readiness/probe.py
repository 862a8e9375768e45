"""Sending the probe requests and recording what came back.

Everything the signals look at is an :class:`Observation` (one request and
its response, headers with their original casing) gathered in a
:class:`ProbeRecord`.  The probe *plans* below decide which requests to send
for one endpoint; they never send more than :data:`MAX_REQUESTS`.

Read plan (GET/HEAD/OPTIONS), in order:

1. ``base``   — the URL filled with the first sample values (if that answers
   404 and other samples exist, up to two more samples are tried);
2. ``repeat`` — the same request ``samples - 1`` more times (latency,
   stability);
3. ``alt``    — another supplied value of the varied placeholder;
4. ``ghost``  — a surely-nonexistent value of that placeholder (987654321, a
   random UUID... matching the sample's type);
5. ``limit``  — the limit-like query parameter set to 1 (only when the URL
   has one and the list is long enough to tell);
6. ``noauth`` — the request without its auth headers (only when it has some);
7. host probes, once per origin and run: ``control`` (a random path) and
   ``root`` (``/``) — catch-all routes, mock 404 pages, home pages.

Write plan (only with ``allow_writes``): POST is sent twice, then the created
resource is looked up (``Location`` header, else ``{collection}/{id}``, and
when that 404s — after one re-read half a second later — the collection
list and one listed item, to prove the item route exists).  A POST that
creates nothing (RPC/query style: 2xx other than 201/202, JSON, no
``Location``, no id of a new resource — see :func:`is_non_create`) gets
instead: ``resend`` — ``max(RESENDS, samples - 1)`` more identical sends,
only when the handler takes ≥ 15 ms (latency samples) — and ``vary`` — the
body with one identifier-like scalar changed to a neighbour value
(``SKU-00001`` → ``SKU-00002``), to see whether the answer depends on its
input.  PUT/PATCH: write, read back the same URL; PATCH also patches a
ghost id (a PUT there could create it).
DELETE: read, delete, read again (on the *last* sample value; deletes run
after every other endpoint).  Without ``allow_writes`` only an ``OPTIONS``
request is sent.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from dataclasses import dataclass, field
from functools import cached_property
import re
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import httpx

from .content import NOT_JSON, UUID_RE, extract_list, find_id, item_ids, parse_json, vary_identifier, with_value
from .models import ProbeTarget

MAX_REQUESTS = 12
MAX_BODY_BYTES = 512 * 1024
PLACEHOLDER_RE = re.compile(r"\{([^{}/?&=#]+)\}")
GHOST_INT = "987654321"
USER_AGENT = "perfcampaign-readiness/0.1"
FOLLOW_RETRY_S = 0.5
RESENDS = 4                 # extra identical sends of a slow non-create POST (latency samples)
RESEND_MIN_MS = 15.0        # ...only when the second send took at least this long
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
AUTH_HEADER_RE = re.compile(r"^(authorization|proxy-authorization|cookie|x-api-key|api-key|apikey|"
                            r"x-auth-token|x-access-token|x-token|token|x-session-token)$|auth|token|api[-_]?key",
                            re.IGNORECASE)
LIMIT_NAMES = {"limit", "perpage", "pagesize", "size", "count", "top", "take", "max", "maxresults", "first",
               "pagelen", "rows", "num", "n", "maxitems", "resultsperpage", "pagelimit"}


# --------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------

@dataclass
class Observation:
    """One probe request and what came back (or the error)."""

    label: str
    method: str
    url: str
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    latency_ms: float = 0.0
    error: str | None = None
    error_kind: str | None = None   # connect | timeout | protocol | invalid
    meta: dict = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None

    @property
    def is_2xx(self) -> bool:
        return self.ok and 200 <= self.status < 300  # type: ignore[operator]

    @cached_property
    def json(self) -> Any:
        return parse_json(self.body)

    @property
    def is_json(self) -> bool:
        return self.json is not NOT_JSON

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    @cached_property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class ProbeRecord:
    """All observations made for one target."""

    target: ProbeTarget
    observations: list[Observation] = field(default_factory=list)
    host_observations: list[Observation] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    requests: int = 0

    def labeled(self, *labels: str) -> list[Observation]:
        return [o for o in self.observations if o.label in labels]

    def first(self, label: str) -> Observation | None:
        for o in self.observations:
            if o.label == label:
                return o
        return None

    @property
    def base(self) -> Observation | None:
        """The base observation analysis is built on (the chosen sample)."""
        chosen = [o for o in self.observations if o.label == "base" and o.meta.get("chosen")]
        if chosen:
            return chosen[0]
        bases = self.labeled("base")
        return bases[-1] if bases else None

    @property
    def primary(self) -> Observation | None:
        """Base for reads, first write for writes."""
        if self.info.get("kind") == "write":
            return self.first("write") or self.first("options")
        return self.base

    def same_request(self) -> list[Observation]:
        """Base + repeats: identical requests, for stability/latency."""
        base = self.base
        out = [base] if base is not None else []
        return out + self.labeled("repeat")

    def timed_same(self) -> list[Observation]:
        """Identical requests whose latencies can be compared: base + repeats
        for a read; the POSTs + their resends for a non-create POST (a POST
        that creates something changes state: its timings are not samples of
        one handler path)."""
        if self.info.get("kind") == "write":
            return self.labeled("write", "resend") if self.info.get("non_create") else []
        return self.same_request()

    def all(self) -> list[Observation]:
        return self.observations + self.host_observations


def is_non_create(obs: Observation) -> bool:
    """A POST answer that creates nothing one could read back (RPC/query
    style: a forecast, a quote, a search): 2xx but not 201/202, JSON, no
    ``Location`` header and no id of a new resource."""
    return (obs.method == "POST" and obs.is_2xx and obs.status not in (201, 202)
            and not obs.header("location") and obs.is_json
            and find_id(obs.json, urlsplit(obs.url).path) is None)


def is_success(obs: Observation, expect: tuple[int, ...]) -> bool:
    """The endpoint answered as something that works: a status the campaign
    expects, or any 2xx/3xx (a 200 where 201 was expected still "works")."""
    if not obs.ok:
        return False
    return obs.status in expect or 200 <= obs.status < 400  # type: ignore[operator]


# --------------------------------------------------------------------------
# URL helpers
# --------------------------------------------------------------------------

def placeholders(template: str) -> tuple[list[str], list[str]]:
    """Placeholder names in the path and in the query string of a template."""
    path, _, query = template.partition("?")
    return PLACEHOLDER_RE.findall(path), PLACEHOLDER_RE.findall(query)


def fill(template: str, values: dict[str, Any]) -> str:
    """Fill ``{placeholders}``, URL-quoting the values (path vs query rules)."""
    path, sep, query = template.partition("?")

    def rep(safe: str):
        def r(m: re.Match) -> str:
            name = m.group(1)
            v = values.get(name, m.group(0))
            if isinstance(v, bool):
                v = str(v).lower()
            return quote(str(v), safe=safe)
        return r

    path = PLACEHOLDER_RE.sub(rep("-._~:@!$'()*+,;"), path)
    query = PLACEHOLDER_RE.sub(rep("-._~"), query)
    return path + sep + query


def sample_combos(target: ProbeTarget) -> list[dict[str, Any]]:
    """Zip the sample lists: combo *i* takes value ``i mod len`` of each."""
    path_ph, query_ph = placeholders(target.url)
    names = list(dict.fromkeys(path_ph + query_ph))
    if not names:
        return [{}]
    lists = {n: list(target.params.get(n) or []) for n in names}
    n = max([len(v) for v in lists.values()] + [1])
    combos = []
    for i in range(n):
        combos.append({k: (v[i % len(v)] if v else "1") for k, v in lists.items()})
    return combos


def varied_placeholder(target: ProbeTarget) -> tuple[str | None, str | None]:
    """The placeholder probed with other/ghost values: the last one in the
    path (the resource id), else the last one in the query."""
    path_ph, query_ph = placeholders(target.url)
    if path_ph:
        return path_ph[-1], "path"
    if query_ph:
        return query_ph[-1], "query"
    return None, None


def ghost_value(sample: Any) -> str:
    """A value of the same shape as *sample* that surely does not exist."""
    s = str(sample)
    if isinstance(sample, int) and not isinstance(sample, bool) or re.fullmatch(r"\d+", s):
        return GHOST_INT if len(s) <= 9 else "9" * len(s)
    if UUID_RE.match(s):
        g = str(uuid.uuid4())
        return g.upper() if s.isupper() else g
    if re.fullmatch(r"[0-9a-fA-F]{24}", s):
        return secrets.token_hex(12)
    m = re.fullmatch(r"([A-Za-z][A-Za-z_-]*?[_-]?)(\d+)", s)
    if m:
        return m.group(1) + "9" * max(len(m.group(2)), 6)
    return "zz-nonexistent-" + secrets.token_hex(4)


def set_query_param(url: str, name: str, value: Any) -> str:
    parts = urlsplit(url)
    q = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    q.append((name, str(value)))
    return urlunsplit(parts._replace(query=urlencode(q)))


def limit_param(url: str) -> tuple[str, int] | None:
    """A limit-like query parameter with an integer value, if the URL has one."""
    for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        norm = k.lower().lstrip("$_").replace("_", "").replace("-", "")
        if norm in LIMIT_NAMES and re.fullmatch(r"\d{1,6}", v.strip()):
            return k, int(v)
    return None


def origin_of(url: str) -> str:
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}"


def strip_query(url: str) -> str:
    p = urlsplit(url)
    return urlunsplit(p._replace(query="", fragment=""))


def collection_url(template: str, combo: dict[str, Any], name: str) -> str | None:
    """URL of the collection above ``{name}``: the path up to (excluding) the
    segment holding the placeholder."""
    path, _, _ = template.partition("?")
    parts = urlsplit(path)
    segs = parts.path.split("/")
    for i, seg in enumerate(segs):
        if "{" + name + "}" in seg:
            coll = "/".join(segs[:i]) or "/"
            return fill(urlunsplit(parts._replace(path=coll)), combo)
    return None


def without_auth(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if not AUTH_HEADER_RE.search(k)}


def has_auth(headers: dict[str, str]) -> bool:
    return any(AUTH_HEADER_RE.search(k) for k in headers)


# --------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------

class Prober:
    """Sends requests for one endpoint, within a request budget."""

    def __init__(self, client: httpx.AsyncClient, timeout_s: float, budget: int = MAX_REQUESTS) -> None:
        self.client = client
        self.timeout_s = timeout_s
        self.budget = budget
        self.count = 0

    @property
    def left(self) -> int:
        return self.budget - self.count

    async def send(self, label: str, method: str, url: str, headers: dict[str, str] | None = None,
                   body: Any = None, meta: dict | None = None) -> Observation | None:
        if self.count >= self.budget:
            return None
        self.count += 1
        hdrs = {"User-Agent": USER_AGENT, "Accept": "application/json, */*;q=0.5"}
        hdrs.update(headers or {})
        kwargs: dict[str, Any] = {}
        if body is not None and method.upper() not in ("GET", "HEAD", "OPTIONS"):
            if isinstance(body, (bytes, str)):
                kwargs["content"] = body
            else:
                kwargs["json"] = body
        obs = Observation(label=label, method=method.upper(), url=url, meta=dict(meta or {}))
        t0 = time.perf_counter()
        try:
            resp = await self.client.request(method.upper(), url, headers=hdrs, timeout=self.timeout_s, **kwargs)
            obs.latency_ms = (time.perf_counter() - t0) * 1000.0
            obs.status = resp.status_code
            obs.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in resp.headers.raw]
            obs.body = resp.content[:MAX_BODY_BYTES]
        except httpx.TimeoutException as exc:
            obs.latency_ms = (time.perf_counter() - t0) * 1000.0
            obs.error, obs.error_kind = f"timeout after {self.timeout_s:g}s ({type(exc).__name__})", "timeout"
        except httpx.ConnectError as exc:
            obs.latency_ms = (time.perf_counter() - t0) * 1000.0
            obs.error, obs.error_kind = f"cannot connect: {exc}", "connect"
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, ValueError, TypeError) as exc:
            obs.error, obs.error_kind = f"invalid request: {exc}", "invalid"
        except httpx.HTTPError as exc:
            obs.latency_ms = (time.perf_counter() - t0) * 1000.0
            obs.error, obs.error_kind = f"{type(exc).__name__}: {exc}", "protocol"
        return obs


class HostProbes:
    """Once-per-origin probes (random path + root), shared by every endpoint
    of a ``check_endpoints`` run.  Only the endpoint that triggered them
    counts their requests."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Future] = {}

    async def get(self, origin: str, prober: Prober, headers: dict[str, str]) -> list[Observation]:
        fut = self._tasks.get(origin)
        if fut is None:
            if prober.left < 2:
                return []
            fut = asyncio.ensure_future(self._probe(origin, prober, headers))
            self._tasks[origin] = fut
        try:
            return list(await asyncio.shield(fut))
        except Exception:
            return []

    @staticmethod
    async def _probe(origin: str, prober: Prober, headers: dict[str, str]) -> list[Observation]:
        out = []
        control = await prober.send("control", "GET", f"{origin}/__readiness-probe-{secrets.token_hex(6)}",
                                    headers)
        if control is not None:
            out.append(control)
            if control.error:
                return out
        root = await prober.send("root", "GET", f"{origin}/", headers)
        if root is not None:
            out.append(root)
        return out


# --------------------------------------------------------------------------
# Plans
# --------------------------------------------------------------------------

async def probe_read(target: ProbeTarget, prober: Prober, hosts: HostProbes, samples: int) -> ProbeRecord:
    rec = ProbeRecord(target=target, info={"kind": "read"})
    method = target.method.upper()
    headers = dict(target.headers)
    combos = sample_combos(target)
    varied, varied_in = varied_placeholder(target)
    rec.info.update(varied=varied, varied_in=varied_in)
    missing = [n for n in dict.fromkeys(sum(placeholders(target.url), [])) if not target.params.get(n)]
    if missing:
        rec.info["missing_samples"] = missing

    chosen: dict[str, Any] | None = None
    for i, combo in enumerate(combos[:3]):
        obs = await prober.send("base", method, fill(target.url, combo), headers,
                                meta={"combo": i, "values": {k: str(v) for k, v in combo.items()}})
        if obs is None:
            break
        rec.observations.append(obs)
        if obs.error:
            break
        if is_success(obs, target.expect_status):
            obs.meta["chosen"] = True
            chosen = combo
            break
        if obs.status not in (404, 410) or not varied:
            break
    base = rec.base
    if base is None or base.error:
        return _finish(rec, prober)
    origin = origin_of(base.url)

    if chosen is None:
        # Failed: if every sample id 404s, check whether the collection exists.
        if base.status in (404, 410) and varied and varied_in == "path":
            coll = collection_url(target.url, combos[0], varied)
            if coll and coll.rstrip("/") != origin:
                obs = await prober.send("collection", "GET", coll, headers)
                if obs is not None:
                    rec.observations.append(obs)
        rec.host_observations = await hosts.get(origin, prober, headers)
        return _finish(rec, prober)

    rec.info["values"] = {k: str(v) for k, v in chosen.items()}
    url = base.url
    # 2. repeats
    for _ in range(max(0, samples - 1)):
        if prober.left <= 4:
            break
        obs = await prober.send("repeat", method, url, headers)
        if obs is None:
            break
        rec.observations.append(obs)
    # 3./4. alt + ghost on the varied placeholder
    if varied:
        base_val = str(chosen[varied])
        others = [v for v in (target.params.get(varied) or []) if str(v) != base_val]
        if others:
            alt_combo = dict(chosen, **{varied: others[0]})
            obs = await prober.send("alt", method, fill(target.url, alt_combo), headers,
                                    meta={"value": str(others[0])})
            if obs is not None:
                rec.observations.append(obs)
        ghost = ghost_value(chosen[varied])
        obs = await prober.send("ghost", method, fill(target.url, dict(chosen, **{varied: ghost})), headers,
                                meta={"value": ghost})
        if obs is not None:
            rec.observations.append(obs)
    # 5. host probes (cheap, shared)
    rec.host_observations = await hosts.get(origin, prober, headers)
    # 6. limit
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
            obs = await prober.send("limit", method, set_query_param(url, name, probe_value), headers,
                                    meta={"param": name, "value": probe_value, "base_value": value})
            if obs is not None:
                rec.observations.append(obs)
    # 7. without auth
    if has_auth(headers):
        obs = await prober.send("noauth", method, url, without_auth(headers))
        if obs is not None:
            rec.observations.append(obs)
    return _finish(rec, prober)


async def probe_write(target: ProbeTarget, prober: Prober, hosts: HostProbes, allow_writes: bool,
                      samples: int = 5) -> ProbeRecord:
    rec = ProbeRecord(target=target, info={"kind": "write", "writes_allowed": allow_writes})
    method = target.method.upper()
    headers = dict(target.headers)
    combos = sample_combos(target)
    varied, varied_in = varied_placeholder(target)
    rec.info.update(varied=varied, varied_in=varied_in)
    combo = combos[-1] if method == "DELETE" else combos[0]
    url = fill(target.url, combo)
    rec.info["values"] = {k: str(v) for k, v in combo.items()}
    origin = origin_of(url)

    if not allow_writes:
        obs = await prober.send("options", "OPTIONS", url, headers)
        if obs is not None:
            rec.observations.append(obs)
            if not obs.error:
                rec.host_observations = await hosts.get(origin, prober, headers)
        return _finish(rec, prober)

    if method == "DELETE":
        pre = await prober.send("pre", "GET", url, headers)
        if pre is not None:
            rec.observations.append(pre)
            if pre.error:
                return _finish(rec, prober)
    w1 = await prober.send("write", method, url, headers, target.body)
    if w1 is None:
        return _finish(rec, prober)
    rec.observations.append(w1)
    if w1.error:
        return _finish(rec, prober)
    if not is_success(w1, target.expect_status):
        rec.host_observations = await hosts.get(origin, prober, headers)
        return _finish(rec, prober)

    if method == "POST":
        w2 = await prober.send("write", method, url, headers, target.body, meta={"n": 2})
        if w2 is not None:
            rec.observations.append(w2)
        if is_non_create(w1):
            rec.info["non_create"] = True
            await _probe_non_create(rec, prober, target, url, headers, w2, samples)
        else:
            await _follow_created(rec, prober, url, headers, w1)
    elif method in ("PUT", "PATCH"):
        follow = await prober.send("follow", "GET", url, headers, meta={"via": "same-url"})
        if follow is not None:
            rec.observations.append(follow)
        if varied and method == "PATCH":  # a PUT to a ghost id may legitimately create it (upsert)
            ghost = ghost_value(combo[varied])
            obs = await prober.send("ghost-write", method, fill(target.url, dict(combo, **{varied: ghost})),
                                    headers, target.body, meta={"value": ghost})
            if obs is not None:
                rec.observations.append(obs)
    elif method == "DELETE":
        pre = rec.first("pre")
        if pre is not None and pre.is_2xx and w1.status != 202:
            follow = await prober.send("follow", "GET", url, headers, meta={"via": "same-url"})
            if follow is not None:
                rec.observations.append(follow)
    rec.host_observations = await hosts.get(origin, prober, headers)
    return _finish(rec, prober)


async def _probe_non_create(rec: ProbeRecord, prober: Prober, target: ProbeTarget, url: str,
                            headers: dict[str, str], w2: Observation | None, samples: int) -> None:
    """A POST that creates nothing: resend it a few times when it is slow
    enough for its latency to say something, then vary one identifier."""
    if w2 is not None and w2.is_2xx and w2.latency_ms >= RESEND_MIN_MS:
        for _ in range(max(RESENDS, samples - 1)):
            if prober.left <= 3:  # keep room for the vary probe and the host probes
                break
            obs = await prober.send("resend", "POST", url, headers, target.body)
            if obs is None:
                break
            rec.observations.append(obs)
    cand = vary_identifier(target.body)
    if cand is not None:
        path, old, new = cand
        obs = await prober.send("vary", "POST", url, headers, with_value(target.body, path, new),
                                meta={"field": ".".join(path), "from": old, "to": new})
        if obs is not None:
            rec.observations.append(obs)


async def _follow_created(rec: ProbeRecord, prober: Prober, url: str, headers: dict[str, str],
                          w1: Observation) -> None:
    """Look for the resource the first POST says it created."""
    location = w1.header("location")
    created = find_id(w1.json, urlsplit(url).path) if w1.is_json else None
    rec.info["created_id"] = None if created is None else str(created)
    collection = strip_query(url).rstrip("/")
    if w1.status == 202:
        return  # asynchronous processing: nothing to read back yet
    if location:
        target_url = urljoin(url, location)
        obs = await prober.send("follow", "GET", target_url, headers, meta={"via": "location", "location": location})
        if obs is not None:
            rec.observations.append(obs)
            await _retry_follow(rec, prober, headers)
        return
    if created is None:
        return
    obs = await prober.send("follow", "GET", f"{collection}/{quote(str(created), safe='')}", headers,
                            meta={"via": "id", "id": str(created)})
    if obs is None:
        return
    rec.observations.append(obs)
    if obs.status not in (404, 410):
        return
    await _retry_follow(rec, prober, headers)
    retry = rec.first("follow-retry")
    if retry is not None and retry.status not in (404, 410):
        return
    # Does the item route exist at all?  Read the collection, fetch a listed item.
    lst = await prober.send("collection", "GET", collection, headers)
    if lst is None:
        return
    rec.observations.append(lst)
    items = extract_list(lst.json) if lst.is_2xx and lst.is_json else None
    ids = [i for i in item_ids(items or []) if str(i) != str(created)]
    if ids:
        obs = await prober.send("known", "GET", f"{collection}/{quote(str(ids[0]), safe='')}", headers,
                                meta={"id": str(ids[0])})
        if obs is not None:
            rec.observations.append(obs)


async def _retry_follow(rec: ProbeRecord, prober: Prober, headers: dict[str, str]) -> None:
    """Eventual consistency: re-read a 404 follow-up once after a short wait."""
    follow = rec.first("follow")
    if follow is not None and follow.status in (404, 410) and prober.left > 2:
        await asyncio.sleep(FOLLOW_RETRY_S)
        obs = await prober.send("follow-retry", "GET", follow.url, headers, meta=dict(follow.meta))
        if obs is not None:
            rec.observations.append(obs)


def _finish(rec: ProbeRecord, prober: Prober) -> ProbeRecord:
    rec.requests = prober.count
    return rec
