"""Plotly figures of the executive summary: pure functions from the report's frames to figures.

- :func:`summary_figure`: the one picture for Slack — per environment a verdict tile (colour, key
  numbers, the first reason) over the night-by-night p95 of what matters most (the regressed
  endpoint, else the whole run) with its baseline band and change points.
- :func:`trend_figure`: p95 over the nights for the key endpoints, baseline bands, change points.
- :func:`inrun_figure`: p50/p95/p99 and throughput second by second within this run.
- :func:`errors_figure`: the load stage's errors by endpoint and kind (smoke's known gaps are a
  table of their own, not load errors).
- :func:`capacity_figure`: the Universal Scalability Law fit of the latest stress run.

Nothing here reads files or the warehouse; ``tasks.report.data`` builds the inputs.
"""

from __future__ import annotations

import textwrap
from datetime import datetime
from typing import Any

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from tasks.report.data import OVERALL, TREND_METRIC, EnvData, ReportData
from tasks.report.summary import DOUBT_COLOUR, VERDICTS, fmt_ms, fmt_pct

#: dates on night axes; hours too when the runs are less than a day apart
DATE_TICKS = [{"dtickrange": [None, 86_400_000], "value": "%d %b %H:%M"},
              {"dtickrange": [86_400_000, None], "value": "%d %b"}]
FONT = "Inter, 'Segoe UI', 'Helvetica Neue', Arial, sans-serif"
INK, MUTED, GRID = "#1f2328", "#656d76", "#e6e8eb"
BLUE, PURPLE, GREY = "#0969da", "#8250df", "#8c959f"
REGRESSION, IMPROVEMENT = "#cf222e", "#1a7f37"
ERROR_COLOURS = ["#cf222e", "#fb8f44", "#bf8700", "#8250df", "#57606a", "#e16f24", "#a40e26"]
VERDICT_COLOURS = {"real": "#1a7f37", "mock": "#bf8700", "missing": "#cf222e", "unverified": "#8c959f",
                   "error": "#8250df", "unreachable": "#57606a"}


def label(endpoint: str) -> str:
    return "whole run" if endpoint == OVERALL else endpoint


def _tint(colour: str, alpha: float) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _base_layout(fig: go.Figure, height: int, title: str | None = None) -> go.Figure:
    fig.update_layout(
        template="plotly_white", height=height, margin={"l": 60, "r": 24, "t": 56 if title else 24, "b": 40},
        font={"family": FONT, "size": 13, "color": INK}, hovermode="x unified",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1},
        title={"text": title, "x": 0.01, "font": {"size": 16}} if title else None)
    fig.update_xaxes(gridcolor=GRID, zeroline=False)
    fig.update_yaxes(gridcolor=GRID, zeroline=False, rangemode="tozero")
    return fig


# -- trends ----------------------------------------------------------------------------------------

def _series(env: EnvData, endpoint: str, metric: str = TREND_METRIC) -> pl.DataFrame:
    assert env.nightly is not None
    frame = env.nightly.filter(pl.col("endpoint") == endpoint)
    return frame.select("night", "run_id", metric, "excluded", "trustworthy").sort("night")


