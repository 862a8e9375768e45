"""The Prefect artifacts of the flow run (``flows.artifacts``): only inside a flow run."""

from __future__ import annotations

import asyncio

from flows.outputs.base import OutputContext
from tasks.document import RunDocument


class ArtifactsOutput:
    name = "artifacts"

    def enabled(self, ctx: OutputContext) -> str | None:
        if not ctx.options.artifacts:
            return "artifacts off for this run"
        return None if ctx.in_flow else "not a Prefect flow run (--no-prefect)"

    def publish(self, doc: RunDocument, ctx: OutputContext) -> str | None:
        from flows.artifacts import publish_artifacts

        ids = asyncio.run(publish_artifacts(doc))  # the manager runs in a worker thread: no loop here
        return ", ".join(sorted(ids))
