"""``perfcampaign report`` and ``perfcampaign notify``, and what a run does after its last stage.

    perfcampaign report [--campaign C] [--env E]... [--since 30d] [--run-id R]... [--out DIR] [--json]
    perfcampaign notify --pending [--include-failed] [--json]      # send what Slack refused earlier
    perfcampaign notify --id NOTIFICATION_ID                       # send one kept message (even skipped)
    perfcampaign notify --list                                     # the outbox, newest first

Register them in ``flows/cli.py``::

    from flows.report_cli import notify, report
    cli.add_command(report)
    cli.add_command(notify)

:func:`publish_run` is the end of a run (the Prefect flow, and the CLI's ``--no-prefect`` path): the
HTML report and its PNGs, then the Slack message through the outbox; it returns the ``report`` and
``notifications`` entries of the run's JSON document. Neither a rendering nor a Slack failure
changes the run's verdict or exit code: each is reported in its entry.

Exit codes: 0 done; 2 bad input (no such campaign or run, an unreadable ``--since``); 3 the warehouse
cannot be read, or a Slack message is still not delivered.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import click

from campaigns.vocabulary import ExitCode
from flows.console import Failure, open_store, parse_since


def _store(path: str | None, must_exist: bool = True):
    return open_store(path, must_exist=must_exist)


def flow_run_url(flow_run_id: str | None) -> str | None:
    """The Prefect UI page of a flow run, when a UI is configured (not with a temporary server)."""
    if not flow_run_id or not os.environ.get("PREFECT_API_URL") and not os.environ.get("PREFECT_UI_URL"):
        return None
    try:
        from prefect.utilities.urls import url_for

        return url_for("flow-run", obj_id=flow_run_id)
    except Exception:  # noqa: BLE001 - a link is a nicety
        return None


def publish_run(doc: dict[str, Any], *, store: Any = None, campaign: Any = None, pngs: bool = True,
                notify: bool = True, client: Any = None, webhook: Any = None, trigger: str | None = None,
                report_dir: str | Path | None = None) -> dict[str, Any]:
    """Report and Slack for a finished run: returns ``{"report": {...}, "notifications": [...]}``."""
    import flows.runner  # noqa: F401 - registers the ${prefect:…} secret resolver
    from tasks.notify import notify_run
    from tasks.report import build_report
    from warehouse.store import Warehouse

    store = store or Warehouse(doc["warehouse"])
    url = flow_run_url(doc.get("flow_run_id"))
    if campaign is None:
        try:
            from campaigns.loader import load_campaign

            campaign = load_campaign(doc["campaign_file"]).campaign
        except Exception:  # noqa: BLE001 - changed or moved since the run: no notify settings
            campaign = None
    out: dict[str, Any] = {}
    paths = None
    try:
        paths = build_report(store, doc["campaign"], list(doc["run_ids"].values()), report_dir, doc=doc,
                             pngs=pngs, flow_run_url=url)
        out["report"] = paths.to_dict()
        out["report"]["link"] = _link(paths, campaign, doc)
    except Exception as exc:  # noqa: BLE001 - the run's results are stored; the report can be rebuilt
        out["report"] = {"error": f"{type(exc).__name__}: {exc}",
                         "rebuild": f"perfcampaign report --campaign {doc['campaign']}"}
        if os.environ.get("PERFCAMPAIGN_DEBUG"):
            traceback.print_exc()
    if not notify:
        return out
    if campaign is None:
        out["notifications"] = [{"status": "error", "error": f"cannot read {doc.get('campaign_file')} for its "
                                                            "Slack settings"}]
        return out
    try:
        deliveries = notify_run(store, doc, campaign, report=paths, flow_run_url=url, client=client,
                                webhook=webhook, trigger=trigger)
        out["notifications"] = [d.to_dict() for d in deliveries]
    except Exception as exc:  # noqa: BLE001 - Slack never costs the run
        out["notifications"] = [{"status": "error", "error": f"{type(exc).__name__}: {exc}"}]
        if os.environ.get("PERFCAMPAIGN_DEBUG"):
            traceback.print_exc()
    return out


def print_outputs(doc: dict[str, Any], console: Any) -> None:
    """After the run's summary table: where the report went and what Slack said (a rich Console)."""
    report_info = doc.get("report") or {}
    if report_info.get("html"):
        chart = f"   chart: {report_info['summary_png']}" if report_info.get("summary_png") else ""
        console.print(f"report: {report_info['html']}{chart}   ({report_info.get('seconds', 0):.1f} s)",
                      markup=False, highlight=False)
    elif report_info.get("error"):
        console.print(f"report failed: {report_info['error']} (rebuild: {report_info.get('rebuild')})",
                      style="yellow", markup=False, highlight=False)
    for note in doc.get("notifications") or []:
        console.print(f"slack {note.get('channel') or 'webhook'}: {note.get('status')}"
                      + (f" ({note['error']})" if note.get("error") else ""), markup=False, highlight=False)


def _link(paths: Any, campaign: Any, doc: dict[str, Any]) -> str:
    """The report's link for Slack and the Prefect artifact: under ``notify.report_url`` when the
    reports folder is served, else a ``file://`` URL."""
    from tasks.notify import report_link
    from tasks.notify.config import settings_of

    if campaign is not None:
        link = report_link(paths, settings_of(campaign), doc.get("warehouse"))
        if link and link.startswith(("http://", "https://")):
            return link
    return paths.html.resolve().as_uri()


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
    from tasks.report import build_report

    bound = parse_since(since)
    store = _store(warehouse)
    started = time.perf_counter()
    try:
        paths = build_report(store, campaign, list(run_ids) or None, out_dir, environments=list(environments) or None,
                             since=bound, pngs=not no_png)
    except LookupError as exc:
        raise Failure(str(exc), ExitCode.BAD_INPUT) from None
    if as_json:
        click.echo(json.dumps(paths.to_dict(), indent=2))
        return
    click.echo(f"report: {paths.html}")
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
    store = _store(warehouse)
    if as_list:
        frame = store.query("SELECT notification_id, created_at, campaign, environments, channel, transport, verdict, "
                            "status, attempts, last_error, message_ts FROM notifications ORDER BY created_at DESC "
                            "LIMIT ?", [limit])
        rows = frame.to_dicts()
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
