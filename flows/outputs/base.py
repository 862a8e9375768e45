"""The output interface (k6's ``output/types.go``, in Python): a tiny contract, opt-in capabilities.

An output turns the run document into something people or machines read: the HTML report, the
Slack message, JUnit XML, the Pushgateway's series, the Prefect artifacts, ``run.json``. Every
output is one class in its own module with:

* ``name`` — its key in ``RunDocument.outputs`` (``report``, ``slack``, ``junit``, …);
* ``enabled(ctx) -> str | None`` — ``None`` when it has work to do in this run, else why not
  (no channel configured, no ``--junit``, not inside a Prefect flow run…): reported as ``skipped``;
* ``publish(doc, ctx) -> str | None`` — do the work; it may fill its part of the document
  (``doc.report``, ``doc.notifications``) and returns a one-line detail. Raising is allowed: the
  manager turns any exception into ``OutputStatus(status="error")`` and goes on with the others.

Optional capabilities, as k6's ``WithThresholds``/``WithRunStatusUpdates``:

* ``start(ctx)`` / ``stop()`` — resources held for the whole run (a failure to start stops the
  outputs already started, and the run goes on without that output);
* ``on_event(event)`` — the live progress stream (``tasks.base.ProgressEvent``) while stages run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from tasks.base import ProgressEvent
from tasks.document import RunDocument


class OutputOptions(BaseModel):
    """What the outputs do for a run: JSON-able, so the Prefect flow takes it as a parameter."""

    model_config = ConfigDict(extra="forbid")

    report: bool = Field(True, description="Write the HTML report (and its PNGs).")
    pngs: bool | None = Field(None, description="Render summary.png and trend PNGs (a Chromium, ~450 MB for a few "
                              "seconds): None (default) only when the Slack message uploads summary.png (a bot "
                              "channel, notify.upload_chart), True always, False never.")
    report_dir: str | None = Field(None, description="Folder for the report (default <warehouse>/reports/…).")
    notify: bool = Field(True, description="Send (or keep in the outbox) the Slack message.")
    junit: str | None = Field(None, description="Write the gates as JUnit XML to this file.")
    json_file: bool = Field(True, description="Write run.json (the run document) beside the report.")
    artifacts: bool = Field(True, description="Publish Prefect artifacts when inside a flow run.")
    pushgateway: bool = Field(True, description="Push to the campaign's Pushgateway when it names one.")


@dataclass
class OutputContext:
    """Everything an output may need: one object, not a parameter per need."""

    store: Any                                      #: warehouse.store.Warehouse
    campaign: Any = None                            #: campaigns.model.Campaign (None: its file is gone)
    options: OutputOptions = field(default_factory=OutputOptions)
    trigger: str | None = None
    flow_run_url: str | None = None
    in_flow: bool = False                           #: inside a Prefect flow run (artifacts)
    slack_client: Any = None                        #: an injected slack_sdk WebClient (tests)
    slack_webhook: Any = None                       #: an injected WebhookClient (tests)

    @property
    def reports_root(self) -> Path:
        return Path(self.store.path).parent / "reports"


@runtime_checkable
class Output(Protocol):
    name: ClassVar[str]

    def enabled(self, ctx: OutputContext) -> str | None: ...

    def publish(self, doc: RunDocument, ctx: OutputContext) -> str | None: ...


@runtime_checkable
class WithLifecycle(Protocol):
    def start(self, ctx: OutputContext) -> None: ...

    def stop(self) -> None: ...


@runtime_checkable
class WithProgress(Protocol):
    def on_event(self, event: ProgressEvent) -> None: ...
