"""k6's JSON output → a :class:`~tasks.load.result.ShardResult`, the shape the built-in engine's
shards return, so the load stage merges, gates and stores it with the same code (``report.py``)
and trends and regressions never know which engine ran.

From the points (one JSON document per line, ``--out json=…``):

- ``http_req_duration`` (tags ``name``, ``status``, ``expected_response``, ``error_code``): one per
  request; the raw values go into HDR histograms, so percentiles follow the product's one
  definition (``tasks/load/histogram.py``), per endpoint, overall and per second. A status the
  step did not expect is an error (``status_4xx``/``status_5xx``); status 0 is a transport error
  named from k6's error code (``timeout``, ``connect_refused``, ``dns``, ``tls``, ``reset``…).
- ``perfcampaign_failed`` with ``kind`` expect / slow / capture / template: the expectation,
  capture and template failures the built-in engine counts too (a template failure sends nothing:
  a request and an error without a latency, as in the built-in engine).
- ``perfcampaign_iterations_started``, ``iterations``, ``dropped_iterations``, ``vus``: issued,
  completed, dropped iterations and VUs per second.

What differs from the built-in engine, and is said in the run's notes: k6 times a request from
its actual send (``http_req_duration``), not from its intended send, so latency and service time
are the same histogram and coordinated omission is not corrected; ``late`` and the scheduling-lag
figures are not measured (0). k6's CPU is reported as a share of the whole machine (k6 uses every
core), so "generator saturated" means the machine was.
"""

from __future__ import annotations

import gzip
import json
import math
import os
from array import array
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from tasks.load import histogram as H
from tasks.load.errors import status_kind
from tasks.load.monitor import GeneratorHealth, verdict
from tasks.load.plan import Plan
from tasks.load.recorder import OVERALL
from tasks.load.result import EndpointResult, ShardResult

try:  # orjson comes with prefect; json is the fallback
    import orjson

    _loads = orjson.loads
except ImportError:  # pragma: no cover
    _loads = json.loads

AUTH_NAME = "perfcampaign-auth"
EXTRA_KINDS = ("expect", "slow", "capture", "template")
_WANTED = (b'"http_req_duration"', b'"perfcampaign_failed"', b'"perfcampaign_iterations_started"',
           b'"iterations"', b'"dropped_iterations"', b'"vus"')


def transport_kind(code: str | None) -> str:
    """k6's error code of a request that got no response → the built-in engine's error kind."""
    try:
        c = int(code or 0)
    except ValueError:
        return "protocol"
    if c == 1050:
        return "timeout"
    if 1100 <= c < 1200:
        return "dns"
    if c == 1211:
        return "connect_timeout"
    if c == 1212:
        return "connect_refused"
    if c in (1201, 1202, 1220):
        return "reset"
    if 1200 <= c < 1300 or c == 1010:
        return "connect_error"
    if 1300 <= c < 1400:
        return "tls"
    if c == 1000:
        return "closed"
    return "protocol"


_SECOND_CACHE: dict[str, float] = {}


def epoch(stamp: str) -> float:
    """RFC 3339 with nanoseconds (``2026-01-02T03:04:05.123456789Z`` or ``+02:00``) → epoch seconds."""
    head = stamp[:19]
    rest = stamp[19:]
    frac = 0.0
    if rest.startswith("."):
        digits = 1
        while digits < len(rest) and rest[digits].isdigit():
            digits += 1
        frac = float(rest[:digits])
        rest = rest[digits:]
    key = head + rest
    base = _SECOND_CACHE.get(key)
    if base is None:
        base = datetime.fromisoformat(head + (rest.replace("Z", "+00:00") or "+00:00")).timestamp()
        if len(_SECOND_CACHE) > 100_000:
            _SECOND_CACHE.clear()
        _SECOND_CACHE[key] = base
    return base + frac


class _Endpoint:
    __slots__ = ("name", "t", "lat", "err", "kinds", "status", "extra_t")

    def __init__(self, name: str):
        self.name = name
        self.t = array("d")        # completion time of each request (epoch s)
        self.lat = array("q")      # its latency in µs, -1 when there is none
        self.err = array("b")      # 1 when it failed
        self.kinds: dict[str, int] = {}
        self.status: dict[str, int] = {}
        self.extra_t = array("d")  # expectation / capture failures of requests counted ok

    def request(self, t: float, lat_us: int, failed: bool, kind: str | None, status: int | None) -> None:
        self.t.append(t)
        self.lat.append(lat_us)
        self.err.append(1 if failed else 0)
        if kind:
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
        if status:
            self.status[str(status)] = self.status.get(str(status), 0) + 1


