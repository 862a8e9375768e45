"""What a probe sends and what it records.

Everything the signals look at is an :class:`Observation` (one request and its response, headers
with their original casing and order, the body up to a cap) gathered in a :class:`ProbeRecord`.
:class:`Prober` sends one endpoint's requests through :func:`tasks.bounded.bounded_request` (a
deadline over the whole request, a cap on the body kept, the environment's allow-list checked
before anything leaves — followed ``Location`` headers included) within a request budget; writes
also draw on the run's write budget. :class:`HostProbes` are sent once per origin and shared.
Which requests are sent for an endpoint is decided in :mod:`tasks.readiness.plans`.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import httpx

from tasks.bounded import bounded_request

from .content import NOT_JSON, UUID_RE, find_id, parse_json
from .models import ProbeTarget

MAX_REQUESTS = 16           # per endpoint (id discovery and route checks included)
MAX_BODY_BYTES = 512 * 1024
PLACEHOLDER_RE = re.compile(r"\{([^{}/?&=#]+)\}")
GHOST_INT = "987654321"
USER_AGENT = "perfcampaign-readiness/0.1"
RETRY_BUSY_S = 0.5          # pause before asking an overloaded target (429/503) once more
FOLLOW_RETRY_S = 0.5
RESENDS = 4                 # extra identical sends of a slow non-create POST (latency samples)
RESEND_MIN_MS = 15.0        # ...only when the second send took at least this long
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
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
    error_kind: str | None = None   # connect | timeout | protocol | invalid | refused
    meta: dict = field(default_factory=dict)
    #: the body went past the cap: ``body`` holds its beginning only
    truncated: bool = False
    #: the JSON body that was sent (writes), to compare with what is read back
    sent: Any = None

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
    #: requests sent on the endpoint's behalf outside its own budget (related reads of a write)
    extra_requests: int = 0
    #: evidence other endpoints' probes produced about this one (see :mod:`tasks.readiness.crosscheck`)
    cross: list = field(default_factory=list)

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


#: the typed stand-ins tried when a text sample (``sample``) could not be routed: routers with
#: typed converters (Flask ``<int:n>``, FastAPI ``UUID``, Rails constraints) answer their own 404,
#: or a 500, to a value of the wrong type — which says nothing about whether the route exists
TYPED_STANDINS = (("an integer", "1"), ("a UUID", "00000000-0000-4000-8000-000000000001"))


def typed_combos(target: ProbeTarget, combo: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """``combo`` with every path value that is neither a number nor a UUID replaced by an integer,
    then by a UUID (empty when every path value already has a type)."""
    path_ph, _ = placeholders(target.url)
    untyped = [n for n in dict.fromkeys(path_ph)
               if not re.fullmatch(r"-?\d+(\.\d+)?", str(combo.get(n, ""))) and not UUID_RE.match(str(combo.get(n, "")))]
    if not untyped:
        return []
    return [(dict(combo, **{n: value for n in untyped}),
             f"{', '.join(untyped)} as {kind} ({value}): the text sample was not routed")
            for kind, value in TYPED_STANDINS]


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


def join_url(base: str, ref: str | None) -> str | None:
    """``urljoin`` for a reference the target sent (``Location``): ``None`` when it is not a URL
    (``http://[::1:bad/``: urllib raises ``ValueError``)."""
    if not ref:
        return None
    try:
        joined = urljoin(base, ref)
        urlsplit(joined).port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        return None
    return joined


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

class WriteBudget:
    """The run's cap on write requests (POST/PUT/PATCH/DELETE that may change state), shared by
    every endpoint: a campaign of 200 operations never turns into thousands of writes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sent = 0

    def take(self) -> bool:
        if self.sent >= self.limit:
            return False
        self.sent += 1
        return True


class WaitBudget:
    """Seconds a whole run may spend waiting for an overloaded target before asking again."""

    def __init__(self, seconds: float) -> None:
        self.left = seconds

    def take(self, seconds: float) -> bool:
        if self.left < seconds:
            return False
        self.left -= seconds
        return True


class Prober:
    """Sends requests for one endpoint, within a request budget (and the run's write budget).

    Every request goes through :func:`tasks.bounded.bounded_request`: ``allow(url)`` (the
    environment's allow-list) runs before anything is sent, so a ``Location`` pointing at another
    host is refused, never followed with the endpoint's credentials."""

    def __init__(self, client: httpx.AsyncClient, timeout_s: float, budget: int = MAX_REQUESTS, *,
                 allow: Callable[[str], Any] | None = None, writes: WriteBudget | None = None,
                 max_bytes: int = MAX_BODY_BYTES, busy: WaitBudget | None = None, read_only: bool = False) -> None:
        self.client = client
        self.busy = busy
        #: every request of this prober only reads (a query POST's probe): never counted as a write
        self.read_only = read_only
        self.timeout_s = timeout_s
        self.budget = budget
        self.allow = allow
        self.writes = writes
        self.max_bytes = max_bytes
        self.count = 0
        #: URLs that answered with a body that never ended (a stream): not asked again
        self.streams: set[str] = set()

    @property
    def left(self) -> int:
        return self.budget - self.count

    async def send(self, label: str, method: str, url: str, headers: dict[str, str] | None = None,
                   body: Any = None, meta: dict | None = None, *, raw: bytes | None = None,
                   is_write: bool | None = None) -> Observation | None:
        """One request; ``None`` when a budget is spent. ``raw`` sends bytes as they are (with a
        JSON content type), e.g. a malformed body. ``is_write`` (default: by method) draws on the
        run's write budget."""
        method = method.upper()
        if self.count >= self.budget or url in self.streams:
            return None
        writing = False if self.read_only else (method in WRITE_METHODS) if is_write is None else is_write
        if writing and self.writes is not None and not self.writes.take():
            return None
        self.count += 1
        hdrs = {"User-Agent": USER_AGENT, "Accept": "application/json, */*;q=0.5"}
        hdrs.update(headers or {})
        kwargs: dict[str, Any] = {}
        if raw is not None:
            kwargs["content"] = raw
            hdrs.setdefault("Content-Type", "application/json")
        elif body is not None and method not in ("GET", "HEAD", "OPTIONS"):
            if isinstance(body, (bytes, str)):
                kwargs["content"] = body
            else:
                kwargs["json"] = body
        obs = Observation(label=label, method=method, url=url, meta=dict(meta or {}))
        obs.sent = raw if raw is not None else body
        if writing:
            obs.meta.setdefault("write", True)
        t0 = time.perf_counter()
        try:
            resp = await bounded_request(self.client, method, url, max_bytes=self.max_bytes,
                                         deadline_s=self.timeout_s, allow=self.allow, headers=hdrs, **kwargs)
            obs.latency_ms = (time.perf_counter() - t0) * 1000.0
            obs.status = resp.status_code
            obs.headers = list(resp.raw_headers)
            obs.body = resp.content
            obs.truncated = resp.truncated
        except httpx.TimeoutException as exc:
            obs.latency_ms = (time.perf_counter() - t0) * 1000.0
            partial = getattr(exc, "partial", None)
            if partial is not None:
                # the status and headers came at once, the body never ended: a stream (a watch, a
                # server-sent event feed), alive; its next requests would only wait as long again
                obs.status, obs.headers, obs.body = partial.status_code, list(partial.raw_headers), partial.content
                obs.truncated = True
                obs.meta["stream"] = f"the body was still open after {self.timeout_s:g}s"
                self.streams.add(url)
            else:
                obs.error, obs.error_kind = f"timeout after {self.timeout_s:g}s ({type(exc).__name__})", "timeout"
        except httpx.ConnectError as exc:
            obs.latency_ms = (time.perf_counter() - t0) * 1000.0
            obs.error, obs.error_kind = f"cannot connect: {exc}", "connect"
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, ValueError, TypeError) as exc:
            obs.error, obs.error_kind = f"invalid request: {exc}", "invalid"
        except httpx.HTTPError as exc:
            obs.latency_ms = (time.perf_counter() - t0) * 1000.0
            obs.error, obs.error_kind = f"{type(exc).__name__}: {exc}", "protocol"
        except PermissionError as exc:  # the allow-list refused the URL: nothing was sent
            self.count -= 1
            obs.error, obs.error_kind = f"refused: {exc}", "refused"
        tries = int(obs.meta.get("retried", 0))
        if obs.status in (429, 503) and method != "POST" and tries < 3 and self.left > 0 and (
                self.busy is None or self.busy.take(RETRY_BUSY_S * 2 ** tries)):
            # an overloaded target, for a moment: ask again a little later (never a POST: it could
            # create twice), within the run's allowance for waiting
            await asyncio.sleep(RETRY_BUSY_S * 2 ** tries)
            again = await self.send(label, method, url, headers, body, {**obs.meta, "retried": tries + 1}, raw=raw,
                                    is_write=is_write)
            if again is not None:
                return again
        return obs


#: Tool admin paths a host is asked for once (GET only, never a write): a mock tool answers them
#: in its own words (see ``signatures.ADMIN_FINGERPRINTS``), a real service answers its usual 404.
ADMIN_PATHS = ("/__admin/mappings?limit=1", "/mockoon-admin")


def parent_paths(url: str, depth: int = 2) -> list[str]:
    """The endpoint's first ``depth`` parent paths below the root (``/api/``, ``/api/catalog/`` for
    ``/api/catalog/series/3``): where a gateway mounts a tool, whose home page then answers there."""
    p = urlsplit(url)
    segs = [s for s in p.path.split("/") if s]
    return [f"{p.scheme}://{p.netloc}/{'/'.join(segs[:n])}/" for n in range(1, min(depth, len(segs) - 1) + 1)]


class HostProbes:
    """Once-per-origin probes shared by every endpoint of a run: ``control`` (a random path),
    ``root`` (``/``), a CORS ``preflight`` (``OPTIONS`` with ``Origin``) and the mock tools' admin
    paths. Only the endpoint that triggered them counts
    their requests."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Future] = {}

    async def get(self, origin: str, prober: Prober, headers: dict[str, str], url: str | None = None) -> list[Observation]:
        """The origin's probes, and (given the endpoint's ``url``) its parent paths' pages."""
        out = await self._get(origin, prober, headers)
        if url and out and not any(o.label == "control" and o.error for o in out):
            for parent in parent_paths(url):
                out += await self._get(parent, prober, headers, parent=True)
        return out

    async def _get(self, origin: str, prober: Prober, headers: dict[str, str], parent: bool = False) -> list[Observation]:
        fut = self._tasks.get(origin)
        if fut is None:
            if prober.left < 2:
                return []
            fut = asyncio.ensure_future(self._parent(origin, prober, headers) if parent
                                        else self._probe(origin, prober, headers))
            self._tasks[origin] = fut
        try:
            return list(await asyncio.shield(fut))
        except Exception:
            return []

    def seen(self) -> dict[str, list[Observation]]:
        """Host observations gathered so far, by origin."""
        out = {}
        for origin, fut in self._tasks.items():
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                out[origin] = list(fut.result())
        return out

    @staticmethod
    async def _parent(url: str, prober: Prober, headers: dict[str, str]) -> list[Observation]:
        prober.budget += 1  # shared host probes do not eat the endpoint's own budget
        obs = await prober.send("parent", "GET", url, headers, meta={"path": urlsplit(url).path})
        return [] if obs is None else [obs]

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
        prober.budget += 1
        preflight = await prober.send("preflight", "OPTIONS", control.url if control is not None else f"{origin}/",
                                      {**headers, "Origin": "http://127.0.0.1", "Access-Control-Request-Method": "GET"})
        if preflight is not None:
            out.append(preflight)
        for path in ADMIN_PATHS:
            prober.budget += 1  # shared host probes do not eat the endpoint's own budget
            obs = await prober.send("admin", "GET", f"{origin}{path}", headers, meta={"path": path})
            if obs is not None:
                out.append(obs)
        return out
