"""The readiness test bed: real mock tools, real applications and hand-rolled mocks, each started
on loopback with a campaign and a ground-truth label per endpoint (mock / real / missing).

A :class:`Config` starts its processes inside a :class:`Bed` (one work folder, one ExitStack that
stops everything) and returns a :class:`Target`: the campaign file to run, the truth, and — for a
writable target — a way to count its objects before and after a pass (harm accounting).

Groups: ``calibration`` configurations may be used to tune the engine; ``heldout`` ones estimate
how it generalises and are reported separately (tell the engine's work nothing about them).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx
import yaml

from tests.realbed import launch

HERE = Path(__file__).resolve().parent
CONFIGS = HERE / "configs"
LABELS = ("mock", "real", "missing")
PERFCAMPAIGN = str(Path(sys.executable).with_name("perfcampaign"))


@dataclass
class Counts:
    """Objects on a target: ``deletable`` kinds the API can remove (a probe must clean them up),
    ``residue`` kinds it cannot (orders, logs: reported, not blamed)."""

    deletable: dict[str, int] = field(default_factory=dict)
    residue: dict[str, int] = field(default_factory=dict)


@dataclass
class Target:
    config: "Config"
    base_url: str
    campaign: Path
    truth: dict[str, str]
    count: Callable[[], Counts] | None = None
    #: a problem with the target's health after a pass (None: healthy)
    health: Callable[[], str | None] | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Config:
    name: str
    group: str      # calibration | heldout
    tool: str
    description: str
    start: Callable[["Bed"], Target]


class Bed:
    """One work folder and the processes started in it; shared pieces (the Prefect server, the
    specs) are started once and reused."""

    def __init__(self, work: Path | None = None) -> None:
        self.stack = contextlib.ExitStack()
        self._own_work = work is None
        self.work = Path(work or tempfile.mkdtemp(prefix="realbed-"))
        self.work.mkdir(parents=True, exist_ok=True)
        self.shared: dict[str, Any] = {}

    def __enter__(self) -> "Bed":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.stack.close()
        if self._own_work:
            shutil.rmtree(self.work, ignore_errors=True)

    def folder(self, name: str) -> Path:
        path = self.work / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self.shared:
            self.shared[key] = make()
        return self.shared[key]


# ---- helpers ------------------------------------------------------------------------------------

def read_truth(folder: Path) -> dict[str, str]:
    truth = yaml.safe_load((folder / "truth.yaml").read_text()) or {}
    bad = {k: v for k, v in truth.items() if v not in LABELS}
    if bad:
        raise ValueError(f"{folder}/truth.yaml: labels must be one of {LABELS}: {bad}")
    return truth


def write_campaign(src: Path | dict, dest: Path, base_url: str, *, keep: Callable[[dict], bool] | None = None) -> Path:
    """A copy of a campaign with every environment's base_url pointed at the running target."""
    doc = yaml.safe_load(src.read_text()) if isinstance(src, Path) else src
    for env in doc["environments"].values():
        env["base_url"] = base_url
    if keep is not None:
        doc["endpoints"] = [ep for ep in doc["endpoints"] if keep(ep)]
        doc.pop("load", None)
    dest.write_text(yaml.safe_dump(doc, sort_keys=False, width=120))
    return dest


def init_campaign(spec: Path, folder: Path, base_url: str, name: str) -> tuple[Path, list[dict[str, str]]]:
    """``perfcampaign init --openapi SPEC`` as a user runs it: the campaign and its endpoints."""
    out = folder / f"{name}.yaml"
    proc = subprocess.run([PERFCAMPAIGN, "init", "--openapi", str(spec), "--base-url", base_url, "-o", str(out),
                           "--campaign", name, "--team", "bed", "--force", "--json"],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"perfcampaign init failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return out, json.loads(proc.stdout)["endpoints"]


def json_count(url: str, key: str | None = None) -> int:
    body = httpx.get(url, timeout=10.0, trust_env=False).json()
    if key is not None:
        body = body[key]
    return len(body)


def no_5xx(urls: list[str]) -> Callable[[], str | None]:
    def check() -> str | None:
        for url in urls:
            try:
                status = httpx.get(url, timeout=10.0, trust_env=False).status_code
            except httpx.HTTPError as exc:
                return f"{url}: {type(exc).__name__}"
            if status >= 500:
                return f"{url} answered {status} after the pass"
        return None
    return check


# ---- the real shop application ------------------------------------------------------------------

def start_shop(bed: Bed, name: str = "shop", *, server_header: bool = True) -> launch.Process:
    """The real shop (FastAPI + SQLite on uvicorn); ``server_header=False`` hides uvicorn's Server header."""
    folder = bed.folder(name)
    cmd = launch.python_cmd("-m", "tests.realbed.apps.shop", "--port", "{port}", "--db", str(folder / "shop.sqlite3"))
    return launch.start(bed.stack, name, cmd + ([] if server_header else ["--no-server-header"]), folder,
                        ready_path="/api/health")


def shop_counter(db: Path) -> Callable[[], Counts]:
    def count() -> Counts:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            products = con.execute("SELECT count(*) FROM products").fetchone()[0]
            orders = con.execute("SELECT count(*) FROM orders").fetchone()[0]
        return Counts(deletable={"products": products}, residue={"orders": orders})
    return count


def shop_spec(bed: Bed) -> Path:
    def make() -> Path:
        from tests.realbed.apps.shop import make_app

        path = bed.folder("specs") / "shop-openapi.json"
        path.write_text(json.dumps(make_app(":memory:").openapi(), indent=1))
        return path
    return bed.once("shop-spec", make)


# ---- Prefect server (a real FastAPI application, 187 operations) --------------------------------

PREFECT_OBJECTS = ("flow", "flow_run", "task_run", "deployment", "deployment_schedule", "work_pool", "work_queue",
                   "worker", "block_type", "block_schema", "block_document", "concurrency_limit",
                   "concurrency_limit_v2", "variable", "artifact", "automation", "saved_search", "flow_run_input")
PREFECT_RESIDUE = ("log",)


@dataclass
class PrefectServer:
    process: launch.Process
    db: Path
    spec: Path

    @property
    def api(self) -> str:
        return self.process.url + "/api"

    def count(self) -> Counts:
        with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30)) as con:
            def n(table: str) -> int:
                return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
            return Counts(deletable={t: n(t) for t in PREFECT_OBJECTS}, residue={t: n(t) for t in PREFECT_RESIDUE})

    def events(self) -> int:
        with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30)) as con:
            return con.execute("SELECT count(*) FROM events").fetchone()[0]


def prefect_server(bed: Bed) -> PrefectServer:
    def make() -> PrefectServer:
        folder = bed.folder("prefect")
        db = folder / "prefect.db"
        env = {"PREFECT_HOME": str(folder), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "PREFECT_UI_ENABLED": "false", "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{db}",
               "PREFECT_LOGGING_SERVER_LEVEL": "WARNING"}
        proc = launch.start(bed.stack, "prefect-server",
                            [str(Path(sys.executable).with_name("prefect")), "server", "start", "--host", "127.0.0.1",
                             "--port", "{port}"], folder, ready_path="/api/health", env=env, timeout=120)
        spec = bed.folder("specs") / "prefect-openapi.json"
        spec.write_text(httpx.get(proc.url + "/api/openapi.json", timeout=30, trust_env=False).text)
        return PrefectServer(proc, db, spec)
    return bed.once("prefect", make)


def every_nth(endpoints: list[dict[str, str]], n: int) -> set[str]:
    return {ep["name"] for i, ep in enumerate(endpoints) if i % n == 0}
