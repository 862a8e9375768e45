"""Which requests are sent for one endpoint. Never more than the endpoint's request budget, never a
write the run may not send, never a write to something the run did not create or cannot restore.

Read plan (GET/HEAD, and POSTs that only read — filter, count, search… — with their body):

1. ``base``   — the URL filled with the campaign's sample values (a second sample if the first
   404s); when they 404, real identifiers from the :class:`~tasks.readiness.identifiers.IdPool`
   (what other endpoints listed, what this run created), after reading the collection if nothing
   is known yet. A query POST whose example body is refused (400/422) is retried with an empty
   body. When nothing answers 2xx, the :class:`~tasks.readiness.routing.RouteOracle` says whether
   the route exists (an entity 404) or not (the router's own 404). A text sample (``sample``) a
   typed router did not take (404, 5xx) is retried as an integer, then a UUID, first.
2. ``repeat`` — the same request ``samples - 1`` more times (latency, stability);
3. ``alt``    — another value of the varied placeholder; ``ghost`` — a surely-nonexistent one;
4. ``limit``  — the limit-like query parameter changed (when the list can tell);
5. ``noauth`` — the request without its auth headers (when it has some);
6. host probes, once per origin: ``control`` (random path), ``root``, mock tools' admin paths.

Write plan (only when the run may write and the endpoint is neither on the never-write list nor
destructive — else only ``OPTIONS`` and the host probes, and the verdict is ``unverified``):

* POST to a collection the campaign lists (a ``GET`` on the same path): sent only when what it adds
  can be removed — a ``DELETE`` item route in the campaign, or ``OPTIONS`` on an item URL listing
  ``DELETE`` (``removal-options``). Otherwise only ``malformed`` is sent (invalid JSON: nothing can
  store it) and the verdict is ``unverified`` unless other evidence names a mock; smoke skips it.
  A POST whose 2xx answer names an object (``{"name": "1"}``) in a collection with a ``DELETE``
  route is a create, never resent. An answer that is the very item the path names (``POST
  /tasks/{id}/complete``) is an action on it: nothing recorded, no twin.
* POST to a collection: ``effect-before`` reads of related lists; ``write`` twice, each with its
  own unique values (:func:`~tasks.readiness.ledger.uniquify`) and real references; a body the
  target refuses is retried once with references to objects that exist. A POST that creates
  nothing (RPC/query style, see :func:`~tasks.readiness.probe.is_non_create`) is resent as is
  (``resend``) and with one identifier varied (``vary``). A POST that creates: every object is
  recorded in the :class:`~tasks.readiness.ledger.Ledger` (removed at the end); ``follow`` reads
  it back (``Location``, else ``{collection}/{id}``; a 404 is re-read once after 0.5 s);
  ``malformed`` sends invalid JSON (a real handler rejects it); ``effect-after`` re-reads the
  related lists.
* PUT/PATCH/POST on an item: an object this run created when there is one; else the campaign's
  sample, read first (``pre``) and put back afterwards (``restore``); a setting without an id is
  written only when its current value could be read. ``follow`` reads it back; PATCH also patches
  a ``ghost`` id.
* DELETE: only an object this run created (``pre``, ``write``, ``follow``); a nonexistent id
  (``ghost-write``) is deleted too. Never the campaign's sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import httpx

from .identifiers import IdPool, slots
from .ledger import Ledger, destructive
from .models import ProbeTarget
from .probe import MAX_REQUESTS, READ_METHODS, HostProbes, Observation, Prober, ProbeRecord, WaitBudget, WriteBudget, \
    fill, join_url, origin_of
from .routing import RouteOracle

FOLLOW_RETRY_S = 0.5
RESENDS = 4                 # extra identical sends of a slow non-create POST (latency samples)
RESEND_MIN_MS = 15.0        # ...only when the second send took at least this long
WRITE_BUDGET = 24           # requests for one write endpoint (related reads included)
MALFORMED_BODY = b'{"perfcampaign-readiness": "malformed'   # invalid JSON: no real handler accepts it


@dataclass
class Related:
    """A read whose answer a write may change (the collection's list, a balance…)."""

    name: str
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass
class Run:
    """What every endpoint's probe shares in one readiness run."""

    client: httpx.AsyncClient
    timeout_s: float = 10.0
    samples: int = 5
    allow: Callable[[str], Any] | None = None
    allow_writes: bool = True
    writes: WriteBudget = field(default_factory=lambda: WriteBudget(400))
    busy: WaitBudget = field(default_factory=lambda: WaitBudget(20.0))
    hosts: HostProbes = field(default_factory=HostProbes)
    pool: IdPool = field(default_factory=IdPool)
    oracle: RouteOracle = field(default_factory=RouteOracle)
    ledger: Ledger | None = None
    related: Callable[[ProbeTarget, str], list[Related]] = lambda t, url: []
    provision: Callable[[str], Any] | None = None
    why_no_writes: str = "write probes are off for this environment"
    #: the collections the campaign lists (GET without a path placeholder), query aside
    list_urls: set[str] = field(default_factory=set)
    #: GET routes of lists under a parent (``/tenants/{tenant}/databases``)
    list_templates: list[str] = field(default_factory=list)
    #: POSTs whose valid write was withheld (nothing it creates could be removed): name → why
    withheld: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ledger is None:
            self.ledger = Ledger(self.pool)

    def prober(self, budget: int = MAX_REQUESTS, *, read_only: bool = False) -> Prober:
        return Prober(self.client, self.timeout_s, budget, allow=self.allow, writes=self.writes, busy=self.busy,
                      read_only=read_only)


def is_read(target: ProbeTarget) -> bool:
    return target.method.upper() in READ_METHODS or (target.safe and target.method.upper() == "POST")


def not_probed_reason(target: ProbeTarget, run: Run) -> str | None:
    """Why a write endpoint gets no write probe, or None."""
    if target.never_write:
        return "the campaign lists it as never to be written to"
    if not run.allow_writes:
        return run.why_no_writes
    why = destructive(target.method, target.url, target.body)
    if why:
        return f"not probed: {why} (mark it safe: true, or test it by hand)"
    return None


async def get_following(prober: Prober, label: str, url: str, headers: dict[str, str],
                        meta: dict | None = None) -> Observation | None:
    """GET that follows up to two redirects on the same origin (``/flows`` → ``/flows/``); every
    hop is checked against the allow-list by the prober."""
    obs = await prober.send(label, "GET", url, headers, meta=meta, is_write=False)
    for _ in range(2):
        if obs is None or not obs.ok or obs.status not in (301, 302, 303, 307, 308) or not obs.header("location"):
            return obs
        nxt = join_url(obs.url, obs.header("location"))
        if nxt is None or origin_of(nxt) != origin_of(url):
            return obs
        obs = await prober.send(label, "GET", nxt, headers, meta=meta, is_write=False)
    return obs


# --------------------------------------------------------------------------------------------
# Read plan
# --------------------------------------------------------------------------------------------

def query_key(template: str, placeholder: str | None) -> str | None:
    """The query parameter a placeholder fills: ``?customer_id={id}`` → ``customer_id``."""
    if not placeholder:
        return None
    _, _, query = template.partition("?")
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if value == "{" + placeholder + "}":
            return key
    return placeholder


def malformed_value(sample: Any) -> str | None:
    """A value of the wrong shape for ids like ``sample`` (numbers, UUIDs), or None."""
    import re

    from .content import UUID_RE

    text = str(sample)
    if isinstance(sample, int) and not isinstance(sample, bool) or re.fullmatch(r"\d+", text):
        return "zz-not-a-number"
    if UUID_RE.match(text):
        return "zz-not-a-uuid"
    return None


def _real_combos(target: ProbeTarget, pool: IdPool, base: dict[str, Any], *, own_only: bool,
                 limit: int = 2) -> list[tuple[dict[str, Any], str]]:
    """Sample combos whose path placeholders hold values that exist (left to right: a nested
    route's parent first)."""
    combos: list[tuple[dict[str, Any], str]] = [(dict(base), "")]
    for sl in slots(target.url):
        nxt: list[tuple[dict[str, Any], str]] = []
        for combo, why in combos:
            coll = fill(sl.collection, combo)
            cands = pool.candidates(coll, sl.name, sl.literal, own_only=own_only, prefer_own=own_only)
            for value, source in cands[:limit]:
                nxt.append((dict(combo, **{sl.name: value}), (why + "; " if why else "") + f"{sl.name}={value} ({source})"))
        if not nxt:
            return []
        combos = nxt[:limit]
    return [(c, w) for c, w in combos if any(str(c[k]) != str(base.get(k)) for k in c)]


def _finish(rec: ProbeRecord, prober: Prober) -> ProbeRecord:
    rec.requests = prober.count + rec.extra_requests
    return rec


def unlisted_sample(rec: ProbeRecord, run: Run, check: Any) -> Any:
    """A probe answered the router's own 404 on the campaign's sample values, while the API lists
    other values for one of its placeholders (PowerDNS routes only ``/servers/localhost/…``; ``init``
    wrote ``server_id: '1'``): the sample is not an object the API has, which says nothing about the
    route. Unverified, with the listed values to use, never missing."""
    from .routing import RouteCheck

    if getattr(check, "exists", None) is not False:
        return check
    from .probe import sample_combos

    values = rec.info.get("values") or {k: str(v) for k, v in sample_combos(rec.target)[0].items()}
    for s in slots(rec.target.url):
        value = values.get(s.name)
        if value is None:
            continue
        combo = {k: v for k, v in values.items()}
        cands = run.pool.candidates(fill(s.collection, combo), s.name, s.literal, limit=50)
        listed = [str(v) for v, _ in cands]
        tried = {o.url.partition("?")[0] for o in rec.observations}
        if any(fill(rec.target.url, {**combo, s.name: v}).partition("?")[0] in tried for v in listed):
            return check  # a listed value was tried too, and answered the same: the route is what is missing
        if listed and str(value) not in listed:
            return RouteCheck(None, f"the campaign's sample {s.name}={value} is not among the values the API lists "
                                    f"({', '.join(listed[:3])}): a 404 for it says nothing about the route (use a "
                                    f"listed value in the campaign's params)", check.control)
    return check


from .read_plan import probe_read  # noqa: E402  (the plans build on the shared pieces above)
from .write_plan import probe_write, provision  # noqa: E402

__all__ = ["Related", "Run", "get_following", "is_read", "malformed_value", "not_probed_reason", "probe_read",
           "probe_write", "provision", "query_key"]
