"""Prefect artifacts of a campaign run, from the run's JSON document: what the Prefect UI shows.

Three artifacts per flow run, under stable keys (lowercase letters, digits and dashes), so each
key's history in the UI is the campaign's history:

- ``<campaign>-summary``: markdown — the verdict per environment, key numbers, the run against last
  night and the baseline, numbers in doubt and why, failed gates, regressions, mocked endpoints,
  what was left out;
- ``<campaign>-endpoint-metrics``: a table — per environment and endpoint, readiness verdict,
  smoke status and latency, load requests, p50/p95/p99 (ms), error rate and throughput (req/s);
- ``<campaign>-report``: a link to the HTML report (Prefect has no HTML artifact), only when the
  reports folder is served over http(s) (``notify.report_url``, or ``perfcampaign serve``): a
  browser refuses ``file://`` links from the Prefect UI, so without one the summary says where the
  file is and how to serve it.

All three read the run document (``tasks.document.RunDocument``); the artifacts output
(``flows.outputs``) publishes them in the flow run.
"""

from __future__ import annotations

import re
from typing import Any

from tasks.document import RunDocument
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


def summary_markdown(doc: RunDocument) -> str:
    s = summarize(doc)
    lines = [f"# {s.campaign}: {s.label}", ""]
    lines += [f"**{_md(s.headline)}** — exit code {doc.exit_code}", ""]
    lines += ["| environment | verdict | p95 | errors | req/s | real endpoints | vs last night / baseline | why |",
              "|---|---|---|---|---|---|---|---|"]
    for env in s.environments:
        n = env.numbers
        real = f"{n.verdicts.get('real', 0)}/{sum(n.verdicts.values())}" if n.verdicts else "–"
        why = env.brief if env.attention else ""
        kind = f" ({_md(env.kind)})" if env.kind and env.kind != env.name else ""
        verdict = f"**{env.label}**" + (" ⚠ in doubt" if env.doubt else "")
        vs = regression_line(env.regressions[0], short=True) if env.regressions else env.vs
        lines.append(f"| {_md(env.name)}{kind} | {verdict} | {fmt_ms(n.p95_ms)} | "
                     f"{fmt_pct(n.error_rate)} | {'–' if n.rps is None else f'{n.rps:,.0f}'} | {real} | "
                     f"{_md(vs or '–')} | {_md(why)} |")
    doubtful = s.doubtful
    if doubtful:
        lines += ["", f"## Numbers in doubt ({len(doubtful)})", ""]
        lines += [f"- {_md(e.name)}: {_md(e.doubt)} (policy: {e.trust.policy})" for e in doubtful]
    failed = [(e.name, g) for e in s.environments for g in e.failed_gates]
    if failed:
        lines += ["", f"## Failed gates ({len(failed)})", ""]
        lines += [f"- {_md(name)} · {_md(gate_line(g))}" for name, g in failed[:30]]
    regressions = [(e.name, g) for e in s.environments for g in e.regressions]
    if regressions:
        lines += ["", f"## Regressions ({len(regressions)}) — vs last night / vs baseline", ""]
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
    report = doc.report
    if report is not None and report.url:
        lines += ["", f"Report: [{_md(report.url.rsplit('/', 1)[-1])}]({report.url})"]
    elif report is not None and report.html:
        lines += ["", f"Report: `{report.html}` — serve the reports folder (`perfcampaign serve`, or set "
                      "`notify.report_url` to where it is served) to link it here."]
    elif report is not None and report.error:
        lines += ["", f"Report failed: {_md(report.error)} (rebuild: `{report.rebuild}`)"]
    return "\n".join(lines) + "\n"


def endpoint_rows(doc: RunDocument) -> list[dict[str, Any]]:
    """One row per environment and endpoint (load figures when load ran, smoke otherwise)."""
    rows: list[dict[str, Any]] = []
    for env_name, env in doc.environments.items():
        if not env.endpoints:
            load = env.stages.load
            summary = load.summary if load is not None else None
            latency = summary.latency_ms if summary is not None else None
            rows.append({"environment": env_name, "endpoint": "(whole run)", "readiness": None, "smoke": None,
                         "smoke_ms": None, "requests": summary.requests if summary else None,
                         "p50_ms": latency.p50 if latency else None, "p95_ms": latency.p95 if latency else None,
                         "p99_ms": latency.p99 if latency else None,
                         "error_rate": summary.error_rate if summary else None, "rps": summary.rps if summary else None})
            continue
        for name, ep in env.endpoints.items():
            load = ep.load or {}
            smoke = ep.smoke or {}
            rows.append({
                "environment": env_name, "endpoint": name, "readiness": ep.verdict,
                "smoke": ("passed" if smoke.get("passed") else "failed" if smoke.get("gating", True) else "known gap")
                if smoke else None,
                "smoke_ms": smoke.get("latency_ms"), "requests": load.get("requests"),
                "p50_ms": load.get("p50_ms"), "p95_ms": load.get("p95_ms"), "p99_ms": load.get("p99_ms"),
                "error_rate": load.get("error_rate"), "rps": load.get("rps")})
    return rows


async def publish_artifacts(doc: RunDocument) -> dict[str, str]:
    """Create the artifacts in the current flow run; returns key → artifact id."""
    from prefect.artifacts import acreate_link_artifact, acreate_markdown_artifact, acreate_table_artifact

    keys = keys_for(doc.campaign)
    s = summarize(doc)
    ids = {keys["summary"]: await acreate_markdown_artifact(
        markdown=summary_markdown(doc), key=keys["summary"], description=f"{s.headline} (exit code {doc.exit_code})")}
    ids[keys["table"]] = await acreate_table_artifact(
        table=endpoint_rows(doc), key=keys["table"], description=f"{doc.campaign}: endpoint metrics per environment")
    if doc.report is not None and doc.report.url:
        ids[keys["link"]] = await acreate_link_artifact(
            link=doc.report.url, link_text=f"{doc.campaign} executive summary ({s.label})", key=keys["link"],
            description="The HTML report: SLOs, trends, regressions, e2e journeys, chaos, errors, readiness, capacity")
    return {k: str(v) for k, v in ids.items()}
