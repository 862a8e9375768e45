"""The CLI answers at once: its fast paths never import the analytics, warehouse, HTTP or Prefect
stacks, listing commands imports no command, and ``run`` speaks before the heavy imports.

No timing is asserted here (the machine is shared): what is checked is *what* each command
imports, in a fresh interpreter, and the *order* of a run's first line and its heavy imports.
``bench/startup.py`` measures the seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from flows.cli import cli
from flows.lazy import LAZY_COMMANDS, LazyGroup
from tests.loopback import serve
from tests.shop import create_shop, shop_campaign

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("polars", "pyarrow", "duckdb", "httpx", "prefect", "plotly", "numpy", "kaleido", "uvloop")

PROBE = """
import json, sys
from flows.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
commands = sorted(m for m in sys.modules if m.startswith(("flows.", "tasks.", "warehouse")))
print("\\n@@" + json.dumps({{"heavy": heavy, "modules": commands}}))
"""


def imported_by(*args: str, env: dict | None = None) -> dict:
    """Run ``perfcampaign ARGS`` in a fresh interpreter; which heavy modules and which of ours it imported."""
    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env={**os.environ, **(env or {})})
    marker = proc.stdout.rindex("\n@@")
    return {**json.loads(proc.stdout[marker + 3:]), "stdout": proc.stdout[:marker], "stderr": proc.stderr}


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["validate", "campaigns/demo.yaml"], ["schema"],
                                  ["run", "--help"], ["load", "--help"], ["prefect-server", "--help"]])
def test_fast_paths_import_no_heavy_stack(args):
    seen = imported_by(*args)
    assert seen["heavy"] == [], f"perfcampaign {' '.join(args)} imported {seen['heavy']}"
    assert "Traceback" not in seen["stderr"]


def test_help_lists_every_command_without_importing_one():
    seen = imported_by("--help")
    for name in (*LAZY_COMMANDS, "run", "runs", "validate", "schema"):
        assert f"  {name} " in seen["stdout"], name
    loaded = {target.split(":")[0] for target, _ in LAZY_COMMANDS.values()}
    assert not loaded & set(seen["modules"]), loaded & set(seen["modules"])


def test_validate_still_checks_the_demo_and_schema_prints_json():
    assert imported_by("validate", "campaigns/demo.yaml")["stdout"].startswith("ok: campaigns/demo.yaml")
    schema = json.loads(imported_by("schema")["stdout"])
    assert schema["title"] == "perfcampaign campaign file" and "environments" in schema["properties"]


def test_the_listed_help_is_each_commands_own():
    """The one-line help kept for listing matches what the command itself says (as --help shows it)."""
    ctx = click.Context(cli)
    group = LazyGroup(lazy=LAZY_COMMANDS)
    for name in LAZY_COMMANDS:
        command = cli.get_command(ctx, name)
        assert isinstance(command, click.Command), name
        assert group.command_help(ctx, name, 45) == command.get_short_help_str(45), (
            f"flows/lazy.py: LAZY_COMMANDS[{name!r}] help differs from the command's docstring; copy its first "
            f"sentence: {command.get_short_help_str(1000)!r}")


def test_shell_completion_lists_commands_without_importing_them():
    env = {**os.environ, "_PERFCAMPAIGN_COMPLETE": "bash_complete", "COMP_WORDS": "perfcampaign re",
           "COMP_CWORD": "1"}
    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY)], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=60)
    out, info = proc.stdout.split("\n@@")
    names = {line.split(",")[1] for line in out.splitlines() if line.startswith("plain,")}
    assert names == {"regressions", "report"}
    assert json.loads(info)["heavy"] == []


@pytest.fixture
def shop_file(tmp_path):
    with serve(create_shop()) as url:
        path = tmp_path / "shop.yaml"
        path.write_text(shop_campaign(url))
        yield path


def _order(stderr: str, line_start: str, module: str) -> tuple[int, int]:
    """Positions (in stderr) of our first line starting ``line_start`` and of ``module``'s import."""
    lines = stderr.splitlines()
    ours = next(i for i, line in enumerate(lines) if line.startswith(line_start))
    theirs = next(i for i, line in enumerate(lines) if line.startswith("import time:")
                  and line.rsplit("|", 1)[-1].strip() == module)
    return ours, theirs


def test_run_says_what_it_runs_before_the_heavy_imports(shop_file, tmp_path):
    """``-X importtime`` writes each import to stderr as it happens, between our own lines."""
    env = {**os.environ, "PERFCAMPAIGN_WAREHOUSE": str(tmp_path / "w.duckdb"), "PERFCAMPAIGN_PROGRESS": "plain"}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "flows.cli", "run", str(shop_file), "--env",
                           "dev", "--stages", "smoke", "--no-prefect"], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ours, polars = _order(proc.stderr, "perfcampaign: campaign shop-api", "polars")
    assert ours < polars
    ours, duckdb = _order(proc.stderr, "perfcampaign: campaign shop-api", "duckdb")
    assert ours < duckdb