class Points:
    """Accumulates k6 points; :meth:`result` builds the shard result."""

    def __init__(self) -> None:
        self.endpoints: dict[str, _Endpoint] = {}
        self.issued = self.completed = self.dropped = 0
        self.t_started: float | None = None   # the first iteration's start: the run's second 0
        self.t_sent: float | None = None      # the first request's send (when no iteration start was seen)
        self.t_last: float | None = None
        self.vus: dict[float, float] = {}

    @property
    def t_first(self) -> float | None:
        return self.t_started if self.t_started is not None else self.t_sent

    def _ep(self, name: str) -> _Endpoint:
        ep = self.endpoints.get(name)
        if ep is None:
            ep = self.endpoints[name] = _Endpoint(name)
        return ep

    def feed(self, lines: Iterable[bytes | str]) -> None:
        for line in lines:
            raw = line.encode() if isinstance(line, str) else line
            if b'"Point"' not in raw or not any(w in raw for w in _WANTED):
                continue
            doc = _loads(raw)
            self.point(doc.get("metric", ""), doc.get("data") or {})

    def point(self, metric: str, data: dict[str, Any]) -> None:
        tags = data.get("tags") or {}
        value = data.get("value", 0)
        t = epoch(data["time"])
        if metric == "http_req_duration":
            name = tags.get("name")
            if not name or name == AUTH_NAME:
                return
            status = int(tags.get("status") or 0)
            if status == 0:
                kind = transport_kind(tags.get("error_code"))
                lat = int(round(value * 1000)) if kind == "timeout" else -1
                self._ep(name).request(t, lat, True, kind, None)
            else:
                ok = tags.get("expected_response") == "true"
                self._ep(name).request(t, int(round(value * 1000)), not ok, None if ok else status_kind(status), status)
            self.t_last = t if self.t_last is None else max(self.t_last, t)
            sent = t - value / 1000
            self.t_sent = sent if self.t_sent is None else min(self.t_sent, sent)
        elif metric == "perfcampaign_failed":
            kind = tags.get("kind")
            name = tags.get("name")
            if value and kind in EXTRA_KINDS and name:
                ep = self._ep(name)
                if kind == "template":
                    ep.request(t, -1, True, kind, None)
                else:
                    ep.kinds[kind] = ep.kinds.get(kind, 0) + 1
                    ep.extra_t.append(t)
        elif metric == "perfcampaign_iterations_started":
            self.issued += int(value)
            self.t_started = t if self.t_started is None else min(self.t_started, t)
        elif metric == "iterations":
            self.completed += int(value)
        elif metric == "dropped_iterations":
            self.dropped += int(value)
        elif metric == "vus":
            self.vus[t] = value

    # -- the result --------------------------------------------------------------------------------
    def result(self, plan: Plan, *, aborted: str | None = None, cpu: list[tuple[float, float]] | None = None,
               error: str | None = None, cores: int | None = None) -> ShardResult:
        cores = cores or os.cpu_count() or 1
        t0 = self.t_first or 0.0
        span = max((self.t_last or t0) - t0, 0.0)
        elapsed = span if aborted else min(span, plan.duration) if span else 0.0
        names = [n for n in plan.endpoint_names if n in self.endpoints] + \
                [n for n in self.endpoints if n not in plan.endpoint_names]
        endpoints: list[EndpointResult] = []
        series_by: dict[str, list[dict[str, Any]]] = {}
        all_t, all_lat, all_err, all_extra = [], [], [], []
        for name in names:
            ep = self.endpoints[name]
            t = np.frombuffer(ep.t, dtype=np.float64)
            lat = np.frombuffer(ep.lat, dtype=np.int64)
            err = np.frombuffer(ep.err, dtype=np.int8)
            extra = np.frombuffer(ep.extra_t, dtype=np.float64)
            valid = lat[lat >= 0]
            hist = H.new_histogram()
            H.record_batch(hist, valid)
            blob = H.encode(hist) if hist.total_count else ""
            errors = int(err.sum()) + int(extra.size)
            endpoints.append(EndpointResult(name=name, requests=int(t.size), errors=errors,
                                            errors_by_kind=dict(sorted(ep.kinds.items())),
                                            status_codes=dict(sorted(ep.status.items())), latency=blob, service=blob,
                                            latency_sum_us=int(valid.sum()), service_sum_us=int(valid.sum())))
            series_by[name] = _series(name, t, lat, err, extra, t0)
            all_t.append(t)
            all_lat.append(lat)
            all_err.append(err)
            all_extra.append(extra)
        overall = _series(OVERALL, _cat(all_t, np.float64), _cat(all_lat, np.int64), _cat(all_err, np.int8),
                          _cat(all_extra, np.float64), t0)
        cpu_by_second = {}
        for when, busy in cpu or []:
            cpu_by_second[int(math.floor(when - t0))] = round(busy / cores * 100, 1)
        vus_by_second: dict[int, int] = {}
        for when, v in self.vus.items():
            s = int(math.floor(when - t0))
            vus_by_second[s] = max(vus_by_second.get(s, 0), int(v))
        for row in overall:
            s = row["second"]
            row.update({"in_flight": None, "target_rate": _planned_at(plan, s + 0.5), "vus": vus_by_second.get(s),
                        "cpu_percent": cpu_by_second.get(s), "sched_lag_ms": None, "loop_lag_ms": None})
        series = sorted([r for rows in series_by.values() for r in rows] + overall,
                        key=lambda r: (r["second"], r["endpoint"] == OVERALL, r["endpoint"]))
        busy = [b / cores for _, b in cpu or []]
        health = GeneratorHealth(cpu_mean=round(sum(busy) / len(busy), 4) if busy else 0.0,
                                 cpu_max=round(max(busy), 4) if busy else 0.0,
                                 extra={"engine": "k6", "cores": cores})
        planned = plan.target_requests()
        target_rate = planned / plan.duration if planned is not None and plan.duration else None
        achieved = self.issued / elapsed if plan.model == "open" and elapsed > 0 else None
        trustworthy, reasons = verdict(plan.model, health, target_rate, achieved, self.dropped, planned, aborted)
        if error:
            trustworthy = False
            reasons.append(error)
        return ShardResult(
            shard=0, n_shards=1, model=plan.model, test_type=plan.test_type, started_at=t0, elapsed=round(elapsed, 3),
            planned_duration=plan.duration, planned=planned, issued=self.issued, dropped=self.dropped, late=0,
            interrupted=max(self.issued - self.completed, 0), iterations=self.completed, target_rate=target_rate,
            achieved_rate=achieved, vus_max=max(vus_by_second.values(), default=0), health=health,
            endpoints=endpoints, series=series, aborted=aborted, error=error, trustworthy=trustworthy,
            reasons=reasons, host=os.uname().nodename if hasattr(os, "uname") else "", pid=0)


