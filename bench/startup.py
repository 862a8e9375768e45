"""How long ``perfcampaign`` makes a person wait: whole processes, as a user runs them.

    python -m bench.startup [--runs 7] [--quick] [--no-run]

1. The fast paths — ``--version``, ``--help``, ``validate campaigns/demo.yaml``, ``schema`` — as
   medians of several whole-process runs of the installed ``perfcampaign`` script, interleaved
   with the peers measured in the same run: ``python -c pass`` (the floor: the interpreter alone),
   ``k6 version`` (a Go binary) and ``python -c "import polars, pyarrow, duckdb, httpx"`` (what
   every command paid before the imports became lazy). Targets: ``--help`` under 0.3 s,
   ``validate`` under 0.6 s (a busy machine stretches every figure: the load average is printed).
2. ``run --stages readiness,smoke`` of a small campaign against a service on loopback: the time to
   the first line on stderr and to the end, without Prefect (``--no-prefect``), with Prefect's
   temporary server (no ``PREFECT_API_URL``: first on a new ``PREFECT_HOME``, then again on the
   same one) and with the server ``perfcampaign prefect-server start`` keeps running. The README's
   start-up figures come from here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PERFCAMPAIGN = str(BIN / "perfcampaign")
TARGETS = {"--help": 0.3, "validate": 0.6}


#: as on a user's machine, Python may cache bytecode (the first, warm-up run writes it)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _wall(cmd: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env or ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          timeout=120)
    took = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return took


def fast_paths(runs: int) -> dict[str, list[float]]:
    """Each command ``runs`` times, round-robin, so a burst of load hits all of them alike."""
    commands: dict[str, list[str]] = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "perfcampaign --version": [PERFCAMPAIGN, "--version"],
        "perfcampaign --help": [PERFCAMPAIGN, "--help"],
        "perfcampaign validate campaigns/demo.yaml": [PERFCAMPAIGN, "validate", "campaigns/demo.yaml"],
        "perfcampaign schema": [PERFCAMPAIGN, "schema"],
        "import polars, pyarrow, duckdb, httpx": [sys.executable, "-c", "import polars, pyarrow, duckdb, httpx"],
    }
    k6 = BIN / "k6"
    if k6.exists():
        commands["k6 version"] = [str(k6), "version"]
    times: dict[str, list[float]] = {name: [] for name in commands}
    for name, cmd in commands.items():  # warm the page cache once
        _wall(cmd)
    for _ in range(runs):
        for name, cmd in commands.items():
            times[name].append(_wall(cmd))
    return times


def print_fast(times: dict[str, list[float]]) -> None:
    floor = statistics.median(times["python -c pass"])
    print(f"{'command':<44} {'median':>8} {'min':>7} {'max':>7} {'- python':>9}  target")
    for name, values in times.items():
        med = statistics.median(values)
        target = next((t for key, t in TARGETS.items() if key in name and name.startswith("perfcampaign")), None)
        verdict = "" if target is None else f"< {target:g} s {'ok' if med < target else 'MISSED'}"
        print(f"{name:<44} {med:>7.3f}s {min(values):>6.3f}s {max(values):>6.3f}s {med - floor:>+8.3f}s  {verdict}")


# -- run start-up --------------------------------------------------------------------------------------

def timed_run(args: list[str], env: dict[str, str]) -> dict[str, float | None]:
    """Seconds to the first stderr line, to "Prefect server ready", and to the end."""
    started = time.perf_counter()
    proc = subprocess.Popen([PERFCAMPAIGN, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    marks: dict[str, float | None] = {"first_line": None, "server_ready": None, "first_stage": None}
    out = threading.Thread(target=lambda: proc.stdout.read() if proc.stdout else None)
    out.start()
    assert proc.stderr is not None
    tail = []
    for line in proc.stderr:
        now = time.perf_counter() - started
        tail = (tail + [line])[-20:]
        if marks["first_line"] is None:
            marks["first_line"] = now
        if marks["server_ready"] is None and ("Prefect server ready" in line):
            marks["server_ready"] = now
        if marks["first_stage"] is None and "] readiness" in line:
            marks["first_stage"] = now
    proc.wait()
    out.join()
    marks["total"] = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"perfcampaign {' '.join(args)} exited {proc.returncode}:\n{''.join(tail)}")
    return marks


def run_startup(reps: int) -> list[tuple[str, dict[str, float | None]]]:
    sys.path.insert(0, str(ROOT))
    from tests.loopback import serve
    from tests.shop import create_shop, shop_campaign

    rows: list[tuple[str, dict[str, float | None]]] = []
    with serve(create_shop()) as url, tempfile.TemporaryDirectory(prefix="perfcampaign-bench-") as tmp:
        campaign = Path(tmp) / "shop.yaml"
        campaign.write_text(shop_campaign(url))
        base = {k: v for k, v in ENV.items() if not k.startswith("PREFECT_")}
        base.update(PERFCAMPAIGN_WAREHOUSE=str(Path(tmp) / "w.duckdb"), PERFCAMPAIGN_PROGRESS="plain")
        args = ["run", str(campaign), "--env", "dev", "--stages", "readiness,smoke"]
        for _ in range(reps):
            rows.append(("--no-prefect", timed_run([*args, "--no-prefect"], base)))
        for i in range(reps):
            home = Path(tmp) / f"prefect-home-{i}"
            env = {**base, "PREFECT_HOME": str(home)}
            rows.append(("temporary server, new PREFECT_HOME", timed_run(args, env)))
            rows.append(("temporary server, same PREFECT_HOME", timed_run(args, env)))
        home = Path(tmp) / "prefect-home-managed"
        env = {**base, "PREFECT_HOME": str(home)}
        started = time.perf_counter()
        subprocess.run([PERFCAMPAIGN, "prefect-server", "start", "--no-ui", "--port", str(_free_port())], cwd=ROOT,
                       env=env, check=True, capture_output=True, timeout=600)
        rows.append(("`perfcampaign prefect-server start` itself", {"total": time.perf_counter() - started}))
        try:
            for _ in range(reps):
                rows.append(("managed server (perfcampaign prefect-server)", timed_run(args, env)))
        finally:
            subprocess.run([PERFCAMPAIGN, "prefect-server", "stop"], cwd=ROOT, env=env, capture_output=True,
                           timeout=120)
    return rows


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def print_runs(rows: list[tuple[str, dict[str, float | None]]]) -> None:
    def fmt(v: float | None) -> str:
        return "–" if v is None else f"{v:.1f}s"

    by: dict[str, list[dict[str, float | None]]] = {}
    for name, marks in rows:
        by.setdefault(name, []).append(marks)
    print(f"{'run --stages readiness,smoke':<40} {'first line':>10} {'server ready':>13} {'first stage':>12} "
          f"{'total':>7}  (median of {max(len(v) for v in by.values())})")
    for name, marks in by.items():
        med = {k: statistics.median([m[k] for m in marks if m.get(k) is not None])
               if any(m.get(k) is not None for m in marks) else None
               for k in ("first_line", "server_ready", "first_stage", "total")}
        print(f"{name:<40} {fmt(med['first_line']):>10} {fmt(med['server_ready']):>13} {fmt(med['first_stage']):>12} "
              f"{fmt(med['total']):>7}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7, help="runs per fast-path command (median)")
    ap.add_argument("--quick", action="store_true", help="5 fast-path runs, one run start-up each")
    ap.add_argument("--no-run", action="store_true", help="only the fast paths")
    args = ap.parse_args(argv)
    runs = 5 if args.quick else args.runs
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (a busy machine stretches every figure)")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("PYTHONDONTWRITEBYTECODE is set here; measured without it, as a user's Python caches bytecode "
              "(make setup also compiles the venv's)")
    print_fast(fast_paths(runs))
    if not args.no_run:
        print()
        print_runs(run_startup(1 if args.quick else 3))
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
