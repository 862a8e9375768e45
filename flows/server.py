"""The Prefect API a ``perfcampaign run`` talks to, chosen and started without making anyone wait.

In order of preference:

1. ``PREFECT_API_URL`` (the environment, or the active Prefect profile): a server you run;
2. the server ``perfcampaign prefect-server start`` keeps running (its state is in
   ``$PREFECT_HOME/perfcampaign-server.json``): started once, reused by every run, with the UI at
   http://127.0.0.1:4200 — the choice for interactive work;
3. otherwise a temporary server for this run only, as Prefect itself would start one, but started
   as soon as the campaign is known to be valid, in the background while the run is planned and
   the flow (Prefect, DuckDB, polars) imported; the run waits for it only at the end of that, with
   a spinner, and stops it when done (or when the CLI dies: ``PR_SET_PDEATHSIG``).

``perfcampaign prefect-server start|stop|status`` manages (2): ``prefect server start`` on 127.0.0.1
detached from the terminal, its log beside the state file.

Standard library only at import time (the CLI's fast paths list this module's command).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from campaigns.errors import MachineryError
from campaigns.vocabulary import ExitCode
from flows.console import Failure

STATE_NAME = "perfcampaign-server.json"
DEFAULT_PORT = 4200
#: seconds to wait for a server to answer (a busy 2-core machine has taken 45 s)
START_TIMEOUT = 180.0


class PrefectServerError(MachineryError):
    """The Prefect server could not be started or reached: exit code 3."""


def prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()


def configured_api_url() -> str | None:
    """``PREFECT_API_URL`` from the environment, else from the active Prefect profile (read as
    Prefect does, without importing Prefect)."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or prefect_home() / "profiles.toml").expanduser()
    try:
        profiles = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None
    name = os.environ.get("PREFECT_PROFILE") or profiles.get("active") or "ephemeral"
    value = profiles.get("profiles", {}).get(name, {}).get("PREFECT_API_URL")
    return str(value) if value else None


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as response:  # noqa: S310
            return response.status == 200
    except urllib.error.HTTPError as exc:  # behind an auth string the server answers, but 401 without it
        return exc.code in (401, 403)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _timeout() -> float:
    try:
        return float(os.environ.get("PERFCAMPAIGN_PREFECT_START_TIMEOUT", START_TIMEOUT))
    except ValueError:
        return START_TIMEOUT


def _tail(path: Path | None, lines: int = 12) -> str:
    if path is None:
        return ""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# -- the managed server's state ---------------------------------------------------------------------

@dataclass
class Managed:
    pid: int
    port: int
    api_url: str
    ui_url: str
    log: str
    started_at: float

    @classmethod
    def read(cls) -> Managed | None:
        try:
            data = json.loads((prefect_home() / STATE_NAME).read_text())
            return cls(**{k: data[k] for k in ("pid", "port", "api_url", "ui_url", "log", "started_at")})
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self) -> None:
        prefect_home().mkdir(parents=True, exist_ok=True)
        (prefect_home() / STATE_NAME).write_text(json.dumps(self.__dict__, indent=2))

    @staticmethod
    def forget() -> None:
        with contextlib.suppress(OSError):
            (prefect_home() / STATE_NAME).unlink()

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


# -- what a run talks to ----------------------------------------------------------------------------

@dataclass
class PrefectApi:
    """The API a run uses; ``wait`` blocks until it answers, ``stop`` ends a temporary server."""

    api_url: str
    source: str                      # configured | managed | temporary
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    started: float = field(default_factory=time.monotonic)
    ready_after: float | None = None

    def wait(self, waiting: Any = None, timeout: float | None = None) -> float:
        """Seconds waited in all (since the server was started). Raises :class:`PrefectServerError`."""
        timeout = _timeout() if timeout is None else timeout
        deadline = self.started + timeout
        while True:
            if healthy(self.api_url, timeout=1.0):
                self.ready_after = time.monotonic() - self.started
                return self.ready_after
            if self.process is not None and self.process.poll() is not None:
                raise PrefectServerError(f"the temporary Prefect server exited with code {self.process.returncode} "
                                         f"before answering:\n{_tail(self.log)}")
            if time.monotonic() > deadline:
                hint = {"temporary": "; a busy machine may need more: PERFCAMPAIGN_PREFECT_START_TIMEOUT=300",
                        "configured": " (is that server running? unset PREFECT_API_URL to use a temporary one, "
                                      "or pass --no-prefect)",
                        "managed": " (`perfcampaign prefect-server status` says more)"}.get(self.source, "")
                raise PrefectServerError(f"the Prefect API at {self.api_url} did not answer within {timeout:.0f} s"
                                         f"{hint}" + (f"\n{_tail(self.log)}" if self.log else ""))
            if waiting is not None:
                waiting.tick()
            time.sleep(0.2)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def describe(self) -> str:
        return {"configured": f"Prefect API {self.api_url} (PREFECT_API_URL)",
                "managed": f"the perfcampaign Prefect server {self.api_url} "
                           "(`perfcampaign prefect-server stop` stops it)",
                "temporary": f"a temporary Prefect server at {self.api_url}"}[self.source]


def _server_command(port: int) -> list[str]:
    """What Prefect runs for its own temporary server (``SubprocessASGIServer``), UI off."""
    return [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app", "--host",
            "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"]


