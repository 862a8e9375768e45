"""Hostile targets: every misbehaviour of ``tests/hostile/servers.py`` driven through every stage.

    flock /work/notes/heavy.lock .venv/bin/python -m bench.hostile             # all behaviours × stages
    .venv/bin/python -m bench.hostile --quick                                  # five behaviours
    .venv/bin/python -m bench.hostile --behaviour endless --stage load --json

For each behaviour (endless chunked body, 200 MB body, slow trickle, slow headers, a server that never
answers, resets, garbage bytes, half-closed sockets, a short body, 10 MB of headers, a gzip bomb,
a brotli bomb, JSON nested 100,000 deep, strings with lone surrogates, a 20,000-digit number, a
Location urllib cannot parse, redirects to another host and in a loop, a target killed mid-run) and each stage (readiness, smoke,
e2e — API and browser journeys — and load), one ``perfcampaign run --no-prefect`` against a
campaign whose endpoint ``hostile`` misbehaves beside a well-behaved ``ok``; its expectations read
the body (as teams write them). Every timeout is 3 s; the load is 20 req/s for 5 s.

Printed per behaviour and stage: the stage's duration against its bound (planned duration — the
same stage against the well-behaved target, measured first — + 2 × timeout) and the whole CLI
run's wall time, the peak RSS of the perfcampaign process and the peak of its whole process tree
(Playwright's driver and Chromium for e2e, load shards, a kaleido Chromium when the report renders
a PNG) as RSS and as PSS, the exit code, the stage status, rows stored in the warehouse, and
requests that reached 127.0.0.2 (the redirect target: outside every allow-list). The memory
target is judged on the tree's PSS (proportional set size: a page shared by N processes counts 1/N
in each, so the sum is what the tree really holds; RSS counts Chromium's shared pages once per
process and over-states it ~2×): ``MEM`` marks a run whose tree went over 500 MB. Targets (issue 14):
within the bound, under 500 MB, 0 requests outside the allow-list, results stored.

Runs use default settings (the campaign has no Slack channel, so the report renders no PNG);
``--png`` makes every run render summary.png too (``perfcampaign run --png``), as every run did
before PNGs became opt-in.

``--secrets`` plants a query token, an Authorization header and an X-Api-Key header, runs every
stage, and lists each output (the --json document, every warehouse table, every file the run
wrote) that still holds one (target: none).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hostile.servers import BEHAVIOURS, HostileServer, Recorder, hostile_process  # noqa: E402

STAGES = ("readiness", "smoke", "e2e", "load")
ALL = ("ok", *BEHAVIOURS, "killed")
QUICK = ("ok", "endless", "trickle", "gzip-bomb", "redirect-out", "killed")
TIMEOUT_S = 3.0
LOAD_S = 5.0
LOAD_GRACE_S = 3.0   # graceful stop of in-flight requests (= the timeout here)
MEMORY_TARGET_MB = 500
#: tables whose rows say what a stage stored
TABLES = ("runs", "stage_results", "endpoint_metrics", "readiness_checks", "smoke_checks", "journeys",
          "journey_steps", "network_calls", "load_runs", "load_shards", "load_timeseries")


def campaign(url: str, behaviour: str) -> str:
    path = "/ok" if behaviour in ("ok", "killed") else f"/{behaviour}"
    return f"""\
campaign: hostile-{behaviour}
team: qa
environments:
  dev: {{kind: dev, base_url: "{url}"}}
endpoints:
  - {{name: hostile, path: "{path}", expect: {{fields: [id]}}}}
  - {{name: ok, path: /ok, expect: {{status: [200], fields: [id]}}}}
readiness: {{timeout: {TIMEOUT_S:g}s, samples: 2}}
smoke: {{timeout: {TIMEOUT_S:g}s}}
e2e:
  options: {{request_timeout: {TIMEOUT_S:g}s, navigation_timeout: {TIMEOUT_S:g}s, action_timeout: {TIMEOUT_S:g}s}}
  api_journeys:
    - name: api
      continue_on_failure: true
      steps: [{{endpoint: hostile}}, {{endpoint: ok}}]
  browser_journeys:
    - {{name: page, start: "{path}"}}
