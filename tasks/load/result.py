"""What a shard returns, and the exact merge of many shards (histograms added, never averaged).

Everything here is plain data (picklable, JSON-able): it crosses process and Dask boundaries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from tasks.load import histogram as H
from tasks.load.monitor import GeneratorHealth, verdict
from tasks.load.recorder import OVERALL
from tasks.load.stream import merge_second


@dataclass
class EndpointResult:
    name: str
    requests: int = 0
    errors: int = 0
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    status_codes: dict[str, int] = field(default_factory=dict)
    latency: str = ""            # histoblob, µs from the intended send time
    service: str = ""            # histoblob, µs from the actual send
    latency_sum_us: int = 0
    service_sum_us: int = 0


@dataclass
class ShardResult:
    shard: int
    n_shards: int
    model: str
    test_type: str = "load"
    started_at: float = 0.0          # epoch seconds
    elapsed: float = 0.0             # seconds from the first planned send to the end of sending
    planned_duration: float = 0.0
    planned: float | None = None     # arrivals the schedule held for this shard (open model)
    issued: int = 0                  # iterations started
    dropped: int = 0                 # arrivals never sent (queue full, or still queued at the end)
    late: int = 0                    # requests sent more than late_after past their intended time
    throttled: int = 0               # sends the environment's max_rps held back (re-planned to their slot)
    interrupted: int = 0             # iterations still in flight when the shard stopped
    iterations: int = 0              # iterations completed
    target_rate: float | None = None     # this shard's planned arrivals / planned duration
    achieved_rate: float | None = None   # this shard's issued / elapsed
    connections_opened: int = 0
    vus_max: int = 0                 # closed model: most virtual users running at once
    health: GeneratorHealth = field(default_factory=GeneratorHealth)
    sched_lag: str = ""              # histoblob of intended → issued, µs
    endpoints: list[EndpointResult] = field(default_factory=list)
    #: per-second rows: all of them, or (a streaming shard) those not yet sent in a batch
    series: list[dict[str, Any]] = field(default_factory=list)
    batches: int = 0                 # streaming: batches sent before the result (seq 1..batches)
    aborted: str | None = None
    breakpoint: dict[str, Any] | None = None
    error: str | None = None         # the shard failed (its process died, …)
    trustworthy: bool = True
    reasons: list[str] = field(default_factory=list)
    host: str = ""
    pid: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShardResult:
        data = dict(data)
        data["health"] = GeneratorHealth(**data.get("health", {}))
        data["endpoints"] = [EndpointResult(**e) for e in data.get("endpoints", [])]
        return cls(**data)


def _add_counts(into: dict[str, int], other: dict[str, int]) -> None:
    for k, v in other.items():
        into[str(k)] = into.get(str(k), 0) + v


@dataclass
class Merged:
    """All shards together; ``endpoints`` includes ``_overall``."""

    shards: list[ShardResult]
    model: str
    elapsed: float
    planned_duration: float
    endpoints: dict[str, dict[str, Any]]          # name → stats (histograms as objects under "_hist")
    series: list[dict[str, Any]]
    planned: float | None
    issued: int
    dropped: int
    late: int
    throttled: int
    interrupted: int
    target_rate: float | None
    achieved_rate: float | None
    health: GeneratorHealth
    trustworthy: bool
    reasons: list[str]
    aborted: str | None
    breakpoint: dict[str, Any] | None
    connections_opened: int
    sched_lag_hist: Any = None


def merge_shards(shards: list[ShardResult], target_rate: float | None = None) -> Merged:
    """Merge shard results exactly: counts add, histograms add, percentiles come from the sum."""
    ok = [s for s in shards if s.error is None or s.endpoints]
    model = shards[0].model if shards else "open"
    by_name: dict[str, dict[str, Any]] = {}
    lat_all, svc_all = H.new_histogram(), H.new_histogram()
    lat_sum_all = svc_sum_all = 0
    for s in ok:
        for e in s.endpoints:
            d = by_name.setdefault(e.name, {"name": e.name, "requests": 0, "errors": 0, "errors_by_kind": {},
                                            "status_codes": {}, "_lat": H.new_histogram(), "_svc": H.new_histogram(),
                                            "lat_sum": 0, "svc_sum": 0})
            d["requests"] += e.requests
            d["errors"] += e.errors
            _add_counts(d["errors_by_kind"], e.errors_by_kind)
            _add_counts(d["status_codes"], e.status_codes)
            for key, blob in (("_lat", e.latency), ("_svc", e.service)):
                if blob:
                    d[key].add(H.decode(blob))
            d["lat_sum"] += e.latency_sum_us
            d["svc_sum"] += e.service_sum_us
    overall = {"name": OVERALL, "requests": 0, "errors": 0, "errors_by_kind": {}, "status_codes": {},
               "_lat": lat_all, "_svc": svc_all, "lat_sum": 0, "svc_sum": 0}
    for d in by_name.values():
        overall["requests"] += d["requests"]
        overall["errors"] += d["errors"]
        _add_counts(overall["errors_by_kind"], d["errors_by_kind"])
        _add_counts(overall["status_codes"], d["status_codes"])
        if d["_lat"].total_count:
            lat_all.add(d["_lat"])
        if d["_svc"].total_count:
            svc_all.add(d["_svc"])
        lat_sum_all += d["lat_sum"]
        svc_sum_all += d["svc_sum"]
    overall["lat_sum"], overall["svc_sum"] = lat_sum_all, svc_sum_all
    by_name[OVERALL] = overall

    elapsed = max((s.elapsed for s in ok), default=0.0)
    planned_duration = max((s.planned_duration for s in shards), default=0.0)
    planned = sum(s.planned for s in shards if s.planned is not None) if model == "open" else None
    issued = sum(s.issued for s in ok)
    if target_rate is None and planned is not None and planned_duration:
        target_rate = planned / planned_duration
    achieved = issued / elapsed if elapsed > 0 and model == "open" else None
    health = GeneratorHealth(
        cpu_mean=max((s.health.cpu_mean for s in ok), default=0.0),
        cpu_max=max((s.health.cpu_max for s in ok), default=0.0),
        loop_lag_max_s=max((s.health.loop_lag_max_s for s in ok), default=0.0),
        sched_lag_p99_s=max((s.health.sched_lag_p99_s for s in ok), default=0.0),
        sched_lag_max_s=max((s.health.sched_lag_max_s for s in ok), default=0.0),
        sched_lag_p50_s=max((s.health.sched_lag_p50_s for s in ok), default=0.0),
        rss_start_mb=sum(s.health.rss_start_mb for s in ok), rss_end_mb=sum(s.health.rss_end_mb for s in ok))
    dropped = sum(s.dropped for s in shards)
    aborted = next((s.aborted for s in shards if s.aborted and not s.aborted.startswith("stopped")), None) or next(
        (s.aborted for s in shards if s.aborted), None)
    lat_all_p50 = H.percentiles(lat_all, [50.0])[50.0] / 1e6 if lat_all.total_count else None
    trustworthy, reasons = verdict(model, health, target_rate, achieved, dropped, planned, aborted,
                                   latency_p50_s=lat_all_p50)
    for s in shards:
        if s.error:
            trustworthy = False
            reasons.append(f"shard {s.shard} failed: {s.error}")
    bps = [s.breakpoint for s in shards if s.breakpoint]
    breakpoint = None
    if bps:
        broken = [b for b in bps if b.get("broke_at_rate") is not None]
        pick = min(broken, key=lambda b: b["broke_at_rate"]) if broken else max(
            bps, key=lambda b: b.get("last_sustainable_rate") or 0)
        breakpoint = dict(pick)
    sched = H.merge([s.sched_lag for s in ok if s.sched_lag])
    return Merged(shards=shards, model=model, elapsed=elapsed, planned_duration=planned_duration,
                  endpoints=by_name, series=merge_series([s.series for s in ok], len(shards)), planned=planned,
                  issued=issued, dropped=dropped, late=sum(s.late for s in ok),
                  throttled=sum(s.throttled for s in ok),
                  interrupted=sum(s.interrupted for s in ok), target_rate=target_rate, achieved_rate=achieved,
                  health=health, trustworthy=trustworthy, reasons=reasons, aborted=aborted, breakpoint=breakpoint,
                  connections_opened=sum(s.connections_opened for s in ok), sched_lag_hist=sched)


def merge_series(series: list[list[dict[str, Any]]], n_shards: int) -> list[dict[str, Any]]:
    """Per-second rows of every shard merged by (second, endpoint); percentiles from merged histograms
    (the same merge as the streaming coordinator's, ``stream.merge_second``)."""
    if len(series) == 1:
        return [{k: v for k, v in r.items() if k not in ("histogram", "buckets")} for r in series[0]]
    groups: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for rows in series:
        for r in rows:
            groups[(r["second"], r["endpoint"])].append(r)
    return [merge_second(rows)[0] for _, rows in sorted(groups.items())]


def endpoint_table(merged: Merged) -> list[dict[str, Any]]:
    """Per-endpoint (then ``_overall``) requests, errors, rps and latency/service percentiles in ms."""
    rows = []
    elapsed = merged.elapsed or 0.0
    names = [n for n in merged.endpoints if n != OVERALL] + [OVERALL]
    for name in names:
        d = merged.endpoints[name]
        lat = H.summary_ms(d["_lat"], d["lat_sum"])
        svc = H.summary_ms(d["_svc"], d["svc_sum"])
        rows.append({
            "name": name, "requests": d["requests"], "errors": d["errors"],
            "error_rate": round(d["errors"] / d["requests"], 6) if d["requests"] else None,
            "rps": round(d["requests"] / elapsed, 3) if elapsed > 0 else None,
            "mean_ms": lat["mean"], "min_ms": lat["min"], "p50_ms": lat["p50"], "p90_ms": lat["p90"],
            "p95_ms": lat["p95"], "p99_ms": lat["p99"], "max_ms": lat["max"],
            "service_ms": {k: svc[k] for k in ("mean", "p50", "p90", "p95", "p99", "max")},
            "errors_by_kind": dict(sorted(d["errors_by_kind"].items())),
            "status_codes": dict(sorted(d["status_codes"].items())),
        })
    return rows