def _band(env: EnvData, endpoint: str, metric: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Baseline versions of the series clipped to the chart's window, oldest first."""
    if env.baselines is None or env.baselines.is_empty():
        return []
    rows = env.baselines.filter((pl.col("endpoint") == endpoint) & (pl.col("metric") == metric)).to_dicts()
    out = []
    for row in rows:
        lo = max(row["valid_from"], start)
        hi = min(row["valid_to"] or end, end)
        if hi >= lo:
            out.append({**row, "from": lo, "to": hi})
    return out


def _add_trend(fig: go.Figure, env: EnvData, endpoint: str, row: int, col: int, *, compact: bool,
               colour: str = BLUE, metric: str = TREND_METRIC, show_legend: bool = False) -> None:
    series = _series(env, endpoint, metric)
    if series.is_empty():
        return
    nights, values = series["night"].to_list(), series[metric].to_list()
    start, end = nights[0], nights[-1]
    for i, band in enumerate(_band(env, endpoint, metric, start, end)):
        xs = [band["from"], band["to"], band["to"], band["from"]]
        fig.add_trace(go.Scatter(
            x=xs, y=[band["band_upper"], band["band_upper"], band["band_lower"], band["band_lower"]],
            fill="toself", fillcolor="rgba(9,105,218,0.10)", line={"width": 0}, mode="lines", hoverinfo="skip",
            name="baseline band", legendgroup="band", showlegend=show_legend and i == 0), row=row, col=col)
        fig.add_trace(go.Scatter(
            x=[band["from"], band["to"]], y=[band["center"]] * 2, mode="lines", hoverinfo="skip",
            line={"color": "rgba(9,105,218,0.55)", "width": 1, "dash": "dot"}, name=f"baseline v{band['version']}",
            legendgroup="baseline", showlegend=show_legend and i == 0), row=row, col=col)
    excluded = series["excluded"].to_list()
    fig.add_trace(go.Scatter(
        x=nights, y=values, mode="lines+markers", name=f"{label(endpoint)} p95",
        line={"color": colour, "width": 2.5 if compact else 2}, marker={"size": 4 if compact else 5, "color": colour},
        customdata=series["run_id"].to_list(), showlegend=False,
        hovertemplate="%{x|%d %b}: %{y:.1f} ms<br>run %{customdata}<extra></extra>"), row=row, col=col)
    if any(excluded):
        fig.add_trace(go.Scatter(
            x=[n for n, e in zip(nights, excluded, strict=True) if e],
            y=[v for v, e in zip(values, excluded, strict=True) if e], mode="markers", name="left out of analysis",
            marker={"symbol": "x", "size": 9, "color": GREY}, showlegend=show_legend, hoverinfo="skip"),
            row=row, col=col)
    doubtful = [not t for t in series["trustworthy"].to_list()]
    if any(doubtful):
        fig.add_trace(go.Scatter(
            x=[n for n, d in zip(nights, doubtful, strict=True) if d],
            y=[v for v, d in zip(values, doubtful, strict=True) if d], mode="markers", name="numbers in doubt",
            marker={"symbol": "diamond-open", "size": 13 if compact else 12, "color": DOUBT_COLOUR,
                    "line": {"width": 2.5, "color": DOUBT_COLOUR}},
            showlegend=show_legend, hovertemplate="%{x|%d %b}: %{y:.1f} ms — numbers in doubt "
                                                  "(the generator could not vouch for them)<extra></extra>"),
            row=row, col=col)
    fig.add_trace(go.Scatter(
        x=[nights[-1]], y=[values[-1]], mode="markers" + ("" if compact else "+text"), showlegend=False,
        marker={"size": 12 if compact else 10, "color": colour, "line": {"width": 2, "color": "white"}},
        text=[fmt_ms(values[-1])], textposition="top center", hoverinfo="skip", cliponaxis=False), row=row, col=col)
    cps = env.change_points
    if cps is not None and not cps.is_empty():
        here = cps.filter((pl.col("endpoint") == endpoint) & (pl.col("metric") == metric))
        for cp in here.to_dicts():
            bad = cp["direction"] == "regression"
            tone = REGRESSION if bad else IMPROVEMENT
            fig.add_vline(x=cp["night"], line={"color": tone, "width": 1.5, "dash": "dash"}, row=row, col=col)
            rel = cp.get("rel_change")
            fig.add_trace(go.Scatter(
                x=[cp["night"]], y=[cp["after_value"]], mode="markers", showlegend=False,
                marker={"symbol": "triangle-up" if bad else "triangle-down", "size": 13, "color": tone,
                        "line": {"width": 1, "color": "white"}},
                hovertemplate=(f"change point: {cp['direction']} "
                               + (f"{rel * 100:+.1f}% " if rel is not None else "")
                               + f"({fmt_ms(cp['before_value'])} → {fmt_ms(cp['after_value'])})<extra></extra>")),
                row=row, col=col)


def trend_figure(env: EnvData) -> go.Figure | None:
    """p95 night by night for the key endpoints, one row each, with baseline bands and change points."""
    if env.nightly is None or not env.key_endpoints:
        return None
    names = env.key_endpoints
    titles = []
    cps = env.change_points if env.change_points is not None else pl.DataFrame()
    for name in names:
        flagged = (not cps.is_empty() and not cps.filter((pl.col("endpoint") == name)
                                                         & (pl.col("direction") == "regression")).is_empty())
        titles.append(f"<b>{label(name)}</b> · p95 (ms)" + ("  <span style='color:#cf222e'>▲ regression</span>"
                                                           if flagged else ""))
    fig = make_subplots(rows=len(names), cols=1, shared_xaxes=True, vertical_spacing=0.22 / max(len(names), 1),
                        subplot_titles=titles)
    regressed = {g.endpoint or OVERALL for g in (env.summary.regressions if env.summary else [])}
    if not cps.is_empty():
        regressed |= set(cps.filter(pl.col("direction") == "regression")["endpoint"].to_list())
    for i, name in enumerate(names, start=1):
        _add_trend(fig, env, name, i, 1, compact=False, show_legend=i == 1,
                   colour=REGRESSION if name in regressed else BLUE)
    for ann in fig.layout.annotations:
        ann.update(x=0, xanchor="left", font={"size": 13})
    fig = _base_layout(fig, 170 * len(names) + 80)
    fig.update_xaxes(tickformatstops=DATE_TICKS)
    return fig


# -- within the run ------------------------------------------------------------------------------

def inrun_figure(env: EnvData) -> go.Figure | None:
    ts = env.timeseries
    if ts is None or ts.is_empty():
        return None
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.62, 0.38], vertical_spacing=0.08,
                        specs=[[{}], [{"secondary_y": True}]])
    seconds = ts["second"].to_list()
    for column, name, colour, width in (("p99_ms", "p99", PURPLE, 1.5), ("p95_ms", "p95", BLUE, 2.5),
                                        ("p50_ms", "p50", GREY, 1.5)):
        if column in ts.columns:
            fig.add_trace(go.Scatter(x=seconds, y=ts[column].to_list(), name=name, mode="lines",
                                     line={"color": colour, "width": width},
                                     hovertemplate=f"{name} %{{y:.1f}} ms<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=seconds, y=ts["rps"].to_list(), name="req/s", mode="lines", fill="tozeroy",
                             line={"color": "#2da44e", "width": 1.5}, fillcolor="rgba(45,164,78,0.12)"),
                  row=2, col=1)
    if "target_rate" in ts.columns and ts["target_rate"].drop_nulls().len():
        fig.add_trace(go.Scatter(x=seconds, y=ts["target_rate"].to_list(), name="planned", mode="lines",
                                 line={"color": "#2da44e", "width": 1, "dash": "dot"}), row=2, col=1)
    if ts["errors"].sum():
        fig.add_trace(go.Bar(x=seconds, y=ts["errors"].to_list(), name="errors", marker_color=REGRESSION,
                             opacity=0.8), row=2, col=1, secondary_y=True)
        top = max(int(ts["errors"].max()) * 3, 3)
        fig.update_yaxes(title_text="errors", row=2, col=1, secondary_y=True, showgrid=False,
                         range=[0, top], tickformat=",d", dtick=max(1, top // 3))
    fig.update_yaxes(title_text="latency (ms)", row=1, col=1)
    fig.update_yaxes(title_text="req/s", row=2, col=1, secondary_y=False)
    fig.update_xaxes(title_text="seconds into the load", row=2, col=1)
    return _base_layout(fig, 440)


# -- errors ------------------------------------------------------------------------------------------

def errors_figure(env: EnvData) -> go.Figure | None:
    errors = env.errors
    if errors is None or errors.is_empty():
        return None
    per = errors.group_by("endpoint", "kind").agg(pl.col("count").sum())
    order = per.group_by("endpoint").agg(pl.col("count").sum()).sort("count")["endpoint"].to_list()
    fig = go.Figure()
    for i, kind in enumerate(sorted(per["kind"].unique().to_list())):
        part = per.filter(pl.col("kind") == kind)
        counts = dict(zip(part["endpoint"].to_list(), part["count"].to_list(), strict=True))
        fig.add_trace(go.Bar(y=order, x=[counts.get(e, 0) for e in order], name=kind, orientation="h",
                             marker_color=ERROR_COLOURS[i % len(ERROR_COLOURS)]))
    fig.update_layout(barmode="stack")
    most = int(per.group_by("endpoint").agg(pl.col("count").sum())["count"].max() or 1)
    fig.update_xaxes(title_text="errors during the load, by kind (count)", tickformat=",d",
                     dtick=1 if most <= 8 else None)
    return _base_layout(fig, 110 + 28 * len(order))


# -- capacity ----------------------------------------------------------------------------------------

def capacity_figure(env: EnvData) -> go.Figure | None:
    cap = env.capacity
    if not cap:
        return None
    detail = cap.get("detail")
    if isinstance(detail, str):
        import json

        try:
            detail = json.loads(detail)
        except ValueError:
            detail = None
    levels = (detail or {}).get("levels") or []
    lam, sigma, kappa = cap.get("usl_lambda"), cap.get("usl_sigma"), cap.get("usl_kappa")
    if not levels or lam is None or sigma is None or kappa is None:
        return None
    xs = [lv["concurrency"] for lv in levels]
    top = max(xs + [cap.get("peak_concurrency") or 0]) * 1.2
    grid = [top * i / 100 for i in range(1, 101)]
    model = [lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1)) for n in grid]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=grid, y=model, mode="lines", name="USL fit", line={"color": BLUE, "width": 2}))
    fig.add_trace(go.Scatter(x=xs, y=[lv["throughput"] for lv in levels], mode="markers", name="measured",
                             marker={"color": INK, "size": 7}))
    if cap.get("slo_break_concurrency"):
        fig.add_vline(x=cap["slo_break_concurrency"], line={"color": REGRESSION, "dash": "dash"},
                      annotation_text="SLO breaks", annotation_position="top left")
    fig.update_xaxes(title_text="concurrency (in flight)")
    fig.update_yaxes(title_text="throughput (req/s)")
    return _base_layout(fig, 320)