def _cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)


_SCRATCH = None


def _series(name: str, t: np.ndarray, lat: np.ndarray, err: np.ndarray, extra: np.ndarray,
            t0: float) -> list[dict[str, Any]]:
    """Per-second rows for one endpoint (or all): requests, errors, rps, p50/p95/p99 in ms."""
    global _SCRATCH
    if t.size == 0 and extra.size == 0:
        return []
    if _SCRATCH is None:
        _SCRATCH = H.new_histogram()
    secs = np.floor(t - t0).astype(np.int64).clip(min=0)
    order = np.argsort(secs, kind="stable")
    secs, lat, err = secs[order], lat[order], err[order]
    extra_s, extra_n = np.unique(np.floor(extra - t0).astype(np.int64).clip(min=0), return_counts=True)
    extra_by = dict(zip(extra_s.tolist(), extra_n.tolist()))
    uniq, first = np.unique(secs, return_index=True)
    bounds = dict(zip(uniq.tolist(), zip(first.tolist(), [*first[1:].tolist(), int(secs.size)])))
    rows = []
    for s in sorted(set(bounds) | set(extra_by)):
        lo, hi = bounds.get(s, (0, 0))
        values = lat[lo:hi]
        values = values[values >= 0]
        H.reset(_SCRATCH)
        H.record_batch(_SCRATCH, values)
        pv = H.percentiles(_SCRATCH, (50.0, 95.0, 99.0))
        n = hi - lo
        rows.append({"second": int(s), "endpoint": name, "requests": n,
                     "errors": int(err[lo:hi].sum()) + int(extra_by.get(s, 0)), "rps": float(n),
                     "p50_ms": pv[50.0] / 1000 if values.size else None,
                     "p95_ms": pv[95.0] / 1000 if values.size else None,
                     "p99_ms": pv[99.0] / 1000 if values.size else None})
    return rows


def _planned_at(plan: Plan, at: float) -> float | None:
    """Planned arrivals/s (open model) or VUs (closed) at ``at`` seconds into the run."""
    start = 0.0
    for p in plan.phases:
        if at < start + p.duration:
            frac = (at - start) / p.duration if p.duration else 0.0
            if plan.model == "open":
                end = p.rate if p.rate_to is None else p.rate_to
                return round(p.rate + (end - p.rate) * frac, 3)
            end_v = p.vus if p.vus_to is None else p.vus_to
            return round(p.vus + (end_v - p.vus) * frac, 3)
        start += p.duration
    return None


def read_points(path: Path) -> Points:
    points = Points()
    if not path.exists():
        return points
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:  # type: ignore[operator]
        try:
            points.feed(fh)
        except (EOFError, OSError):  # a run killed mid-write: keep what was read
            pass
    return points
