"""Orchestration: probe every target (bounded concurrency), collect the
signals, decide.  Reads run first, then POST/PUT/PATCH, then DELETE, so a
delete probe cannot remove a sample record a read probe still needs."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

import httpx

from .models import Evidence, ProbeTarget, ReadinessVerdict
from .probe import MAX_REQUESTS, WRITE_METHODS, HostProbes, Prober, ProbeRecord, probe_read, probe_write
from .signals import collect
from .verdict import decide

log = logging.getLogger(__name__)


def _latencies(rec: ProbeRecord) -> list[float]:
    if rec.info.get("kind") == "write":
        obs = rec.labeled("write", "resend") or rec.labeled("options")
    else:
        obs = rec.same_request()
    return [round(o.latency_ms, 3) for o in obs if o.ok]


def build_verdict(rec: ProbeRecord) -> ReadinessVerdict:
    """Pure: signals + decision over a finished probe record."""
    evidence = collect(rec)
    verdict, confidence = decide(rec, evidence)
    p = rec.primary
    first_url = rec.observations[0].url if rec.observations else rec.target.url
    evidence.sort(key=lambda e: (-e.weight if e.points_to in ("mock", "real") else -10 - e.weight))
    return ReadinessVerdict(
        name=rec.target.name,
        method=rec.target.method.upper(),
        url=first_url,
        verdict=verdict,
        confidence=round(confidence, 3),
        evidence=evidence,
        status_code=p.status if p is not None else None,
        latencies_ms=_latencies(rec),
        requests=rec.requests,
    )


async def check_one(target: ProbeTarget, client: httpx.AsyncClient, hosts: HostProbes, *,
                    allow_writes: bool, samples: int, timeout_s: float) -> ReadinessVerdict:
    prober = Prober(client, timeout_s, MAX_REQUESTS)
    try:
        if target.method.upper() in WRITE_METHODS:
            rec = await probe_write(target, prober, hosts, allow_writes, max(1, samples))
        else:
            rec = await probe_read(target, prober, hosts, max(1, samples))
        return build_verdict(rec)
    except Exception as exc:  # never let one endpoint break the stage
        log.exception("readiness probe of %s failed", target.name)
        return ReadinessVerdict(
            name=target.name, method=target.method.upper(), url=target.url, verdict="error", confidence=0.0,
            evidence=[Evidence("probe-failed", "error", 0.0, f"{type(exc).__name__}: {exc}")],
            status_code=None, latencies_ms=[], requests=prober.count)


async def check_endpoints(targets: list[ProbeTarget], *, client: httpx.AsyncClient | None = None,
                          allow_writes: bool = True, samples: int = 5, timeout_s: float = 10.0,
                          concurrency: int = 4,
                          on_result: Callable[[ReadinessVerdict], None] | None = None) -> list[ReadinessVerdict]:
    """Probe every target and say whether it is real, a mock, missing,
    erroring or unreachable.  Results are in the order of ``targets``.

    ``allow_writes=False`` never sends POST/PUT/PATCH/DELETE.  At most
    :data:`~tasks.readiness.probe.MAX_REQUESTS` requests per endpoint.
    ``on_result`` is called as each verdict is ready (exceptions in it are
    logged and ignored).
    """
    own = client is None
    if own:
        client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, trust_env=False,
                                   limits=httpx.Limits(max_connections=max(8, concurrency * 2)))
    assert client is not None
    hosts = HostProbes()
    sem = asyncio.Semaphore(max(1, concurrency))
    results: list[ReadinessVerdict | None] = [None] * len(targets)

    async def run(i: int) -> None:
        async with sem:
            v = await check_one(targets[i], client, hosts, allow_writes=allow_writes, samples=samples,
                                timeout_s=timeout_s)
        results[i] = v
        if on_result is not None:
            try:
                on_result(v)
            except Exception:
                log.exception("on_result callback failed for %s", v.name)

    def phase(t: ProbeTarget) -> int:
        m = t.method.upper()
        return 2 if m == "DELETE" else 1 if m in WRITE_METHODS else 0

    try:
        for ph in (0, 1, 2):
            idx = [i for i, t in enumerate(targets) if phase(t) == ph]
            if idx:
                await asyncio.gather(*(run(i) for i in idx))
    finally:
        if own:
            await client.aclose()
    return [r for r in results if r is not None]
