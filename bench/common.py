"""Running tools pinned to a core and reading their figures."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.servers import taskset

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
K6 = str(VENV_BIN / "k6")
LOCUST = str(VENV_BIN / "locust")
GENERATOR_CPU = 0
SERVER_CPU = 1


def _run(cmd: list[str], **kw: Any) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run a tool; also return the CPU seconds (user + system) it and its children used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return proc, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def ours(url: str, *args: str, cpu: int | None = GENERATOR_CPU, timeout: float = 1200) -> dict[str, Any]:
    """Our engine (quick mode, one shard) pinned to ``cpu``; its --json document."""
    proc, cpu_s = _run([*taskset(cpu), sys.executable, "-m", "tasks.load", url, *args, "--json"], cwd=ROOT,
                       timeout=timeout)
    if not proc.stdout.strip():
        raise RuntimeError(f"our engine failed: {proc.stderr[-2000:]}")
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "cpu_s": cpu_s}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(text)
    v, unit = float(m.group(1)), m.group(2)
    return {"us": v / 1000, "ms": v, "s": v * 1000, "m": v * 60000}[unit]


def wrk(url: str, connections: int, duration: str, script: str | None = None,
        cpu: int | None = GENERATOR_CPU) -> dict[str, Any]:
    args = [*taskset(cpu), "wrk", "-t1", f"-c{connections}", f"-d{duration}", "--latency"]
    if script:
        args += ["-s", script]
    proc, cpu_s = _run([*args, url], timeout=600)
    out = proc.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    pct = {int(m.group(1)): _ms(m.group(2)) for m in re.finditer(r"^\s+(\d+)%\s+(\S+)$", out, re.M)}
    return {"rps": rps, "requests": total, "cpu_s": cpu_s, "p50_ms": pct.get(50), "p90_ms": pct.get(90),
            "p99_ms": pct.get(99), "raw": out}


def k6(url: str, vus: int, duration: str, cpu: int | None = GENERATOR_CPU) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "k6.js"
        script.write_text("import http from 'k6/http';\nexport const options = {discardResponseBodies: true};\n"
                          f"export default function () {{ http.get('{url}'); }}\n")
        summary = Path(tmp) / "summary.json"
        env = {**os.environ, "K6_NO_USAGE_REPORT": "true"}
        proc, cpu_s = _run([*taskset(cpu), K6, "run", "--quiet", "--no-color", "--vus", str(vus), "--duration",
                            duration, "--summary-export", str(summary), str(script)], timeout=600, env=env)
        if not summary.exists():
            raise RuntimeError(f"k6 failed: {proc.stderr[-1500:]}")
        data = json.loads(summary.read_text())
    reqs = data["metrics"]["http_reqs"]
    dur = data["metrics"]["http_req_duration"]
    return {"rps": reqs["rate"], "requests": reqs["count"], "cpu_s": cpu_s, "p50_ms": dur.get("med"),
            "p95_ms": dur.get("p(95)")}


LOCUSTFILE = """
from locust import FastHttpUser, constant, task


class Quick(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self):
        self.client.get("/")
"""


def locust(url: str, users: int, seconds: int, cpu: int | None = GENERATOR_CPU) -> dict[str, Any]:
    """Locust FastHttpUser, headless, one process (one core); figures from its summary table."""
    host = url.rstrip("/")
    with tempfile.TemporaryDirectory() as tmp:
        lf = Path(tmp) / "locustfile.py"
        lf.write_text(LOCUSTFILE)
        proc, cpu_s = _run([*taskset(cpu), LOCUST, "-f", str(lf), "--headless", "-u", str(users), "-r",
                            str(users), "-t", f"{seconds}s", "--host", host, "--only-summary"],
                           timeout=seconds + 120, cwd=tmp)
    out = proc.stdout + proc.stderr
    lines = [ln for ln in out.splitlines() if ln.strip().startswith("Aggregated")]
    if not lines:
        raise RuntimeError(f"no Locust summary: {out[-1500:]}")
    # "Aggregated  8407  0(0.00%) |  1  0  39  1 | 4156.16  0.00"
    req_part, lat_part, rate_part = lines[0].split("|")[:3]
    requests = int(req_part.split()[1])
    median = float(lat_part.split()[3])
    rps = float(rate_part.split()[0])
    return {"rps": rps, "requests": requests, "cpu_s": cpu_s, "p50_ms": median}


def save(name: str, data: dict[str, Any]) -> None:
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(data, indent=2, default=str))


def machine_note() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
