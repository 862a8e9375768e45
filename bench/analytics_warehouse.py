"""Time the whole analysis of a year-old warehouse: 3 environments × 100 endpoints × 365 nights.

    python -m bench.analytics_warehouse [--envs 3] [--endpoints 100] [--nights 365] [--keep FILE] [--quick]

Builds a real DuckDB file through ``warehouse.store.Warehouse`` (runs, ``load_runs`` and
``endpoint_metrics`` for every endpoint and ``_overall``: p50/p95/p99/mean, error rate, rps), with
weekly patterns, slow drift, outliers, a step in one endpoint of ten, runs excluded by hand and
untrustworthy load runs, then times :func:`warehouse.analytics.service.analyze` over all of it:
read, every trend, baseline and change point, and the writes. The goal is under 2 s of wall time;
CPU time and the load average are printed beside it (a busy machine stretches the wall time).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from warehouse.analytics.service import AnalyticsSettings, analyze
from warehouse.store import Warehouse

CAMPAIGN = "shop-api"


def build(path: Path, envs: int = 3, endpoints: int = 100, nights: int = 365, seed: int = 11) -> dict[str, int]:
    """Fill ``path`` with the generated history; returns counts of what was written."""
    rng = np.random.default_rng(seed)
    store = Warehouse(path)
    start = datetime(2025, 1, 1, 2, 0, tzinfo=UTC)
    names = [f"endpoint-{i:03d}" for i in range(endpoints)]
    counts = {"runs": 0, "endpoint_metrics": 0, "steps": 0, "excluded": 0, "untrustworthy": 0}
    for e in range(envs):
        env = ["dev", "staging", "production"][e % 3] + ("" if e < 3 else f"-{e}")
        run_ids = [str(uuid.uuid4()) for _ in range(nights)]
        started = [start + timedelta(days=d, minutes=int(rng.integers(0, 30))) for d in range(nights)]
        level = rng.uniform(20, 600, endpoints)
        day = np.arange(nights)
        # nights × endpoints multiplicative factors: noise, weekly bump, drift, steps, outliers
        factor = 1 + rng.normal(0, 0.03, (nights, endpoints))
        weekly = rng.random(endpoints) < 0.3
        factor[:, weekly] *= 1 + 0.06 * ((day[:, None] + 3) % 7 >= 5)
        drifting = rng.random(endpoints) < 0.2
        factor[:, drifting] *= 1 + rng.uniform(0.05, 0.15, drifting.sum()) * day[:, None] / nights
        for j in range(0, endpoints, 10):
            at = int(rng.integers(60, nights - 20))
            factor[at:, j] *= 1 + rng.choice([-1, 1]) * rng.choice([0.05, 0.1, 0.2])
            counts["steps"] += 1
        factor[rng.random((nights, endpoints)) < 0.01] *= 2.5
        p95 = level * factor
        rps = rng.uniform(20, 60, endpoints) * (1 + rng.normal(0, 0.02, (nights, endpoints)))
        errors = rng.binomial(2000, 0.002, (nights, endpoints))
        excluded = set(rng.choice(nights, size=3, replace=False).tolist())
        untrusted = set(rng.choice(nights, size=4, replace=False).tolist())
        runs, loads, metrics = [], [], []
        for d in range(nights):
            runs.append({"run_id": run_ids[d], "campaign": CAMPAIGN, "environment": env, "env_kind": "staging",
                         "started_at": started[d], "finished_at": started[d] + timedelta(minutes=20),
                         "status": "passed", "trigger": "schedule", "campaign_sha256": "0" * 64,
                         "test_type": "load", "exclude_from_analysis": d in excluded,
                         "exclude_reason": "generator host was patched mid-run" if d in excluded else None})
            loads.append({"run_id": run_ids[d], "test_type": "load", "model": "open", "engine": "builtin",
                          "shards": 1, "started_at": started[d], "finished_at": started[d] + timedelta(minutes=20),
                          "trustworthy": d not in untrusted,
                          "reasons": ["generator CPU saturated"] if d in untrusted else []})
            total_req = total_err = 0
            for j, name in enumerate(names):
                req = 2000
                err = int(errors[d, j])
                total_req += req
                total_err += err
                v = float(p95[d, j])
                metrics.append({"run_id": run_ids[d], "stage": "load", "endpoint": name, "method": "GET",
                                "requests": req, "errors": err, "error_rate": err / req, "rps": float(rps[d, j]),
                                "mean_ms": v * 0.6, "p50_ms": v * 0.5, "p95_ms": v, "p99_ms": v * 1.4,
                                "max_ms": v * 2})
            ov = float(np.median(p95[d]))
            metrics.append({"run_id": run_ids[d], "stage": "load", "endpoint": "_overall", "method": None,
                            "requests": total_req, "errors": total_err, "error_rate": total_err / total_req,
                            "rps": float(rps[d].sum()), "mean_ms": ov * 0.6, "p50_ms": ov * 0.5, "p95_ms": ov,
                            "p99_ms": ov * 1.4, "max_ms": ov * 3})
        store.write_rows({"runs": runs, "load_runs": loads, "endpoint_metrics": metrics})
        counts["runs"] += len(runs)
        counts["endpoint_metrics"] += len(metrics)
        counts["excluded"] += len(excluded)
        counts["untrustworthy"] += len(untrusted)
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics_warehouse", description=__doc__.split("\n")[0])
    parser.add_argument("--envs", type=int, default=3)
    parser.add_argument("--endpoints", type=int, default=100)
    parser.add_argument("--nights", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=3, help="timed analyses (the best is reported)")
    parser.add_argument("--keep", help="build the warehouse at this path and keep it")
    parser.add_argument("--quick", action="store_true", help="time the analysis twice instead of --repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat = 2
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / "warehouse.duckdb"
        t0 = time.perf_counter()
        counts = build(path, args.envs, args.endpoints, args.nights)
        print(f"built {path.name}: {counts['runs']} runs, {counts['endpoint_metrics']} endpoint_metrics rows, "
              f"{counts['steps']} injected steps, {counts['excluded']} excluded runs, "
              f"{counts['untrustworthy']} untrustworthy load runs ({time.perf_counter() - t0:.1f} s)")
        store = Warehouse(path)
        settings = AnalyticsSettings()
        now = datetime(2026, 1, 2, tzinfo=UTC)
        times, cpu = [], []
        for _ in range(max(args.repeat, 1)):
            t, c = time.perf_counter(), time.process_time()
            out = analyze(store, settings=settings, now=now)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        series = out.trends.height
        regressions = out.change_points.filter(out.change_points["direction"] == "regression").height
        print(f"series: {series} ({args.envs} envs × {args.endpoints + 1} endpoints × {len(settings.metrics)} metrics), "
              f"nights each: {out.nightly['run_id'].n_unique() // max(args.envs, 1)}")
        print(f"change points: {out.change_points.height} ({regressions} regressions); "
              f"baselines: {out.baselines.height}; trends: {series}")
        print(f"full analysis (read + trends + baselines + change points + writes): best {min(times):.2f} s "
              f"wall ({', '.join(f'{t:.2f}' for t in times)}), CPU {', '.join(f'{c:.2f}' for c in cpu)} s; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
