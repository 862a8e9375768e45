"""``run.json``: the run document beside the report (what ``--json`` prints, outputs included)."""

from __future__ import annotations

import json
from pathlib import Path

from flows.outputs.base import OutputContext
from tasks.document import OutputStatus, RunDocument


class JsonOutput:
    name = "json"

    def enabled(self, ctx: OutputContext) -> str | None:
        return None if ctx.options.json_file else "run.json off for this run"

    def publish(self, doc: RunDocument, ctx: OutputContext) -> str | None:
        folder = Path(doc.report.dir) if doc.report is not None and doc.report.dir else doc_dir(doc, ctx)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "run.json"
        doc.outputs[self.name] = OutputStatus(status="done", detail=str(target))  # so the file says it too
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc.to_json(), indent=2, default=str) + "\n", encoding="utf-8")
        tmp.replace(target)
        return str(target)


def doc_dir(doc: RunDocument, ctx: OutputContext) -> Path:
    """Where the report would have gone (``--out``, else ``<reports>/<campaign>/<UTC time>``)."""
    from tasks.report import default_out_dir

    return Path(ctx.options.report_dir) if ctx.options.report_dir else default_out_dir(ctx.store.path, doc.campaign)
