"""The ``perfcampaign`` command line.

Exit codes (documented in the README, relied on by CI pipelines):

    0  every gate passed
    1  a gate failed (an expectation, a threshold, a regression)
    2  bad input: an invalid campaign file, an unknown environment or stage, a refused stage
    3  the target was unreachable, or the machinery failed (warehouse, service start, …)

A user mistake is one line on stderr naming the file, line and field (or URL), never a traceback.
Set ``PERFCAMPAIGN_DEBUG=1`` to see the traceback of an internal error.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from typing import TYPE_CHECKING, Any

import click

from campaigns.errors import PerfcampaignError
from campaigns.vocabulary import STAGE_ORDER, TEST_TYPES, ExitCode
from flows.console import Failure
from flows.lazy import LazyGroup

if TYPE_CHECKING:  # the fast paths (--help, --version, validate, schema) import none of these
    from tasks.document import RunDocument

#: ``perfcampaign --version``
VERSION = "0.1.0"
#: the reapers of this process's runs (their pipes stay open until the process ends)
_WATCHDOGS: list[Any] = []


def _load(file: str) -> Any:
    from campaigns.loader import CampaignError, load_campaign

    try:
        return load_campaign(file)
    except CampaignError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(ExitCode.BAD_INPUT) from None


def _complete_envs(ctx: click.Context, incomplete: str) -> list[str]:
    """Shell completion of ``--env``: the environments of the campaign file on the line (YAML only)."""
    file = ctx.params.get("file")
    if not file:  # click has not parsed FILE while completing an option's value: read the line
        words = os.environ.get("COMP_WORDS", "").split()
        after = words[words.index("run") + 1:] if "run" in words else []
        file = next((w for w in after if w.endswith((".yaml", ".yml"))), None)
    try:
        import yaml

        with open(str(file), encoding="utf-8") as fh:
            names = list((yaml.safe_load(fh) or {}).get("environments") or {})
    except Exception:  # noqa: BLE001 - no file yet, or not one we can read: nothing to offer
        return []
    return [str(n) for n in names if str(n).startswith(incomplete)]


def _complete_stages(incomplete: str) -> list[str]:
    """Shell completion of ``--stages readiness,sm…``: the next stage name, after those given."""
    done, _, last = incomplete.rpartition(",")
    given = set(done.split(",")) if done else set()
    prefix = f"{done}," if done else ""
    return [prefix + s for s in STAGE_ORDER if s.startswith(last) and s not in given]


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, prog_name="perfcampaign")
def cli() -> None:
    """Scheduled performance campaigns: readiness, smoke, e2e, load and chaos, stored in DuckDB."""


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--env", "environments", multiple=True,
              help="Check the secrets of these environments only (default: all).")
def validate(files: tuple[str, ...], environments: tuple[str, ...]) -> None:
    """Check campaign FILES; print every problem with file:line (exit 2 if any), including what
    would fail at run time: unset ${env:NAME} references, unknown template functions, undefined
    variables, feeder columns a CSV does not have."""
    from campaigns import preflight
    from campaigns.loader import CampaignError, load_campaign

    bad = False
    for file in files:
        try:
            loaded = load_campaign(file)
        except CampaignError as exc:
            bad = True
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            continue
        unknown = [e for e in environments if e not in loaded.campaign.environments]
        problems = preflight.problems(loaded, secrets=True,
                                      environments=[e for e in environments if e not in unknown] or None)
        for env in unknown:
            click.echo(f"error: {file}: unknown environment {env!r} (the campaign has: "
                       f"{', '.join(loaded.campaign.environments)})", err=True)
        for problem in problems:
            click.echo(f"error: {problem}", err=True)
        if problems or unknown:
            bad = True
            continue
        c = loaded.campaign
        click.echo(f"ok: {file}: campaign {c.campaign} (team {c.team}), {len(c.environments)} environments, "
                   f"{len(c.endpoints)} endpoints")
    if bad:
        raise SystemExit(ExitCode.BAD_INPUT)


@cli.command()
@click.option("--run-document", is_flag=True, help="The schema of the run document `run --json` prints instead.")
def schema(run_document: bool) -> None:
    """Print the campaign file's JSON Schema (for editors: yaml-language-server)."""
    if run_document:
        from tasks.document import json_schema

        click.echo(json.dumps(json_schema(), indent=2))
        return
    click.echo(json.dumps(campaign_schema(), indent=2))