# -- the Slack picture -------------------------------------------------------------------------------

def _focus(env: EnvData) -> str | None:
    """What the summary chart shows for an environment: its first regressed endpoint, else the run."""
    if env.nightly is None:
        return None
    available = set(env.nightly["endpoint"].to_list())
    for gate in env.summary.regressions if env.summary else []:
        if (gate.endpoint or OVERALL) in available:
            return gate.endpoint or OVERALL
    cps = env.change_points
    if cps is not None and not cps.is_empty():
        for name in cps.filter(pl.col("direction") == "regression")["endpoint"].to_list():
            if name in available:
                return name
    return OVERALL if OVERALL in available else None


def _readiness_bar(fig: go.Figure, env: EnvData, col: int, x0: float, x1: float, chart_top: float) -> None:
    """No load measured here: how much of the API is real, as one stacked bar, and why no trend."""
    counts = (env.summary.numbers.verdicts if env.summary else {}) or {}
    fig.update_xaxes(visible=False, row=1, col=col)
    fig.update_yaxes(visible=False, row=1, col=col)
    if counts:
        for verdict in ("real", "mock", "missing", "unverified", "error", "unreachable"):
            if counts.get(verdict):
                fig.add_trace(go.Bar(x=[counts[verdict]], y=[""], orientation="h", showlegend=False,
                                     marker_color=VERDICT_COLOURS.get(verdict, GREY),
                                     text=[f"{counts[verdict]} {verdict}"],
                                     textposition="inside", insidetextanchor="middle",
                                     textfont={"color": "white", "size": 14}), row=1, col=col)
        fig.update_yaxes(domain=[chart_top * 0.45, chart_top * 0.75], row=1, col=col)
    why = env.notes.get("trends") or "no load history yet"
    fig.add_annotation(xref="paper", yref="paper", x=(x0 + x1) / 2, y=chart_top * 0.3, showarrow=False,
                       text=f"<span style='color:{MUTED}'>{_short(why, 64)}</span>", font={"size": 13})
    if counts:
        fig.add_annotation(xref="paper", yref="paper", x=x0, y=chart_top + 0.05, xanchor="left", yanchor="bottom",
                           showarrow=False,
                           text="<b>endpoints</b> <span style='color:#656d76'>real or not yet (readiness)</span>",
                           font={"size": 13})


