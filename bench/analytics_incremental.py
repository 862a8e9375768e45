"""The nightly analysis at an organisation's scale: only the series that got a new night are recomputed.

    python -m bench.analytics_incremental [--campaigns 50] [--envs 3] [--endpoints 40] [--nights 365] [--quick]

Builds a real DuckDB warehouse (through ``warehouse.store.Warehouse``'s connection, rows generated
in SQL): ``campaigns × envs`` groups, each ``endpoints`` endpoints plus ``_overall`` × ``nights``
nights of ``endpoint_metrics`` (p50/p95/p99/mean, error rate, rps) with noise, a step in one
endpoint of ten and 3 % untrustworthy runs. Then:

1. **full recompute**: :func:`warehouse.analytics.service.analyze` over the whole warehouse (every
   series: change points, baselines, trends) — what an analysis without memory costs;
2. **a new night, per run**: one campaign runs one environment's new night (a real run's rows:
   ``endpoint_metrics``, ``load_runs`` and 60 s of per-second ``load_timeseries``) and
   :func:`~warehouse.analytics.service.analyze_run` analyses it, as the runner does each morning:
   only that campaign × environment's series are read and recomputed, plus the night's comparison
   with last night and the baseline;
3. **a new night, the nightly batch**: one campaign's two environments got a night;
   ``analyze(store, incremental=True)`` finds the groups whose runs changed (``analysis_state``)
   and recomputes those only.

The goal is (2) under 2 s. Wall and CPU times and the load average are printed beside each (the
machine is shared: a busy neighbour stretches the wall time, not the CPU time).
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

from warehouse.analytics.service import AnalyticsSettings, analyze, analyze_run
from warehouse.store import Warehouse

START = datetime(2025, 1, 1, 2, 0, tzinfo=UTC)


def build(path: Path, campaigns: int, envs: int, endpoints: int, nights: int) -> dict[str, int]:
    """The history, generated in SQL on the store's own connection (minutes of Python rows otherwise)."""
    store = Warehouse(path)
    env_names = ["dev", "staging", "production"][:envs] + [f"env-{i}" for i in range(3, envs)]
    with store.transaction() as con:
        con.execute("CREATE TEMP TABLE groups AS SELECT c.i AS ci, e.i AS ei, "
                    "'campaign-' || lpad(c.i::VARCHAR, 3, '0') "
                    "AS campaign, (?::VARCHAR[])[e.i + 1] AS environment FROM range(?) c(i), range(?) e(i)",
                    [env_names, campaigns, envs])
        con.execute("CREATE TEMP TABLE gen_runs AS SELECT g.*, d.i AS day, uuid()::VARCHAR AS run_id, "
                    "random() < 0.03 AS untrusted FROM groups g, range(?) d(i)", [nights])
        con.execute("INSERT INTO runs (run_id, campaign, environment, env_kind, started_at, finished_at, status, "
                    "trigger, campaign_sha256, test_type, exclude_from_analysis) SELECT run_id, campaign, environment, "
                    "'staging', ?::TIMESTAMPTZ + to_days(day::INTEGER) + to_minutes((ci % 30)::INTEGER), "
                    "?::TIMESTAMPTZ + to_days(day::INTEGER) + to_minutes((ci % 30 + 20)::INTEGER), 'passed', "
                    "'schedule', repeat('0', 64), 'load', FALSE FROM gen_runs", [START, START])
        con.execute("INSERT INTO load_runs (run_id, test_type, model, engine, shards, started_at, finished_at, "
                    "trustworthy, reasons) SELECT run_id, 'load', 'open', 'builtin', 1, r.started_at, r.finished_at, "
                    "NOT untrusted, CASE WHEN untrusted THEN '[\"generator event loop stalled\"]' ELSE '[]' END::JSON "
                    "FROM gen_runs JOIN runs r USING (run_id)")
        # endpoint levels 20–600 ms; noise 3 %; a +15 % step in one endpoint of ten at a group's own night
        con.execute(
            "INSERT INTO endpoint_metrics (run_id, stage, endpoint, method, requests, errors, error_rate, rps, "
            "mean_ms, p50_ms, p95_ms, p99_ms, max_ms) "
            "SELECT run_id, 'load', CASE WHEN i = 0 THEN '_overall' ELSE 'endpoint-' || lpad(i::VARCHAR, 3, '0') END, "
            "'GET', 2000, err, err / 2000.0, 40 * (1 + 0.02 * z2), v * 0.6, v * 0.5, v, v * 1.4, v * 2 FROM ("
            "  SELECT run_id, i, z2, CAST(floor(random() * 9) AS INTEGER) AS err, "
            "  (20 + (hash(ci, ei, i) % 580)) * (1 + 0.03 * z1) "
            "  * CASE WHEN i % 10 = 3 AND day > 100 + hash(ci, ei) % 200 THEN 1.15 ELSE 1 END AS v FROM ("
            "    SELECT g.*, ep.i, sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z1, "
            "    sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z2 FROM gen_runs g, range(?) ep(i)))",
            [endpoints + 1])
        runs = con.execute("SELECT count(*) FROM runs").fetchone()[0]
        metrics = con.execute("SELECT count(*) FROM endpoint_metrics").fetchone()[0]
    return {"runs": runs, "endpoint_metrics": metrics}


