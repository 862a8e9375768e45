"""Fuzz the campaign loader: 10,000 generated and mutated files, each loaded in a watched worker.

    .venv/bin/python -m bench.fuzz                 # 10,000 files, 2 workers
    .venv/bin/python -m bench.fuzz --count 500 --seed 3 --json

Files come from ``tests/hostile/yamlfuzz.py``: mutations of the repository's campaign files (data
and text level), documents generated from the campaign's JSON Schema, hostile structures (alias
bombs, deep nesting, recursive anchors, unsafe tags, 1 MB lines), broken bytes, and special files
(FIFO, /dev/zero, a directory, a socket, an oversized file, feeders that are any of these).

Each file goes through what ``perfcampaign validate`` and the start of a run do with it:
``load_campaign`` (read, parse, validate, feeders), then for a valid campaign the pure consumers —
the JSON dump, every environment's stages, the load plan of every environment and test type with
each request compiled as the engine compiles it, the k6 script, and the chaos validation of every
non-production environment. A user error (``CampaignError``, ``PlanError``, ``ChaosError``…) is a
correct answer; anything else is an **internal error**. A file that takes more than 5 s is a
**hang** (its worker is killed and replaced). Workers run under a 4 GiB address-space limit.

Prints: files by kind and outcome, internal errors (grouped by exception and place), hangs, the
slowest files, max time and peak RSS. Target: 0 internal errors, 0 hangs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import select
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HANG_S = 5.0
ADDRESS_SPACE = 4 * 1024**3


# ---------------------------------------------------------------------------------------------
# the worker: one file per line on stdin, one JSON answer per line on stdout
# ---------------------------------------------------------------------------------------------


def _consume(loaded: Any, scratch: Path) -> None:
    """What a run does with a valid campaign before its first request (all pure)."""
    import random as _random

    from campaigns.load import TEST_TYPES
    from tasks.load.flow import CompiledStep
    from tasks.load.planner import PlanError, plan_load
    from campaigns.templating import MissingVariable
    from campaigns.types import UnresolvedSecret

    campaign = loaded.campaign
    json.dumps(campaign.model_dump(mode="json", by_alias=True))
    for env_name, env in campaign.environments.items():
        env.allowed_stages()
        if campaign.load is not None:
            for test_type in TEST_TYPES:
                try:
                    planned = plan_load(campaign.load, campaign, env_name, feeders=loaded.feeders,
                                        test_type=test_type, base_dir=loaded.base_dir,
                                        options={"duration_scale": 0.01} if test_type == "soak" else {})
                except (PlanError, UnresolvedSecret):
                    continue
                plan = planned.plan
                from urllib.parse import urlsplit

                parts = urlsplit(plan.base_url)
                rng = _random.Random(0)
                for sc in plan.scenarios:
                    for i, st in enumerate(sc.steps):
                        step = CompiledStep(i, st, parts.netloc, parts.path.rstrip("/"))
                        try:
                            step.data({}, rng)
                        except (MissingVariable, UnresolvedSecret):
                            pass
            _k6(campaign, env_name, loaded)
        if campaign.chaos is not None and env.kind != "production":
            _chaos(campaign, env_name, loaded, scratch)


def _k6(campaign: Any, env_name: str, loaded: Any) -> None:
    from campaigns.types import UnresolvedSecret
    from tasks.k6.script import build_script
    from tasks.load.planner import PlanError

    try:
        build_script(campaign.load, campaign, env_name, feeders=loaded.feeders, base_dir=loaded.base_dir,
                     for_run=False)
    except (PlanError, UnresolvedSecret):
        pass


def _chaos(campaign: Any, env_name: str, loaded: Any, scratch: Path) -> None:
    from tasks.chaos import experiment as validation
    from tasks.chaos.context import ChaosContext
    from tasks.chaos.errors import ChaosError

    env = campaign.environments[env_name]
    try:
        cc = ChaosContext(campaign=campaign, spec=campaign.chaos, env_name=env_name, env_kind=env.kind,
                          base_url=env.base_url, allow_hosts=list(env.allow_hosts), out_dir=scratch,
                          base_dir=loaded.base_dir, feeders=dict(loaded.feeders))
        validation.validate(cc)
    except ChaosError:
        pass


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if str(ROOT) in f.filename and "/.venv/" not in f.filename] or frames
    f = ours[-1] if ours else None
    return f"{Path(f.filename).relative_to(ROOT) if f and str(ROOT) in f.filename else f.filename if f else '?'}" \
           f":{f.lineno if f else 0}"


def worker() -> int:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    os.environ.pop("PERFCAMPAIGN_FUZZ_UNSET", None)
    from campaigns.errors import UserError
    from campaigns.loader import CampaignError, load_campaign

    # everything a check imports, imported before the first timing
    import tasks.chaos.experiment  # noqa: F401
    import tasks.k6.script  # noqa: F401
    import tasks.load.flow  # noqa: F401

    scratch = Path(tempfile.mkdtemp(prefix="fuzz-scratch-"))
    print(json.dumps({"ready": True, "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), flush=True)
    for line in sys.stdin:
        path = line.rstrip("\n")
        t0 = time.perf_counter()
        answer: dict[str, Any]
        try:
            loaded = load_campaign(path)
        except CampaignError as exc:
            bad = [str(p) for p in exc.problems if not isinstance(p.line, (int, type(None)))
                   or (p.line is not None and p.line < 1) or not str(p)]
            answer = {"outcome": "user_error", "first": str(exc.problems[0])[:200] if exc.problems else "",
                      "problems": len(exc.problems)}
            if not exc.problems or bad:
                answer = {"outcome": "internal", "error": f"CampaignError without a usable problem: {bad[:1]}",
                          "where": "campaigns/loader.py"}
        except BaseException as exc:  # noqa: BLE001 - that is what we count
            answer = {"outcome": "internal", "error": f"{type(exc).__name__}: {str(exc)[:200]}", "where": _where(exc)}
        else:
            try:
                _consume(loaded, scratch)
                answer = {"outcome": "valid"}
            except UserError as exc:
                answer = {"outcome": "user_error", "first": str(exc)[:200], "stage": "after-validation"}
            except BaseException as exc:  # noqa: BLE001
                answer = {"outcome": "internal", "error": f"after validation: {type(exc).__name__}: {str(exc)[:200]}",
                          "where": _where(exc)}
        answer["seconds"] = time.perf_counter() - t0
        answer["rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps(answer), flush=True)
    return 0


# ---------------------------------------------------------------------------------------------
# the parent: generate, dispatch with a watchdog, tally
# ---------------------------------------------------------------------------------------------


class Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.fuzz", "--worker"], cwd=ROOT, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        ready = self.read(60.0)
        if not ready or not ready.get("ready"):
            raise RuntimeError("fuzz worker did not start")
        self.baseline_kb = int(ready["rss_kb"])
        self.case: Any = None
        self.sent = 0.0

    def send(self, case: Any) -> None:
        self.case, self.sent = case, time.monotonic()
        assert self.proc.stdin is not None
        self.proc.stdin.write(str(case.path) + "\n")
        self.proc.stdin.flush()

    def read(self, timeout: float) -> dict[str, Any] | None:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.proc.stdout.readline()
        return json.loads(line) if line else {"outcome": "internal", "error": "worker died", "where": "?"}

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


def run(count: int, seed: int, workers: int, keep: Path | None) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from tests.hostile.yamlfuzz import cases

    tmp = Path(tempfile.mkdtemp(prefix="perfcampaign-fuzz-"))
    rng = random.Random(seed)
    todo = list(cases(rng, count, tmp))
    pool = [Worker() for _ in range(workers)]
    baseline_kb = max(w.baseline_kb for w in pool)
    results: list[dict[str, Any]] = []
    queue = list(todo)
    started = time.monotonic()
    for w in pool:
        if queue:
            w.send(queue.pop(0))
    busy = [w for w in pool if w.case is not None]
    while busy:
        streams = {w.proc.stdout: w for w in busy}
        wait = max(0.01, min(HANG_S - (time.monotonic() - w.sent) for w in busy))
        ready, _, _ = select.select(list(streams), [], [], wait)
        for stream in ready:
            w = streams[stream]
            answer = w.read(0.0) or {"outcome": "internal", "error": "no answer", "where": "?"}
            results.append({"kind": w.case.kind, "path": str(w.case.path), **answer})
            w.case = None
            if answer.get("error") == "worker died":
                w.kill()
                pool[pool.index(w)] = w = Worker()
            if queue:
                w.send(queue.pop(0))
        now = time.monotonic()
        for i, w in enumerate(pool):
            if w.case is not None and now - w.sent > HANG_S and w.proc.stdout not in ready:
                results.append({"kind": w.case.kind, "path": str(w.case.path), "outcome": "hang",
                                "seconds": now - w.sent, "rss_kb": 0})
                w.kill()
                pool[i] = w = Worker()
                if queue:
                    w.send(queue.pop(0))
        busy = [w for w in pool if w.case is not None]
    wall = time.monotonic() - started
    for w in pool:
        w.kill()
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        for r in results:
            if r["outcome"] in ("internal", "hang") and Path(r["path"]).is_file():
                target = keep / Path(r["path"]).name
                target.write_bytes(Path(r["path"]).read_bytes())
                r["kept"] = str(target)
    _cleanup(tmp)
    return summarize(results, baseline_kb, wall, count, seed)


def _cleanup(tmp: Path) -> None:
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)


def summarize(results: list[dict[str, Any]], baseline_kb: int, wall: float, count: int, seed: int) -> dict[str, Any]:
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for r in results:
        by_kind[r["kind"].split(":")[0]][r["outcome"]] += 1
    internal = [r for r in results if r["outcome"] == "internal"]
    hangs = [r for r in results if r["outcome"] == "hang"]
    groups = Counter(f"{r.get('where', '?')}: {r.get('error', '')[:120]}" for r in internal)
    slowest = sorted((r for r in results if r["outcome"] != "hang"), key=lambda r: -r.get("seconds", 0))[:5]
    return {
        "files": len(results), "asked": count, "seed": seed, "wall_s": round(wall, 1),
        "outcomes": dict(Counter(r["outcome"] for r in results)),
        "by_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
        "internal_errors": len(internal), "hangs": len(hangs),
        "internal_groups": groups.most_common(20),
        "hang_files": [{"kind": r["kind"], "path": r.get("kept", r["path"])} for r in hangs[:20]],
        "max_s": round(max((r.get("seconds", 0) for r in results if r["outcome"] != "hang"), default=0), 3),
        "p99_s": round(sorted(r.get("seconds", 0) for r in results)[int(len(results) * 0.99) - 1], 4) if results else 0,
        "slowest": [{"kind": r["kind"], "s": round(r.get("seconds", 0), 3), "outcome": r["outcome"],
                     "first": r.get("first", r.get("error", ""))[:100]} for r in slowest],
        "baseline_rss_mb": round(baseline_kb / 1024, 1),
        "peak_rss_mb": round(max((r.get("rss_kb", 0) for r in results), default=baseline_kb) / 1024, 1),
    }


def print_report(doc: dict[str, Any]) -> None:
    print(f"fuzzed {doc['files']} campaign files (seed {doc['seed']}) in {doc['wall_s']} s")
    print("  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(doc["outcomes"].items())))
    for kind, outcomes in doc["by_kind"].items():
        print(f"    {kind:<10} " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    print(f"  internal errors: {doc['internal_errors']}   (target 0)")
    for group, n in doc["internal_groups"]:
        print(f"    {n:5d} × {group}")
    print(f"  hangs (> {HANG_S:g} s): {doc['hangs']}   (target 0)")
    for h in doc["hang_files"]:
        print(f"    {h['kind']}: {h['path']}")
    print(f"  max time per file: {doc['max_s']} s   p99: {doc['p99_s']} s")
    for s in doc["slowest"]:
        print(f"    {s['s']:7.3f} s  {s['kind']:<24} {s['outcome']:<10} {s['first']}")
    print(f"  peak RSS of a worker: {doc['peak_rss_mb']} MB (after imports: {doc['baseline_rss_mb']} MB)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20261)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", type=Path, help="copy files that failed (internal error, hang) here")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true", help="1,000 files")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker()
    doc = run(1_000 if args.quick else args.count, args.seed, args.workers, args.keep)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print_report(doc)
    return 0 if doc["internal_errors"] == 0 and doc["hangs"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