load:
  rate: 20
  duration: {LOAD_S:g}s
  timeout: {TIMEOUT_S:g}s
  graceful_stop: {LOAD_GRACE_S:g}s
  scenarios: [{{name: mixed, steps: [{{endpoint: hostile}}, {{endpoint: ok}}]}}]
  thresholds: ["error_rate<100%"]
"""


def planned_s(stage: str) -> float:
    return LOAD_S + LOAD_GRACE_S if stage == "load" else 0.0


@dataclass
class Outcome:
    behaviour: str
    stage: str
    wall_s: float               # the whole CLI run (start-up, report, warehouse included)
    stage_s: float | None       # the stage itself, from its started_at / finished_at
    bound_s: float              # planned duration + 2 × timeout
    exit_code: int | None
    status: str | None
    main_rss_mb: float
    tree_rss_mb: float
    rows: int
    tree_pss_mb: float = 0.0    # the tree's proportional set size: shared pages (Chromium's) counted once
    browser_pss_mb: float = 0.0  # of which Playwright's driver and the Chromiums (e2e, the report's PNG)
    rows_by_table: dict[str, int] = field(default_factory=dict)
    outside_requests: int = 0
    killed_by_bench: bool = False
    error: str | None = None

    @property
    def within_bound(self) -> bool:
        return not self.killed_by_bench and self.stage_s is not None and self.stage_s <= self.bound_s


class Sampler(threading.Thread):
    """Peak RSS of a process and of its process tree, sampled every 50 ms."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        import psutil

        self.proc = psutil.Process(pid)
        self.main = 0
        self.tree = 0
        self.tree_pss = 0
        self.browser_pss = 0    # Playwright's node driver and Chromium's processes, at the tree's PSS peak
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil

        while not self.stop.wait(0.05):
            try:
                info = self.proc.memory_full_info()
                main, total, pss, browser = info.rss, info.rss, info.pss, 0
                for child in self.proc.children(recursive=True):
                    try:
                        child_info = child.memory_full_info()
                        total += child_info.rss
                        pss += child_info.pss
                        if child.name().startswith(("chrom", "node", "headless")):
                            browser += child_info.pss
                    except psutil.Error:
                        pass
            except psutil.Error:
                return
            self.main, self.tree = max(self.main, main), max(self.tree, total)
            if pss > self.tree_pss:
                self.tree_pss, self.browser_pss = pss, browser


#: extra ``perfcampaign run`` options for every run (``--png``)
EXTRA_ARGS: list[str] = []


def run_once(behaviour: str, stage: str, url: str, work: Path, startup_s: float,
             kill_target: Any = None, planned: float | None = None) -> Outcome:
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"{behaviour}-{stage}.yaml"
    path.write_text(campaign(url, behaviour))
    warehouse = work / f"{behaviour}-{stage}.duckdb"
    bound = planned_s(stage) + 2 * TIMEOUT_S + startup_s  # for the whole CLI run (the kill switch)
    env = {**os.environ, "PERFCAMPAIGN_WAREHOUSE": str(warehouse), "PYTHONPATH": str(ROOT)}
    env.pop("PREFECT_API_URL", None)
    cmd = [sys.executable, "-m", "flows.cli", "run", str(path), "--env", "dev", "--stages", stage, "--no-prefect",
           "--no-start", "--json", "-q", "--warehouse", str(warehouse), *EXTRA_ARGS]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    sampler = Sampler(proc.pid)
    sampler.start()
    if kill_target is not None:
        kill_target(started)
    killed = False
    try:
        out, err = proc.communicate(timeout=max(3 * bound, 120))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        killed = True
    wall = time.monotonic() - started
    sampler.stop.set()
    sampler.join()
    try:  # anything the run left behind (a browser, a worker) goes too
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    status, error, stage_s = None, None, None
    try:
        doc = json.loads(out) if out.strip() else {}
        env_doc = doc.get("environments", {}).get("dev") or {}
        stage_doc = env_doc.get("stages", {}).get(stage) or {}
        status = stage_doc.get("status")
        error = stage_doc.get("error") or stage_doc.get("reason") or env_doc.get("error")
        if stage_doc.get("started_at") and stage_doc.get("finished_at"):
            from datetime import datetime

            stage_s = (datetime.fromisoformat(stage_doc["finished_at"].replace("Z", "+00:00"))
                       - datetime.fromisoformat(stage_doc["started_at"].replace("Z", "+00:00"))).total_seconds()
    except (ValueError, AttributeError, IndexError):
        error = (err.strip().splitlines() or ["no output"])[-1][:160]
    if proc.returncode not in (0, 1, 2, 3) and not error:
        error = (err.strip().splitlines() or ["no output"])[-1][:160]
    rows = count_rows(warehouse)
    return Outcome(behaviour, stage, round(wall, 2), round(stage_s, 2) if stage_s is not None else None,
                   round((planned_s(stage) if planned is None else planned) + 2 * TIMEOUT_S, 2), proc.returncode, status,
                   round(sampler.main / 2**20, 1), round(sampler.tree / 2**20, 1), sum(rows.values()),
                   round(sampler.tree_pss / 2**20, 1), round(sampler.browser_pss / 2**20, 1), rows,
                   killed_by_bench=killed, error=(error or None) and str(error)[:160])


