"""Memory through a soak: RSS of the generator at 10k req/s (open model) against nginx.

The generator's resident memory is sampled every second from outside; growth is measured from
the end of the warm-up to the end. Target: under 10 % growth.

    python -m bench.soak [--quick] [--minutes 10] [--rate 10000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import psutil

from bench.common import GENERATOR_CPU, ROOT, machine_note, save
from bench.servers import nginx, taskset


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rate", type=float, default=10000)
    args = ap.parse_args(argv)
    seconds = 60 if args.quick else int(args.minutes * 60)
    warmup = 10 if args.quick else 60
    samples: list[tuple[float, float]] = []
    with nginx(cpu=1) as url:
        proc = subprocess.Popen([*taskset(GENERATOR_CPU), sys.executable, "-m", "tasks.load", url + "/", "--rate",
                                 str(args.rate), "-d", f"{seconds}s", "--json"], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        ps = psutil.Process(proc.pid)
        t0 = time.monotonic()
        while proc.poll() is None and time.monotonic() - t0 < seconds + 120:
            try:
                samples.append((time.monotonic() - t0, ps.memory_info().rss / 2**20))
            except psutil.NoSuchProcess:
                break
            time.sleep(1.0)
        out, err = proc.communicate(timeout=120)
    doc = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"error": err[-1500:]}
    after = [rss for t, rss in samples if t >= warmup]
    base, end, peak = after[0], after[-1], max(after)
    growth = (end - base) / base
    print(f"\nsoak: {args.rate:.0f} req/s for {seconds}s ({machine_note()})")
    print(f"RSS after {warmup}s warm-up {base:.1f} MiB, at the end {end:.1f} MiB, peak {peak:.1f} MiB: "
          f"growth {growth:+.1%} ({'meets' if growth < 0.10 else 'MISSES'} the < 10 % target)")
    if "requests" in doc:
        print(f"requests {doc['requests']}, {doc['rps']} req/s (achieved {doc['achieved_rate']}/s), errors "
              f"{doc['errors']}, dropped {doc['dropped']}, trustworthy {doc['trustworthy']} {doc['reasons'] or ''}")
    data = {"seconds": seconds, "rate": args.rate, "rss_mb": samples, "growth": growth, "ours": doc}
    save("soak", data)
    return data


if __name__ == "__main__":
    main()
