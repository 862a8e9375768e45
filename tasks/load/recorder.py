"""Per-endpoint counters and latencies of one shard, folded into HDR histograms once a second.

The hot path only appends two floats (latency from the intended send time, service time from
the actual send) to ``array('d')`` buffers and bumps counters; :meth:`Recorder.flush` runs once per
tick, records the batch into each endpoint's cumulative histograms with one vectorised call, and
emits the per-second time series rows (percentiles from a per-second histogram). Memory is flat:
buffers are emptied every second and histograms have a fixed size. A streaming shard
(``keep_series=False``) hands each second's rows to its caller and keeps none of them, so an
hours-long soak holds no more than a short one.
"""

from __future__ import annotations

from array import array
from collections import deque
from typing import Any

import numpy as np

from tasks.load import histogram as H

OVERALL = "_overall"


class Recorder:
    def __init__(self, names: list[str], keep_second_histograms: bool = False, window: int = 0,
                 keep_series: bool = True):
        n = len(names)
        self.names = list(names)
        self.lat = [array("d") for _ in range(n)]
        self.svc = [array("d") for _ in range(n)]
        self.requests = [0] * n
        self.errors = [0] * n
        self.kinds: list[dict[str, int]] = [{} for _ in range(n)]
        self.status: list[dict[int, int]] = [{} for _ in range(n)]
        self.sec_requests = [0] * n
        self.sec_errors = [0] * n
        self.late = 0
        self.lat_hist = [H.new_histogram() for _ in range(n)]
        self.svc_hist = [H.new_histogram() for _ in range(n)]
        self.lat_sum = [0] * n
        self.svc_sum = [0] * n
        self.keep_second_histograms = keep_second_histograms
        self.keep_series = keep_series
        self.series: list[dict[str, Any]] = []
        #: the last ``window`` seconds of latencies (µs) per endpoint, for breakpoint rules
        self.recent: deque[dict[str, Any]] = deque(maxlen=max(window, 1))

    # -- hot path --------------------------------------------------------------------------------
    def ok(self, i: int, latency: float, service: float, status: int) -> None:
        self.lat[i].append(latency)
        self.svc[i].append(service)
        self.requests[i] += 1
        self.sec_requests[i] += 1
        st = self.status[i]
        st[status] = st.get(status, 0) + 1

    def fail(self, i: int, kind: str, latency: float | None = None, service: float | None = None,
             status: int | None = None) -> None:
        if latency is not None:
            self.lat[i].append(latency)
            self.svc[i].append(service if service is not None else latency)
        self.requests[i] += 1
        self.sec_requests[i] += 1
        self.errors[i] += 1
        self.sec_errors[i] += 1
        k = self.kinds[i]
        k[kind] = k.get(kind, 0) + 1
        if status is not None:
            st = self.status[i]
            st[status] = st.get(status, 0) + 1

    # -- once a tick -----------------------------------------------------------------------------
    def _percentile_row(self, buckets: H.Buckets) -> dict[str, Any]:
        """p50/p95/p99 of the second (ms) and, when kept, its sparse histogram (``buckets``)."""
        if not len(buckets[0]):
            return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
        pv = H.percentiles_of_buckets(buckets, (50.0, 95.0, 99.0))
        row = {"p50_ms": pv[50.0] / 1000, "p95_ms": pv[95.0] / 1000, "p99_ms": pv[99.0] / 1000}
        if self.keep_second_histograms:
            row["buckets"] = H.buckets_to_list(buckets)
        return row

    def flush(self, second: int, interval: float, extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Fold the buffers into the histograms; return this second's rows (endpoints + overall)."""
        rows: list[dict[str, Any]] = []
        all_values: list[np.ndarray] = []
        all_buckets: list[H.Buckets] = []
        recent: dict[str, Any] = {"second": second, "interval": interval}
        tot_req = tot_err = 0
        for i, name in enumerate(self.names):
            lat, svc = self.lat[i], self.svc[i]
            req, err = self.sec_requests[i], self.sec_errors[i]
            if not len(lat) and not req:
                recent[name] = (np.empty(0, np.int64), 0, 0)
                continue
            lat_us = np.rint(np.frombuffer(lat, dtype=np.float64) * 1e6).astype(np.int64)
            svc_us = np.rint(np.frombuffer(svc, dtype=np.float64) * 1e6).astype(np.int64)
            self.lat[i] = array("d")
            self.svc[i] = array("d")
            buckets = H.record_buckets(self.lat_hist[i], lat_us)
            H.record_batch(self.svc_hist[i], svc_us)
            self.lat_sum[i] += int(lat_us.sum())
            self.svc_sum[i] += int(svc_us.sum())
            self.sec_requests[i] = self.sec_errors[i] = 0
            tot_req += req
            tot_err += err
            all_values.append(lat_us)
            all_buckets.append(buckets)
            recent[name] = (lat_us, req, err)
            rows.append({"second": second, "endpoint": name, "requests": req, "errors": err,
                         "rps": round(req / interval, 3) if interval > 0 else None,
                         **self._percentile_row(buckets)})
        overall = np.concatenate(all_values) if all_values else np.empty(0, np.int64)
        rows.append({"second": second, "endpoint": OVERALL, "requests": tot_req, "errors": tot_err,
                     "rps": round(tot_req / interval, 3) if interval > 0 else None,
                     **self._percentile_row(H.merge_buckets(all_buckets)), **(extra or {})})
        recent[OVERALL] = (overall, tot_req, tot_err)
        self.recent.append(recent)
        if self.keep_series:
            self.series.extend(rows)
        return rows

    def pending(self) -> int:
        return sum(len(a) for a in self.lat)