def campaign_schema() -> dict[str, Any]:
    """The campaign file's JSON Schema (``campaigns/campaign.schema.json`` is this, committed)."""
    from campaigns.model import Campaign

    doc = Campaign.model_json_schema(by_alias=True)
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["title"] = "perfcampaign campaign file"
    return doc


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--env", "environments", multiple=True, help="Environment to run (repeatable; default all).",
              shell_complete=lambda ctx, param, incomplete: _complete_envs(ctx, incomplete))
@click.option("--stages", help=f"Comma-separated stages ({','.join(STAGE_ORDER)}); default all the environment allows.",
              shell_complete=lambda ctx, param, incomplete: _complete_stages(incomplete))
@click.option("--test-type", type=click.Choice(TEST_TYPES))
@click.option("--warehouse", type=click.Path(dir_okay=False), help="DuckDB file (default $PERFCAMPAIGN_WAREHOUSE "
              "or .perfcampaign/warehouse.duckdb).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document last, on stdout.")
@click.option("--no-prefect", is_flag=True, help="Run without Prefect (no flow run, no server).")
@click.option("--no-start", is_flag=True, help="Never start the service under test.")
@click.option("--trigger", default="cli", show_default=True, help="Recorded with the run (cli, schedule, ci, …).")
@click.option("--duration-scale", type=click.FloatRange(min=0.001, max=100), help="Scale every load phase's "
              "duration (0.1 = a tenth), e.g. for a quick rehearsal.")
@click.option("--load-shards", help="Load generator processes (a number, or 'auto' for one per core).")
@click.option("--dask-address", help="Run the load shards on this Dask scheduler (as Prefect tasks).")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False),
              help="Also write the gates as JUnit XML (one test case per gate).")
@click.option("--png/--no-png", "png", default=None, help="Render the report's summary.png (a Chromium, ~450 MB "
              "for a few seconds) [default: only when the Slack message uploads it].")
@click.option("-q", "--quiet", is_flag=True, help="No live progress (the end-of-run summary still prints).")
def run(file: str, environments: tuple[str, ...], stages: str | None, test_type: str | None, warehouse: str | None,
        as_json: bool, no_prefect: bool, no_start: bool, trigger: str, duration_scale: float | None,
        load_shards: str | None, dask_address: str | None, junit_file: str | None, quiet: bool,
        png: bool | None = None) -> None:
    """Run campaign FILE: readiness → smoke → e2e → load → chaos per environment."""
    from flows.progress.display import display_for

    with display_for(quiet) as display:  # closed on every way out: a terminal never keeps a hidden cursor
        doc = _run(display, file, environments, stages, test_type, warehouse, no_prefect, no_start, trigger,
                   duration_scale, load_shards, dask_address, junit_file, png)
    _finish(doc, as_json=as_json, quiet=quiet)
    raise SystemExit(doc.exit_code)