def _short(text: str, width: int) -> str:
    return textwrap.shorten(text, width=width, placeholder="…")


def summary_figure(data: ReportData, width: int = 1200) -> go.Figure:
    """Verdict tiles over trend charts, one column per environment: the state in ten seconds."""
    envs = data.environments
    n = max(len(envs), 1)
    fig = make_subplots(rows=1, cols=n, horizontal_spacing=0.06 if n > 1 else 0.0)
    tile_top, tile_bottom, chart_top = 0.87, 0.50, 0.39
    wrap = {1: 110, 2: 64}.get(n, int(128 / n) if n > 3 else 42)
    for i, env in enumerate(envs, start=1):
        s = env.summary
        verdict = s.verdict if s else "running"
        colour = VERDICTS[verdict][2]
        xaxis = "x" if i == 1 else f"x{i}"
        domain = fig.layout[f"xaxis{'' if i == 1 else i}"].domain
        x0, x1 = domain
        fig.add_shape(type="rect", xref="paper", yref="paper", x0=x0, x1=x1, y0=tile_bottom, y1=tile_top,
                      fillcolor=_tint(colour, 0.08), line={"color": colour, "width": 2}, layer="below")
        fig.add_shape(type="rect", xref="paper", yref="paper", x0=x0, x1=x1, y0=tile_top - 0.012, y1=tile_top,
                      fillcolor=colour, line={"width": 0})
        pad = 0.012
        fig.add_annotation(xref="paper", yref="paper", x=x0 + pad, y=tile_top - 0.03, xanchor="left", yanchor="top",
                           text=f"<b>{env.name}</b>" + (f"  <span style='color:{MUTED}'>{env.kind}</span>"
                                                        if env.kind != env.name else ""),
                           showarrow=False, font={"size": 18, "color": INK})
        fig.add_annotation(xref="paper", yref="paper", x=x0 + pad, y=tile_top - 0.095, xanchor="left", yanchor="top",
                           text=f"<b>{VERDICTS[verdict][1].upper()}</b>", showarrow=False,
                           font={"size": 30, "color": colour})
        lines = []
        if s:
            numbers = s.numbers
            first = [p for p in (f"p95 <b>{fmt_ms(numbers.p95_ms)}</b>" if numbers.p95_ms is not None else None,
                                 f"errors <b>{fmt_pct(numbers.error_rate)}</b>" if numbers.error_rate is not None
                                 else None,
                                 f"<b>{numbers.rps:,.0f}</b> req/s" if numbers.rps is not None else None) if p]
            if first:
                lines.append(" · ".join(first))
            gaps = []
            if numbers.verdicts:
                total = sum(numbers.verdicts.values())
                gaps.append(f"{numbers.verdicts.get('real', 0)}/{total} endpoints real")
            if s.mocked:
                gaps.append(f"<span style='color:#9a6700'>{len(s.mocked)} mocked</span>")
            if s.missing:
                gaps.append(f"<span style='color:#cf222e'>{len(s.missing)} missing</span>")
            if gaps:
                lines.append(" · ".join(gaps))
            if s.doubt:
                doubt = textwrap.wrap(f"◇ {s.doubt}", wrap)
                doubt = doubt if len(doubt) <= 2 else [doubt[0], _short(" ".join(doubt[1:]), wrap)]
                lines += [f"<span style='color:{DOUBT_COLOUR}'><b>{w}</b></span>" for w in doubt]
            if s.verdict != "passed":
                brief = s.brief.replace(f"; {s.doubt}", "") if s.doubt else s.brief
                wrapped = textwrap.wrap(brief, wrap)
                if len(wrapped) > 2:
                    wrapped = [wrapped[0], _short(" ".join(wrapped[1:]), wrap)]
                lines += [f"<span style='color:{colour}'>{w}</span>" for w in wrapped]
            elif s.vs:
                lines.append(f"<span style='color:{MUTED}'>{_short(s.vs, wrap)}</span>")
            elif s.not_run:
                refused = [st for st, status, _ in s.not_run if status == "refused"]
                if refused:
                    lines.append(f"<span style='color:{MUTED}'>{', '.join(refused)} never runs here</span>")
        fig.add_annotation(xref="paper", yref="paper", x=x0 + pad, y=tile_top - 0.19, xanchor="left", yanchor="top",
                           text="<br>".join(lines[:5]) or "&nbsp;", showarrow=False, align="left",
                           font={"size": 15 if n < 3 else 14, "color": INK})
        focus = _focus(env)
        if focus is not None and env.nightly is not None and env.nightly["run_id"].n_unique() >= 2:
            regressed = {g.endpoint or OVERALL for g in (s.regressions if s else [])}
            tone = REGRESSION if focus in regressed else BLUE
            _add_trend(fig, env, focus, 1, i, compact=True, colour=tone)
            fig.add_annotation(xref="paper", yref="paper", x=x0, y=chart_top + 0.05, xanchor="left", yanchor="bottom",
                               text=f"<b>p95 · {label(focus)}</b> <span style='color:{MUTED}'>last "
                                    f"{env.nightly['run_id'].n_unique()} nights, ms</span>",
                               showarrow=False, font={"size": 13})
        elif env.timeseries is not None and not env.timeseries.is_empty():
            # the first night: no trend yet, so the run itself, second by second
            ts = env.timeseries
            fig.add_trace(go.Scatter(x=ts["second"].to_list(), y=ts["p95_ms"].to_list(), mode="lines",
                                     line={"color": BLUE, "width": 2}, showlegend=False), row=1, col=i)
            fig.update_xaxes(tickformat="d", row=1, col=i)
            fig.add_annotation(xref="paper", yref="paper", x=x0, y=chart_top + 0.05, xanchor="left", yanchor="bottom",
                               text=f"<b>p95 · this run</b> <span style='color:{MUTED}'>ms, second by second</span>",
                               showarrow=False, font={"size": 13})
        else:
            _readiness_bar(fig, env, i, x0, x1, chart_top)
    when = data.generated_at.strftime("%d %b %Y %H:%M UTC")
    total = len(envs)
    bad = [e for e in envs if e.summary and e.summary.verdict != "passed"]
    tail = (f"{len(bad)} of {total} environments need attention" if bad else f"all {total} environments green")
    doubtful = [e.name for e in envs if e.summary and e.summary.doubt]
    if doubtful:
        fig.add_annotation(xref="paper", yref="paper", x=1, y=0.945, xanchor="right", yanchor="top", showarrow=False,
                           text=f"<b>◇ numbers in doubt in {', '.join(doubtful)}</b>",
                           font={"size": 15, "color": DOUBT_COLOUR})
    fig.add_annotation(xref="paper", yref="paper", x=0, y=1.0, xanchor="left", yanchor="top", showarrow=False,
                       text=f"<b>{data.campaign}</b> <span style='color:{MUTED}'>· performance · {when}</span>",
                       font={"size": 22, "color": INK})
    fig.add_annotation(xref="paper", yref="paper", x=1, y=1.0, xanchor="right", yanchor="top", showarrow=False,
                       text=f"<b style='color:{data.summary.colour}'>{data.summary.label.upper()}</b>"
                            f" <span style='color:{MUTED}'>· {tail}</span>",
                       font={"size": 18, "color": INK})
    fig.update_yaxes(domain=[0.0, chart_top], gridcolor=GRID, zeroline=False, rangemode="tozero")
    fig.update_xaxes(gridcolor=GRID, zeroline=False, nticks=4, tickformatstops=DATE_TICKS)
    fig.update_layout(template="plotly_white", width=width, height=int(width * 0.5625), showlegend=False,
                      margin={"l": 48, "r": 24, "t": 24, "b": 36}, font={"family": FONT, "size": 12, "color": INK},
                      paper_bgcolor="white", plot_bgcolor="white")
    return fig