def count_rows(warehouse: Path) -> dict[str, int]:
    if not warehouse.exists():
        return {}
    from warehouse.store import Warehouse

    store = Warehouse(warehouse)
    out = {}
    for table in TABLES:
        try:
            out[table] = int(store.fetchall(f"SELECT count(*) FROM {table}")[0][0])
        except Exception:  # noqa: BLE001 - a table this version does not have
            continue
    return {k: v for k, v in out.items() if v}


def startup_seconds(work: Path) -> float:
    """The CLI's own cost (interpreter, imports, warehouse): a readiness run against a good target."""
    with HostileServer() as server:
        best = min(run_once("ok", "smoke", server.url, work / "startup", 0.0).wall_s for _ in range(2))
    return round(best, 2)


def run(behaviours: tuple[str, ...], stages: tuple[str, ...], work: Path) -> dict[str, Any]:
    startup = startup_seconds(work)
    outcomes: list[Outcome] = []
    #: a stage's planned duration: what it takes on the well-behaved target, measured first
    planned: dict[str, float] = {}
    order = ("ok", *[b for b in behaviours if b != "ok"])
    with Recorder("127.0.0.2") as outside:
        for behaviour in order:
            for stage in stages:
                before = len(outside.requests)
                if behaviour == "killed":
                    outcome = _killed_run(stage, work, startup, outside.url, planned.get(stage))
                else:
                    with HostileServer(redirect_to=outside.url + "/stolen") as server:
                        outcome = run_once(behaviour, stage, server.url, work, startup, planned=planned.get(stage))
                if behaviour == "ok":
                    planned[stage] = max(planned_s(stage), outcome.stage_s or 0.0)
                    if "ok" not in behaviours:
                        continue
                outcome.outside_requests = len(outside.requests) - before
                outcomes.append(outcome)
                print(line(outcome), flush=True)
    return {"startup_s": startup, "timeout_s": TIMEOUT_S, "planned_s": planned,
            "outcomes": [asdict(o) | {"within_bound": o.within_bound} for o in outcomes]}


def _killed_run(stage: str, work: Path, startup: float, outside: str, planned: float | None) -> Outcome:
    """The target process is SIGKILLed one second after it answered its first request."""
    with hostile_process(redirect_to=outside + "/stolen", announce=True) as (url, server):
        def killer(started: float) -> None:
            def watch() -> None:
                assert server.stdout is not None
                if server.stdout.readline():
                    time.sleep(1.0)
                    server.send_signal(signal.SIGKILL)
            threading.Thread(target=watch, daemon=True).start()

        return run_once("killed", stage, url, work, startup, kill_target=killer, planned=planned)


def line(o: Outcome) -> str:
    flag = "ok  " if o.within_bound else ("HUNG" if o.killed_by_bench else "OVER")
    mem = "" if o.tree_pss_mb <= MEMORY_TARGET_MB else " MEM"
    leak = f" OUTSIDE:{o.outside_requests}" if o.outside_requests else ""
    stage = f"{o.stage_s:6.1f}s" if o.stage_s is not None else "     -"
    return (f"{o.behaviour:<13} {o.stage:<9} {flag} stage {stage} / {o.bound_s:4.1f}s (run {o.wall_s:5.1f}s)"
            f"  rss {o.main_rss_mb:6.1f} MB"
            f" (tree {o.tree_rss_mb:6.1f}, pss {o.tree_pss_mb:6.1f}"
            + (f" of which browser {o.browser_pss_mb:5.1f}" if o.browser_pss_mb else "")
            + f"){mem}  exit {o.exit_code}  {o.status or '-':<8} rows {o.rows:5d}{leak}"
            + (f"  {o.error[:70]}" if o.error else ""))


