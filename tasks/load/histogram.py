"""HDR histograms: the product's one latency store and its one percentile definition.

Latencies are recorded as integer **microseconds** (1 µs .. 1 h, 3 significant digits) and
reported in milliseconds. Percentiles are HdrHistogram's ``value_at_percentile`` (the highest
value equivalent to the bucket holding the ``round(p/100 * count)``-th sample); :func:`percentiles`
computes exactly that with numpy, and ``tests/load/test_histogram.py`` pins it to the
``hdrhistogram`` package's own answer.

Recording one value at a time through ``hdrh`` costs ~3.6 µs of pure Python, too much for the hot
path, so the engine appends raw floats to an ``array('d')`` and :func:`record_batch` folds a whole
tick's worth into the histogram with one vectorised ``bincount``. Histograms merge by adding
counts (:func:`merge`), never by averaging percentiles, and travel as hdrh's base64 "histoblob".

A second of one endpoint is a handful of buckets: it travels *sparse*, as (bucket indices, counts)
(:func:`record_buckets`, :func:`merge_buckets`, :func:`percentiles_of_buckets`) — the same buckets
and the same percentile definition as the full histogram, at a fraction of the cost of building,
encoding and decoding a 23k-bucket histogram every second for every endpoint.
"""

from __future__ import annotations

import ctypes
import sys
from array import array
from collections.abc import Iterable
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour
SIGNIFICANT_FIGURES = 3
#: the percentiles every summary carries
STANDARD_PERCENTILES = (50.0, 90.0, 95.0, 99.0)


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)


def _counts(hist: HdrHistogram) -> np.ndarray:
    """A numpy view (no copy) of the histogram's counts."""
    view = getattr(hist, "_pc_view", None)
    if view is None or view.ctypes.data != ctypes.addressof(hist.counts):
        view = np.ctypeslib.as_array(hist.counts)
        hist._pc_view = view  # type: ignore[attr-defined]
    return view


def indices_for(hist: HdrHistogram, values: np.ndarray) -> np.ndarray:
    """hdrh's ``_counts_index_for`` for an int64 array (vectorised, exact below 2**53)."""
    unit = hist.unit_magnitude
    half_mag = hist.sub_bucket_half_count_magnitude
    masked = values | hist.sub_bucket_mask
    _, pow2ceiling = np.frexp(masked.astype(np.float64))  # == bit_length for ints < 2**53
    bucket = pow2ceiling.astype(np.int64) - unit - (half_mag + 1)
    sub_bucket = values >> (bucket + unit)
    return ((bucket + 1) << half_mag) + sub_bucket - hist.sub_bucket_half_count


def record_batch(hist: HdrHistogram, values_us: np.ndarray | Iterable[int]) -> int:
    """Record integer µs values; values past the highest trackable one are clamped to it.

    Returns how many values were recorded.
    """
    return _record(hist, values_us)[0]


def _record(hist: HdrHistogram, values_us: np.ndarray | Iterable[int]) -> tuple[int, np.ndarray | None]:
    values = np.asarray(values_us, dtype=np.int64)
    if values.size == 0:
        return 0, None
    lo, hi = int(values.min()), int(values.max())
    if lo < 0 or hi > HIGHEST_US:
        values = np.clip(values, 0, HIGHEST_US)
        lo, hi = max(lo, 0), min(hi, HIGHEST_US)
    idx = indices_for(hist, values)
    counts = _counts(hist)
    binned = np.bincount(idx, minlength=0)
    n = binned.size
    counts[:n] += binned.astype(counts.dtype, copy=False)
    total = int(values.size)
    hist.total_count += total
    if lo < hist.min_value:
        hist.min_value = lo
    if hi > hist.max_value:
        hist.max_value = hi
    return total, binned


Buckets = tuple[np.ndarray, np.ndarray]   # (bucket indices ascending, counts), int64
_EMPTY: Buckets = (np.empty(0, np.int64), np.empty(0, np.int64))
#: bucket arithmetic only: never recorded into (every histogram here has the same geometry)
_GEOMETRY = new_histogram()


