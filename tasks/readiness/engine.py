"""Orchestration: which endpoint is probed when, so that real identifiers exist before they are
needed and everything a write created is gone at the end.

1. Reads without an id in their path, and POSTs that only read, run first (concurrently): their
   lists fill the :class:`~tasks.readiness.identifiers.IdPool`.
2. Reads with ids run next; the ones that found no id that exists are kept for later.
3. Writes run one at a time (so a change in a list can be put down to the write that made it),
   collection by collection, parents before children (a body's ``flow_id`` needs a flow): the
   POST that creates, then the item operations of that collection on the objects it created
   (reads kept for later, PUT/PATCH/POST actions, DELETE), then — when no later collection
   refers to it — the removal of what it created.
4. Writes on collections nobody creates in, then the reads still waiting.
5. What is still standing is removed, newest first; evidence that needs several endpoints
   (:mod:`tasks.readiness.crosscheck`) is added; every record becomes a verdict.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

import httpx

from .crosscheck import crosscheck
from .content import extract_list
from .identifiers import list_collection, noun_of, object_id, ref_noun, slots, strip_url
from .ledger import ItemRoute, Ledger
from .models import Evidence, ProbeTarget, ReadinessReport, ReadinessVerdict
from .plans import Related, Run, is_read, probe_read, probe_write
from .probe import MAX_REQUESTS, ProbeRecord, WriteBudget, fill, origin_of, placeholders, sample_combos
from .signals import collect
from .verdict import decide

log = logging.getLogger(__name__)

#: related reads snapshotted around each POST that creates
RELATED_READS = 3
#: reads of each kind (mock, other software) asked OPTIONS per base URL, for writes not sent
SIBLING_OPTIONS = 3
_STATEFUL_WORDS = ("balance", "wallet", "stock", "inventory", "count", "total", "summary", "stats", "account",
                   "cart", "basket", "me", "profile", "usage", "quota")


def _latencies(rec: ProbeRecord) -> list[float]:
    if rec.info.get("kind") == "write":
        obs = rec.labeled("write", "resend") or rec.labeled("options")
    else:
        obs = rec.same_request()
    return [round(o.latency_ms, 3) for o in obs if o.ok]


def build_verdict(rec: ProbeRecord) -> ReadinessVerdict:
    """Pure: signals + decision over a finished probe record."""
    evidence = collect(rec)
    verdict, confidence, reason = decide(rec, evidence)
    p = rec.primary
    first_url = (p.url if p is not None else rec.observations[0].url) if rec.observations else rec.target.url
    evidence.sort(key=lambda e: (-e.weight if e.points_to in ("mock", "real") else -10 - e.weight))
    return ReadinessVerdict(
        name=rec.target.name, method=rec.target.method.upper(), url=first_url, verdict=verdict,
        confidence=round(confidence, 3), evidence=evidence, status_code=p.status if p is not None else None,
        latencies_ms=_latencies(rec), requests=rec.requests, reason=reason)


def _failed(target: ProbeTarget, exc: BaseException) -> ProbeRecord:
    rec = ProbeRecord(target=target, info={"kind": "error", "error": f"{type(exc).__name__}: {exc}"})
    return rec


def _item_collection(target: ProbeTarget) -> str | None:
    """The collection URL template an item operation works on: the path before its first id."""
    sl = slots(target.url)
    return strip_url(sl[0].collection) if sl else None


def _create_collection(target: ProbeTarget) -> str | None:
    """The collection a POST creates in (a literal last segment: ``/flows/``, ``/work_pools/{name}/queues``)."""
    if target.method.upper() != "POST" or target.safe:
        return None
    path = target.url.partition("?")[0].rstrip("/")
    if "{" in path.rsplit("/", 1)[-1]:
        return None
    return strip_url(path)


def _refers_to(target: ProbeTarget) -> set[str]:
    """Nouns a write's body refers to (``flow_id`` → ``flow``), and the parent of a nested route."""
    nouns: set[str] = set()

    def walk(o: Any, depth: int) -> None:
        if depth > 3:
            return
        if isinstance(o, dict):
            for k, v in o.items():
                n = ref_noun(str(k))
                if n:
                    nouns.add(n)
                walk(v, depth + 1)
        elif isinstance(o, list):
            for v in o[:5]:
                walk(v, depth + 1)

    walk(target.body, 0)
    for sl in slots(target.url):
        nouns.add(noun_of(strip_url(sl.collection).rsplit("/", 1)[-1]))
    return nouns


