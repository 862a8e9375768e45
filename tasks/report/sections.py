"""HTML sections of the report that read the run document's stage summaries directly: the run
against last night and the baseline (and which method judged, and how many nights each needs),
numbers in doubt, the e2e journeys (Web Vitals against their bands, friction points, screenshots)
and the chaos experiments (impact, time to detect, recovery, score). Pure string building.

Screenshots are embedded (``data:`` URIs, at most :data:`MAX_SCREENSHOTS` and
:data:`MAX_SCREENSHOT_BYTES` each) so the report stays one self-contained file that opens offline.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from tasks.document import OVERALL, ChaosSummary, E2ESummary, RegressionVerdict, SeriesVerdict, Trust
from tasks.e2e.vitals import BANDS
from tasks.report.summary import DOUBT_COLOUR, METRIC_LABELS, fmt_change, fmt_metric, fmt_ms, fmt_pct, fmt_s

MAX_SCREENSHOTS = 12
MAX_SCREENSHOT_BYTES = 600_000
METHOD_WORDS = {
    "within-run": "this run's per-second samples against the reference run's (blocked Mann–Whitney)",
    "between-nights": "the within-run test and the spread between earlier nights",
    "change-point": "the change-point detector over the nightly series",
    "none": "not judged",
}
SEVERITY_PILL = {"high": "bad", "medium": "warn", "low": "muted"}
RATING_PILL = {"good": "ok", "needs-improvement": "warn", "poor": "bad"}


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def pill(tone: str, text: str) -> str:
    return f'<span class="pill {tone}">{esc(text)}</span>'


def note(text: str | None) -> str:
    return f'<p class="note">{esc(text)}</p>' if text else ""


def table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# -- trust -----------------------------------------------------------------------------------------

def doubt_banner(env_name: str, trust: Trust) -> str:
    """A run whose numbers the generator could not vouch for, said where nobody can miss it."""
    if trust.trustworthy:
        return ""
    policy = ("the gate 'trustworthy numbers' failed (verdict.untrustworthy: fail)" if trust.policy == "fail"
              else "the verdict is kept, flagged (verdict.untrustworthy: warn; 'fail' would fail the gate)")
    reasons = "".join(f"<li>{esc(r)}</li>" for r in trust.reasons) or "<li>the generator could not vouch for them</li>"
    return (f'<div class="doubt" style="border-color:{DOUBT_COLOUR}"><b>◇ {esc(env_name)}: numbers in doubt</b> — '
            f"the load generator could not vouch for this run's numbers; {esc(policy)}.<ul>{reasons}</ul></div>")


# -- vs last night / vs baseline ---------------------------------------------------------------------

def _comparison_cell(c: Any, metric: str) -> str:
    if not c.judged:
        return f'<span class="muted">{esc(c.note or "not judged")}</span>'
    tone = "bad" if c.regression else "ok" if c.significant and c.direction == "improvement" else "muted"
    p = f" · p={c.p_value:.2g}" if c.p_value is not None else ""
    ref = fmt_metric(metric, c.reference_value)
    word = "significant" if c.significant else "not significant"
    return (f'{pill(tone, fmt_change(c.rel_change))} <span class="muted">from {esc(ref)}{esc(p)} · '
            f"{esc(word)} · {esc(c.method)}</span>")


def _series_row(s: SeriesVerdict) -> list[str]:
    who = "whole run" if s.endpoint == OVERALL else s.endpoint
    return [esc(who), esc(METRIC_LABELS.get(s.metric, s.metric)), esc(fmt_metric(s.metric, s.value)),
            _comparison_cell(s.vs_previous, s.metric), _comparison_cell(s.vs_baseline, s.metric), esc(s.judged_by)]


def comparison_section(verdict: RegressionVerdict | None, analysis: Any = None) -> str:
    """``analysis``: the analysis stage's outcome (None when it did not run)."""
    out = "<h3>vs last night and vs baseline</h3>"
    if verdict is None:
        if analysis is None:
            why = "no analysis: the load stage did not run (or found the target unreachable)"
        elif analysis.status == "error":
            why = f"the analysis failed: {analysis.error or 'unknown error'} (the run's results are stored)"
        elif analysis.summary.excluded:
            why = f"this run is left out of the analysis: {analysis.summary.excluded}"
        else:
            why = "the analysis did not compare this run with earlier nights"
        return out + note(why)
    if verdict.headline:
        tone = "bad" if verdict.regressions else "muted"
        out += f'<p class="lead {tone}">{esc(verdict.headline)}</p>'
    if not verdict.trusted:
        out += note("not judged for regressions: " + "; ".join(verdict.untrusted_reasons))
    if verdict.methods:
        items = []
        for m in verdict.methods:
            mark = "✓ ready" if m.ready else f"needs {m.nights_needed - m.nights_available} more night(s)"
            items.append(f"<li><b>{esc(m.method)}</b> — {esc(METHOD_WORDS.get(m.method, m.method))}: needs "
                         f"{m.nights_needed} nights, has {m.nights_available} ({esc(mark)})</li>")
        out += f'<p class="sub">Methods, and the nights each needs (this one included):</p><ul class="methods">' \
               f'{"".join(items)}</ul>'
    series = sorted(verdict.series, key=lambda s: (not s.regression, s.endpoint != OVERALL, s.endpoint, s.metric))
    shown = [s for s in series if s.regression or s.endpoint == OVERALL][:30]
    if shown:
        out += table(["endpoint", "metric", "this night", "vs last night", "vs baseline", "judged by"],
                     [_series_row(s) for s in shown], {2})
    rest = len(series) - len(shown)
    if rest > 0:
        out += (f"<details><summary>{rest} more series</summary>"
                + table(["endpoint", "metric", "this night", "vs last night", "vs baseline", "judged by"],
                        [_series_row(s) for s in series if s not in shown], {2}) + "</details>")
    return out


