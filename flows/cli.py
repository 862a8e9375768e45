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

import asyncio
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from campaigns.errors import PerfcampaignError
from campaigns.loader import CampaignError, load_campaign
from campaigns.model import Campaign
from campaigns.vocabulary import STAGE_ORDER, TEST_TYPES, ExitCode
from flows.console import Failure, console, open_store
from flows.outputs.base import OutputOptions
from flows.runner import BadInput, RunOptions, plan_campaign
from tasks.base import ProgressEvent
from tasks.document import RunDocument
from warehouse.store import Warehouse, WarehouseError, default_path

err = Console(stderr=True, highlight=False)


def _load(file: str):
    try:
        return load_campaign(file)
    except CampaignError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(ExitCode.BAD_INPUT) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option("0.1.0", prog_name="perfcampaign")
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
def schema() -> None:
    """Print the campaign file's JSON Schema (for editors: yaml-language-server)."""
    doc = Campaign.model_json_schema(by_alias=True)
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["title"] = "perfcampaign campaign file"
    click.echo(json.dumps(doc, indent=2))


class Progress:
    """Live progress on stderr: one line per finished item, a spinner while a stage runs."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.status = None

    def __call__(self, event: ProgressEvent) -> None:
        if self.quiet:
            return
        style = {"stage-start": "bold", "warning": "yellow"}.get(event.kind, "")
        if event.kind == "stage-end":
            status = event.data.get("status", "")
            style = {"passed": "green", "failed": "red", "error": "red", "refused": "magenta"}.get(status, "dim")
        if event.kind == "item":
            ok = event.data.get("passed", event.data.get("verdict") == "real")
            style = "" if ok else "yellow"
        prefix = f"[{event.env}] {event.stage:<9}"
        err.print(f"{prefix} {event.message}", style=style, markup=False, soft_wrap=True)


def _stage_notes(name: str, outcome: Any) -> str:
    """One line on what a stage found, for the summary table."""
    failed = [g for g in outcome.gates if not g.passed]
    if outcome.error or failed:
        return outcome.error or "; ".join(f"{g.name}: {g.detail}" for g in failed[:3])
    summary = outcome.summary
    if name == "load" and summary.requests is not None:
        latency = summary.latency_ms
        p95 = f"p95 {latency.p95} ms, " if latency and latency.p95 is not None else ""
        notes = f"{summary.requests} requests, {summary.rps} req/s, {p95}{(summary.error_rate or 0):.2%} errors"
        if not summary.trustworthy:
            notes += " — NOT trustworthy: " + "; ".join(summary.reasons)
        return notes
    if name == "chaos" and summary.experiments:
        return "; ".join(f"{e.name}: score {e.score}, detected {e.time_to_detect_s} s, "
                         f"recovered {e.recovery_time_s} s" for e in summary.experiments)
    if name == "e2e":
        return ", ".join(f"{n} {t}" for t, n in summary.friction.items())
    if name == "readiness":
        notes = ", ".join(f"{n} {v}" for v, n in summary.verdicts.items())
        if summary.blocked:
            notes += f" — kept out of load: {', '.join(summary.blocked)}"
        return notes
    return ""


def _summary_table(doc: RunDocument) -> Table:
    """The end-of-run table, drawn from the run document ``--json`` prints."""
    table = Table(title=f"campaign {doc.campaign}: {doc.status}")
    for col in ("env", "stage", "status", "gates", "notes"):
        table.add_column(col)
    for env_name, env in doc.environments.items():
        for stage, outcome in env.stages.items():
            if not outcome.ran:
                table.add_row(env_name, stage, outcome.status, "", outcome.reason or "")
                continue
            passed = sum(g.passed for g in outcome.gates)
            table.add_row(env_name, stage, outcome.status, f"{passed}/{len(outcome.gates)}",
                          _stage_notes(stage, outcome))
    return table


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--env", "environments", multiple=True, help="Environment to run (repeatable; default all).")
@click.option("--stages", help=f"Comma-separated stages ({','.join(STAGE_ORDER)}); default all the environment allows.")
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
@click.option("-q", "--quiet", is_flag=True, help="No live progress.")
def run(file: str, environments: tuple[str, ...], stages: str | None, test_type: str | None, warehouse: str | None,
        as_json: bool, no_prefect: bool, no_start: bool, trigger: str, duration_scale: float | None,
        load_shards: str | None, dask_address: str | None, junit_file: str | None, quiet: bool) -> None:
    """Run campaign FILE: readiness → smoke → e2e → load → chaos per environment."""
    loaded = _load(file)
    stage_list = [s.strip() for s in stages.split(",") if s.strip()] if stages else None
    try:
        plan_campaign(loaded, list(environments) or None, stage_list)
    except BadInput as exc:
        raise Failure.of(exc) from None
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
    progress = Progress(quiet)
    outputs = OutputOptions(junit=junit_file)
    try:
        if no_prefect:
            doc = _run_in_process(loaded, warehouse, RunOptions(
                environments=list(environments) or None, stages=stage_list, trigger=trigger, test_type=test_type,
                start_services=not no_start, stage_options=stage_options), outputs, progress)
        else:
            doc = RunDocument.from_json(_run_with_prefect(file, environments, stage_list, test_type, warehouse,
                                                          trigger, not no_start, progress, stage_options, outputs))
    except WarehouseError as exc:
        raise Failure.of(exc) from None
    if not quiet:
        (err if as_json else Console(highlight=False)).print(_summary_table(doc))
        from flows.report_cli import print_outputs

        print_outputs(doc, err)
    if as_json:
        click.echo(json.dumps(doc.to_json(), indent=2, default=str))
    elif not quiet:
        click.echo(f"warehouse: {doc.warehouse}   run ids: " + ", ".join(f"{k}={v}" for k, v in doc.run_ids.items()))
    raise SystemExit(doc.exit_code)


def _run_in_process(loaded: Any, warehouse: str | None, options: RunOptions, outputs: OutputOptions,
                    progress: Progress) -> RunDocument:
    """``--no-prefect``: the same pipeline and the same outputs (``flows.outputs``) as the flow, in-process."""
    from flows.outputs import OutputContext, build_outputs
    from flows.runner import run_campaign

    store = Warehouse(warehouse)
    manager = build_outputs()
    ctx = OutputContext(store=store, campaign=loaded.campaign, options=outputs, trigger=options.trigger)
    manager.start(ctx)

    def emit(event: ProgressEvent) -> None:
        progress(event)
        manager.emit(event)

    try:
        report = asyncio.run(run_campaign(loaded, store, options, emit))
        return manager.publish(report.document(), ctx)
    finally:
        manager.stop()


def _run_with_prefect(file, environments, stages, test_type, warehouse, trigger, start, progress, stage_options,
                      outputs):
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no telemetry from a closed network
    from flows import campaign as campaign_flow

    campaign_flow.PROGRESS_LISTENERS.append(progress)
    try:
        doc = asyncio.run(campaign_flow.campaign(
            campaign_file=file, environments=list(environments) or None, stages=stages, test_type=test_type,
            warehouse=str(default_path(warehouse)), trigger=trigger, start_services=start,
            stage_options=stage_options, outputs=outputs.model_dump()))
    finally:
        campaign_flow.PROGRESS_LISTENERS.remove(progress)
    return doc


@cli.command()
@click.option("--campaign", help="Only this campaign.")
@click.option("--env", "environment", help="Only this environment.")
@click.option("--warehouse", type=click.Path(dir_okay=False))
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Every column, full run ids, as JSON.")
def runs(campaign: str | None, environment: str | None, warehouse: str | None, limit: int, as_json: bool) -> None:
    """List the latest runs in the warehouse, newest first."""
    store = open_store(warehouse, missing_code=ExitCode.BAD_INPUT)
    frame = store.recent_runs(limit, campaign, environment)
    if as_json:
        click.echo(json.dumps(frame.to_dicts(), default=str, indent=2))
        return
    if frame.is_empty():
        click.echo("no runs in the warehouse" + (f" for {campaign}" if campaign else ""))
        return
    console().print(runs_table(frame.to_dicts()))


def runs_table(rows: list[dict[str, Any]]) -> Table:
    """Fits 100 columns: one line per run, the verdict, failed gates, trust, and a short run id."""
    from rich import box

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
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
                      str(r.get("failed_gates") or 0), trust, r.get("trigger") or "", r.get("test_type") or "load",
                      r["run_id"][:8])
    return table


from flows.analytics_cli import exclude, regressions, trends  # noqa: E402
from flows.backlog_cli import backlog  # noqa: E402
from flows.report_cli import notify, report  # noqa: E402
from flows.serve import serve  # noqa: E402

for _command in (backlog, trends, regressions, exclude, report, notify, serve):
    cli.add_command(_command)


def _register_optional_commands() -> None:
    """Commands that later stages contribute (e.g. ``perfcampaign load`` from the load engine)."""
    import importlib

    for module, attr in (("tasks.load.quick", "load"), ("flows.import_cli", "init"),
                         ("flows.import_cli", "import_group"), ("flows.import_cli", "export_group")):
        try:
            command = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            continue
        cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    _register_optional_commands()
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
        click.echo(f"perfcampaign: {exc}", err=True)
        raise SystemExit(exc.exit_code) from None
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, exit 3
        if os.environ.get("PERFCAMPAIGN_DEBUG"):
            traceback.print_exc()
        click.echo(f"perfcampaign: internal error: {type(exc).__name__}: {exc} "
                   f"(set PERFCAMPAIGN_DEBUG=1 for the traceback)", err=True)
        raise SystemExit(ExitCode.INFRA) from None


if __name__ == "__main__":
    main(sys.argv[1:])
