"""The executive summary of a campaign run: one self-contained HTML file and PNGs for Slack.

    paths = build_report(store, "demo", run_ids, out_dir)      # ReportPaths(html, pngs, …)
    paths = build_report(store, doc=run_document)               # the runner's own document

``data`` reads the warehouse through the store handed in (its ``warehouse.queries``: this package
imports neither the warehouse nor DuckDB, and holds no SQL), ``summary`` decides each
environment's verdict from the run document, ``figures`` turns frames into Plotly figures, ``html``
writes the page (``sections`` renders the e2e and chaos stages) and ``png`` renders the Slack
picture with kaleido and Debian's Chromium. Reports go to
``<warehouse folder>/reports/<campaign>/<UTC timestamp>/`` unless told otherwise.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tasks.document import ReportInfo, RunDocument
from tasks.report.data import ReportData, Source, load_report_data
from tasks.report.summary import RunSummary, summarize

SUMMARY_PNG = {"width": 1200, "height": 675, "scale": 2}
TREND_PNG_WIDTH = 1000


@dataclass
class ReportPaths:
    html: Path
    pngs: list[Path] = field(default_factory=list)
    dir: Path | None = None
    seconds: float = 0.0             #: the whole build: read, figures, HTML and PNGs
    png_seconds: float = 0.0         #: kaleido's share (Chromium start included)
    png_error: str | None = None
    verdict: str | None = None

    @property
    def summary_png(self) -> Path | None:
        return next((p for p in self.pngs if p.name == "summary.png"), None)

    def info(self, url: str | None = None) -> ReportInfo:
        """The ``report`` entry of the run document; ``url`` when the reports folder is served."""
        return ReportInfo(html=str(self.html), url=url, link=url or str(self.html),
                          pngs=[str(p) for p in self.pngs],
                          summary_png=str(self.summary_png) if self.summary_png else None,
                          dir=str(self.dir or self.html.parent), seconds=round(self.seconds, 3),
                          png_seconds=round(self.png_seconds, 3), png_error=self.png_error, verdict=self.verdict)

    def to_dict(self) -> dict[str, Any]:
        return self.info().model_dump(mode="json")


def default_out_dir(warehouse_path: str | Path, campaign: str, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path(warehouse_path).parent / "reports" / campaign / stamp


def build_report(store: Source, campaign: str | None = None, run_ids: list[str] | None = None,
                 out_dir: str | Path | None = None, *, doc: RunDocument | None = None,
                 environments: list[str] | None = None, since: datetime | timedelta | None = timedelta(days=30),
                 pngs: bool = True, trend_pngs: bool = True, flow_run_url: str | None = None,
                 now: datetime | None = None) -> ReportPaths:
    """Read the runs (``run_ids``, else the latest run of each environment of ``campaign``), write
    ``report.html`` and ``summary.png`` (plus ``trend-<env>.png``) into ``out_dir``."""
    from tasks.report import figures
    from tasks.report.html import render_html
    from tasks.report.png import render_pngs

    started = time.perf_counter()
    reading = getattr(store, "reading", None)  # one connection for the report's reads, when the store can
    with reading() if reading is not None else contextlib.nullcontext():
        data: ReportData = load_report_data(store, campaign, run_ids, environments=environments, since=since,
                                            doc=doc, now=now)
    data.flow_run_url = flow_run_url
    target = Path(out_dir) if out_dir else default_out_dir(getattr(store, "path", ".perfcampaign/x"), data.campaign,
                                                          data.generated_at)
    target.mkdir(parents=True, exist_ok=True)
    html_path = target / "report.html"
    tmp = html_path.with_suffix(".html.tmp")
    tmp.write_text(render_html(data), encoding="utf-8")
    tmp.replace(html_path)
    paths = ReportPaths(html=html_path, dir=target, verdict=data.summary.verdict)
    if pngs:
        jobs: dict[str, tuple[Any, dict[str, Any]]] = {"summary": (figures.summary_figure(data), dict(SUMMARY_PNG))}
        if trend_pngs:
            for env in data.environments:
                if env.nightly is None or env.nightly["run_id"].n_unique() < 2:
                    continue
                fig = figures.trend_figure(env)
                if fig is not None:
                    jobs[f"trend-{env.name}"] = (fig, {"width": TREND_PNG_WIDTH, "height": fig.layout.height})
        rendered = render_pngs(jobs, target)
        paths.pngs, paths.png_seconds, paths.png_error = rendered.paths, rendered.seconds, rendered.error
    paths.seconds = time.perf_counter() - started
    return paths


__all__ = ["ReportPaths", "RunSummary", "build_report", "default_out_dir", "load_report_data", "summarize"]
