"""The one percentile definition, batch recording and exact merging."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.load import histogram as H


@pytest.fixture
def values() -> np.ndarray:
    rng = np.random.default_rng(7)
    return np.concatenate([rng.lognormal(6, 1.2, 20_000), rng.integers(0, 3, 100),
                           [3_599_999_999, 10, 1]]).astype(np.int64)


def test_batch_recording_equals_hdrh_record_value(values):
    fast, slow = H.new_histogram(), H.new_histogram()
    H.record_batch(fast, values)
    for v in values:
        slow.record_value(int(v))
    assert fast.total_count == slow.total_count
    assert fast.get_min_value() == slow.get_min_value() and fast.get_max_value() == slow.get_max_value()
    assert list(H._counts(fast)) == list(H._counts(slow))


def test_percentiles_are_hdrh_value_at_percentile(values):
    h = H.new_histogram()
    H.record_batch(h, values)
    pcts = [0.0, 1.0, 25.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0]
    got = H.percentiles(h, pcts)
    for p in pcts:
        assert got[p] == h.get_value_at_percentile(p), p


def test_pinned_definition_on_0_to_99():
    # Locust says p50 of 0..99 is 50, k6 49.5; ours (HdrHistogram) is 49: the 50th of 100 values
    h = H.new_histogram()
    H.record_batch(h, np.arange(100))
    assert H.percentiles(h, [50.0, 99.0, 100.0]) == {50.0: 49, 99.0: 98, 100.0: 99}


def test_merge_is_exact_and_blobs_round_trip(values):
    parts = np.array_split(values, 3)
    hists = []
    for part in parts:
        h = H.new_histogram()
        H.record_batch(h, part)
        hists.append(H.encode(h))
    merged = H.merge(hists)
    whole = H.new_histogram()
    H.record_batch(whole, values)
    assert merged.total_count == whole.total_count
    assert merged.get_min_value() == whole.get_min_value() and merged.get_max_value() == whole.get_max_value()
    assert H.percentiles(merged) == H.percentiles(whole)
    assert H.decode(H.encode(whole)).total_count == whole.total_count


def test_reset_clears_everything(values):
    h = H.new_histogram()
    H.record_batch(h, values)
    H.reset(h)
    assert h.total_count == 0 and int(H._counts(h).sum()) == 0
    H.record_batch(h, np.array([5, 6]))
    assert h.get_min_value() == 5 and h.get_max_value() == 6


def test_summary_is_in_milliseconds():
    h = H.new_histogram()
    H.record_batch(h, np.array([1000, 2000, 3000]))
    s = H.summary_ms(h, total_us=6000)
    # values are reported as the highest value equivalent to their bucket (HdrHistogram's rule)
    assert s["mean"] == 2.0 and s["p50"] == 2.0 and s["max"] == 3.001 and s["count"] == 3
    assert H.summary_ms(H.new_histogram())["p95"] is None


def test_sparse_buckets_keep_the_one_percentile_definition():
    """A second travels as sparse buckets: same buckets, same percentiles, same min/max as the
    full histogram, and sparse merges add exactly."""
    rng = np.random.default_rng(7)
    pcts = (0.0, 1.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0)
    parts, full = [], H.new_histogram()
    for _ in range(40):
        values = rng.lognormal(rng.uniform(2, 12), rng.uniform(0.1, 2), int(rng.integers(1, 2000))).astype(np.int64)
        h = H.new_histogram()
        b = H.record_buckets(h, values)
        H.record_batch(full, values)
        parts.append(b)
        assert H.percentiles_of_buckets(b, pcts) == H.percentiles(h, pcts)
        back = H.histogram_from_buckets(b)
        assert (back.total_count, back.get_min_value(), back.get_max_value()) == (
            h.total_count, h.get_min_value(), h.get_max_value())
    merged = H.merge_buckets(parts)
    assert H.percentiles_of_buckets(merged, pcts) == H.percentiles(full, pcts)
    assert int(merged[1].sum()) == full.total_count
