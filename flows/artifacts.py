"""Prefect artifacts of a campaign run, from the run's JSON document: what the Prefect UI shows.

Three artifacts per flow run, under stable keys (lowercase letters, digits and dashes), so each
key's history in the UI is the campaign's history:

- ``<campaign>-summary``: markdown — the verdict per environment, key numbers, failed gates,
  regressions, mocked endpoints, what was left out;
- ``<campaign>-endpoint-metrics``: a table — per environment and endpoint, readiness verdict,
  smoke status and latency, load requests, p50/p95/p99, error rate and throughput;
- ``<campaign>-report``: a link to the HTML report (Prefect has no HTML artifact): an http(s) URL
  when the reports folder is served (``notify.report_url``), else a ``file://`` URL.

The flow calls ``await publish_artifacts(doc, doc.get("report"))`` after :func:`flows.report_cli.publish_run`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tasks.report.summary import fmt_ms, fmt_pct, gate_line, regression_line, summarize

_NOT_KEY = re.compile(r"[^a-z0-9-]+")


def artifact_key(*parts: str) -> str:
    """``artifact_key("Shop_API", "summary")`` → ``"shop-api-summary"`` (Prefect's key alphabet)."""
    key = _NOT_KEY.sub("-", "-".join(parts).lower())
    return re.sub(r"-{2,}", "-", key).strip("-") or "perfcampaign"


def keys_for(campaign: str) -> dict[str, str]:
    return {"summary": artifact_key(campaign, "summary"), "table": artifact_key(campaign, "endpoint-metrics"),
            "link": artifact_key(campaign, "report")}


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def summary_markdown(doc: dict[str, Any], report: dict[str, Any] | None = None, report_url: str | None = None) -> str:
    s = summarize(doc)
    lines = [f"# {s.campaign}: {s.label}", ""]
    lines += [f"**{s.headline}** — exit code {doc.get('exit_code')}", ""]
    lines += ["| environment | verdict | p95 | errors | req/s | real endpoints | why |",
              "|---|---|---|---|---|---|---|"]
    for env in s.environments:
        n = env.numbers
        real = f"{n.verdicts.get('real', 0)}/{sum(n.verdicts.values())}" if n.verdicts else "–"
        why = env.brief if env.verdict != "passed" else ""
        kind = f" ({_md(env.kind)})" if env.kind and env.kind != env.name else ""
        lines.append(f"| {_md(env.name)}{kind} | **{env.label}** | {fmt_ms(n.p95_ms)} | "
                     f"{fmt_pct(n.error_rate)} | {'–' if n.rps is None else f'{n.rps:,.0f}'} | {real} | {_md(why)} |")
    failed = [(e.name, g) for e in s.environments for g in e.failed_gates]
    if failed:
        lines += ["", f"## Failed gates ({len(failed)})", ""]
        lines += [f"- {_md(name)} · {_md(gate_line(g))}" for name, g in failed[:30]]
    regressions = [(e.name, g) for e in s.environments for g in e.regressions]
    if regressions:
        lines += ["", f"## Regressions ({len(regressions)})", ""]
        lines += [f"- {_md(name)} · {_md(regression_line(g))}" for name, g in regressions]
    gaps = s.mocked
    if gaps:
        lines += ["", f"## Endpoints not real yet ({len(gaps)})", ""]
        lines += [f"- `{name}` in {', '.join(envs)}" for name, envs in sorted(gaps.items())]
    left_out = [(e.name, st, status, why) for e in s.environments for st, status, why in e.not_run]
    if left_out:
        lines += ["", "## Not run", ""]
        lines += [f"- {_md(env)} · {st}: {status}" + (f" — {_md(why)}" if why else "")
                  for env, st, status, why in left_out]
    link = report_link(report, report_url)
    if link:
        lines += ["", f"Report: [{Path(str((report or {}).get('html') or link)).name}]({link})"]
    return "\n".join(lines) + "\n"


def endpoint_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per environment and endpoint (load figures when load ran, smoke otherwise)."""
    rows: list[dict[str, Any]] = []
    for env_name, env in (doc.get("environments") or {}).items():
        if not env.get("endpoints"):
            load = ((env.get("stages") or {}).get("load") or {}).get("summary") or {}
            latency = load.get("latency_ms") or {}
            rows.append({"environment": env_name, "endpoint": "(whole run)", "readiness": None, "smoke": None,
                         "smoke_ms": None, "requests": load.get("requests"), "p50_ms": latency.get("p50"),
                         "p95_ms": latency.get("p95"), "p99_ms": latency.get("p99"),
                         "error_rate": load.get("error_rate"), "rps": load.get("rps")})
            continue
        for name, ep in (env.get("endpoints") or {}).items():
            load = ep.get("load") or {}
            smoke = ep.get("smoke") or {}
            rows.append({
                "environment": env_name, "endpoint": name, "readiness": ep.get("verdict"),
                "smoke": ("passed" if smoke.get("passed") else "failed" if smoke.get("gating", True) else "known gap")
                if smoke else None,
                "smoke_ms": smoke.get("latency_ms"), "requests": load.get("requests"),
                "p50_ms": load.get("p50_ms"), "p95_ms": load.get("p95_ms"), "p99_ms": load.get("p99_ms"),
                "error_rate": load.get("error_rate"), "rps": load.get("rps")})
    return rows


def report_link(report: dict[str, Any] | None, report_url: str | None = None) -> str | None:
    if report_url:
        return report_url
    if not report or not report.get("html"):
        return None
    return report.get("link") or report.get("url") or Path(report["html"]).resolve().as_uri()


async def publish_artifacts(doc: dict[str, Any], report: dict[str, Any] | Any = None, *,
                            report_url: str | None = None) -> dict[str, str]:
    """Create the three artifacts in the current flow run; returns key → artifact id."""
    from prefect.artifacts import acreate_link_artifact, acreate_markdown_artifact, acreate_table_artifact

    if report is not None and not isinstance(report, dict):
        report = report.to_dict()
    keys = keys_for(doc.get("campaign") or "campaign")
    s = summarize(doc)
    ids = {keys["summary"]: await acreate_markdown_artifact(
        markdown=summary_markdown(doc, report, report_url), key=keys["summary"],
        description=f"{s.headline} (exit code {doc.get('exit_code')})")}
    ids[keys["table"]] = await acreate_table_artifact(
        table=endpoint_rows(doc), key=keys["table"],
        description=f"{doc.get('campaign')}: endpoint metrics per environment")
    link = report_link(report, report_url)
    if link:
        ids[keys["link"]] = await acreate_link_artifact(
            link=link, link_text=f"{doc.get('campaign')} executive summary ({s.label})", key=keys["link"],
            description="The HTML report with SLOs, trends, errors, readiness and capacity")
    return {k: str(v) for k, v in ids.items()}