@pytest.mark.slow
def test_the_temporary_prefect_server_starts_before_prefect_is_imported_and_stops_after(shop_file, tmp_path):
    """No PREFECT_API_URL: the server is started first (its line comes before Prefect's import), the run
    goes through it, and nothing is left listening when the command ends."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), PERFCAMPAIGN_WAREHOUSE=str(tmp_path / "w.duckdb"),
               PERFCAMPAIGN_PROGRESS="plain", PERFCAMPAIGN_PREFECT_START_TIMEOUT="300")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "flows.cli", "run", str(shop_file), "--env",
                           "dev", "--stages", "smoke", "--json"], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ours, prefect = _order(proc.stderr, "perfcampaign: no Prefect API configured", "prefect")
    assert ours < prefect
    ready = next(line for line in proc.stderr.splitlines() if "Prefect server ready after" in line)
    assert ready
    doc = json.loads(proc.stdout)
    assert doc["status"] == "passed" and doc["flow_run_id"]
    port = int(proc.stderr.split("http://127.0.0.1:")[1].split("/")[0]) if "http://127.0.0.1:" in proc.stderr \
        else None
    from flows.server import healthy

    if port:
        assert not healthy(f"http://127.0.0.1:{port}/api", timeout=1.0)


def test_the_committed_schema_is_what_schema_prints_and_the_modelines_point_at_it():
    """Editors read ``campaigns/campaign.schema.json`` through each campaign's first line; it must be
    the schema the code accepts (after a change to the model:
    ``perfcampaign schema > campaigns/campaign.schema.json``)."""
    from flows.cli import campaign_schema

    committed = json.loads((ROOT / "campaigns" / "campaign.schema.json").read_text())
    assert committed == json.loads(json.dumps(campaign_schema())), \
        "campaigns/campaign.schema.json is stale: run `perfcampaign schema > campaigns/campaign.schema.json`"
    for path in [ROOT / "campaigns" / "demo.yaml", *(ROOT / "campaigns" / "examples").glob("*.yaml")]:
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("$schema=", 1)[1].strip()).resolve()
        assert target == (ROOT / "campaigns" / "campaign.schema.json").resolve(), (path, target)


@pytest.mark.parametrize("line, expected", [
    ("perfcampaign run campaigns/demo.yaml --env ", {"dev", "staging", "production"}),
    ("perfcampaign run campaigns/demo.yaml --env st", {"staging"}),
    ("perfcampaign run campaigns/demo.yaml --stages readiness,s", {"readiness,smoke"}),
])
def test_run_completes_the_campaigns_environments_and_the_stages(line, expected):
    words = line.split(" ")
    env = {**os.environ, "_PERFCAMPAIGN_COMPLETE": "bash_complete", "COMP_WORDS": line,
           "COMP_CWORD": str(len(words) - 1)}
    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY)], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=60)
    out, info = proc.stdout.split("\n@@")
    assert {line.split(",", 1)[1] for line in out.splitlines() if line.startswith("plain,")} == expected
    assert json.loads(info)["heavy"] == []


def test_a_temporary_server_never_outlives_the_cli_even_killed(tmp_path):
    """The CLI dies by SIGKILL (no exit handler runs): its temporary Prefect server goes with it."""
    import signal
    import time

    code = ("from flows.server import start_temporary; import time; api = start_temporary(); "
            "print(api.process.pid, flush=True); time.sleep(120)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    cli = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    server_pid = int(cli.stdout.readline())
    time.sleep(1.0)
    cli.kill()
    cli.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(server_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(server_pid, signal.SIGKILL)
    raise AssertionError("the temporary Prefect server outlived the CLI that started it")


@pytest.mark.slow
def test_the_managed_prefect_server_is_started_once_used_by_runs_and_stopped(shop_file, tmp_path):
    from flows.server import free_port, healthy

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), PERFCAMPAIGN_WAREHOUSE=str(tmp_path / "w.duckdb"),
               PERFCAMPAIGN_PROGRESS="plain", PERFCAMPAIGN_PREFECT_START_TIMEOUT="300")
    port = free_port()

    def cli(*args: str, timeout: float = 400) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True, cwd=ROOT,
                              env=env, timeout=timeout)

    assert cli("prefect-server", "status").returncode == 1
    started = cli("prefect-server", "start", "--no-ui", "--port", str(port))
    try:
        assert started.returncode == 0, started.stderr
        assert f"API http://127.0.0.1:{port}/api" in started.stdout
        assert cli("prefect-server", "status").returncode == 0
        again = cli("prefect-server", "start", "--no-ui", "--port", str(port))
        assert again.returncode == 0 and "already running" in again.stdout
        run = cli("run", str(shop_file), "--env", "dev", "--stages", "smoke", "--json")
        assert run.returncode == 0, run.stderr[-3000:]
        assert f"using the perfcampaign Prefect server http://127.0.0.1:{port}/api" in run.stderr
        assert "starting a temporary Prefect server" not in run.stderr
        assert json.loads(run.stdout)["flow_run_id"]
        assert healthy(f"http://127.0.0.1:{port}/api")             # the run leaves it running
    finally:
        stopped = cli("prefect-server", "stop", timeout=120)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not healthy(f"http://127.0.0.1:{port}/api", timeout=1.0)
    assert cli("prefect-server", "status").returncode == 1


@pytest.mark.slow
def test_a_configured_prefect_api_that_does_not_answer_is_one_line_and_exit_3(shop_file, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_API_URL="http://127.0.0.1:9/api", PREFECT_HOME=str(tmp_path / "prefect-home"),
               PERFCAMPAIGN_WAREHOUSE=str(tmp_path / "w.duckdb"), PERFCAMPAIGN_PROGRESS="plain")
    proc = subprocess.run([sys.executable, "-m", "flows.cli", "run", str(shop_file), "--env", "dev", "--stages",
                           "smoke"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.splitlines()[-1] == (
        "perfcampaign: the Prefect API at http://127.0.0.1:9/api did not answer within 15 s (is that server "
        "running? unset PREFECT_API_URL to use a temporary one, or pass --no-prefect)")
    assert "Traceback" not in proc.stderr
