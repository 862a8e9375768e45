"""The Slack message (``tasks.notify``): one per run and channel, through the outbox."""

from __future__ import annotations

from flows.outputs.base import OutputContext
from tasks.document import Delivery, RunDocument


class SlackOutput:
    name = "slack"

    def enabled(self, ctx: OutputContext) -> str | None:
        if not ctx.options.notify:
            return "notifications off for this run"
        if ctx.campaign is None:
            return "the campaign file cannot be read for its Slack settings"
        return None

    def publish(self, doc: RunDocument, ctx: OutputContext) -> str | None:
        import flows.runner  # noqa: F401 - registers the ${prefect:…} secret resolver
        from tasks.notify import notify_run

        deliveries = notify_run(ctx.store, doc, ctx.campaign, flow_run_url=ctx.flow_run_url, client=ctx.slack_client,
                                webhook=ctx.slack_webhook, trigger=ctx.trigger)
        doc.notifications = [Delivery.model_validate(d.to_dict()) for d in deliveries]
        if not deliveries:
            return "no channel or webhook configured"
        return "; ".join(f"{d.channel or 'webhook'}: {d.status}" + (f" ({d.error})" if d.error else "")
                         for d in deliveries)