# -- e2e ---------------------------------------------------------------------------------------------

def _band(metric: str) -> str:
    good, poor, unit = BANDS[metric]
    shown = (lambda v: f"{v:g}") if unit == "score" else (lambda v: f"{v:,.0f} ms")
    return f"good ≤ {shown(good)} · poor > {shown(poor)}"


def _vital(metric: str, value: float, unit: str) -> str:
    return f"{value:.3f}" if unit == "score" else fmt_ms(value)


def _screenshot(path: str, caption: str, budget: list[int]) -> str:
    file = Path(path)
    try:
        size = file.stat().st_size
    except OSError:
        return f'<figure class="shot missing"><figcaption>{esc(caption)}: {esc(path)} (gone)</figcaption></figure>'
    if budget[0] <= 0 or size > MAX_SCREENSHOT_BYTES:
        return f'<figure class="shot missing"><figcaption>{esc(caption)}: <code>{esc(path)}</code></figcaption></figure>'
    budget[0] -= 1
    data = base64.b64encode(file.read_bytes()).decode()
    return (f'<figure class="shot"><img alt="{esc(caption)}" src="data:image/png;base64,{data}" '
            f'onclick="this.classList.toggle(\'big\')"><figcaption>{esc(caption)}</figcaption></figure>')


def e2e_section(summary: E2ESummary | None, status: str | None, reason: str | None) -> str:
    out = "<h3>End-to-end journeys</h3>"
    if summary is None or not summary.journeys:
        why = reason or ("the e2e stage was not asked for in this run" if status is None else f"e2e {status}")
        return out + note(why)
    rows = []
    for j in summary.journeys:
        tone = {"passed": "ok", "failed": "bad", "error": "err"}.get(j.status, "muted")
        rows.append([esc(j.name), esc(j.kind), pill(tone, j.status), esc(fmt_ms(j.duration_ms)),
                     esc(len(j.steps)), esc(len(j.friction)), esc(j.console_errors), esc(j.error or "")])
    out += table(["journey", "kind", "status", "duration", "steps", "friction", "console errors", "first failure"],
                 rows, {3, 4, 5, 6})
    vitals = [(j.name, p, m, v) for j in summary.journeys for p in j.web_vitals for m, v in p.metrics.items()]
    if vitals:
        out += "<p><b>Web Vitals</b> <span class=\"muted\">(per page, against web.dev's bands)</span></p>"
        out += table(["journey", "page", "metric", "value", "rating", "band"],
                     [[esc(name), esc(p.url or f"page {p.page}"), esc(m), esc(_vital(m, v.value, v.unit)),
                       pill(RATING_PILL.get(v.rating, "muted"), v.rating), esc(_band(m) if m in BANDS else "")]
                      for name, p, m, v in vitals], {3})
    friction = [(j.name, f) for j in summary.journeys for f in j.friction]
    if friction:
        out += "<p><b>Friction points</b> <span class=\"muted\">(what a user met; each becomes a backlog " \
               "item unless it is the symptom of one)</span></p>"
        out += table(["severity", "type", "what", "endpoint", "journey", "page"],
                     [[pill(SEVERITY_PILL.get(f.severity, "muted"), f.severity), esc(f.type), esc(f.title),
                       esc(f.endpoint or f.target or ""), esc(name), esc(f.page_url or "")] for name, f in friction])
    shots = [(j.name, path) for j in summary.journeys for path in j.screenshots]
    if shots:
        budget = [MAX_SCREENSHOTS]
        failing = {f.screenshot for _, f in friction if f.screenshot}
        ordered = sorted(shots, key=lambda s: (s[1] not in failing, s[0]))
        figures = "".join(_screenshot(path, f"{name} · {Path(path).stem}", budget) for name, path in ordered)
        out += f'<p><b>Screenshots</b> <span class="muted">(click to enlarge; friction first)</span></p>' \
               f'<div class="shots">{figures}</div>'
    return out


