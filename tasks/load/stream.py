"""The coordinator's side of streaming: per-second rows from every shard, merged as they arrive.

Shards hand over their per-second rows every few seconds (``Control.on_batch``) and keep none,
so a soak's memory does not grow with its length. The coordinator — the one process that writes
the warehouse, since DuckDB allows one writer per file — feeds each shard's rows to a
:class:`SeriesMerger`, which

- passes the shard's own rows straight on (``load_timeseries`` with the shard's number),
- holds a second until every shard still running has delivered it, then merges it exactly
  (counts added, percentiles from the *added* per-second histograms, never averaged): the merged
  rows (``shard = -1``) are what the live view shows and what the report reads,
- adds each merged second into interval histograms (``HISTOGRAM_EVERY`` seconds per endpoint,
  ``load_histograms``), so the latency distribution of any stretch of a soak can be rebuilt from
  the warehouse, and a crash loses no more than the last interval.

A shard that ends (or is lost) stops holding seconds back (:meth:`SeriesMerger.finish`). Rows of
a shard arrive in second order; a row for a second the shard already delivered is a duplicate and
is dropped. :class:`RowWriter` writes what the merger emits from its own thread, one transaction
per few seconds, so a slow or locked warehouse never stalls the load or the merge.

Nothing here does I/O itself: the writer calls the ``write_rows`` it is given.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tasks.load import histogram as H
from tasks.load.recorder import OVERALL

#: seconds of load per stored interval histogram (per endpoint, all shards merged)
HISTOGRAM_EVERY = 10
#: the shard number of merged rows
MERGED = -1

_SUMMED = ("requests", "errors", "in_flight", "vus")
_MAXED = ("cpu_percent", "sched_lag_ms", "loop_lag_ms")


def _buckets(row: dict[str, Any]) -> H.Buckets | None:
    """A row's histogram of the second: sparse ``buckets`` (the engine's), or a histoblob."""
    if row.get("buckets"):
        return H.buckets_from_list(row["buckets"])
    if row.get("histogram"):
        return H.buckets_from_histogram(H.decode(row["histogram"]))
    return None


_WIRE = ("buckets", "histogram")


def merge_second(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], H.Buckets | None]:
    """One (second, endpoint) from several shards: counts and rates added, generator figures at
    their worst, percentiles from the sum of the shards' histograms. Returns the merged row
    (without a histogram) and the merged sparse histogram (None when no row carried one)."""
    first = rows[0]
    parts = [b for b in map(_buckets, rows) if b is not None]
    hist = H.merge_buckets(parts) if parts else None
    if len(rows) == 1:
        merged = {k: v for k, v in first.items() if k not in _WIRE}
        return merged, hist
    merged = {"second": first["second"], "endpoint": first["endpoint"]}
    for key in _SUMMED:
        vals = [r[key] for r in rows if r.get(key) is not None]
        merged[key] = sum(vals) if vals else None
    for key in _MAXED:
        vals = [r[key] for r in rows if r.get(key) is not None]
        merged[key] = max(vals) if vals else None
    rates = [r["rps"] for r in rows if r.get("rps") is not None]
    merged["rps"] = round(sum(rates), 3) if rates else None
    targets = [r["target_rate"] for r in rows if r.get("target_rate") is not None]
    merged["target_rate"] = max(targets) if targets else None
    if hist is not None and len(hist[0]):
        pv = H.percentiles_of_buckets(hist, (50.0, 95.0, 99.0))
        merged.update(p50_ms=pv[50.0] / 1000, p95_ms=pv[95.0] / 1000, p99_ms=pv[99.0] / 1000)
    else:
        merged.update(p50_ms=None, p95_ms=None, p99_ms=None)
    return merged, hist


@dataclass
class Emitted:
    """What one step of the merger produced (rows without ``run_id``)."""

    shard_rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)   # (shard, row)
    merged: list[dict[str, Any]] = field(default_factory=list)                   # shard -1 rows
    histograms: list[dict[str, Any]] = field(default_factory=list)               # interval histograms

    def extend(self, other: Emitted) -> Emitted:
        self.shard_rows += other.shard_rows
        self.merged += other.merged
        self.histograms += other.histograms
        return self

    def __bool__(self) -> bool:
        return bool(self.shard_rows or self.merged or self.histograms)


class _Interval:
    """One endpoint's counts over an interval (dense bucket counts: a fixed ~180 KB)."""

    __slots__ = ("counts", "requests", "errors")

    def __init__(self) -> None:
        self.counts = np.zeros(len(H.new_histogram().counts), dtype=np.int64)
        self.requests = 0
        self.errors = 0

    def buckets(self) -> H.Buckets:
        nz = np.flatnonzero(self.counts)
        return nz, self.counts[nz]