def record_buckets(hist: HdrHistogram, values_us: np.ndarray) -> Buckets:
    """:func:`record_batch` into ``hist``, and the same values as sparse buckets."""
    total, binned = _record(hist, values_us)
    if not total or binned is None:
        return _EMPTY
    nz = np.flatnonzero(binned)
    return nz.astype(np.int64, copy=False), binned[nz].astype(np.int64, copy=False)


def buckets_of(values_us: np.ndarray | Iterable[int]) -> Buckets:
    """Integer µs values as sparse buckets (nothing recorded anywhere)."""
    values = np.clip(np.asarray(values_us, dtype=np.int64), 0, HIGHEST_US)
    if values.size == 0:
        return _EMPTY
    binned = np.bincount(indices_for(_GEOMETRY, values))
    nz = np.flatnonzero(binned)
    return nz.astype(np.int64, copy=False), binned[nz].astype(np.int64, copy=False)


def merge_buckets(parts: Iterable[Buckets]) -> Buckets:
    """Add sparse histograms: exact, like :func:`merge`."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return _EMPTY
    if len(parts) == 1:
        return parts[0]
    idx = np.concatenate([p[0] for p in parts])
    cnt = np.concatenate([p[1] for p in parts])
    uniq, inverse = np.unique(idx, return_inverse=True)
    return uniq, np.bincount(inverse, weights=cnt, minlength=uniq.size).astype(np.int64)


def percentiles_of_buckets(buckets: Buckets, pcts: Iterable[float] = STANDARD_PERCENTILES) -> dict[float, int]:
    """:func:`percentiles` of a sparse histogram: the same definition, the same values."""
    idx, cnt = buckets
    pcts = list(pcts)
    total = int(cnt.sum()) if len(cnt) else 0
    if total == 0:
        return {p: 0 for p in pcts}
    cumulative = np.cumsum(cnt)
    out: dict[float, int] = {}
    for p in pcts:
        target = max(int((min(p, 100.0) * total / 100) + 0.5), 1)
        value = _GEOMETRY.get_value_from_index(int(idx[int(np.searchsorted(cumulative, target, side="left"))]))
        out[p] = (_GEOMETRY.get_highest_equivalent_value(value) if p
                  else _GEOMETRY.get_lowest_equivalent_value(value))
    return out


def buckets_to_list(buckets: Buckets) -> list[list[int]]:
    """Plain lists (JSON, msgpack, pickle alike) for the wire."""
    return [buckets[0].tolist(), buckets[1].tolist()]


def buckets_from_list(data: Any) -> Buckets:
    if not data or not data[0]:
        return _EMPTY
    return np.asarray(data[0], dtype=np.int64), np.asarray(data[1], dtype=np.int64)


def buckets_from_histogram(hist: HdrHistogram) -> Buckets:
    if not hist.total_count:
        return _EMPTY
    counts = _counts(hist)
    nz = np.flatnonzero(counts)
    return nz.astype(np.int64), counts[nz].astype(np.int64)


def histogram_from_buckets(buckets: Buckets) -> HdrHistogram:
    """A full histogram (e.g. to encode) from sparse buckets; min/max at bucket resolution, which
    is what ``get_min_value``/``get_max_value`` report anyway."""
    hist = new_histogram()
    idx, cnt = buckets
    if len(idx):
        _counts(hist)[idx] = cnt
        hist.total_count = int(cnt.sum())
        hist.min_value = hist.get_lowest_equivalent_value(hist.get_value_from_index(int(idx[0])))
        hist.max_value = hist.get_highest_equivalent_value(hist.get_value_from_index(int(idx[-1])))
    return hist


def record_seconds(hist: HdrHistogram, seconds: array | np.ndarray) -> int:
    """Record float seconds (as the engine collects them) as integer microseconds."""
    if len(seconds) == 0:
        return 0
    arr = np.frombuffer(seconds, dtype=np.float64) if isinstance(seconds, array) else np.asarray(seconds)
    return record_batch(hist, np.rint(arr * 1e6).astype(np.int64))


def reset(hist: HdrHistogram) -> None:
    """hdrh's ``reset`` loops over every count in Python; this clears them with one memset."""
    ctypes.memset(ctypes.addressof(hist.counts), 0, ctypes.sizeof(hist.counts))
    hist.total_count = 0
    hist.min_value = sys.maxsize
    hist.max_value = 0


