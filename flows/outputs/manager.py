"""Start, feed and publish every output of a run; the one composition root the CLI and the flow share.

k6's ``output/manager.go`` in Python: :class:`OutputManager` starts the outputs in order (one that
fails to start is reported and the ones already started keep going — the run never depends on an
output), fans the progress stream out to those that listen, and at the end publishes the run
document through each in a fixed order (the report first: Slack and the artifacts link it; JSON
last: it records what the others did). An output that fails is an ``error`` entry in
``RunDocument.outputs`` and in the CLI's last lines; it never takes the others' work with it, and
never changes the run's verdict or exit code.

    manager = build_outputs()                                     # the registry, in order
    manager.start(ctx)
    report = await run_campaign(loaded, store, options, emit=manager.emit)
    doc = manager.publish(report.document(), ctx)
    manager.stop()

:func:`publish_run` is the whole of it for callers that already hold a finished document.
"""

from __future__ import annotations

import os
import time
import traceback
from typing import Any

from flows.outputs.base import Output, OutputContext, WithLifecycle, WithProgress
from tasks.base import ProgressEvent
from tasks.document import OutputStatus, RunDocument


class OutputManager:
    def __init__(self, outputs: list[Output]):
        self.outputs = list(outputs)
        self.started: list[Output] = []
        self.failed_to_start: dict[str, str] = {}

    def start(self, ctx: OutputContext) -> None:
        for output in self.outputs:
            if not isinstance(output, WithLifecycle) or output.enabled(ctx) is not None:
                continue
            try:
                output.start(ctx)
            except Exception as exc:  # noqa: BLE001 - the run goes on without this output
                self.failed_to_start[output.name] = f"{type(exc).__name__}: {exc}"
                continue
            self.started.append(output)

    def emit(self, event: ProgressEvent) -> None:
        for output in self.outputs:
            if isinstance(output, WithProgress) and output.name not in self.failed_to_start:
                try:
                    output.on_event(event)
                except Exception:  # noqa: BLE001 - progress is a nicety
                    pass

    def publish(self, doc: RunDocument, ctx: OutputContext) -> RunDocument:
        """Every output, in order; ``doc.outputs`` says what each did. Never raises."""
        for output in self.outputs:
            started = time.perf_counter()
            if output.name in self.failed_to_start:
                doc.outputs[output.name] = OutputStatus(status="error", error=self.failed_to_start[output.name])
                continue
            try:
                why_not = output.enabled(ctx)
                if why_not is not None:
                    doc.outputs[output.name] = OutputStatus(status="skipped", detail=why_not)
                    continue
                detail = output.publish(doc, ctx)
            except Exception as exc:  # noqa: BLE001 - one output never costs the others
                if os.environ.get("PERFCAMPAIGN_DEBUG"):
                    traceback.print_exc()
                doc.outputs[output.name] = OutputStatus(status="error", error=f"{type(exc).__name__}: {exc}",
                                                        seconds=round(time.perf_counter() - started, 3))
                continue
            doc.outputs[output.name] = OutputStatus(status="done", detail=detail,
                                                    seconds=round(time.perf_counter() - started, 3))
        return doc

    def stop(self) -> None:
        for output in reversed(self.started):
            try:
                output.stop()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001
                pass
        self.started.clear()


def build_outputs() -> OutputManager:
    """The registry, in publishing order: what every run gets, from the CLI or the flow."""
    from flows.outputs.artifacts import ArtifactsOutput
    from flows.outputs.json_file import JsonOutput
    from flows.outputs.junit import JUnitOutput
    from flows.outputs.pushgateway import PushgatewayOutput
    from flows.outputs.report import ReportOutput
    from flows.outputs.slack import SlackOutput

    return OutputManager([ReportOutput(), JUnitOutput(), PushgatewayOutput(), SlackOutput(), ArtifactsOutput(),
                          JsonOutput()])


def publish_run(doc: RunDocument, ctx: OutputContext, manager: OutputManager | None = None) -> RunDocument:
    """Publish a finished run through every output (the registry when ``manager`` is None)."""
    return (manager or build_outputs()).publish(doc, ctx)


def campaign_of(doc: RunDocument, loaded: Any = None) -> Any:
    """The campaign model for the outputs' settings: the loaded one, else the run's file if it still reads."""
    if loaded is not None:
        return getattr(loaded, "campaign", loaded)
    if not doc.campaign_file:
        return None
    try:
        from campaigns.loader import load_campaign

        return load_campaign(doc.campaign_file).campaign
    except Exception:  # noqa: BLE001 - changed or moved since the run: no settings
        return None