def summary(doc: dict[str, Any]) -> None:
    outs = doc["outcomes"]
    print(f"\nA whole CLI run on a good target (start-up, report{' with its PNG' if EXTRA_ARGS else ''}, warehouse): "
          f"{doc['startup_s']} s;"
          f" bounds apply to the stage's own duration: planned (the stage on a well-behaved target: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in doc["planned_s"].items())
          + f") + 2 × {doc['timeout_s']:g} s; 'tree' adds the children (Playwright and Chromium, load shards, the"
          f" report's kaleido Chromium with --png); 'pss' is the tree's proportional set size (pages shared"
          f" between processes counted once): the {MEMORY_TARGET_MB} MB target is judged on it")
    for stage in STAGES:
        mine = [o for o in outs if o["stage"] == stage]
        if not mine:
            continue
        over = [o["behaviour"] for o in mine if not o["within_bound"]]
        heavy = [o["behaviour"] for o in mine if o["tree_pss_mb"] > MEMORY_TARGET_MB]
        print(f"  {stage:<9} within bound {len(mine) - len(over)}/{len(mine)}"
              + (f" (over: {', '.join(over)})" if over else "")
              + f"; max rss {max(o['main_rss_mb'] for o in mine):.0f} MB"
              + f" (tree: rss {max(o['tree_rss_mb'] for o in mine):.0f}, pss {max(o['tree_pss_mb'] for o in mine):.0f} MB)"
              + f"; tree pss under {MEMORY_TARGET_MB} MB {len(mine) - len(heavy)}/{len(mine)}"
              + (f" (over: {', '.join(heavy)})" if heavy else "")
              + f"; exit codes {sorted({o['exit_code'] for o in mine}, key=str)}"
              + f"; runs with no rows: {sum(1 for o in mine if o['rows'] == 0)}")
    under = sum(1 for o in outs if o["tree_pss_mb"] <= MEMORY_TARGET_MB)
    print(f"  process tree peak under {MEMORY_TARGET_MB} MB (PSS): {under}/{len(outs)} runs"
          f" (RSS: {sum(1 for o in outs if o['tree_rss_mb'] <= MEMORY_TARGET_MB)}/{len(outs)})")
    print(f"  requests outside the allow-list: {sum(o['outside_requests'] for o in outs)} (target 0)")


# ---------------------------------------------------------------------------------------------------
# planted secrets: where do they end up?
# ---------------------------------------------------------------------------------------------------

SECRETS = {"query token": "qtok-5e1f-SECRET", "Authorization": "auth-77c1-SECRET", "X-Api-Key": "key-c0ff-SECRET"}


def secrets_campaign(url: str) -> str:
    return f"""\
campaign: planted-secrets
team: qa
environments:
  dev:
    kind: dev
    base_url: "{url}"
    headers: {{Authorization: "Bearer ${{env:PLANTED_AUTH}}", X-Api-Key: "${{env:PLANTED_KEY}}"}}
endpoints:
  - {{name: ok, path: "/ok?token={SECRETS['query token']}", expect: {{fields: [id]}}}}
  - {{name: missing, path: "/nope?api_key={SECRETS['query token']}"}}
readiness: {{timeout: 3s, samples: 2}}
e2e:
  options: {{request_timeout: 3s, navigation_timeout: 5s}}
  api_journeys: [{{name: api, continue_on_failure: true, steps: [{{endpoint: ok}}, {{endpoint: missing}}]}}]
  browser_journeys: [{{name: page, start: "/ok?token={SECRETS['query token']}"}}]
load:
  rate: 10
  duration: 2s
  scenarios: [{{name: s, steps: [{{endpoint: ok}}, {{endpoint: missing}}]}}]
"""


