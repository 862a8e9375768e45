"""One self-contained HTML file: opens offline, from a mail attachment or a CI artifact.

plotly.js is inlined once in ``<head>`` (``plotly.offline.get_plotlyjs()``, what
``include_plotlyjs=True`` inlines) and every figure is a ``<div>`` drawn by it; the CSS is inline;
nothing is fetched from the network (no CDN, no web fonts, no MathJax).

Reading order is the manager's: the campaign's verdict (and numbers in doubt), a card per
environment (verdict in colour, key numbers, the run against last night, why), then per
environment: numbers in doubt, the SLO table, the run against last night and the baseline (which
method judged, how many nights each needs), change points, trends, the run second by second, the
e2e journeys, the chaos experiments, the load's errors (smoke's known gaps apart), readiness (what
was left out of load, and why) and backlog gaps, capacity, and what did not run. Units everywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import plotly.io as pio
from plotly.offline import get_plotlyjs

from tasks.report import figures
from tasks.report.data import EnvData, ReportData
from tasks.report.sections import chaos_section, comparison_section, doubt_banner, e2e_section
from tasks.report.sections import esc, note, table
from tasks.report.summary import SLO_STAGES, VERDICTS, fmt_gate_value, fmt_ms, fmt_pct, fmt_s

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}
STATUS_PILL = {"passed": "ok", "failed": "bad", "not measured": "muted", "skipped": "muted", "refused": "warn",
               "error": "err", "real": "ok", "mock": "warn", "missing": "bad", "unreachable": "err",
               "unverified": "muted", "high": "bad", "medium": "warn", "low": "muted"}

CSS = """
:root { --ink:#1f2328; --muted:#656d76; --line:#d0d7de; --soft:#f6f8fa; --ok:#1a7f37; --bad:#cf222e;
        --warn:#9a6700; --err:#8250df; --blue:#0969da; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.5 Inter, "Segoe UI", "Helvetica Neue", Arial, sans-serif; color:var(--ink);
       background:#fff; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 28px 64px; }
header { display:flex; flex-wrap:wrap; align-items:flex-end; justify-content:space-between; gap:12px;
         border-bottom:1px solid var(--line); padding-bottom:16px; }
header h1 { margin:0; font-size:28px; letter-spacing:-0.01em; }
header .meta { color:var(--muted); margin:4px 0 0; font-size:14px; }
.overall { font-size:20px; font-weight:700; padding:8px 16px; border-radius:8px; color:#fff; white-space:nowrap; }
.cards { display:grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap:16px; margin:22px 0 10px; }
.card { border:2px solid; border-top-width:8px; border-radius:10px; padding:14px 18px 16px; }
.card h2 { margin:0; font-size:19px; } .card h2 .kind { color:var(--muted); font-weight:400; font-size:15px; }
.card .verdict { font-size:30px; font-weight:800; letter-spacing:0.01em; margin:2px 0 8px; }
.numbers { display:flex; flex-wrap:wrap; gap:4px 20px; margin:0 0 8px; }
.numbers dt { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:0.04em; }
.numbers dd { margin:0; font-size:18px; font-weight:700; white-space:nowrap; }
.card ul { margin:6px 0 0; padding-left:18px; font-size:14px; }
.card .stages { margin:10px 0 0; font-size:13px; color:var(--muted); }
nav.toc { margin:18px 0 6px; font-size:14px; color:var(--muted); }
nav.toc a { margin-right:14px; }
a { color:var(--blue); text-decoration:none; } a:hover { text-decoration:underline; }
section.env { margin-top:34px; border-top:3px solid var(--line); padding-top:10px; }
section.env > h2 { font-size:23px; margin:6px 0 2px; }
section.env > .sub { color:var(--muted); font-size:13px; margin:0 0 8px; }
h3 { font-size:17px; margin:24px 0 8px; }
table { border-collapse:collapse; width:100%; font-size:14px; }
th { text-align:left; color:var(--muted); font-weight:600; font-size:12px; text-transform:uppercase;
     letter-spacing:0.04em; border-bottom:1px solid var(--line); padding:6px 8px; }
td { border-bottom:1px solid #eaeef2; padding:6px 8px; vertical-align:top; }
td.num { text-align:right; font-variant-numeric: tabular-nums; white-space:nowrap; }
.pill { display:inline-block; padding:1px 9px; border-radius:999px; font-size:12px; font-weight:700;
        white-space:nowrap; }
.pill.ok { background:#dafbe1; color:var(--ok); } .pill.bad { background:#ffebe9; color:var(--bad); }
.pill.warn { background:#fff8c5; color:var(--warn); } .pill.err { background:#fbefff; color:var(--err); }
.pill.muted { background:var(--soft); color:var(--muted); }
.note { color:var(--muted); background:var(--soft); border-radius:8px; padding:10px 14px; font-size:14px; }
.kpis { display:flex; flex-wrap:wrap; gap:28px; margin:6px 0 10px; }
.kpis div b { display:block; font-size:22px; } .kpis div span { color:var(--muted); font-size:13px; }
.chart { border:1px solid #eaeef2; border-radius:8px; padding:4px; }
footer { margin-top:40px; color:var(--muted); font-size:12px; border-top:1px solid var(--line); padding-top:12px; }
details { margin:8px 0; } summary { cursor:pointer; color:var(--muted); font-size:14px; }
code { font-size:12px; background:var(--soft); padding:1px 4px; border-radius:4px; }
.muted { color:var(--muted); } .lead { font-size:16px; font-weight:600; margin:4px 0 8px; }
.lead.bad { color:var(--bad); }
.doubt { border:2px dashed; border-radius:8px; padding:10px 14px; margin:12px 0; background:#fff8c5; font-size:14px; }
.doubt ul { margin:4px 0 0; padding-left:18px; }
.card .doubtline { color:#9a6700; font-weight:700; font-size:14px; margin:4px 0 0; }
.card .vs { color:var(--muted); font-size:13px; margin:6px 0 0; }
.badge { display:inline-block; margin-left:10px; padding:6px 12px; border-radius:8px; font-weight:700;
         border:2px dashed #9a6700; color:#9a6700; background:#fff8c5; font-size:15px; white-space:nowrap; }
ul.methods { margin:2px 0 10px; font-size:14px; }
.shots { display:flex; flex-wrap:wrap; gap:12px; }
.shot { margin:0; width:220px; } .shot img { width:100%; border:1px solid var(--line); border-radius:6px; cursor:zoom-in; }
.shot img.big { position:fixed; inset:4vh 4vw; width:92vw; height:92vh; object-fit:contain; background:#fff;
                z-index:10; cursor:zoom-out; box-shadow:0 0 0 100vmax rgba(0,0,0,.55); }
.shot figcaption { font-size:12px; color:var(--muted); } .shot.missing { width:auto; }
"""


def pill(status: str, text: str | None = None) -> str:
    return f'<span class="pill {STATUS_PILL.get(status, "muted")}">{esc(text or status)}</span>'


def _date(value: Any) -> str:
    return value.strftime("%d %b %Y") if isinstance(value, datetime) else esc(value)


def _chart(fig: Any) -> str:
    if fig is None:
        return ""
    fig.update_layout(autosize=True, width=None)
    body = pio.to_html(fig, full_html=False, include_plotlyjs=False, config=PLOTLY_CONFIG, default_width="100%")
    return f'<div class="chart">{body}</div>'


_note = note
_table = table


# -- the top of the page -------------------------------------------------------------------------

def _card(env: EnvData) -> str:
    s = env.summary
    assert s is not None
    colour = s.colour
    n = s.numbers
    numbers = []
    if n.p95_ms is not None:
        numbers += [("p95", fmt_ms(n.p95_ms)), ("errors", fmt_pct(n.error_rate)),
                    ("req/s", f"{n.rps:,.0f}" if n.rps is not None else "–")]
    elif n.smoke_checked:
        numbers += [("smoke", f"{n.smoke_passed}/{n.smoke_checked}")]
    if n.verdicts:
        numbers.append(("real", f"{n.verdicts.get('real', 0)}/{sum(n.verdicts.values())}"))
    if n.journeys:
        numbers.append(("journeys", f"{n.journeys_passed}/{n.journeys}"))
    if n.chaos_score is not None:
        numbers.append(("resilience", f"{n.chaos_score:,.0f}/100"))
    dl = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in numbers)
    reasons = list(s.reasons[:3])
    if len(s.reasons) > 3:
        reasons.append(f"and {len(s.reasons) - 3} more (below)")
    gaps = []
    if s.mocked:
        gaps.append(f"{len(s.mocked)} mocked ({', '.join(s.mocked[:4])}{'…' if len(s.mocked) > 4 else ''})")
    if s.missing:
        gaps.append(f"{len(s.missing)} missing ({', '.join(s.missing[:4])}{'…' if len(s.missing) > 4 else ''})")
    items = "".join(f"<li>{esc(r)}</li>" for r in reasons if r != s.doubt)
    if gaps:
        items += f"<li>endpoints not real yet: {esc('; '.join(gaps))} — kept out of load</li>"
    stage_marks = []
    for stage, status in s.stages.items():
        mark = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "–", "refused": "⊘",
                "interrupted": "■"}.get(status, "?")
        stage_marks.append(f'<span title="{esc(status)}">{esc(stage)} {mark}</span>')
    refused = [f"{st} refused: {why}" for st, status, why in s.not_run if status == "refused"]
    kind = f' <span class="kind">{esc(env.kind)}</span>' if env.kind != env.name else ""
    return (f'<article class="card" style="border-color:{colour}; background:{figures._tint(colour, 0.05)}">'
            f'<h2><a href="#env-{esc(env.name)}" style="color:inherit">{esc(env.name)}</a>{kind}</h2>'
            f'<div class="verdict" style="color:{colour}">{esc(s.label.upper())}</div>'
            + (f'<p class="doubtline">◇ {esc(s.doubt)}</p>' if s.doubt else "")
            + f'<dl class="numbers">{dl}</dl>' + (f"<ul>{items}</ul>" if items else "")
            + (f'<p class="vs">{esc(s.vs)}</p>' if s.vs and not s.regressions else "")
            + f'<p class="stages">{" · ".join(stage_marks)}'
            + (f"<br>{esc('; '.join(refused))}" if refused else "") + "</p></article>")


def _header(data: ReportData) -> str:
    s = data.summary
    bad = [e for e in s.environments if e.verdict != "passed"]
    tail = (f"{', '.join(e.name for e in bad)} need{'s' if len(bad) == 1 else ''} attention" if bad
            else f"all {len(s.environments)} environments green")
    meta = [f"team {esc(data.team)}" if data.team else None,
            f"generated {data.generated_at:%d %b %Y %H:%M} UTC",
            f"history since {data.since:%d %b %Y}" if data.since else "all history",
            f'<a href="{esc(data.flow_run_url)}">Prefect flow run</a>' if data.flow_run_url else None]
    doubtful = [e.name for e in s.doubtful]
    badge = (f'<span class="badge">◇ NUMBERS IN DOUBT · {esc(", ".join(doubtful))}</span>' if doubtful else "")
    return (f'<header><div><h1>{esc(data.campaign)} — performance summary</h1>'
            f'<p class="meta">{" · ".join(m for m in meta if m)}</p></div>'
            f'<div><span class="overall" style="background:{s.colour}">{esc(s.label.upper())} · {esc(tail)}</span>'
            f"{badge}</div></header>")


# -- per environment -------------------------------------------------------------------------------

def _slo(env: EnvData) -> str:
    out = "<h3>Service levels</h3>" + _note(env.notes.get("slo"))
    if env.slo is not None and not env.slo.is_empty():
        rows = [[esc(r["objective"]), esc(r["scope"]), esc(r["target"]), esc(r["measured"]), pill(r["status"]),
                 esc(r["stage"])] for r in env.slo.to_dicts()]
        out += _table(["objective", "scope", "target", "measured", "status", "stage"], rows, {2, 3})
    return out


def _regressions(env: EnvData) -> str:
    s = env.summary
    analysis = env.env.stages.analysis
    out = comparison_section(env.env.regression, analysis)
    out += "<h3>Change points</h3>"
    gates = s.regressions if s else []
    cps = env.change_points
    if cps is None or (cps.is_empty() and not gates):
        nights = env.nightly["run_id"].n_unique() if env.nightly is not None else 0
        return out + _note(f"no open change point over {nights} night{'s' if nights != 1 else ''}: the detector "
                           "confirms a lasting shift once a new regime has lasted a few nights; the night-against-"
                           "night tests above judge before that")
    if cps.is_empty():
        rows = [[esc(g.endpoint or "whole run"), esc(g.name), esc(g.detail)] for g in gates]
        return out + _table(["endpoint", "gate", "detail"], rows)
    rows = []
    for cp in cps.sort("night", descending=True).to_dicts():
        rel = cp.get("rel_change")
        unit = "" if cp["metric"] == "error_rate" else " req/s" if cp["metric"] == "rps" else " ms"
        tone = "bad" if cp["direction"] == "regression" else "ok"
        rows.append([esc(figures.label(cp["endpoint"])), esc(cp["metric"].replace("_ms", "")),
                     f'<span class="pill {tone}">{esc(cp["direction"])} '
                     f'{"" if rel is None else f"{rel * 100:+.1f}%"}</span>',
                     f'{cp["before_value"]:.4g}{unit} → {cp["after_value"]:.4g}{unit}', _date(cp["night"]),
                     esc(cp.get("nights_after"))])
    out += _table(["endpoint", "metric", "change", "before → after", "since", "nights"], rows, {3, 5})
    return out


def _trends(env: EnvData) -> str:
    out = "<h3>Trends night by night (p95)</h3>"
    trend = env.trend
    if trend and trend.get("value") is not None:
        kpis = [(fmt_ms(trend["value"]), "last night, whole run")]
        if trend.get("change_7") is not None:
            kpis.append((f"{trend['change_7'] * 100:+.1f}%", "vs the 7 nights before"))
        if trend.get("change_30") is not None:
            kpis.append((f"{trend['change_30'] * 100:+.1f}%", "vs the 30 nights before"))
        ntt = trend.get("nights_to_threshold")
        if ntt is not None and trend.get("threshold") is not None:
            shown = "already" if ntt <= 0 else f"{ntt:,.0f} nights" if ntt <= 365 else "over a year"
            kpis.append((shown, f"to reach {fmt_ms(trend['threshold'])} at this slope"))
        out += '<div class="kpis">' + "".join(f"<div><b>{esc(v)}</b><span>{esc(k)}</span></div>" for v, k in kpis) \
            + "</div>"
    several = env.nightly is not None and env.nightly["run_id"].n_unique() >= 2
    fig = figures.trend_figure(env) if several else None
    out += _note(env.notes.get("trends")) + _chart(fig)
    if fig is not None and env.notes.get("trust"):
        out += _note(env.notes["trust"])
    return out


def _inrun(env: EnvData) -> str:
    out = "<h3>This run, second by second</h3>"
    fig = figures.inrun_figure(env)
    return out + (_chart(fig) if fig is not None else _note(env.notes.get("timeseries")))


def _errors(env: EnvData) -> str:
    out = "<h3>Errors during the load</h3>"
    fig = figures.errors_figure(env)
    failed_gates = env.summary.failed_gates if env.summary else []
    checks = env.failed_checks
    load = env.env.stages.load
    if fig is None:
        out += _note("no errors in the load" if load is not None and load.ran else
                     "the load stage did not run: no load errors to show")
    out += _chart(fig)
    if failed_gates:
        rows = [[esc(g.stage), esc(g.name), esc(g.endpoint or ""),
                 esc(fmt_gate_value(g.name if g.stage in SLO_STAGES else "", g.observed)),
                 esc(fmt_gate_value(g.name if g.stage in SLO_STAGES else "", g.limit)), esc(g.detail)]
                for g in failed_gates]
        out += "<p><b>Failed gates</b></p>" + _table(["stage", "gate", "endpoint", "observed", "limit", "detail"], rows)
    if checks is not None and not checks.is_empty():
        gating = [r for r in checks.to_dicts() if r["gating"]]
        known = [r for r in checks.to_dicts() if not r["gating"]]

        def rows_of(items: list[dict[str, Any]]) -> list[list[str]]:
            return [[esc(r["endpoint"]), esc(r.get("status_code")), esc(fmt_ms(r.get("latency_ms"))),
                     esc("; ".join(map(str, r.get("failures") or [])))] for r in items]

        if gating:
            out += "<p><b>Smoke checks that failed</b></p>" + _table(
                ["endpoint", "status", "latency", "failures"], rows_of(gating), {2})
        if known:
            out += ("<p><b>Known gaps</b> <span class=\"muted\">(smoke checks of endpoints readiness found mocked or "
                    "missing: reported, not gating, not load errors)</span></p>"
                    + _table(["endpoint", "status", "latency", "why it failed"], rows_of(known), {2}))
    return out


def _readiness(env: EnvData) -> str:
    out = "<h3>Readiness: real or mocked?</h3>"
    r = env.readiness
    if r is None or r.is_empty():
        out += _note(env.notes.get("readiness"))
    else:
        counts = r.group_by("verdict").len().sort("verdict").to_dicts()
        out += "<p>" + " ".join(pill(c["verdict"], f"{c['len']} {c['verdict']}") for c in counts) + "</p>"
        def rows_of(items: list[dict[str, Any]]) -> list[list[str]]:
            return [[esc(x["endpoint"]), pill(x["verdict"]), f"{x['confidence'] * 100:.0f}%", esc(x.get("evidence")),
                     esc(x.get("left_out") or "")] for x in items]

        headers = ["endpoint", "verdict", "confidence", "strongest evidence", "left out of load because"]
        items = r.to_dicts()
        gaps = [x for x in items if x["verdict"] != "real"]
        real = [x for x in items if x["verdict"] == "real"]
        left_out = [x for x in items if x.get("left_out")]
        if left_out:
            out += (f"<p><b>{len(left_out)} endpoint{'s' if len(left_out) != 1 else ''} left out of load and chaos:"
                    f"</b> {esc(', '.join(x['endpoint'] for x in left_out))}</p>")
        if gaps:
            out += _table(headers, rows_of(gaps), {2})
        if real:
            out += (f"<details><summary>{len(real)} real endpoint{'s' if len(real) != 1 else ''}"
                    f"</summary>{_table(headers, rows_of(real), {2})}</details>")
    out += "<h3>Backlog gaps (open)</h3>"
    b = env.backlog
    if b is None or b.is_empty():
        return out + _note("no open backlog item for this environment")
    rows = [[pill(x["priority"]), esc(x["title"]), esc(x["kind"]), esc(x["effort"]), _date(x["first_seen"]),
             esc(x["times_seen"])] for x in b.to_dicts()]
    return out + _table(["priority", "gap", "kind", "effort", "first seen", "runs seen"], rows, {5})


def _capacity(env: EnvData) -> str:
    out = "<h3>Capacity estimate</h3>"
    cap = env.capacity
    if not cap:
        return out + _note(env.notes.get("capacity"))
    kpis = []
    if cap.get("peak_throughput") is not None:
        kpis.append((f"{cap['peak_throughput']:,.0f} req/s", "peak throughput (USL)"))
    if cap.get("peak_concurrency") is not None:
        kpis.append((f"{cap['peak_concurrency']:,.0f}", "requests in flight at the peak"))
    if cap.get("slo_break_throughput") is not None:
        kpis.append((f"{cap['slo_break_throughput']:,.0f} req/s",
                     f"where {(cap.get('slo_metric') or 'the SLO').replace('_ms', '')} passes "
                     f"{fmt_ms(cap.get('slo_limit_ms'))} "
                     f"({cap.get('slo_break_source') or 'model'})"))
    if cap.get("r_squared") is not None:
        kpis.append((f"{cap['r_squared']:.2f}", "fit R²"))
    out += '<div class="kpis">' + "".join(f"<div><b>{esc(v)}</b><span>{esc(k)}</span></div>" for v, k in kpis) \
        + "</div>"
    out += (f'<p class="sub">from the stress run of {_date(cap.get("measured_at"))} '
            f'(run <code>{esc(cap["run_id"])}</code>)</p>')
    out += _chart(figures.capacity_figure(env))
    if env.hints is not None and not env.hints.is_empty():
        rows = [[pill(h["severity"]), esc(h["title"]), esc(h["recommendation"])] for h in env.hints.to_dicts()]
        out += "<p><b>Bottleneck hints</b></p>" + _table(["severity", "hint", "recommendation"], rows)
    return out


def _not_run(env: EnvData) -> str:
    s = env.summary
    if not s or not s.not_run:
        return ""
    rows = [[esc(stage), pill(status), esc(why)] for stage, status, why in s.not_run]
    return "<h3>Not run</h3>" + _table(["stage", "status", "why"], rows)


def _env_section(env: EnvData) -> str:
    s = env.summary
    run = env.env
    colour = s.colour if s else VERDICTS["running"][2]
    when = run.started_at.strftime("%d %b %Y %H:%M UTC") if isinstance(run.started_at, datetime) else ""
    took = (f" · took {fmt_s((run.finished_at - run.started_at).total_seconds())}"
            if run.started_at and run.finished_at else "")
    sub = (f'{esc(env.kind)} · run <code>{esc(env.run_id)}</code> · {esc(when)}{esc(took)} · test type '
           f'{esc(env.test_type)} · trigger {esc(run.trigger)}')
    stages = run.stages
    e2e, chaos = stages.e2e, stages.chaos
    return (f'<section class="env" id="env-{esc(env.name)}" style="border-top-color:{colour}">'
            f'<h2>{esc(env.name)} <span style="color:{colour}">· {esc(s.label if s else "")}</span></h2>'
            f'<p class="sub">{sub}</p>' + doubt_banner(env.name, run.trust)
            + _slo(env) + _regressions(env) + _trends(env) + _inrun(env)
            + e2e_section(e2e.summary if e2e else None, e2e.status if e2e else None, e2e.reason if e2e else None)
            + chaos_section(chaos.summary if chaos else None, chaos.status if chaos else None,
                            chaos.reason if chaos else None)
            + _errors(env) + _readiness(env) + _capacity(env) + _not_run(env) + "</section>")


def render_html(data: ReportData) -> str:
    """The whole page, as one string."""
    cards = "".join(_card(e) for e in data.environments if e.summary)
    toc = "".join(f'<a href="#env-{esc(e.name)}">{esc(e.name)}</a>' for e in data.environments)
    refused = ""
    if data.summary.refused:
        refused = _note("refused: " + "; ".join(data.summary.refused))
    footer_runs = " · ".join(f"{esc(e.name)} <code>{esc(e.run_id)}</code>" for e in data.environments)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{esc(data.campaign)} — {esc(data.summary.label)} — performance summary</title>"
        f"<style>{CSS}</style>"
        f"<script type=\"text/javascript\">{get_plotlyjs()}</script>"
        "</head><body><main>"
        + _header(data) + f'<section class="cards">{cards}</section>' + refused
        + f'<nav class="toc">details: {toc}</nav>'
        + "".join(_env_section(e) for e in data.environments)
        + f"<footer>perfcampaign · runs: {footer_runs}</footer>"
        + "</main></body></html>\n")
