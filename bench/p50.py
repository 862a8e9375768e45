"""Reported p50 against wrk's on the same nginx at the same rate.

wrk has no rate control, so it runs with a fixed pause per request (its Lua ``delay()`` hook) on
10 connections, which settles at some rate R; our engine then runs the open model at exactly R
on the same nginx. Target: our p50 within 0.3 ms of wrk's.

    python -m bench.p50 [--quick] [--seconds 10] [--delay-ms 2]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.common import machine_note, ours, save, wrk
from bench.servers import nginx


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--delay-ms", type=int, default=2)
    args = ap.parse_args(argv)
    seconds = 5 if args.quick else args.seconds
    with tempfile.TemporaryDirectory() as tmp, nginx(cpu=1) as url:
        script = Path(tmp) / "delay.lua"
        script.write_text(f"function delay()\n  return {args.delay_ms}\nend\n")
        w = wrk(url + "/", args.connections, f"{seconds}s", str(script))
        rate = round(w["rps"])
        doc = ours(url + "/", "--rate", str(rate), "-d", f"{seconds}s")
    diff = doc["latency_ms"]["p50"] - w["p50_ms"]
    print(f"\np50 at the same rate on nginx: {rate} req/s, {seconds}s ({machine_note()})")
    print(f"wrk ({args.connections} connections, {args.delay_ms} ms pause)  p50 {w['p50_ms']:.3f} ms  "
          f"p90 {w['p90_ms']:.3f} ms  p99 {w['p99_ms']:.3f} ms")
    print(f"perfcampaign open model latency     p50 {doc['latency_ms']['p50']:.3f} ms  "
          f"p90 {doc['latency_ms']['p90']:.3f} ms  p99 {doc['latency_ms']['p99']:.3f} ms")
    print(f"perfcampaign service time           p50 {doc['service_ms']['p50']:.3f} ms")
    ok = abs(diff) <= 0.3
    print(f"p50 difference {diff * 1000:+.0f} us ({'meets' if ok else 'MISSES'} the 0.3 ms target); "
          f"achieved {doc['achieved_rate']}/s, trustworthy {doc['trustworthy']}")
    data = {"rate": rate, "wrk": {k: v for k, v in w.items() if k != "raw"}, "ours": doc, "p50_diff_ms": diff}
    save("p50", data)
    return data


if __name__ == "__main__":
    main()