def _order_creates(creates: list[int], targets: list[ProbeTarget]) -> list[int]:
    """Parents first: a create whose body refers to another collection's noun comes after it."""
    noun = {i: noun_of(strip_url(_create_collection(targets[i]) or "").rsplit("/", 1)[-1]) for i in creates}
    done: list[int] = []
    left = list(creates)
    while left:
        for i in left:
            needs = {j for j in left if j != i and noun[j] in _refers_to(targets[i])}
            if not needs:
                done.append(i)
                left.remove(i)
                break
        else:  # a cycle: keep the campaign's order
            done.extend(left)
            break
    return done


class Readiness:
    """One run over a list of targets (see :func:`run_readiness`)."""

    def __init__(self, targets: list[ProbeTarget], run: Run, concurrency: int,
                 on_result: Callable[[ReadinessVerdict], None] | None) -> None:
        self.targets = targets
        self.run = run
        self.concurrency = max(1, concurrency)
        self.on_result = on_result
        self.records: dict[int, ProbeRecord] = {}
        self.pending_reads: set[int] = set()
        #: collections whose objects overloaded the target: removed before anything else, never made again
        self.urgent: list[str] = []
        self.harmful: set[str] = set()
        #: what the target makes for an object a write creates (``{endpoint, field, collection, list}``)
        self.made_by_target: list[dict[str, Any]] = []

    # -- probing one endpoint -------------------------------------------------------------------
    async def probe(self, i: int, *, own_only: bool = False) -> ProbeRecord:
        t = self.targets[i]
        try:
            if is_read(t):
                rec = await probe_read(t, self.run, own_only=own_only)
            else:
                rec = await probe_write(t, self.run)
        except Exception as exc:  # never let one endpoint break the stage
            log.exception("readiness probe of %s failed", t.name)
            rec = _failed(t, exc)
        old = self.records.get(i)
        if old is not None and not _better(rec, old):
            old.requests += rec.requests
            return old
        if old is not None:
            rec.requests += old.requests
        self.records[i] = rec
        if is_read(t):
            if _unresolved(rec):
                self.pending_reads.add(i)
            else:
                self.pending_reads.discard(i)
        return rec

    async def gather(self, idx: list[int]) -> None:
        sem = asyncio.Semaphore(self.concurrency)

        async def one(i: int) -> None:
            async with sem:
                await self.probe(i)

        await asyncio.gather(*(one(i) for i in idx))

    # -- related reads for a create ----------------------------------------------------------------
    def related(self, target: ProbeTarget, url: str) -> list[Related]:
        if _create_collection(target) is None:
            return []
        coll = strip_url(url)
        origin = origin_of(coll)
        scored: list[tuple[float, int, Related]] = []
        seen: set[str] = set()
        for j, t in enumerate(self.targets):
            if not is_read(t) or t.method.upper() == "HEAD" or any(placeholders(t.url)) or origin_of(t.url) != origin:
                continue
            base = strip_url(fill(t.url, sample_combos(t)[0]))
            score = 0.0
            if base == coll or base.rsplit("/", 1)[0] == coll:
                score = 3.0
            else:
                a, b = base.split("/"), coll.split("/")
                common = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
                score = common / max(len(b), 1)
                if any(w in base.lower().rsplit("/", 1)[-1] for w in _STATEFUL_WORDS):
                    score += 1.0
            rec = self.records.get(j)
            if rec is None or rec.base is None or not rec.base.is_2xx:
                continue
            body = rec.info.get("body", t.body) if t.method.upper() != "GET" else None
            scored.append((score, j, Related(t.name, t.method.upper(), rec.base.url, dict(t.headers), body)))
            seen.add(base)
        scored.sort(key=lambda s: (-s[0], s[1]))
        out = [r for _, _, r in scored[:RELATED_READS]]
        if coll not in seen and len(out) < RELATED_READS + 1:
            out.insert(0, Related("collection", "GET", url.partition("?")[0], dict(target.headers)))
        return out

    # -- the run ------------------------------------------------------------------------------------
    async def execute(self) -> None:
        n = len(self.targets)
        reads = [i for i in range(n) if is_read(self.targets[i])]
        writes = [i for i in range(n) if not is_read(self.targets[i])]
        flat_reads = [i for i in reads if not slots(self.targets[i].url)]
        item_reads = [i for i in reads if i not in flat_reads]
        await self.gather(flat_reads)
        await self.gather(item_reads)

        creates = _order_creates([i for i in writes if _create_collection(self.targets[i])
                                  and not slots(self.targets[i].url)], self.targets)
        later_refs = {i: set().union(*(_refers_to(self.targets[j]) for j in creates[k + 1:])) if k + 1 < len(creates)
                      else set() for k, i in enumerate(creates)}
        self.creators = {c: i for i in creates if (c := _create_collection(self.targets[i]))}
        handled: set[int] = set()
        deferred: list[int] = []
        for i in creates:
            await self.probe(i)
            handled.add(i)
            coll = _create_collection(self.targets[i])
            noun = noun_of((coll or "").rsplit("/", 1)[-1])
            keep = noun in later_refs[i]  # later creates refer to these objects: delete them at the end
            if coll is not None and not self.overloaded(i, coll):
                await self.item_group(coll, writes, handled, deferred if keep else None)
            if self.urgent:
                await self.cleanup(only=self.urgent.pop())   # undo at once what overloads the target
            elif not keep:
                await self.cleanup(only=coll)
        rest = [i for i in writes if i not in handled and i not in deferred]
        rest.sort(key=lambda i: (self.targets[i].method.upper() == "DELETE", i))
        for i in rest:
            await self.probe(i)
            handled.add(i)
        if self.pending_reads:
            await self.gather(sorted(self.pending_reads))
        for i in sorted(deferred, key=lambda i: _op_order(self.targets[i], i)):
            await self.probe(i)
            handled.add(i)
        await self.sibling_options()
        if self.run.ledger.created:
            await self.side_effects()
        await self.cleanup()

    async def sibling_options(self) -> None:
        """Where some reads of a base URL are judged mock on their own evidence and others are not,
        OPTIONS on a few reads of each (``sibling_options``) and on the path of each write that is
        not a mock on its own evidence (``own_options``; unsent writes asked already). When the
        OPTIONS answers split cleanly along that line (transport, status, CORS, ``Allow``), the host
        routes by path, and a write whose OPTIONS is answered like the mocks' goes to the mock tool
        (:func:`~tasks.readiness.crosscheck.options_like_mocks`); where one piece of software
        answers OPTIONS everywhere (a tool in proxy mode, one app with canned handlers) they do not
        split. Safe requests only: at most ``SIBLING_OPTIONS`` reads of each kind per base URL, and
        one per write."""
        crosscheck(list(self.records.values()))  # reads judged mock by their siblings count too
        prober = self.run.prober(2 * SIBLING_OPTIONS + len(self.records))
        answered = {id(rec): obs for rec in self.records.values() if rec.info.get("kind") == "write"
                    and (obs := rec.primary or rec.first("malformed")) is not None and obs.ok}
        writes = [rec for rec in self.records.values() if id(rec) in answered]
        for origin in sorted({origin_of(obs.url) for obs in answered.values()}):
            reads = [rec for rec in self.records.values() if rec.info.get("kind") == "read"
                     and rec.target.method.upper() == "GET" and rec.base is not None and rec.base.is_2xx
                     and origin_of(rec.base.url) == origin]
            mocks = [rec for rec in reads if decide(rec, collect(rec))[0] == "mock"]
            others = [rec for rec in reads if rec not in mocks]
            if not mocks or not others:
                continue  # nothing to tell apart
            for rec in mocks[:SIBLING_OPTIONS] + others[:SIBLING_OPTIONS]:
                obs = await prober.send("sibling-options", "OPTIONS", rec.base.url.partition("?")[0],  # type: ignore[union-attr]
                                        dict(rec.target.headers))
                if obs is not None:
                    rec.requests += 1
                    rec.info["sibling_options"] = obs
            for rec in writes:
                p = answered[id(rec)]
                if origin_of(p.url) != origin or rec.info.get("not_probed") or p.method == "OPTIONS" \
                        or decide(rec, collect(rec))[0] == "mock":
                    continue
                obs = await prober.send("own-options", "OPTIONS", p.url.partition("?")[0], dict(rec.target.headers))
                if obs is not None:
                    rec.requests += 1
                    rec.info["own_options"] = obs

    async def side_effects(self) -> None:
        """Objects the target created because of a probe's write (a default pool made for the queue
        a probe created): they appeared during the run in a list read at its start, and one of the
        run's own objects refers to them. They are removed with the rest; objects that appeared
        without such a link are somebody else's and left alone."""
        ledger = self.run.ledger
        refs: dict[str, tuple[str, str]] = {}
        for entry in ledger.created:
            for k, v in ledger.object_of(entry).items():
                if ref_noun(str(k)) and isinstance(v, (str, int)) and not isinstance(v, bool):
                    refs[str(v)] = (entry.endpoint, str(k))
        if not refs:
            return
        prober = self.run.prober(4 * len(self.targets))
        for i, t in enumerate(self.targets):
            rec = self.records.get(i)
            if not is_read(t) or slots(t.url) or rec is None or rec.base is None or not rec.base.is_2xx \
                    or not rec.base.is_json or extract_list(rec.base.json) is None:
                continue
            before = {str(object_id(o)) for o in extract_list(rec.base.json) or [] if isinstance(o, dict)}
            body = rec.info.get("body", t.body) if t.method.upper() != "GET" else None
            now = await prober.send("side-effects", t.method.upper(), rec.base.url, dict(t.headers), body,
                                    is_write=False)
            if now is None or not now.is_2xx or not now.is_json:
                continue
            coll = list_collection(now.url)
            for obj in extract_list(now.json) or []:
                oid = object_id(obj) if isinstance(obj, dict) else None
                if oid is None or str(oid) in before or str(oid) not in refs:
                    continue
                if any(c.ref == str(oid) for c in ledger.created):
                    continue
                endpoint, field = refs[str(oid)]
                entry = ledger.record(f"{endpoint} (made by the target for it)", coll, obj, None, now.url)
                if entry is not None:  # removed after the object that needed it: put it first in line
                    ledger.created.remove(entry)
                    ledger.created.insert(0, entry)
                    self.made_by_target.append({"endpoint": endpoint, "field": field, "collection": coll,
                                                "list": {"method": t.method.upper(), "url": rec.base.url,
                                                         "body": body}})

    async def provision(self, collection: str) -> bool:
        """One more object in ``collection`` (a filled URL), created with the campaign's own POST
        there, for an operation that needs one of this run's objects (a second DELETE route)."""
        if any(strip_url(collection) == h or strip_url(collection).startswith(h + "/") for h in self.harmful):
            return False
        for template, i in getattr(self, "creators", {}).items():
            target = self.targets[i]
            if strip_url(template) != strip_url(collection):
                continue
            from .plans import provision

            return await provision(target, collection, self.run)
        return False

    async def item_group(self, coll: str | None, writes: list[int], handled: set[int],
                         later: list[int] | None = None) -> None:
        """The item operations of one collection, on the objects this run just created there
        (its DELETEs go to ``later`` when given: other collections still need these objects)."""
        if coll is None or not self.run.ledger.own(coll):
            return
        ops = [i for i in writes if i not in handled and _item_collection(self.targets[i]) == coll]
        # creates under an item first (a queue in a work pool), then the reads waiting for an id,
        # then changes, deletes last and children before parents
        ops.sort(key=lambda i: _op_order(self.targets[i], i))
        for i in [i for i in ops if _op_order(self.targets[i], i)[0] == 0]:
            await self.probe(i)
            handled.add(i)
            if self.overloaded(i, coll):
                return
        mine = [i for i in self.pending_reads if _item_collection(self.targets[i]) == coll]
        for i in sorted(mine):
            await self.probe(i, own_only=True)
        for i in [i for i in ops if i not in handled]:
            if later is not None and self.targets[i].method.upper() == "DELETE":
                later.append(i)
                continue
            await self.probe(i)
            handled.add(i)
            if self.overloaded(i, coll):
                return

    def overloaded(self, i: int, coll: str) -> bool:
        """The target started failing (503/429/5xx) after this run created objects in ``coll``: what
        was created may be what keeps it busy (a trigger firing on its own events…). Remember to
        remove those objects first (see :meth:`execute`) and stop working on them."""
        rec = self.records.get(i)
        busy = rec is not None and any(o.ok and (o.status in (429, 503) or (o.status or 0) >= 500)
                                       for o in rec.observations if o.label not in ("effect-before",))
        if busy and self.run.ledger.own(coll):
            self.urgent.append(coll)
            self.harmful.add(coll)
            return True
        return False
    async def cleanup(self, only: str | None = None) -> None:
        ledger = self.run.ledger
        by_name = {t.name: t for t in self.targets}

        def headers_for(entry) -> dict[str, str]:
            t = by_name.get(entry.endpoint)
            return dict(t.headers) if t is not None else {}

        await ledger.cleanup(lambda: self.run.prober(MAX_REQUESTS), headers_for, only=only)

    def verdicts(self) -> list[ReadinessVerdict]:
        no_effect = self.run.ledger.no_effect if self.run.ledger is not None else {}
        for i, rec in self.records.items():
            if self.targets[i].name in no_effect:
                rec.info["delete_no_effect"] = no_effect[self.targets[i].name]
        crosscheck([self.records[i] for i in range(len(self.targets)) if i in self.records])
        out = []
        for i, t in enumerate(self.targets):
            rec = self.records.get(i)
            if rec is None or rec.info.get("kind") == "error":
                detail = rec.info.get("error", "not probed") if rec is not None else "not probed"
                v = ReadinessVerdict(name=t.name, method=t.method.upper(), url=t.url, verdict="error", confidence=0.0,
                                     evidence=[Evidence("probe-failed", "error", 0.0, detail)], status_code=None,
                                     latencies_ms=[], requests=rec.requests if rec is not None else 0,
                                     reason=f"the probe failed: {detail}")
            else:
                try:
                    v = build_verdict(rec)
                except Exception as exc:  # pragma: no cover - defensive
                    log.exception("readiness verdict of %s failed", t.name)
                    v = ReadinessVerdict(name=t.name, method=t.method.upper(), url=t.url, verdict="error",
                                         confidence=0.0, evidence=[], status_code=None, latencies_ms=[],
                                         requests=rec.requests, reason=f"{type(exc).__name__}: {exc}")
            out.append(v)
            if self.on_result is not None:
                try:
                    self.on_result(v)
                except Exception:
                    log.exception("on_result callback failed for %s", v.name)
        return out


