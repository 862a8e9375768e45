"""Each environment's run to the campaign's Prometheus Pushgateway (``warehouse.prometheus``)."""

from __future__ import annotations

from flows.outputs.base import OutputContext
from tasks.document import RunDocument


class PushgatewayOutput:
    name = "pushgateway"

    def enabled(self, ctx: OutputContext) -> str | None:
        if not ctx.options.pushgateway:
            return "pushing off for this run"
        if ctx.campaign is None or getattr(ctx.campaign, "prometheus", None) is None:
            return "the campaign names no prometheus.pushgateway"
        return None

    def publish(self, doc: RunDocument, ctx: OutputContext) -> str | None:
        from tasks.report.summary import summarize
        from warehouse.prometheus import push_run_from_store

        settings = ctx.campaign.prometheus
        verdicts = {e.name: e.verdict for e in summarize(doc).environments}
        failed = []
        for name, env in doc.environments.items():
            try:
                push_run_from_store(ctx.store, env.run_id, settings.pushgateway, verdicts.get(name, env.status),
                                    job=settings.job, timeout=settings.timeout, trustworthy=env.trust.trustworthy)
            except Exception as exc:  # noqa: BLE001 - one environment's push never stops the next
                failed.append(f"{name}: {type(exc).__name__}: {exc}")
        if failed:
            raise RuntimeError(f"push to {settings.pushgateway} failed for " + "; ".join(failed))
        return f"{len(doc.environments)} run(s) pushed to {settings.pushgateway}"
