"""The HTML report and its PNGs (``tasks.report``), and the link people click.

The link is an http(s) URL whenever one serves the reports folder: the campaign's
``notify.report_url`` (the team's reverse proxy in front of ``<warehouse folder>/reports``), else a
``perfcampaign serve`` running on this machine for that folder (``flows.serve.served_url``). With
neither, the report is a file: Slack gets the HTML itself in the message's thread, the Prefect
artifact says where it is and how to serve it (a browser refuses ``file://`` links from a web page).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.outputs.base import OutputContext
from tasks.document import ReportInfo, RunDocument


def report_url(html: Path, ctx: OutputContext) -> str | None:
    """The http(s) URL of ``html`` under the served reports folder, or None."""
    from flows.serve import served_url
    from tasks.notify.config import settings_of

    base = settings_of(ctx.campaign).report_url if ctx.campaign is not None else None
    base = base or served_url(ctx.reports_root)
    if not base:
        return None
    try:
        relative = html.resolve().relative_to(ctx.reports_root.resolve()).as_posix()
    except ValueError:  # written elsewhere (--out): not under the served folder
        return None
    return f"{base.rstrip('/')}/{relative}"


class ReportOutput:
    name = "report"

    def enabled(self, ctx: OutputContext) -> str | None:
        return None if ctx.options.report else "--no-report"

    def publish(self, doc: RunDocument, ctx: OutputContext) -> str | None:
        from tasks.report import build_report

        pngs = ctx.options.pngs
        if pngs is None:  # only when the Slack message will upload it: the Chromium costs ~450 MB
            from tasks.report.png import slack_uploads

            pngs = ctx.options.notify and slack_uploads(ctx.campaign, list(doc.environments)) is not None
        try:
            paths = build_report(ctx.store, doc=doc, out_dir=ctx.options.report_dir, pngs=pngs,
                                 flow_run_url=ctx.flow_run_url)
        except Exception as exc:
            doc.report = ReportInfo(error=f"{type(exc).__name__}: {exc}",
                                    rebuild=f"perfcampaign report --campaign {doc.campaign}")
            raise
        doc.report = paths.info(report_url(paths.html, ctx))
        detail: Any = doc.report.link
        if paths.png_error:
            detail = f"{detail} (PNG: {paths.png_error})"
        return str(detail)