class SeriesMerger:
    """Aligns and merges the per-second rows of ``n_shards`` shards (see the module docstring)."""

    def __init__(self, n_shards: int, histogram_every: int = HISTOGRAM_EVERY):
        self.n_shards = n_shards
        self.histogram_every = max(1, int(histogram_every))
        self.watermark = [0] * n_shards          # every second below it was received, per shard
        self.finished: set[int] = set()
        self.pending: dict[int, dict[str, list[dict[str, Any]]]] = {}
        self.next_second = 0                      # the first second not merged yet
        self.duplicates = 0
        self._interval_index: int | None = None
        self._intervals: dict[str, _Interval] = {}
        self._spare: list[_Interval] = []         # reset accumulators, reused (fixed memory)

    # -- input -----------------------------------------------------------------------------------
    def add(self, shard: int, rows: list[dict[str, Any]]) -> Emitted:
        out = Emitted()
        mark = self.watermark[shard]
        top = mark
        for r in rows:
            second = r["second"]
            if second < mark or second < self.next_second:
                self.duplicates += 1
                continue
            out.shard_rows.append((shard, {k: v for k, v in r.items() if k not in _WIRE}))
            self.pending.setdefault(second, {}).setdefault(r["endpoint"], []).append(r)
            top = max(top, second + 1)
        self.watermark[shard] = top
        return out.extend(self._advance())

    def finish(self, shard: int) -> Emitted:
        """The shard sends nothing more (it ended, or it was lost)."""
        self.finished.add(shard)
        return self._advance()

    def close(self) -> Emitted:
        """Merge whatever is still held and close the last interval (the run is over)."""
        self.finished = set(range(self.n_shards))
        out = self._advance()
        return out.extend(self._close_interval())

    @property
    def held_seconds(self) -> int:
        return len(self.pending)

    # -- merging ---------------------------------------------------------------------------------
    def _complete_below(self) -> int:
        running = [self.watermark[k] for k in range(self.n_shards) if k not in self.finished]
        if running:
            return min(running)
        return max(self.pending, default=self.next_second - 1) + 1

    def _advance(self) -> Emitted:
        out = Emitted()
        limit = self._complete_below()
        for second in sorted(s for s in self.pending if s < limit):
            by_endpoint = self.pending.pop(second)
            index = second // self.histogram_every
            if self._interval_index is not None and index != self._interval_index:
                out.extend(self._close_interval())
            self._interval_index = index
            names = [n for n in by_endpoint if n != OVERALL] + ([OVERALL] if OVERALL in by_endpoint else [])
            for name in names:
                row, hist = merge_second(by_endpoint[name])
                out.merged.append(row)
                acc = self._intervals.get(name)
                if acc is None:
                    acc = self._spare.pop() if self._spare else _Interval()
                    self._intervals[name] = acc
                acc.requests += row.get("requests") or 0
                acc.errors += row.get("errors") or 0
                if hist is not None and len(hist[0]):
                    acc.counts[hist[0]] += hist[1]
        if limit > self.next_second:
            self.next_second = limit
        return out

    def _close_interval(self) -> Emitted:
        out = Emitted()
        if self._interval_index is None:
            return out
        start = self._interval_index * self.histogram_every
        for name, acc in self._intervals.items():
            buckets = acc.buckets()
            out.histograms.append({
                "shard": MERGED, "endpoint": name, "second_from": start, "second_to": start + self.histogram_every,
                "requests": acc.requests, "errors": acc.errors,
                "histogram": H.encode(H.histogram_from_buckets(buckets)) if len(buckets[0]) else None})
            acc.counts[buckets[0]] = 0
            acc.requests = acc.errors = 0
            self._spare.append(acc)
        self._intervals = {}
        self._interval_index = None
        return out


class RowWriter:
    """Writes row batches from its own thread; batches that queue up while a write is slow (a
    locked warehouse) are written together in the next transaction. Errors are collected, never
    raised into the load."""

    def __init__(self, write_rows: Callable[[dict[str, list[dict[str, Any]]]], None], name: str = "load-rows"):
        self._write = write_rows
        self._queue: queue.SimpleQueue[dict[str, list[dict[str, Any]]] | None] = queue.SimpleQueue()
        self.errors: list[str] = []
        self.transactions = 0
        self.rows_written = 0
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def put(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        if any(rows.values()):
            self._queue.put(rows)

    def _main(self) -> None:
        closing = False
        while not closing:
            item = self._queue.get()
            if item is None:
                break
            batch: dict[str, list[dict[str, Any]]] = {}
            while item is not None:
                for table, rows in item.items():
                    batch.setdefault(table, []).extend(rows)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            else:
                closing = True
            try:
                self._write(batch)
                self.transactions += 1
                self.rows_written += sum(len(r) for r in batch.values())
            except Exception as exc:  # noqa: BLE001 - reported with the run, never raised into the load
                self.errors.append(f"{type(exc).__name__}: {exc}")

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout)