def _run(display: Any, file: str, environments: tuple[str, ...], stages: str | None, test_type: str | None,
         warehouse: str | None, no_prefect: bool, no_start: bool, trigger: str, duration_scale: float | None,
         load_shards: str | None, dask_address: str | None, junit_file: str | None,
         png: bool | None = None) -> RunDocument:
    # what can be checked without the heavy imports comes first: a mistake costs no server start
    loaded = _load(file)
    stage_list = [s.strip() for s in stages.split(",") if s.strip()] if stages else None
    _check_names(loaded, list(environments), stage_list)
    from campaigns import preflight  # before the first request: what would fail for a reason the user controls

    problems = preflight.problems(loaded, secrets=True, environments=list(environments) or None)
    if problems:
        for problem in problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(ExitCode.BAD_INPUT)
    stage_options: dict[str, Any] = {}
    if duration_scale is not None:
        stage_options["duration_scale"] = duration_scale
    if load_shards is not None:
        if load_shards != "auto" and not (load_shards.isdigit() and int(load_shards) > 0):
            raise Failure(f"--load-shards takes a positive number or 'auto', not {load_shards!r}", ExitCode.BAD_INPUT)
        stage_options["shards"] = load_shards if load_shards == "auto" else int(load_shards)
    if dask_address:
        stage_options["dask_address"] = dask_address
    api = None
    if not no_prefect:  # a temporary server starts now, while the rest is imported and planned
        from flows.server import choose_api

        api = choose_api()
        if api.source == "temporary":
            display.say(f"no Prefect API configured: starting a temporary Prefect server ({api.api_url}) in the "
                        "background "
                        "(`perfcampaign prefect-server start` keeps one running for every run; PREFECT_API_URL uses "
                        "yours; --no-prefect runs without Prefect)")
        else:
            display.say(f"using {api.describe()}")
    display.say(f"campaign {loaded.campaign.campaign} ({file}): "
                f"{', '.join(environments or loaded.campaign.environments)}"
                + (f"; stages {', '.join(stage_list)}" if stage_list else ""))
    from flows.runner import BadInput, plan_campaign

    try:
        plans = plan_campaign(loaded, list(environments) or None, stage_list)
    except BadInput as exc:
        raise Failure.of(exc) from None
    display.say("plan: " + "; ".join(f"{env}: {', '.join(p.stage for p in plan if p.action == 'run') or 'nothing'}"
                                     for env, plan in plans.items()))
    from flows.outputs.base import OutputOptions
    from flows.runner import RunOptions
    from warehouse.store import WarehouseError

    outputs = OutputOptions(junit=junit_file, pngs=png)
    from flows import reaper

    # if this process is SIGKILLed, what the run started goes too; the reaper's pipe closes when this
    # process ends (after its temporary Prefect server stopped at exit), never before
    _WATCHDOGS.append(reaper.start())
    try:
        if no_prefect:
            from flows.audit import from_process

            audit = from_process({"campaign_file": file, "environments": list(environments) or None,
                                  "stages": stage_list, "test_type": test_type, "warehouse": warehouse,
                                  "trigger": trigger, "start_services": not no_start,
                                  "stage_options": stage_options, "outputs": outputs.model_dump(exclude_none=True),
                                  "prefect": False})
            return _run_in_process(loaded, warehouse, RunOptions(
                environments=list(environments) or None, stages=stage_list, trigger=trigger, test_type=test_type,
                start_services=not no_start, stage_options=stage_options, audit=audit), outputs, display)
        return _run_with_prefect(api, display, file, environments, stage_list, test_type, warehouse, trigger,
                                 not no_start, stage_options, outputs)
    except WarehouseError as exc:
        raise Failure.of(exc) from None


def _check_names(loaded: Any, environments: list[str], stages: list[str] | None) -> None:
    """Unknown environments and stages, said before anything starts (as ``plan_campaign`` says them)."""
    known = loaded.campaign.environments
    unknown = [e for e in environments if e not in known]
    if unknown:
        raise Failure(f"{loaded.path}: unknown environment {unknown[0]!r} (the campaign has: {', '.join(known)})",
                      ExitCode.BAD_INPUT)
    bad = [s for s in stages or [] if s not in STAGE_ORDER]
    if bad:
        raise Failure(f"unknown stage {bad[0]!r} (stages: {', '.join(STAGE_ORDER)})", ExitCode.BAD_INPUT)


def _finish(doc: RunDocument, *, as_json: bool, quiet: bool) -> None:
    """The k6-style summary per environment (kept with ``-q``), where the outputs went, the JSON."""
    from flows.console import console
    from flows.progress.summary import print_summary
    from flows.report_cli import print_outputs

    out = console(stderr=as_json)
    print_summary(doc, out)
    print_outputs(doc, console(stderr=True))
    if as_json:
        click.echo(json.dumps(doc.to_json(), indent=2, default=str))
    else:
        out.print(f"warehouse: {doc.warehouse}   run ids: " + ", ".join(f"{k}={v}" for k, v in doc.run_ids.items()),
                  highlight=False, soft_wrap=True)