def new_night(store: Warehouse, campaign: str, environment: str, endpoints: int, day: int, seed: int,
              slow: float = 1.0) -> str:
    """One real-looking run: its rows as the load stage writes them, 60 s of per-second series."""
    rng = np.random.default_rng(seed)
    run_id = str(uuid.uuid4())
    started = START + timedelta(days=day)
    last = store.query("SELECT m.endpoint, median(m.p95_ms) AS level FROM endpoint_metrics m "
                       "JOIN runs r USING (run_id) WHERE r.campaign = ? AND r.environment = ? AND r.started_at > ? "
                       "GROUP BY 1",
                       [campaign, environment, started - timedelta(days=10)])
    levels = {e: float(v) * slow for e, v in last.iter_rows()}
    names = sorted(levels)
    metrics, series = [], []
    for n in names:
        v = levels[n] * (1 + 0.03 * rng.normal())
        metrics.append({"run_id": run_id, "stage": "load", "endpoint": n, "method": "GET", "requests": 2000,
                        "errors": 2, "error_rate": 0.001, "rps": 40.0, "mean_ms": v * 0.6, "p50_ms": v * 0.5,
                        "p95_ms": v, "p99_ms": v * 1.4, "max_ms": v * 2})
        per_second = v * np.exp(rng.normal(0, 0.1, 60))
        series += [{"run_id": run_id, "shard": -1, "second": s, "endpoint": n, "requests": 33, "errors": 0,
                    "rps": 33.0, "p50_ms": float(x) * 0.5, "p95_ms": float(x), "p99_ms": float(x) * 1.4,
                    "loop_lag_ms": 1.0 if n == "_overall" else None, "sched_lag_ms": 0.5 if n == "_overall" else None}
                   for s, x in enumerate(per_second)]
    store.write_rows({
        "runs": [{"run_id": run_id, "campaign": campaign, "environment": environment, "env_kind": "staging",
                  "started_at": started, "status": "running", "trigger": "schedule", "campaign_sha256": "0" * 64,
                  "test_type": "load"}],
        "load_runs": [{"run_id": run_id, "test_type": "load", "model": "open", "engine": "builtin", "shards": 1,
                       "started_at": started, "finished_at": started + timedelta(minutes=1), "trustworthy": True,
                       "reasons": []}],
        "endpoint_metrics": metrics, "load_timeseries": series})
    return run_id


def timed(fn):  # noqa: ANN001, ANN201 - a tiny helper
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics_incremental", description=__doc__.split("\n")[0])
    parser.add_argument("--campaigns", type=int, default=50)
    parser.add_argument("--envs", type=int, default=3)
    parser.add_argument("--endpoints", type=int, default=40)
    parser.add_argument("--nights", type=int, default=365)
    parser.add_argument("--keep", help="build the warehouse at this path and keep it")
    parser.add_argument("--quick", action="store_true", help="10 campaigns instead of --campaigns")
    args = parser.parse_args(argv)
    if args.quick:
        args.campaigns = 10
    settings = AnalyticsSettings()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / "warehouse.duckdb"
        (counts, wall, _) = timed(lambda: build(path, args.campaigns, args.envs, args.endpoints, args.nights))
        groups = args.campaigns * args.envs
        series = groups * (args.endpoints + 1) * len(settings.metrics)
        print(f"built {counts['runs']:,} runs, {counts['endpoint_metrics']:,} endpoint_metrics rows: {args.campaigns} "
              f"campaigns × {args.envs} environments × {args.endpoints} endpoints (+ _overall) × {args.nights} "
              "nights, "
              f"{series:,} series ({wall:.1f} s)")
        store = Warehouse(path)
        now = START + timedelta(days=args.nights + 1)
        out, wall, cpu = timed(lambda: analyze(store, settings=settings, now=now))
        print(f"full recompute (every series: read, change points, baselines, trends, writes): {wall:.2f} s wall, "
              f"{cpu:.2f} s CPU; {out.change_points.height:,} change points, {out.trends.height:,} trends")
        _, wall, cpu = timed(lambda: analyze(store, settings=settings, now=now, incremental=True))
        print(f"nightly batch with no new night: {wall:.2f} s wall, {cpu:.2f} s CPU (every group skipped)")
        day = args.nights + 1
        first, second = f"campaign-{args.campaigns // 3:03d}", f"campaign-{2 * args.campaigns // 3:03d}"
        run_id = new_night(store, first, "staging", args.endpoints, day, seed=1)
        result, wall, cpu = timed(lambda: analyze_run(store, run_id, settings=settings, now=now + timedelta(days=1)))
        verdict = result.comparison
        print(f"a new night, per run (analyze_run: 1 campaign × environment, {(args.endpoints + 1) * 6} series, "
              f"plus its comparison with last night and the baseline): {wall:.2f} s wall, {cpu:.2f} s CPU; "
              f"{len(verdict.series)} series compared, {len(verdict.regressions)} regressions")
        slow_id = new_night(store, first, "staging", args.endpoints, day + 1, seed=2, slow=3.0)
        result, wall, cpu = timed(lambda: analyze_run(store, slow_id, settings=settings, now=now + timedelta(days=2)))
        print(f"the next night, 3× slower: {wall:.2f} s wall, {cpu:.2f} s CPU; "
              f"{len(result.comparison.regressions)} of {len(result.comparison.series)} series flagged")
        for env in ("dev", "production")[: max(args.envs - 1, 1)]:
            new_night(store, second, env, args.endpoints, day, seed=3)
        out, wall, cpu = timed(lambda: analyze(store, settings=settings, now=now + timedelta(days=3), incremental=True))
        print(f"a new night, nightly batch (analyze incremental: {len(out.groups)} of {groups} groups changed, "
              f"{out.skipped} skipped): {wall:.2f} s wall, {cpu:.2f} s CPU")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
