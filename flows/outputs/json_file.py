"""``run.json``: the run document beside the report (what ``--json`` prints, outputs included)."""

from __future__ import annotations

import json
from pathlib import Path

from flows.outputs.base import OutputContext
from tasks.document import OutputStatus, RunDocument


class JsonOutput:
    name = "json"

    def enabled(self, ctx: OutputContext) -> str | None:
        if not ctx.options.json_file:
            return "run.json off for this run"
        return None if doc_dir(ctx) is not None else "no report folder to write it in"

    def publish(self, doc: RunDocument, ctx: OutputContext) -> str | None:
        folder = Path(doc.report.dir) if doc.report is not None and doc.report.dir else doc_dir(ctx)
        assert folder is not None
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "run.json"
        doc.outputs[self.name] = OutputStatus(status="done", detail=str(target))  # so the file says it too
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc.to_json(), indent=2, default=str) + "\n", encoding="utf-8")
        tmp.replace(target)
        return str(target)


def doc_dir(ctx: OutputContext) -> Path | None:
    return Path(ctx.options.report_dir) if ctx.options.report_dir else ctx.reports_root