# -- chaos -------------------------------------------------------------------------------------------

def _impact(impact: dict[str, Any] | None) -> str:
    if not impact:
        return "–"
    parts = []
    if impact.get("delta_p95_ms") is not None:
        parts.append(f"p95 {impact['delta_p95_ms']:+,.1f} ms")
    if impact.get("delta_error_rate") is not None:
        parts.append(f"errors {impact['delta_error_rate'] * 100:+.2f} pts")
    fault = impact.get("fault") or {}
    if fault.get("error_rate") is not None:
        parts.append(f"{fmt_pct(fault['error_rate'])} errors under fault")
    return ", ".join(parts) or "–"


def chaos_section(summary: ChaosSummary | None, status: str | None, reason: str | None) -> str:
    out = "<h3>Chaos experiments</h3>"
    if summary is None or not summary.experiments:
        why = reason or ("the chaos stage was not asked for in this run" if status is None else f"chaos {status}")
        return out + note(why)
    if summary.score is not None:
        out += (f'<div class="kpis"><div><b>{summary.score:,.0f} / 100</b><span>resilience score (mean)</span></div>'
                f"<div><b>{summary.passed or 0} / {len(summary.experiments)}</b><span>experiments passed</span></div>"
                + ("<div><b>dry run</b><span>probes only, no fault</span></div>" if summary.dry_run else "")
                + "</div>")
    rows = []
    for e in summary.experiments:
        tone = {"passed": "ok", "failed": "bad", "error": "err"}.get(e.status, "muted")
        faults = ", ".join(f.get("type", "?") + (f" {f['fraction'] * 100:.0f}%" if f.get("fraction") else "")
                           for f in e.faults) or "–"
        if e.recovered is None:
            recovery = "not measured"
        elif e.recovered:
            recovery = f"{fmt_s(e.recovery_time_s)} (bound {fmt_s(e.recovery_bound_s)})"
        else:
            recovery = f"not within {fmt_s(e.recovery_bound_s)}"
        rows.append([esc(e.name), pill(tone, e.status), esc(e.target or ""), esc(faults), esc(_impact(e.impact)),
                     esc(fmt_s(e.time_to_detect_s) if e.time_to_detect_s is not None else "not detected"),
                     esc(recovery), esc("–" if e.score is None else f"{e.score:,.0f} / 100"),
                     esc(e.degradation or "–"), esc(e.error or "")])
    out += table(["experiment", "status", "target", "faults", "impact (fault − baseline)", "time to detect",
                  "recovery", "score", "degradation", "error"], rows, {5, 6, 7})
    rollbacks = [(e.name, r) for e in summary.experiments for r in e.rollbacks if r.get("status") != "ok"]
    if rollbacks:
        out += note("rollbacks that failed: " + "; ".join(f"{n}: {r.get('name')}: {r.get('error')}"
                                                          for n, r in rollbacks))
    return out


__all__ = ["chaos_section", "comparison_section", "doubt_banner", "e2e_section", "fmt_ms"]