def _op_order(target: ProbeTarget, i: int) -> tuple:
    method = target.method.upper()
    depth = target.url.partition("?")[0].count("/")
    if method == "DELETE":
        return (2, -depth, i)
    if _create_collection(target) is not None:
        return (0, depth, i)
    return (1, 0, i)


def _unresolved(rec: ProbeRecord) -> bool:
    base = rec.base
    return bool(slots(rec.target.url)) and base is not None and base.ok and not base.meta.get("chosen") \
        and base.status in (400, 404, 410, 422)


def _better(new: ProbeRecord, old: ProbeRecord) -> bool:
    """A retry replaces the first record only when it got further (a 2xx where there was none)."""
    nb, ob = new.base if new.info.get("kind") == "read" else new.primary, \
        old.base if old.info.get("kind") == "read" else old.primary
    if ob is None:
        return True
    if nb is None:
        return False
    return bool(nb.meta.get("chosen")) and not ob.meta.get("chosen")


async def run_readiness(targets: list[ProbeTarget], *, client: httpx.AsyncClient | None = None,
                        allow_writes: bool = True, samples: int = 5, timeout_s: float = 10.0, concurrency: int = 4,
                        on_result: Callable[[ReadinessVerdict], None] | None = None,
                        allow: Callable[[str], Any] | None = None, max_writes: int | None = None,
                        why_no_writes: str | None = None) -> ReadinessReport:
    """Probe every target; say whether each is real, a mock, missing, unverified, erroring or
    unreachable; remove what the write probes created. Results are in the order of ``targets``.

    ``allow_writes=False`` never sends a write (POST/PUT/PATCH/DELETE that may change state;
    ``safe`` POSTs are reads). ``allow(url)`` raises to refuse a URL (the environment's
    allow-list): nothing is sent there. ``max_writes`` caps the write requests of the whole run
    (default: 6 per write endpoint, at least 50). ``on_result`` is called for each verdict
    (exceptions in it are logged and ignored).
    """
    own = client is None
    if own:
        client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, trust_env=False,
                                   limits=httpx.Limits(max_connections=max(8, concurrency * 2)))
    assert client is not None
    n_writes = sum(not is_read(t) for t in targets)
    run = Run(client=client, timeout_s=timeout_s, samples=max(1, samples), allow=allow, allow_writes=allow_writes,
              writes=WriteBudget(max_writes if max_writes is not None else max(50, 6 * n_writes)))
    if why_no_writes:
        run.why_no_writes = why_no_writes
    run.list_urls = {strip_url(t.url) for t in targets if t.method.upper() == "GET" and not slots(t.url)}
    run.oracle.templates = [t.url for t in targets]
    run.list_templates = [strip_url(t.url) for t in targets if t.method.upper() == "GET" and slots(t.url)
                          and not strip_url(t.url).endswith("}")]
    run.ledger = Ledger(run.pool,
                        deletes=[ItemRoute(t.name, t.url, dict(t.headers)) for t in targets
                                 if t.method.upper() == "DELETE" and not t.never_write and slots(t.url)],
                        reads=[ItemRoute(t.name, t.url, dict(t.headers)) for t in targets
                               if t.method.upper() == "GET" and slots(t.url)])
    job = Readiness(targets, run, concurrency, on_result)
    run.related = job.related
    run.provision = job.provision
    try:
        try:
            await job.execute()
        finally:
            await job.cleanup()  # whatever happened, remove what was created
        verdicts = job.verdicts()
    finally:
        if own:
            await client.aclose()
    return ReadinessReport(verdicts=verdicts, created=list(run.ledger.created),
                           unknown_effects=list(dict.fromkeys(run.ledger.unknown_effects)),
                           writes_sent=run.writes.sent, made_by_target=job.made_by_target,
                           withheld=dict(run.withheld))


async def check_endpoints(targets: list[ProbeTarget], **kwargs: Any) -> list[ReadinessVerdict]:
    """The verdicts of :func:`run_readiness` alone."""
    return (await run_readiness(targets, **kwargs)).verdicts
