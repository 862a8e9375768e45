"""Memory through a soak: the whole load stage (shards streaming their rows, this process merging
and writing them to a DuckDB warehouse) against 100 endpoints on nginx, RSS sampled throughout.

An hour is time-compressed: each row of the per-second series covers ``1/compress`` s instead of
1 s (``Control.tick``), so an hour's 3,600 rows per endpoint and shard — what memory would grow
with — are produced, merged and written in ``60/compress`` minutes, by the very code a real soak
runs. RSS of the coordinator (this process) and of each shard process is printed at 5, 30 and 60
equivalent minutes. The peer, measured in the same run unless ``--no-peer``: the same stage with
a runner that does not stream (shards keep every row until they end — the behaviour before
streaming). Target: coordinator and shards grow < 10 % from 5 to 60 minutes.

    python -m bench.soak [--quick] [--minutes 60] [--compress 12] [--endpoints 100] [--rate 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from bench.common import machine_note, save
from bench.servers import nginx

MARKS = (5, 10, 30, 60)


def _campaign(url: str, endpoints: int, rate: float, seconds: float) -> Any:
    from campaigns.model import Campaign

    return Campaign.model_validate({
        "campaign": "soak-bench", "team": "perf",
        "environments": {"dev": {"kind": "dev", "base_url": url}},
        "endpoints": [{"name": f"e{i:03d}", "path": f"/e{i:03d}"} for i in range(endpoints)],
        "load": {"test_type": "soak", "phases": [{"duration": seconds, "arrival_rate": rate}],
                 "thresholds": ["error_rate<1%"]}})


class Sampler:
    """RSS (MiB) of this process and of its child processes, every ``every`` seconds."""

    def __init__(self, every: float = 1.0):
        self.every = every
        self.samples: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._me = psutil.Process()
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        t0 = time.monotonic()
        while not self._stop.wait(self.every):
            kids = {}
            for child in self._me.children(recursive=True):
                try:
                    kids[child.pid] = child.memory_info().rss / 2**20
                except psutil.Error:
                    continue
            self.samples.append({"t": time.monotonic() - t0, "me": self._me.memory_info().rss / 2**20,
                                 "shards": kids})

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(5)


def _at(samples: list[dict[str, Any]], t: float) -> dict[str, Any] | None:
    before = [s for s in samples if s["t"] <= t]
    return before[-1] if before else None


def run_soak(url: str, *, endpoints: int, rate: float, minutes: float, compress: float, shards: int,
             stream: bool, workdir: Path) -> dict[str, Any]:
    from campaigns.loader import LoadedCampaign
    from tasks.base import RunContext
    from tasks.load.runner import run_local
    from tasks.load.stage import LoadStage
    from warehouse.store import Warehouse

    tick = 1.0 / compress
    seconds = minutes * 60 * tick
    store = Warehouse(workdir / ("streamed.duckdb" if stream else "kept.duckdb"))
    campaign = _campaign(url, endpoints, rate, seconds)
    loaded = LoadedCampaign(path=workdir / "soak.yaml", campaign=campaign, sha256="x", text="", feeders={})

    def streaming(plan, n, on_result, on_batch=None):  # the stage's own runner, time-compressed
        return run_local(plan, n, on_result=on_result, on_batch=on_batch, tick=tick)

    def keeping(plan, n, on_result):  # a runner that does not stream: shards keep every row
        return run_local(plan, n, on_result=on_result, tick=tick)

    ctx = RunContext(loaded=loaded, env_name="dev", run_id=f"soak-{'stream' if stream else 'keep'}", out_dir=workdir,
                     write_rows=store.write_rows,
                     options={"shards": shards, "load_runner": streaming if stream else keeping})
    t0 = time.monotonic()
    with Sampler() as sampler:
        result = asyncio.run(LoadStage().run(ctx))
        store.record_stage(ctx.run_id, result)
    wall = time.monotonic() - t0
    marks: dict[int, dict[str, float]] = {}
    for m in MARKS:
        if m > minutes:
            continue
        s = _at(sampler.samples, 1.5 + m * 60 * tick)  # ~1.5 s of start-up before the first send
        if s is not None:
            marks[m] = {"coordinator": round(s["me"], 1), "shards": round(sum(s["shards"].values()), 1),
                        "shard_max": round(max(s["shards"].values(), default=0.0), 1)}
    rows = store.fetchall("SELECT count(*) FROM load_timeseries WHERE run_id = ?", [ctx.run_id])[0][0]
    hists = store.fetchall("SELECT count(*) FROM load_histograms WHERE run_id = ?", [ctx.run_id])[0][0]
    s = result.summary
    return {"stream": stream, "minutes": minutes, "compress": compress, "wall_s": round(wall, 1), "marks": marks,
            "requests": s.get("requests"), "planned": s.get("planned_arrivals"), "status": result.status,
            "trustworthy": s.get("trustworthy"), "reasons": s.get("reasons"), "timeseries_rows": rows,
            "histogram_rows": hists, "warehouse_mb": round(os.path.getsize(store.path) / 2**20, 1),
            "samples": sampler.samples}


def _print(doc: dict[str, Any]) -> None:
    label = "streaming (this release)" if doc["stream"] else "peer: shards keep their rows"
    print(f"\n{label}: {doc['minutes']:g} equivalent minutes in {doc['wall_s']:.0f} s; requests {doc['requests']} "
          f"of {doc['planned']:.0f} planned; status {doc['status']}, trustworthy {doc['trustworthy']}")
    print(f"  {'minute':>8}{'coordinator MiB':>18}{'shards MiB':>12}{'largest shard':>15}")
    for m, v in doc["marks"].items():
        print(f"  {m:>8}{v['coordinator']:>18.1f}{v['shards']:>12.1f}{v['shard_max']:>15.1f}")
    marks = doc["marks"]
    if len(marks) >= 2:
        first, last = marks[min(marks)], marks[max(marks)]
        for who in ("coordinator", "shards"):
            growth = (last[who] - first[who]) / first[who] if first[who] else 0.0
            doc[f"growth_{who}"] = growth
            verdict = "meets" if growth < 0.10 else "MISSES"
            print(f"  {who} RSS {min(marks)}→{max(marks)} min: {growth:+.1%} ({verdict} the < 10 % target)")
    print(f"  warehouse: {doc['timeseries_rows']} per-second rows, {doc['histogram_rows']} interval histograms, "
          f"{doc['warehouse_mb']} MiB")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10 equivalent minutes, no peer")
    ap.add_argument("--minutes", type=float, default=60, help="equivalent minutes of soak")
    ap.add_argument("--compress", type=float, default=12, help="equivalent seconds per wall second")
    ap.add_argument("--endpoints", type=int, default=100)
    ap.add_argument("--rate", type=float, default=4000, help="requests/s (wall clock), all endpoints")
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--no-peer", action="store_true")
    args = ap.parse_args(argv)
    minutes = 10 if args.quick else args.minutes
    peer = not (args.no_peer or args.quick)
    print(f"soak: {args.endpoints} endpoints, {args.rate:.0f} req/s on {args.shards} local shards, "
          f"{minutes:g} minutes compressed {args.compress:g}x ({machine_note()})")
    out: dict[str, Any] = {}
    with nginx(cpu=None) as url, tempfile.TemporaryDirectory(prefix="pc-soak-") as tmp:
        out["streaming"] = run_soak(url, endpoints=args.endpoints, rate=args.rate, minutes=minutes,
                                    compress=args.compress, shards=args.shards, stream=True, workdir=Path(tmp))
        _print(out["streaming"])
        if peer:
            out["peer"] = run_soak(url, endpoints=args.endpoints, rate=args.rate, minutes=minutes,
                                   compress=args.compress, shards=args.shards, stream=False, workdir=Path(tmp))
            _print(out["peer"])
    save("soak", out)
    return out


if __name__ == "__main__":
    main()
