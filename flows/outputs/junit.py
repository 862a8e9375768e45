"""``--junit FILE``: the gates as JUnit XML (``flows.junit``), from the CLI and the flow alike."""

from __future__ import annotations

from flows.outputs.base import OutputContext
from tasks.document import RunDocument


class JUnitOutput:
    name = "junit"

    def enabled(self, ctx: OutputContext) -> str | None:
        return None if ctx.options.junit else "no --junit file asked for"

    def publish(self, doc: RunDocument, ctx: OutputContext) -> str | None:
        from flows.junit import write_junit

        assert ctx.options.junit is not None
        return str(write_junit(doc, ctx.options.junit))
