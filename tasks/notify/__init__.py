"""Tell the team: one Slack message per campaign run (and channel), kept in the warehouse until sent.

    deliveries = notify_run(store, doc, campaign, flow_run_url=url)

``doc`` is the run document (``tasks.document.RunDocument``), its ``report`` filled by the report
output: the message links the report when ``report.url`` serves it, else the HTML itself goes into
the message's thread beside the summary chart. ``blocks`` formats (pure, golden-tested), ``slack``
sends (thin, injected clients), ``outbox`` keeps and retries, ``config`` is the campaign's
``notify:`` section. This package imports neither Prefect nor the warehouse: the store is handed
in (``warehouse.store.Warehouse``: its outbox queries), and a ``${prefect:…}`` token resolves
through the resolver the flow layer registers (``flows.runner``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from campaigns.types import REF
from tasks.notify.blocks import Links, Message, build_message, limit_problems
from tasks.notify.config import NotifyLevel, NotifySettings, channel_for, settings_of
from tasks.document import RunDocument
from tasks.notify.outbox import Delivery, Outgoing, deliver, enqueue, send_pending
from tasks.report.summary import VERDICTS, EnvSummary, summarize


def should_notify(level: NotifyLevel, env: EnvSummary) -> bool:
    """always: every run; on_failure: anything but a clean pass (numbers in doubt included);
    on_regression: a regression was found."""
    if level == "always":
        return True
    if level == "on_failure":
        return env.attention
    return bool(env.regressions)


def _configured(ref: str | None) -> bool:
    """Whether a reference can be resolved here: ``${env:X}`` needs X set; other kinds are tried at send."""
    if not ref:
        return False
    match = REF.fullmatch(ref.strip())
    if match and match.group(1) == "env":
        return bool(os.environ.get(match.group(2)))
    return True


def notify_run(store: Any, doc: RunDocument, campaign: Any, *, flow_run_url: str | None = None,
               client: Any = None, webhook: Any = None, trigger: str | None = None,
               send: bool = True) -> list[Delivery]:
    """Store the run's message(s) in the outbox and send them now (``send=False``: only store).

    ``campaign`` is the campaign model (for channels and its ``notify:`` section). Returns one
    delivery per message. A campaign without any channel or webhook sends nothing and stores nothing.
    """
    settings = settings_of(campaign)
    summary = summarize(doc)
    by_name = {e.name: e for e in summary.environments}
    groups: dict[tuple[str, str | None], list[str]] = {}
    for name in by_name:
        if settings.webhook:
            groups.setdefault(("webhook", None), []).append(name)
        else:
            channel = channel_for(campaign, name)
            if channel:
                groups.setdefault(("bot", channel), []).append(name)
    report = doc.report
    html = report.html if report is not None and report.html else None
    attach_html = html is not None and not (report.url if report else None)
    png = report.summary_png if report is not None else None
    deliveries = []
    for (transport, channel), names in groups.items():
        chosen = [n for n in names if should_notify(settings.level_for(n), by_name[n])]
        links = Links(report=(report.url or report.link or html) if report is not None else None,
                      flow_run=flow_run_url, report_attached=attach_html and transport == "bot")
        message = build_message(doc, environments=chosen or names, links=links, mention=settings.mention,
                                trigger=trigger)
        envs = [by_name[n] for n in (chosen or names)]
        verdict = max((e.verdict for e in envs), key=lambda v: VERDICTS[v][0])
        levels = sorted({settings.level_for(n) for n in names})
        out = Outgoing(campaign=summary.campaign, environments=chosen or names,
                       run_ids=[by_name[n].run_id for n in (chosen or names) if by_name[n].run_id],
                       transport=transport, channel=channel, level=",".join(levels), verdict=verdict,
                       message=message, flow_run_id=doc.flow_run_id,
                       attachment=Path(png) if png and settings.upload_chart and transport == "bot" else None,
                       report_html=Path(html) if html and attach_html and transport == "bot" else None,
                       token_ref=settings.token if transport == "bot" else None,
                       webhook_ref=settings.webhook if transport == "webhook" else None,
                       max_attempts=settings.max_attempts)
        if not chosen:
            deliveries.append(enqueue(store, out, status="skipped",
                                      reason=f"level {'/'.join(levels)}: nothing to report for {', '.join(names)}"))
            continue
        injected = client if transport == "bot" else webhook
        ref = out.token_ref if transport == "bot" else out.webhook_ref
        if injected is None and not _configured(ref):
            deliveries.append(enqueue(store, out, status="skipped", reason=(
                f"Slack is not set up: {ref} has no value; the message is kept "
                f"(`perfcampaign notify --id {out.id}` sends it)")))
            continue
        queued = enqueue(store, out)
        if send and queued.status == "pending":
            deliveries.append(deliver(store, out.id, client=client, webhook=webhook))
        else:
            deliveries.append(queued)
    return deliveries


__all__ = ["Delivery", "Links", "Message", "NotifySettings", "build_message", "deliver", "enqueue", "limit_problems",
           "notify_run", "send_pending", "should_notify"]
