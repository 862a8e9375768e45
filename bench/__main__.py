"""Run every benchmark and print its figures: ``python -m bench [--quick] [--only NAME]``.

The load engine's benchmarks run first:

    throughput             req/s on one core vs k6, Locust and wrk (target >= 3x k6)
    coordinated_omission   p95/p99 vs the truth behind a stalling server (target within 5 %)
    p50                    p50 vs wrk's at the same rate (target within 0.3 ms)
    soak                   RSS growth through a soak at 10k req/s (target < 10 %; --quick: 60 s)

then every other ``bench/<name>.py`` that defines ``main(argv)`` (e.g. the analytics benchmarks).
"""

from __future__ import annotations

import argparse
import importlib
import traceback
from pathlib import Path

LOAD_BENCHES = ("throughput", "coordinated_omission", "p50", "soak")
HELPERS = {"__init__", "__main__", "common", "servers"}


def discover() -> list[str]:
    others = sorted(p.stem for p in Path(__file__).parent.glob("*.py")
                    if p.stem not in HELPERS and p.stem not in LOAD_BENCHES)
    return list(LOAD_BENCHES) + others


def main() -> int:
    names = discover()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short runs (soak 60 s)")
    ap.add_argument("--only", choices=names, action="append")
    args = ap.parse_args()
    failed = 0
    for name in args.only or names:
        print(f"\n=== bench.{name} ===", flush=True)
        try:
            module = importlib.import_module(f"bench.{name}")
            if not hasattr(module, "main"):
                continue
            quick = args.quick and "--quick" in Path(module.__file__).read_text()
            module.main(["--quick"] if quick else [])
        except SystemExit as exc:
            if exc.code not in (0, None):
                failed += 1
        except Exception:  # noqa: BLE001 - print, then run the others
            traceback.print_exc()
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
