"""Bottleneck hints: server-side signals scraped during load, set against latency and errors.

Signals come from the target's Prometheus series (``metric_samples``, one row per sample per scrape):

* ``cpu``: rate of ``process_cpu_seconds_total`` (cores in use);
* ``memory``: ``process_resident_memory_bytes`` (MiB);
* ``pool``: a pool in use / its size (``db_pool_in_use`` / ``db_pool_size`` and look-alikes);
* ``queue``: requests in flight or a queue depth (``http_requests_in_flight``, ``*queue*`` gauges);
* ``gc``: rate of garbage collections (``python_gc_collections_total``, ``go_gc_duration_seconds_count``…).

Each scrape interval is matched with the load's per-second rows (``load_timeseries``, merged
shard, ``_overall``) of the same seconds, assuming the scrape window opened when the load began.
Spearman's rank correlation with p95 latency and with the error rate is the evidence; a hint is
only given when its rule holds on at least ``min_points`` intervals, and it says what was seen
("rose with", "stayed at"), never a cause the data cannot show. No rule met: no hint.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl


@dataclass
class Hint:
    key: str
    kind: str
    severity: str
    title: str
    recommendation: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


GC_FAMILIES = ("python_gc_collections", "go_gc_duration_seconds", "jvm_gc_collection_seconds")


def _pick(samples: pl.DataFrame, predicate: pl.Expr) -> pl.DataFrame:
    """Per scrape time: the sum of the matching samples."""
    return (samples.filter(predicate).group_by("offset_s").agg(value=pl.col("value").sum()).sort("offset_s"))


def _rate(frame: pl.DataFrame) -> pl.DataFrame:
    """Per-second rate of a counter between consecutive scrapes (resets dropped)."""
    return (frame.with_columns(rate=pl.col("value").diff() / pl.col("offset_s").diff())
            .filter(pl.col("rate").is_not_null() & (pl.col("rate") >= 0)).select("offset_s", value=pl.col("rate")))


def signals(samples: pl.DataFrame) -> pl.DataFrame:
    """One row per scrape time with the columns ``offset_s`` and each signal found."""
    if samples.is_empty():
        return pl.DataFrame(schema={"offset_s": pl.Float64})
    fam, name = pl.col("family"), pl.col("name")
    parts: dict[str, pl.DataFrame] = {}
    cpu = _pick(samples, name == "process_cpu_seconds_total")
    if cpu.height > 1:
        parts["cpu_cores"] = _rate(cpu)
    rss = _pick(samples, name == "process_resident_memory_bytes")
    if not rss.is_empty():
        parts["rss_mib"] = rss.with_columns(value=pl.col("value") / 2 ** 20)
    in_use = _pick(samples, name.str.contains("pool") & name.str.contains("in_use|active|busy|used"))
    size = _pick(samples, name.str.contains("pool") & name.str.contains("size|max|limit|capacity"))
    if not in_use.is_empty() and not size.is_empty():
        parts["pool_util"] = (in_use.join(size, on="offset_s", suffix="_size")
                              .filter(pl.col("value_size") > 0)
                              .select("offset_s", value=pl.col("value") / pl.col("value_size")))
    queue = _pick(samples, (pl.col("kind") == "gauge") & (name.str.contains("in_flight|inflight|queue")))
    if not queue.is_empty():
        parts["queue"] = queue
    gc = _pick(samples, pl.any_horizontal(*[fam.str.starts_with(f) for f in GC_FAMILIES])
               & (name.str.ends_with("_total") | name.str.ends_with("_count")))
    if gc.height > 1:
        parts["gc_per_s"] = _rate(gc)
    out = None
    for column, frame in parts.items():
        frame = frame.rename({"value": column})
        out = frame if out is None else out.join(frame, on="offset_s", how="full", coalesce=True)
    return (out if out is not None else pl.DataFrame(schema={"offset_s": pl.Float64})).sort("offset_s")


def align(sig: pl.DataFrame, load: pl.DataFrame) -> pl.DataFrame:
    """Each scrape interval (previous scrape, this scrape] with the load's seconds inside it:
    mean ``p95_ms``, ``error_rate`` and ``rps``."""
    if sig.is_empty() or load.is_empty():
        return sig
    edges = sig["offset_s"].to_numpy()
    secs = load["second"].cast(pl.Float64).to_numpy()
    slot = np.searchsorted(edges, secs, side="left")
    frame = load.with_columns(slot=pl.Series(slot)).filter(pl.col("slot") < len(edges))
    per = frame.group_by("slot").agg(p95_ms=pl.col("p95_ms").mean(), rps=pl.col("rps").mean(),
                                     error_rate=pl.col("errors").sum() / pl.col("requests").sum().clip(1))
    return (sig.with_row_index("slot").with_columns(pl.col("slot").cast(pl.Int64))
            .join(per.with_columns(pl.col("slot").cast(pl.Int64)), on="slot", how="inner").drop("slot")
            .sort("offset_s"))


def spearman(a: pl.Series, b: pl.Series) -> float | None:
    frame = pl.DataFrame({"a": a, "b": b}).drop_nulls().filter(pl.col("a").is_finite() & pl.col("b").is_finite())
    if frame.height < 3 or frame["a"].n_unique() < 2 or frame["b"].n_unique() < 2:
        return None
    r = frame.select(pl.corr(pl.col("a").rank(), pl.col("b").rank())).item()
    return None if r is None or math.isnan(r) else float(r)


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def bottleneck_hints(samples: pl.DataFrame, load: pl.DataFrame, *, min_points: int = 6,
                     cpu_limit_cores: float | None = None) -> list[Hint]:
    """Hints with their evidence (see the module docstring for the signals and the rules)."""
    sig = signals(samples)
    data = align(sig, load) if not load.is_empty() else sig
    hints: list[Hint] = []
    if data.height < min_points:
        return hints
    has_latency = "p95_ms" in data.columns and data["p95_ms"].drop_nulls().len() >= min_points

    def rho(column: str, against: str = "p95_ms") -> float | None:
        return spearman(data[column], data[against]) if against in data.columns else None

    def base(column: str) -> dict[str, Any]:
        s = data[column].drop_nulls()
        ev = {"signal": column, "intervals": s.len(), "min": _r(s.min(), 3), "median": _r(s.median(), 3),
              "max": _r(s.max(), 3)}
        if has_latency:
            ev["spearman_p95"] = _r(rho(column))
        if "error_rate" in data.columns:
            ev["spearman_error_rate"] = _r(rho(column, "error_rate"))
        return ev

    if "pool_util" in data.columns and data["pool_util"].drop_nulls().len() >= min_points:
        util = data["pool_util"].drop_nulls()
        full = float((util >= 0.9).mean())
        ev = {**base("pool_util"), "share_at_90pct": round(full, 3)}
        r = ev.get("spearman_p95")
        if full >= 0.2 and r is not None and r >= 0.5:
            hints.append(Hint("db-pool-saturation", "pool", "high", "The connection pool was full while latency rose",
                              "Requests waited for a pooled connection: shorten the queries or transactions that "
                              "hold connections, or enlarge the pool if the database has headroom.", ev))
        elif full >= 0.2:
            hints.append(Hint("db-pool-busy", "pool", "low", "The connection pool was often full",
                              "Latency did not follow the pool's use in this run; watch it at higher load.", ev))
    if "cpu_cores" in data.columns and data["cpu_cores"].drop_nulls().len() >= min_points:
        cpu = data["cpu_cores"].drop_nulls()
        limit = cpu_limit_cores or 1.0
        busy = float((cpu >= 0.85 * limit).mean())
        ev = {**base("cpu_cores"), "limit_cores": limit, "share_at_85pct": round(busy, 3),
              "limit_source": "given" if cpu_limit_cores else "one core (a Python process is bound by its GIL)"}
        r = ev.get("spearman_p95")
        if busy >= 0.2 and r is not None and r >= 0.5:
            hints.append(Hint("cpu-saturation", "cpu", "high", "The service's CPU was at its limit while latency rose",
                              "Profile the hot endpoints under load (py-spy, perf); add workers or processes when "
                              "the work is CPU-bound.", ev))
    if "rss_mib" in data.columns and data["rss_mib"].drop_nulls().len() >= min_points:
        rss = data.select("offset_s", "rss_mib").drop_nulls().sort("offset_s")
        growth = float(rss["rss_mib"][-1] - rss["rss_mib"][0])
        start = float(rss["rss_mib"][0])
        trend = spearman(rss["offset_s"], rss["rss_mib"])
        ev = {**base("rss_mib"), "growth_mib": round(growth, 1), "spearman_time": _r(trend)}
        if trend is not None and trend >= 0.8 and growth >= 20 and growth >= 0.1 * start:
            hints.append(Hint("memory-growth", "memory", "medium", "Memory grew steadily during the run",
                              "Resident memory rose with time, not just with load: run a soak test to tell a leak "
                              "or an unbounded cache from warm-up.", ev))
    if "queue" in data.columns and data["queue"].drop_nulls().len() >= min_points:
        q = data["queue"].drop_nulls()
        ev = {**base("queue")}
        r = ev.get("spearman_p95")
        med = float(q.median() or 0)
        if r is not None and r >= 0.7 and float(q.max()) >= max(2 * med, med + 2):
            hints.append(Hint("queueing", "queue", "medium", "Requests queued inside the service as latency rose",
                              "Latency followed the number of requests in flight: something serialises them (a "
                              "pool, a lock, too few workers). The in-flight count shows the waiting, not its cause; "
                              "look at the other hints.", ev))
    if "gc_per_s" in data.columns and data["gc_per_s"].drop_nulls().len() >= min_points:
        ev = {**base("gc_per_s")}
        r = ev.get("spearman_p95")
        if r is not None and r >= 0.6 and float(data["gc_per_s"].max()) >= 1.0:
            hints.append(Hint("gc-pressure", "gc", "low", "Garbage collections rose with latency",
                              "Allocation-heavy paths may pause requests: check allocations per request.", ev))
    err = [h for h in hints if (h.evidence.get("spearman_error_rate") or 0) >= 0.5]
    for h in err:
        h.evidence["errors_follow"] = True
    return hints
