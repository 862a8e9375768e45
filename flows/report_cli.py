"""``perfcampaign report`` and ``perfcampaign notify``: the report and the Slack outbox after the fact.

    perfcampaign report [--campaign C] [--env E]... [--since 30d] [--run-id R]... [--out DIR] [--json]
    perfcampaign notify --pending [--include-failed] [--json]      # send what Slack refused earlier
    perfcampaign notify --id NOTIFICATION_ID                       # send one kept message (even skipped)
    perfcampaign notify --list                                     # the outbox, newest first

``report`` rebuilds the executive summary from the warehouse: the run document the warehouse's
reader rebuilds (``warehouse.documents``), the same verdict rules as the run's own. The end of a
run (report, Slack, JUnit, artifacts…) is ``flows.outputs``; :func:`print_outputs` prints what the
outputs did, after the run's summary table.

Exit codes: 0 done; 2 bad input (no such campaign or run, an unreadable ``--since``); 3 the warehouse
cannot be read, or a Slack message is still not delivered.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import click

from campaigns.vocabulary import ExitCode
from flows.console import Failure, open_store, parse_since
from tasks.document import RunDocument


def flow_run_url(flow_run_id: str | None) -> str | None:
    """The Prefect UI page of a flow run, when a UI is configured (not with a temporary server)."""
    if not flow_run_id or not os.environ.get("PREFECT_API_URL") and not os.environ.get("PREFECT_UI_URL"):
        return None
    try:
        from prefect.utilities.urls import url_for

        return url_for("flow-run", obj_id=flow_run_id)
    except Exception:  # noqa: BLE001 - a link is a nicety
        return None


def print_outputs(doc: RunDocument, console: Any) -> None:
    """After the run's summary table: where the report went, what Slack said, what failed (a rich Console)."""
    def say(text: str, style: str = "") -> None:
        console.print(text, style=style, markup=False, highlight=False)

    report = doc.report
    if report is not None and report.html:
        chart = f"   chart: {report.summary_png}" if report.summary_png else ""
        say(f"report: {report.link or report.html}{chart}   ({report.seconds:.1f} s)")
        if not report.url:
            say("        (a file: `perfcampaign serve` or notify.report_url makes it a link in Slack and Prefect)",
                "dim")
    for note in doc.notifications:
        say(f"slack {note.channel or 'webhook'}: {note.status}" + (f" ({note.error})" if note.error else ""))
    for name, status in doc.outputs.items():
        if status.status == "error":
            rebuild = f" (rebuild: {report.rebuild})" if name == "report" and report and report.rebuild else ""
            say(f"output {name} failed: {status.error}{rebuild} — the run's results are stored", "yellow")
        elif name == "junit" and status.status == "done":
            say(f"junit: {status.detail}")


# -- perfcampaign report -------------------------------------------------------------------------

@click.command()
@click.option("--campaign", help="Campaign slug (default: the campaign of the latest run).")
@click.option("--env", "environments", multiple=True, help="Environment (repeatable; default all).")
@click.option("--run-id", "run_ids", multiple=True, help="Exact runs to report (repeatable).")
@click.option("--since", default="30d", show_default=True, help="History shown in trends: 30d, 12w, a date, all.")
@click.option("--warehouse", type=click.Path(dir_okay=False), help="DuckDB file (default as `run`).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Folder for report.html and the PNGs (default <warehouse folder>/reports/<campaign>/<time>).")
@click.option("--no-png", is_flag=True, help="Only the HTML (no Chromium needed).")
@click.option("--json", "as_json", is_flag=True, help="Print the paths as one JSON document.")
def report(campaign: str | None, environments: tuple[str, ...], run_ids: tuple[str, ...], since: str,
           warehouse: str | None, out_dir: str | None, no_png: bool, as_json: bool) -> None:
    """Rebuild the executive summary (HTML + PNGs) from the warehouse."""
    from flows.outputs import OutputContext, OutputOptions, campaign_of
    from flows.outputs.report import report_url
    from tasks.report import build_report

    bound = parse_since(since)
    store = open_store(warehouse)
    started = time.perf_counter()
    try:
        doc = store.document(list(run_ids) or None, campaign, list(environments) or None)
        paths = build_report(store, doc=doc, out_dir=out_dir, since=bound, pngs=not no_png)
    except LookupError as exc:
        raise Failure(str(exc), ExitCode.BAD_INPUT) from None
    ctx = OutputContext(store=store, campaign=campaign_of(doc), options=OutputOptions(report_dir=out_dir))
    info = paths.info(report_url(paths.html, ctx))
    if as_json:
        click.echo(json.dumps(info.model_dump(mode="json"), indent=2))
        return
    click.echo(f"report: {info.link}")
    for png in paths.pngs:
        click.echo(f"png:    {png}")
    if paths.png_error:
        click.echo(f"warning: {paths.png_error}", err=True)
    click.echo(f"verdict {paths.verdict}; built in {time.perf_counter() - started:.1f} s "
               f"(PNG rendering {paths.png_seconds:.1f} s)")


# -- perfcampaign notify -------------------------------------------------------------------------

@click.command()
@click.option("--pending", is_flag=True, help="Send every summary Slack has not accepted yet.")
@click.option("--include-failed", is_flag=True, help="With --pending: also those that ran out of attempts.")
@click.option("--id", "ids", multiple=True, help="Send this kept notification (even a skipped one).")
@click.option("--list", "as_list", is_flag=True, help="List the outbox, newest first.")
@click.option("--limit", default=20, show_default=True)
@click.option("--warehouse", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def notify(pending: bool, include_failed: bool, ids: tuple[str, ...], as_list: bool, limit: int,
           warehouse: str | None, as_json: bool) -> None:
    """Send the Slack summaries kept in the warehouse (the outbox)."""
    import flows.runner  # noqa: F401 - registers the ${prefect:…} secret resolver
    from tasks.notify.outbox import deliver, send_pending

    if not (pending or ids or as_list):
        raise Failure("say what to do: --pending, --id ID or --list", ExitCode.BAD_INPUT)
    store = open_store(warehouse)
    if as_list:
        rows = store.recent_notifications(limit)
        if as_json:
            click.echo(json.dumps(rows, indent=2, default=str))
        else:
            for r in rows:
                click.echo(f"{r['notification_id']}  {r['created_at']:%Y-%m-%d %H:%M}  {r['status']:<8} "
                           f"{r['campaign']} {','.join(r['environments'])} → {r['channel'] or 'webhook'}"
                           + (f"  ({r['last_error']})" if r["last_error"] else ""))
        return
    deliveries = []
    for nid in ids:
        try:
            deliveries.append(deliver(store, nid, force=True))
        except LookupError as exc:
            raise Failure(str(exc), ExitCode.BAD_INPUT) from None
    if pending:
        deliveries += send_pending(store, include_failed=include_failed)
    if as_json:
        click.echo(json.dumps({"deliveries": [d.to_dict() for d in deliveries]}, indent=2))
    elif not deliveries:
        click.echo("nothing pending")
    else:
        for d in deliveries:
            click.echo(f"{d.notification_id}  {d.status:<8} {d.channel or 'webhook'}"
                       + (f"  ({d.error})" if d.error else ""))
    if any(d.status not in ("sent",) for d in deliveries):
        sys.exit(ExitCode.INFRA)
