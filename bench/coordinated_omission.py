"""Coordinated omission: a server that freezes 0.5 s every 5 s, driven at 1000 req/s (open model).

The server is nginx frozen with SIGSTOP for 0.5 s every 5 s (``--python-server``: a small uvloop
server that blocks its loop instead, slower to recover). Our engine may use up to 100
connections; sends that find them all waiting queue in the client, still timed from their
intended instant.

A request arriving during a freeze waits for its end, so over each 5 s cycle 10 % of requests
see a latency spread evenly over 0..500 ms: the true p95 is 250 ms and the true p99 450 ms.
A closed-model tool (wrk, our service time) stops sending while it waits and reports a few ms.
Target: our p95 and p99 within 5 % of the truth.

    python -m bench.coordinated_omission [--quick] [--seconds 30]
"""

from __future__ import annotations

import argparse

from bench.common import machine_note, ours, save, wrk
from bench.servers import nginx, stalling_server

TRUE_P95, TRUE_P99 = 250.0, 450.0


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seconds", type=int, default=30, help="a multiple of the 5 s stall cycle")
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--connections", type=int, default=100)
    ap.add_argument("--python-server", action="store_true")
    args = ap.parse_args(argv)
    seconds = 20 if args.quick else args.seconds
    server = (stalling_server(every=5.0, stall=0.5, lifetime=seconds * 3 + 60, cpu=1) if args.python_server
              else nginx(cpu=1, stall_every=5.0, stall_for=0.5))
    with server as url:
        doc = ours(url + "/", "--rate", str(args.rate), "-c", str(args.connections), "-d", f"{seconds}s",
                   "--timeout", "5s")
        closed = wrk(url + "/", 50, f"{seconds}s")
    lat, svc = doc["latency_ms"], doc["service_ms"]
    err95 = (lat["p95"] - TRUE_P95) / TRUE_P95
    err99 = (lat["p99"] - TRUE_P99) / TRUE_P99
    print(f"\ncoordinated omission: stall 0.5 s every 5 s, {args.rate:.0f} req/s open model, {seconds}s "
          f"({machine_note()})")
    print(f"{'':<34}{'p50':>9}{'p95':>9}{'p99':>9}  (ms)")
    print(f"{'truth':<34}{'~0':>9}{TRUE_P95:>9.1f}{TRUE_P99:>9.1f}")
    print(f"{'perfcampaign latency (intended)':<34}{lat['p50']:>9.3f}{lat['p95']:>9.1f}{lat['p99']:>9.1f}")
    print(f"{'perfcampaign service time':<34}{svc['p50']:>9.3f}{svc['p95']:>9.1f}{svc['p99']:>9.1f}")
    print(f"{'wrk -c50 (closed model)':<34}{closed['p50_ms']:>9.3f}{'':>9}{closed['p99_ms']:>9.1f}")
    print(f"requests {doc['requests']}, achieved {doc['achieved_rate']}/s, dropped {doc['dropped']}, "
          f"trustworthy {doc['trustworthy']} {doc['reasons'] or ''}")
    ok = abs(err95) <= 0.05 and abs(err99) <= 0.05
    print(f"p95 error {err95:+.1%}, p99 error {err99:+.1%} ({'meets' if ok else 'MISSES'} the 5 % target)")
    data = {"ours": doc, "wrk": {k: v for k, v in closed.items() if k != "raw"}, "p95_error": err95,
            "p99_error": err99}
    save("coordinated_omission", data)
    return data


if __name__ == "__main__":
    main()
