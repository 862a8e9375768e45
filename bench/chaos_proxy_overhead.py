"""What the idle fault proxy costs: p50 and p99 at the same rate, direct vs through the proxy.

nginx answers on one core; our load engine (open model, one shard) drives it from the other, at
``--rate`` requests per second for ``--seconds``: directly, through the idle proxy (the fast path:
bytes forwarded, nothing parsed), and through the proxy with a fault that is active but acts on
no traffic (``latency`` at fraction 0: every chunk takes the slow path, its verdict is "pass").
The proxy runs as ``python -m tasks.chaos`` in its own process, on nginx's core. Target: the idle
proxy adds less than 0.5 ms to p50 (a latency fault of 200 ms is then measured to within 0.25 %).

    python -m bench.chaos_proxy_overhead [--quick] [--rate 1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from bench.common import ROOT, machine_note, ours
from bench.servers import nginx, taskset

PROXY_CPU = 1


def _proxy(upstream: str, faults: list[dict] | None = None) -> tuple[subprocess.Popen, str]:
    args = [*taskset(PROXY_CPU), sys.executable, "-m", "tasks.chaos", "--upstream", upstream, "--env-kind", "dev"]
    for fault in faults or []:
        args += ["--fault", json.dumps(fault)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if not line:
        raise RuntimeError(f"the proxy did not start: {proc.stderr.read()}")  # type: ignore[union-attr]
    return proc, json.loads(line)["listen"]


def _run(url: str, rate: int, seconds: int) -> dict:
    doc = ours(url + "/", "--rate", str(rate), "-d", f"{seconds}s")
    return {"p50_ms": doc["latency_ms"]["p50"], "p90_ms": doc["latency_ms"]["p90"], "p99_ms": doc["latency_ms"]["p99"],
            "achieved_rate": doc.get("achieved_rate"), "errors": doc.get("errors"), "trustworthy": doc.get("trustworthy")}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args(argv)
    seconds = 5 if args.quick else args.seconds
    results: dict[str, dict] = {}
    with nginx(cpu=1) as url:
        upstream = url.split("//", 1)[1]
        _run(url, args.rate, 2)  # warm nginx and the page cache
        results["direct"] = _run(url, args.rate, seconds)
        for label, faults in (("idle proxy", None),
                              ("proxy, fault active on no traffic",
                               [{"type": "latency", "params": {"latency_ms": 200}, "fraction": 0.0}])):
            proc, listen = _proxy(upstream, faults)
            try:
                time.sleep(0.2)
                results[label] = _run(listen, args.rate, seconds)
            finally:
                proc.terminate()
                proc.wait(5)
    base = results["direct"]
    print(f"\nfault proxy overhead at {args.rate} req/s, {seconds}s each ({machine_note()})")
    for label, r in results.items():
        extra = "" if label == "direct" else (f"   p50 {r['p50_ms'] - base['p50_ms']:+.3f} ms, "
                                              f"p99 {r['p99_ms'] - base['p99_ms']:+.3f} ms")
        print(f"{label:36s} p50 {r['p50_ms']:.3f} ms  p90 {r['p90_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms{extra}")
    idle = results["idle proxy"]["p50_ms"] - base["p50_ms"]
    ok = idle < 0.5
    print(f"idle proxy adds {idle * 1000:+.0f} us to p50 ({'meets' if ok else 'MISSES'} the 0.5 ms target)")
    return {"rate": args.rate, "seconds": seconds, "results": results, "idle_p50_overhead_ms": idle}


if __name__ == "__main__":
    main()