def start_temporary() -> PrefectApi:
    """Start a temporary Prefect server now (it is ready 10–40 s later) and point this process's
    Prefect client at it: call before anything imports Prefect."""
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    log = Path(tempfile.mkstemp(prefix="perfcampaign-prefect-", suffix=".log")[1])
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    with log.open("wb") as out:
        process = subprocess.Popen(_server_command(port), env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    api = PrefectApi(api_url, "temporary", process, log)
    os.environ["PREFECT_API_URL"] = api_url
    # registered before Prefect is imported, so it runs after Prefect's own exit handlers (which
    # flush logs and events to this server)
    atexit.register(_stop_and_clean, api)
    return api


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, SIGTERM when the CLI dies, however it dies (kill -9
    included), so a temporary server never outlives its run."""
    if sys.platform != "linux":
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _stop_and_clean(api: PrefectApi) -> None:
    api.stop()
    if api.log is not None:
        with contextlib.suppress(OSError):
            api.log.unlink()


def choose_api() -> PrefectApi:
    """The API this run uses; a temporary server is started (in the background) when there is
    no other. Sets ``PREFECT_API_URL`` (and ``PREFECT_UI_URL`` for the managed server)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no telemetry from a closed network
    configured = configured_api_url()
    if configured:
        os.environ["PREFECT_API_URL"] = configured
        return PrefectApi(configured, "configured")
    managed = Managed.read()
    if managed is not None and managed.alive() and healthy(managed.api_url, timeout=1.0):
        os.environ["PREFECT_API_URL"] = managed.api_url
        os.environ.setdefault("PREFECT_UI_URL", managed.ui_url)
        return PrefectApi(managed.api_url, "managed")
    return start_temporary()


# -- perfcampaign prefect-server start | stop | status --------------------------------------------------------

@click.group("prefect-server")
def server() -> None:
    """A Prefect server perfcampaign starts once and reuses (start, stop, status).

    Without PREFECT_API_URL every `perfcampaign run` would start a temporary Prefect server
    (10–40 s). `perfcampaign prefect-server start` keeps one running on 127.0.0.1 (UI included) and
    every later run uses it at once; its database is Prefect's own ($PREFECT_HOME)."""


@server.command("start")
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True, help="Port on 127.0.0.1.")
@click.option("--no-ui", is_flag=True, help="API only.")
def start_command(port: int, no_ui: bool) -> None:
    """Start the server in the background and wait until it answers."""
    managed = Managed.read()
    if managed is not None and managed.alive() and healthy(managed.api_url):
        click.echo(f"already running: {managed.api_url} (UI {managed.ui_url}), pid {managed.pid}")
        return
    api_url, ui_url = f"http://127.0.0.1:{port}/api", f"http://127.0.0.1:{port}"
    if healthy(api_url, timeout=1.0):
        raise Failure(f"something already answers at {api_url}: use it with PREFECT_API_URL={api_url}, "
                      "or pick another --port", ExitCode.BAD_INPUT)
    home = prefect_home()
    home.mkdir(parents=True, exist_ok=True)
    log = home / "perfcampaign-server.log"
    command = [str(Path(sys.executable).with_name("prefect")), "server", "start", "--host", "127.0.0.1",
               "--port", str(port), "--analytics-off", "--no-ui" if no_ui else "--ui"]
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    # the UI asks its API where the browser can reach it (Prefect's default is port 4200)
    env.update(PREFECT_UI_API_URL=api_url, PREFECT_UI_URL=ui_url, PREFECT_SERVER_API_HOST="127.0.0.1",
               PREFECT_SERVER_API_PORT=str(port))
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)  # outlives this terminal's Ctrl-C
    Managed(process.pid, port, api_url, ui_url, str(log), time.time()).write()
    api = PrefectApi(api_url, "managed", process, log)
    click.echo(f"starting the Prefect server on 127.0.0.1:{port} (log {log}) …", err=True)
    try:
        waited = api.wait()
    except PrefectServerError as exc:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        Managed.forget()
        raise Failure(str(exc), ExitCode.INFRA) from None
    click.echo(f"ready in {waited:.1f} s: API {api_url}" + ("" if no_ui else f", UI {ui_url}"))
    click.echo("every `perfcampaign run` now uses it; `perfcampaign prefect-server stop` stops it")


@server.command("stop")
def stop_command() -> None:
    """Stop the server `perfcampaign prefect-server start` started."""
    managed = Managed.read()
    if managed is None or not managed.alive():
        Managed.forget()
        click.echo("not running")
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(managed.pid, signal.SIGTERM)  # the server and what it started, by its group
    deadline = time.monotonic() + 20
    while managed.alive() and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(managed.pid, os.WNOHANG)
        time.sleep(0.2)
    if managed.alive():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(managed.pid, signal.SIGKILL)
    Managed.forget()
    click.echo(f"stopped (pid {managed.pid})")


@server.command("status")
def status_command() -> None:
    """Which Prefect API a run would use now (exit 0), or that none is running (exit 1)."""
    configured = configured_api_url()
    managed = Managed.read()
    if configured:
        state = "answering" if healthy(configured) else "NOT answering"
        click.echo(f"PREFECT_API_URL={configured} ({state}): runs use it")
        raise SystemExit(0 if state == "answering" else 1)
    if managed is not None and managed.alive() and healthy(managed.api_url):
        up = time.time() - managed.started_at
        click.echo(f"running: API {managed.api_url}, UI {managed.ui_url}, pid {managed.pid}, up {up / 60:.0f} min, "
                   f"log {managed.log}")
        return
    click.echo("no server: each run starts a temporary one (`perfcampaign prefect-server start` keeps one running)")
    raise SystemExit(1)