def percentiles(hist: HdrHistogram, pcts: Iterable[float] = STANDARD_PERCENTILES) -> dict[float, int]:
    """``{p: value_at_percentile(p)}`` in µs, identical to hdrh's definition; 0 when empty."""
    pcts = list(pcts)
    if hist.total_count == 0:
        return {p: 0 for p in pcts}
    # the cumulative counts only up to the highest bucket in use (not all ~23k of them)
    used = int(indices_for(hist, np.array([min(hist.max_value, HIGHEST_US)], dtype=np.int64))[0]) + 1
    counts = _counts(hist)[:used]
    cumulative = np.cumsum(counts)
    out: dict[float, int] = {}
    for p in pcts:
        target = max(int((min(p, 100.0) * hist.total_count / 100) + 0.5), 1)
        index = int(np.searchsorted(cumulative, target, side="left"))
        value = hist.get_value_from_index(index)
        out[p] = hist.get_highest_equivalent_value(value) if p else hist.get_lowest_equivalent_value(value)
    return out


def encode(hist: HdrHistogram) -> str:
    """The base64 compressed V2 histoblob (what the warehouse's ``histogram`` column holds)."""
    blob = hist.encode()
    return blob.decode("ascii") if isinstance(blob, bytes) else blob


def decode(blob: str | bytes) -> HdrHistogram:
    if not blob:
        return new_histogram()
    return HdrHistogram.decode(blob.encode("ascii") if isinstance(blob, str) else blob)


def merge(histograms: Iterable[HdrHistogram | str | bytes]) -> HdrHistogram:
    """Add histograms (or their histoblobs) into a new one: exact, whatever the shard count."""
    out = new_histogram()
    for h in histograms:
        other = decode(h) if isinstance(h, (str, bytes)) else h
        if other.total_count:
            out.add(other)
    return out


def summary_ms(hist: HdrHistogram, total_us: float | None = None) -> dict[str, Any]:
    """count, mean, min, p50/p90/p95/p99 and max in milliseconds (µs resolution).

    ``total_us`` (the exact sum of recorded values) gives an exact mean; without it the mean is
    hdrh's, from bucket midpoints.
    """
    n = hist.total_count
    if n == 0:
        return {"count": 0, "mean": None, "min": None, "p50": None, "p90": None, "p95": None,
                "p99": None, "max": None}
    pv = percentiles(hist)
    mean_us = (total_us / n) if total_us is not None else hist.get_mean_value()
    return {"count": n, "mean": round(mean_us / 1000, 3), "min": hist.get_min_value() / 1000,
            "p50": pv[50.0] / 1000, "p90": pv[90.0] / 1000, "p95": pv[95.0] / 1000, "p99": pv[99.0] / 1000,
            "max": hist.get_max_value() / 1000}


def value_ms(hist: HdrHistogram, metric: str, total_us: float | None = None) -> float | None:
    """One latency statistic in ms: ``p(<x>)``/``p<x>``, ``mean``, ``min`` or ``max``; None when empty."""
    if hist.total_count == 0:
        return None
    if metric == "mean":
        return ((total_us / hist.total_count) if total_us is not None else hist.get_mean_value()) / 1000
    if metric == "min":
        return hist.get_min_value() / 1000
    if metric == "max":
        return hist.get_max_value() / 1000
    if metric.startswith("p"):
        p = float(metric.strip("p()"))
        return percentiles(hist, [p])[p] / 1000
    raise ValueError(f"unknown latency statistic {metric!r}")