def _run_in_process(loaded: Any, warehouse: str | None, options: Any, outputs: Any, display: Any) -> RunDocument:
    """``--no-prefect``: the same pipeline and the same outputs (``flows.outputs``) as the flow, in-process."""
    import asyncio

    from flows.outputs import OutputContext, build_outputs
    from flows.runner import run_campaign
    from tasks.base import ProgressEvent
    from tasks.stopping import INTERRUPTION, handle_signals
    from warehouse.store import Warehouse

    store = Warehouse(warehouse)
    manager = build_outputs()
    ctx = OutputContext(store=store, campaign=loaded.campaign, options=outputs, trigger=options.trigger)
    manager.start(ctx)

    def emit(event: ProgressEvent) -> None:
        display(event)
        manager.emit(event)

    async def main() -> Any:
        with handle_signals():  # SIGINT/SIGTERM: the run stops, is stored as interrupted, and published
            return await run_campaign(loaded, store, options, emit)

    INTERRUPTION.reset()
    try:
        report = asyncio.run(main())
        emit(ProgressEvent(loaded.campaign.campaign, "outputs", "info",
                           "writing the report, Slack and the artifacts"))
        return manager.publish(report.document(), ctx)
    finally:
        manager.stop()


def _run_with_prefect(api: Any, display: Any, file: str, environments: tuple[str, ...], stages: list[str] | None,
                      test_type: str | None, warehouse: str | None, trigger: str, start: bool,
                      stage_options: dict[str, Any], outputs: Any) -> RunDocument:
    """The Prefect flow ``campaign``, in this process, against ``api`` (waited for only now: it
    started while the campaign was loaded and Prefect imported)."""
    import asyncio

    # Prefect's own console lines stay quiet (errors only); its INFO logs still reach the API (the UI)
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "ERROR")
    from flows import campaign as campaign_flow
    from flows.server import PrefectServerError
    from tasks.document import RunDocument
    from tasks.stopping import INTERRUPTION
    from warehouse.store import default_path

    waiting = display.wait("waiting for the Prefect server" if api.source == "temporary"
                           else f"waiting for the Prefect API at {api.api_url}", since=api.started)
    try:
        waited = api.wait(waiting, timeout=None if api.source == "temporary" else 15.0)
    except PrefectServerError as exc:
        raise Failure.of(exc) from None
    waiting.done(f"Prefect server ready after {waited:.1f} s" if api.source == "temporary" else "")
    async def flow_run() -> Any:
        state = await campaign_flow.campaign(
            campaign_file=file, environments=list(environments), stages=list(stages or []),
            test_type=test_type or "campaign", warehouse=str(default_path(warehouse)), trigger=trigger,
            start_services=start, stage_options=stage_options, outputs=outputs.model_dump(), return_state=True)
        if INTERRUPTION.requested and campaign_flow.LAST_DOCUMENT:
            return campaign_flow.LAST_DOCUMENT[-1].to_json()  # stored and published before the flow run ended
        if state.is_failed() or state.is_crashed():
            raise Failure(f"the flow run ended {state.name}: {state.message}", ExitCode.INFRA)
        return await state.aresult()

    def before_the_flow(signum: int, frame: Any) -> None:
        """A signal before the flow body handles them stops the CLI; after it (Prefect hands SIGTERM
        back here once the flow run is stored) it has been dealt with already."""
        if INTERRUPTION.request(signal.Signals(signum).name):
            raise KeyboardInterrupt

    campaign_flow.PROGRESS_LISTENERS.append(display)
    campaign_flow.LAST_DOCUMENT.clear()
    INTERRUPTION.reset()
    previous = {sig: signal.signal(sig, before_the_flow) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        doc = asyncio.run(flow_run())
    except BaseException:
        # an interrupted flow run ends Crashed or Cancelled after storing and publishing the run: show it
        if INTERRUPTION.requested and campaign_flow.LAST_DOCUMENT:
            doc = campaign_flow.LAST_DOCUMENT[-1].to_json()
        else:
            raise
    finally:
        campaign_flow.PROGRESS_LISTENERS.remove(display)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return RunDocument.from_json(doc)


@cli.command()
@click.option("--campaign", help="Only this campaign.")
@click.option("--env", "environment", help="Only this environment.")
@click.option("--warehouse", type=click.Path(dir_okay=False))
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Every column, full run ids, as JSON.")
@click.option("--repair", is_flag=True, help="First mark `crashed` the runs still `running` whose process died "
              "(every run does this when it starts).")
def runs(campaign: str | None, environment: str | None, warehouse: str | None, limit: int, as_json: bool,
         repair: bool) -> None:
    """List the latest runs in the warehouse, newest first, with who or what started each."""
    from flows.console import console, open_store

    store = open_store(warehouse, missing_code=ExitCode.BAD_INPUT)
    if repair:
        from flows.repair import repair_runs

        marked = repair_runs(store)
        for run in marked:
            click.echo(f"marked crashed: run {run['run_id'][:8]} ({run['campaign']} {run['environment']}): "
                       f"{run['why']}", err=True)
        click.echo(f"repair: {len(marked)} run(s) marked crashed; "
                   f"{len(store.running_runs())} still running (alive)", err=True)
    frame = store.recent_runs(limit, campaign, environment)
    if as_json:
        click.echo(json.dumps(frame.to_dicts(), default=str, indent=2))
        return
    if frame.is_empty():
        click.echo("no runs in the warehouse" + (f" for {campaign}" if campaign else ""))
        return
    console().print(runs_table(frame.to_dicts()))


def runs_table(rows: list[dict[str, Any]]) -> Any:
    """Fits 100 columns: one line per run, the verdict, failed gates, trust, and a short run id."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, title_justify="left")
    for col, justify in (("started (UTC)", "left"), ("campaign", "left"), ("env", "left"), ("status", "left"),
                         ("failed gates", "right"), ("numbers", "left"), ("trigger", "left"), ("type", "left"),
                         ("run", "left")):
        table.add_column(col, justify=justify, no_wrap=col in ("started (UTC)", "run"))  # type: ignore[arg-type]
    styles = {"passed": "green", "failed": "red", "error": "magenta", "crashed": "magenta", "running": "cyan"}
    for r in rows:
        started = r["started_at"].strftime("%Y-%m-%d %H:%M") if r.get("started_at") else "–"
        trust = "–" if r.get("trustworthy") is None else ("ok" if r["trustworthy"] else "◇ in doubt")
        if r.get("exclude_from_analysis"):
            trust += " (excluded)"
        status = r["status"]
        table.add_row(started, r["campaign"], r["environment"], f"[{styles.get(status, '')}]{status}[/]",
                      str(r.get("failed_gates") or 0), trust, _trigger(r), r.get("test_type") or "load",
                      r["run_id"][:8])
    return table


def _trigger(row: dict[str, Any]) -> str:
    """How and by whom: ``cli alice``, ``schedule nightly-staging``, ``manual prefect:api``."""
    trigger = row.get("trigger") or ""
    who = row.get("schedule") or row.get("triggered_by") or ""
    who = who.split(":", 1)[1] if who.startswith(("user:", "schedule:")) else who
    return f"{trigger} {who}".strip()[:24]


def _shown(exc: BaseException) -> str:
    """An error's message as printed: a URL or header it quotes never shows a secret."""
    from campaigns.redact import redact_text

    return redact_text(str(exc))


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="perfcampaign", standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        click.echo("perfcampaign: interrupted", err=True)
        raise SystemExit(ExitCode.INTERRUPTED) from None
    except PerfcampaignError as exc:  # raised on purpose: its message and its exit code
        if os.environ.get("PERFCAMPAIGN_DEBUG"):
            traceback.print_exc()
        click.echo(f"perfcampaign: {_shown(exc)}", err=True)
        raise SystemExit(exc.exit_code) from None
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, exit 3
        if os.environ.get("PERFCAMPAIGN_DEBUG"):
            traceback.print_exc()
        click.echo(f"perfcampaign: internal error: {type(exc).__name__}: {_shown(exc)} "
                   f"(set PERFCAMPAIGN_DEBUG=1 for the traceback)", err=True)
        raise SystemExit(ExitCode.INFRA) from None
    except BaseException as exc:
        if getattr(exc, "signal", None) in (signal.SIGINT, signal.SIGTERM):  # Prefect's TerminationSignal
            click.echo(f"perfcampaign: interrupted by {signal.Signals(exc.signal).name}", err=True)  # type: ignore[attr-defined]
            raise SystemExit(ExitCode.INTERRUPTED) from None
        raise


if __name__ == "__main__":
    main(sys.argv[1:])