def scan_secrets(work: Path) -> dict[str, Any]:
    """Run every single-pass stage and the load against a campaign with planted secrets, then look
    for them in the --json document, the warehouse (every table, every column) and every file the
    run wrote (reports, screenshots' folder, run.json…)."""
    from campaigns.redact import contains_secret

    work.mkdir(parents=True, exist_ok=True)
    found: dict[str, list[str]] = {}
    with HostileServer() as server:
        path = work / "secrets.yaml"
        path.write_text(secrets_campaign(server.url))
        warehouse = work / "secrets" / "warehouse.duckdb"
        warehouse.parent.mkdir(exist_ok=True)
        env = {**os.environ, "PERFCAMPAIGN_WAREHOUSE": str(warehouse), "PLANTED_AUTH": SECRETS["Authorization"],
               "PLANTED_KEY": SECRETS["X-Api-Key"]}
        env.pop("PREFECT_API_URL", None)
        proc = subprocess.run([sys.executable, "-m", "flows.cli", "run", str(path), "--env", "dev", "--no-prefect",
                               "--no-start", "--json", "-q", "--warehouse", str(warehouse)], cwd=work, env=env,
                              capture_output=True, text=True, timeout=600)
        sent = [r for r in server.requests if SECRETS["Authorization"] in r.headers.get("authorization", "")]
    secrets = list(SECRETS.values())
    for name, text in (("--json document", proc.stdout), ("stderr (progress)", proc.stderr)):
        hit = contains_secret(text, secrets)
        if hit:
            found[name] = hit
    from warehouse.store import Warehouse

    store = Warehouse(warehouse)
    tables = [r[0] for r in store.fetchall("SELECT table_name FROM information_schema.tables")]
    for table in tables:
        rows = store.fetchall(f'SELECT * FROM "{table}"')
        hit = contains_secret(json.dumps(rows, default=str), secrets)
        if hit:
            found[f"warehouse {table}"] = hit
    # the campaign file is the run's input (the user wrote the secrets there), not an output
    outputs = (p for p in work.rglob("*") if p.is_file() and p.suffix not in (".duckdb", ".wal", ".png") and p != path)
    for file in sorted(outputs):
        try:
            hit = contains_secret(file.read_text(errors="replace"), secrets)
        except OSError:
            continue
        if hit:
            found[str(file.relative_to(work))] = hit
    return {"exit_code": proc.returncode, "requests_with_credentials": len(sent), "tables": len(tables),
            "outputs_with_secrets": {k: [n for n, v in SECRETS.items() if v in hits] for k, hits in found.items()}}


def _secrets_text(doc: dict[str, Any]) -> str:
    lines = [f"planted secrets (query token, Authorization, X-Api-Key) through readiness, smoke, e2e and load "
             f"(exit {doc['exit_code']}; the target got the credentials {doc['requests_with_credentials']} times):"]
    outputs = doc["outputs_with_secrets"]
    lines.append(f"  outputs holding a secret: {len(outputs)} (target 0)")
    lines += [f"    {where}: {', '.join(names)}" for where, names in outputs.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--behaviour", action="append", choices=ALL)
    ap.add_argument("--stage", action="append", choices=STAGES)
    ap.add_argument("--quick", action="store_true", help=f"behaviours {', '.join(QUICK)}")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", type=Path, help="keep campaigns and warehouses here")
    ap.add_argument("--secrets", action="store_true", help="only the planted-secrets scan")
    ap.add_argument("--png", action="store_true", help="every run also renders the report's summary.png "
                                                       "(perfcampaign run --png: a kaleido Chromium)")
    args = ap.parse_args(argv)
    if args.png:
        EXTRA_ARGS.append("--png")
    if args.secrets:
        work = args.keep or Path(tempfile.mkdtemp(prefix="perfcampaign-secrets-"))
        doc = scan_secrets(work)
        print(json.dumps(doc, indent=2) if args.json else _secrets_text(doc))
        return 0
    behaviours = tuple(args.behaviour or (QUICK if args.quick else ALL))
    stages = tuple(args.stage or STAGES)
    work = args.keep or Path(tempfile.mkdtemp(prefix="perfcampaign-hostile-"))
    doc = run(behaviours, stages, work)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        summary(doc)
    if args.keep is None:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
