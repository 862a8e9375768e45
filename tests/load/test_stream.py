"""Streaming: shards hand their per-second rows over every few seconds and keep none; the
coordinator merges each second once every running shard delivered it, exactly, and writes from
its own thread."""

from __future__ import annotations

import threading
import time

import numpy as np

from tasks.load import histogram as H
from tasks.load.engine import Control, run_shard
from tasks.load.result import merge_series
from tasks.load.runner import run_local
from tasks.load.stream import MERGED, RowWriter, SeriesMerger
from tests.load.conftest import simple_plan


def second_rows(second: int, seed: int, endpoints=("a", "b")) -> list[dict]:  # rows as histoblobs (legacy)
    rng = np.random.default_rng(seed * 1000 + second)
    rows, everything = [], []
    for name in endpoints:
        values = rng.lognormal(7, 0.6, 50 + seed).astype(np.int64)
        everything.append(values)
        h = H.new_histogram()
        H.record_batch(h, values)
        rows.append({"second": second, "endpoint": name, "requests": len(values), "errors": seed, "rps": len(values),
                     "p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "histogram": H.encode(h)})
    h = H.new_histogram()
    H.record_batch(h, np.concatenate(everything))
    rows.append({"second": second, "endpoint": "_overall", "requests": sum(len(v) for v in everything),
                 "errors": seed * len(endpoints), "rps": 1.0, "cpu_percent": 10.0 + seed, "histogram": H.encode(h)})
    return rows


def test_a_second_is_merged_once_every_running_shard_delivered_it():
    m = SeriesMerger(2, histogram_every=3)
    out = m.add(0, second_rows(0, 1) + second_rows(1, 1))
    assert len(out.shard_rows) == 6 and not out.merged and m.held_seconds == 2
    out = m.add(1, second_rows(0, 2))
    assert {r["second"] for r in out.merged} == {0} and m.held_seconds == 1
    assert all("histogram" not in r for _, r in out.shard_rows) and all("histogram" not in r for r in out.merged)
    # a duplicate (a batch delivered twice) is dropped, never counted twice
    assert not m.add(1, second_rows(0, 2)).shard_rows and m.duplicates == 3
    out = m.add(1, second_rows(1, 2) + second_rows(2, 2))
    assert {r["second"] for r in out.merged} == {1}


def test_the_streamed_merge_equals_the_merge_of_whole_series_and_intervals_add_up():
    shard0 = [r for s in range(7) for r in second_rows(s, 1)]
    shard1 = [r for s in range(5) for r in second_rows(s, 2)]          # ends earlier
    m = SeriesMerger(2, histogram_every=3)
    merged, hists = [], []
    for s in range(7):  # arrival interleaved second by second
        for k, rows in ((0, shard0), (1, shard1)):
            out = m.add(k, [r for r in rows if r["second"] == s])
            merged += out.merged
            hists += out.histograms
    out = m.finish(1)
    merged += out.merged
    hists += out.histograms
    out = m.close()
    merged += out.merged
    hists += out.histograms
    expected = merge_series([shard0, shard1], 2)
    key = lambda r: (r["second"], r["endpoint"])  # noqa: E731
    assert sorted(merged, key=key) == sorted(expected, key=key)
    # percentiles of the merged second come from the added histograms
    both = H.merge([r["histogram"] for r in shard0 + shard1 if r["second"] == 2 and r["endpoint"] == "a"])
    row = next(r for r in merged if r["second"] == 2 and r["endpoint"] == "a")
    assert row["p95_ms"] == H.percentiles(both, [95.0])[95.0] / 1000 and row["cpu_percent"] is None
    overall = next(r for r in merged if r["second"] == 2 and r["endpoint"] == "_overall")
    assert overall["cpu_percent"] == 12.0 and overall["errors"] == 2 + 4  # worst generator, summed errors
    # intervals [0,3) [3,6) [6,9): counts and histograms add up to everything sent
    assert sorted({(h["second_from"], h["second_to"]) for h in hists}) == [(0, 3), (3, 6), (6, 9)]
    assert all(h["shard"] == MERGED for h in hists)
    for name in ("a", "b", "_overall"):
        mine = [h for h in hists if h["endpoint"] == name]
        total = sum(r["requests"] for r in shard0 + shard1 if r["endpoint"] == name)
        assert sum(h["requests"] for h in mine) == total
        assert sum(H.decode(h["histogram"]).total_count for h in mine) == total


def test_a_lost_shard_holds_nothing_back():
    m = SeriesMerger(3)
    m.add(0, second_rows(0, 1) + second_rows(1, 1))
    m.add(2, second_rows(0, 1) + second_rows(1, 1))
    assert m.held_seconds == 2  # shard 1 has not delivered second 0
    out = m.finish(1)           # … and never will: its worker died
    assert {r["second"] for r in out.merged} == {0, 1} and m.held_seconds == 0


def test_the_writer_coalesces_while_a_write_is_slow_and_keeps_errors():
    gate = threading.Event()
    calls: list[dict] = []

    def write(rows):
        calls.append(rows)
        if len(calls) == 1:
            gate.wait(5)
        if len(calls) == 3:
            raise OSError("disk full")

    w = RowWriter(write)
    w.put({"t": [{"i": 0}]})
    time.sleep(0.1)
    for i in range(1, 5):
        w.put({"t": [{"i": i}]})  # queued while the first write hangs
    gate.set()
    time.sleep(0.2)
    w.put({"t": [{"i": 5}]})
    w.close(5)
    assert calls[0] == {"t": [{"i": 0}]} and calls[1] == {"t": [{"i": i} for i in range(1, 5)]}
    assert len(calls) == 3 and w.errors == ["OSError: disk full"]


def test_a_streaming_shard_keeps_only_its_tail(server):
    batches = []
    plan = simple_plan(server.url, rate=200, duration=2.0)
    r = run_shard(plan, control=Control(on_batch=batches.append, batch_every=1.0, tick=0.25))
    assert [b["seq"] for b in batches] == list(range(1, r.batches + 1)) and r.batches >= 1  # every 4 rows
    rows = [row for b in batches for row in b["rows"]] + r.series
    overall = [row for row in rows if row["endpoint"] == "_overall"]
    # time-compressed: a row every 0.25 s; all of them, in order, once
    assert [row["second"] for row in overall] == list(range(len(overall))) and len(overall) >= 8
    assert sum(row["requests"] for row in overall) == 400 == server.hits["/ok"]
    assert len(r.series) <= 2 * (4 + 1) and all(row.get("buckets") for row in rows if row["requests"])


def test_local_shards_stream_their_batches_before_their_results(server):
    got: list[tuple[str, int]] = []
    rows: list[dict] = []

    def on_batch(k, batch):
        got.append(("batch", k))
        rows.extend(batch["rows"])

    plan = simple_plan(server.url, rate=300, duration=3.0)
    results = run_local(plan, 2, on_result=lambda r: got.append(("result", r.shard)), on_batch=on_batch)
    for k in (0, 1):
        kinds = [kind for kind, s in got if s == k]
        assert kinds[-1] == "result" and kinds.count("batch") == results[k].batches >= 1
    every = rows + [row for r in results for row in r.series]
    assert sum(row["requests"] for row in every if row["endpoint"] == "_overall") == 900 == server.hits["/ok"]
