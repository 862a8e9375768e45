"""``perfcampaign trends``, ``perfcampaign regressions`` and ``perfcampaign exclude``.

Register them in the ``perfcampaign`` group (``flows/cli.py``)::

    from flows.analytics_cli import exclude, regressions, trends
    for command in (trends, regressions, exclude):
        cli.add_command(command)

``trends`` computes from the nights in the warehouse (nothing is written); ``regressions`` lists the
newest night's significant changes vs last night and vs baseline, and the change points the last
analysis stored (``--refresh`` analyses first and stores the result);
``exclude`` marks a run untrustworthy with a reason, so no later analysis uses it. Tables go to
stdout with rich; ``--json`` prints one JSON document instead. Exit codes: 0, 2 for bad input
(an unknown metric, an unreadable ``--since``), 3 when the warehouse cannot be read.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

import click
from rich import box
from rich.table import Table

from campaigns.vocabulary import ExitCode
from flows.console import Failure, console, open_store, parse_since
from warehouse.analytics.metrics import METRICS
from warehouse.store import Warehouse, WarehouseError

__all__ = ["exclude", "parse_since", "regressions", "trends", "trends_table"]


def _check_metric(metric: str | None) -> None:
    if metric is not None and metric not in METRICS:
        raise Failure(f"--metric {metric!r}: one of {', '.join(METRICS)}", ExitCode.BAD_INPUT)


def _store(path: str | None) -> Warehouse:
    return open_store(path)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _emit_json(doc: dict[str, Any]) -> None:
    click.echo(json.dumps(_clean(doc), indent=2, allow_nan=False))


def fmt(metric: str, value: Any) -> str:
    """A series' value in its unit: ``262 ms``, ``1.23%``, ``41.5 req/s``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if metric == "error_rate":
        return f"{value * 100:.2f}%"
    if metric == "rps":
        return f"{value:,.1f}/s"
    return f"{value:.1f} ms" if abs(value) < 100 else f"{value:,.0f} ms"


def pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value * 100:+.1f}%"


_common = [
    click.option("--campaign", help="Campaign slug (default: all)."),
    click.option("--env", "environment", help="Environment name (default: all)."),
    click.option("--endpoint", help="Endpoint name ('_overall' for the whole run)."),
    click.option("--metric", help=f"One of {', '.join(METRICS)}."),
    click.option("--since", default="30d", show_default=True, help="Nights since: 30d, 12h, 2w, a date, or 'all'."),
    click.option("--warehouse", type=click.Path(dir_okay=False), help="DuckDB file (default $PERFCAMPAIGN_WAREHOUSE "
                 "or .perfcampaign/warehouse.duckdb)."),
    click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table."),
]


def common(func: Any) -> Any:
    for option in reversed(_common):
        func = option(func)
    return func


#: a series worth a line by default: it moved this much against the last 7 nights …
NOTABLE_CHANGE = 0.10
#: … or it reaches its limit within this many nights at its slope
NOTABLE_NIGHTS = 60


def _crossing(r: dict[str, Any]) -> str:
    nights_to = r.get("nights_to_threshold")
    if nights_to is None:
        return "–"
    return "past it" if nights_to <= 0 else f"{nights_to:,.0f} nights" if nights_to <= 3650 else "10+ years"


#: this many series or fewer are all shown
FEW_ROWS = 40
#: an error rate moves when it changes by this much in absolute terms (0.1% → 0.2% is +100%, and nothing)
NOTABLE_ERROR_RATE = 0.005


def notable(r: dict[str, Any]) -> bool:
    """The whole run always; an endpoint when it moved or nears its limit."""
    change = r.get("change_7")
    nights_to = r.get("nights_to_threshold")
    moved = change is not None and abs(change) >= NOTABLE_CHANGE
    if moved and r["metric"] == "error_rate" and r.get("value") is not None:
        before = r["value"] / (1 + change) if change != -1 else 0.0
        moved = abs(r["value"] - before) >= NOTABLE_ERROR_RATE
    return r["endpoint"] == "_overall" or moved or (nights_to is not None and nights_to <= NOTABLE_NIGHTS)


def _order(r: dict[str, Any]) -> tuple[Any, ...]:
    """Summary rows first (the whole run), then what moved most."""
    metric_rank = list(METRICS).index(r["metric"]) if r["metric"] in METRICS else 99
    return (r["environment"], r["endpoint"] != "_overall", -abs(r.get("change_7") or 0.0), r["endpoint"], metric_rank)


def trends_table(rows: list[dict[str, Any]], title: str) -> Table:
    """Fits 100 columns: where, what, how many nights (and how many left out), the latest value in its
    unit, the change against 7 and 30 nights, and when it reaches its limit at the current slope."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, title_justify="left")
    for col, justify in (("env", "left"), ("endpoint", "left"), ("metric", "left"), ("nights", "right"),
                         ("latest", "right"), ("Δ 7", "right"), ("Δ 30", "right"), ("limit", "right"),
                         ("reaches it in", "right")):
        table.add_column(col, justify=justify, no_wrap=col != "endpoint", overflow="fold",  # type: ignore[arg-type]
                         max_width=28 if col == "endpoint" else None)
    for r in sorted(rows, key=_order):
        m = r["metric"]
        nights = str(r["nights"]) + (f" ({r['untrusted_nights']}◇)" if r.get("untrusted_nights") else "")
        change = r.get("change_7")
        style = "" if change is None or abs(change) < NOTABLE_CHANGE else \
            ("red" if (change > 0) == (m != "rps") else "green")
        table.add_row(r["environment"], r["endpoint"], METRICS[m].label if m in METRICS else m, nights,
                      fmt(m, r["value"]), f"[{style}]{pct(change)}[/]" if style else pct(change),
                      pct(r.get("change_30")), fmt(m, r.get("threshold")), _crossing(r))
    return table


@click.command()
@common
@click.option("--all", "show_all", is_flag=True, help="Every series (default past 40: the whole run, and the "
              "endpoints that moved 10% or near their limit).")
def trends(campaign: str | None, environment: str | None, endpoint: str | None, metric: str | None, since: str,
           warehouse: str | None, as_json: bool, show_all: bool) -> None:
    """Trends per campaign / environment / endpoint / metric: change against the last 7 and 30 nights,
    and when each series reaches its own limit (the campaign's gate) at the current slope. ◇: nights
    left out because the generator could not vouch for them."""
    from warehouse.analytics.service import current_trends

    _check_metric(metric)
    bound = parse_since(since)
    store = _store(warehouse)
    try:  # forecasts against each series' own gate (stored by its campaign's last analysis)
        frame = current_trends(store, campaign, environment, since=bound, endpoint=endpoint, metric=metric)
    except WarehouseError as exc:
        raise Failure.of(exc) from None
    rows = frame.sort("campaign", "environment", "test_type", "endpoint", "metric").to_dicts() \
        if not frame.is_empty() else []
    doc = {"warehouse": str(store.path), "since": bound, "campaign": campaign, "environment": environment,
           "endpoint": endpoint, "metric": metric, "trends": rows}
    if as_json:
        _emit_json(doc)
        return
    if not rows:
        click.echo("no nights in the warehouse for these filters")
        return
    by_campaign: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_campaign.setdefault(f"{r['campaign']} ({r['test_type']})", []).append(r)
    out = console()
    filtered = show_all or endpoint is not None or metric is not None or len(rows) <= FEW_ROWS
    for title, part in by_campaign.items():
        shown = part if filtered else [r for r in part if notable(r)]
        out.print(trends_table(shown, f"trends: {title}"))
        hidden = len(part) - len(shown)
        if hidden:
            out.print(f"{hidden} steady series hidden (moved < {NOTABLE_CHANGE:.0%} in 7 nights, not near a limit): "
                      "--all shows them", style="dim")


def regressions_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, title_justify="left")
    for col in ("env", "endpoint", "metric", "since", "run", "direction", "before", "after", "change", "p", "nights"):
        table.add_column(col, justify="right" if col in ("before", "after", "change", "p", "nights") else "left")
    for r in rows:
        m = r["metric"]
        style = "red" if r["direction"] == "regression" else "green"
        table.add_row(r["environment"], r["endpoint"], METRICS[m].label if m in METRICS else m,
                      f"{r['night']:%Y-%m-%d}", r["run_id"][:8], f"[{style}]{r['direction']}[/{style}]",
                      fmt(m, r["before_value"]), fmt(m, r["after_value"]), pct(r.get("rel_change")),
                      "–" if r.get("p_value") is None else f"{r['p_value']:.1g}", str(r.get("nights_after") or "–"))
    return table


@click.command()
@common
@click.option("--improvements", is_flag=True, help="List improvements too.")
@click.option("--refresh", is_flag=True, help="Analyse the warehouse first (stores change points, baselines, trends).")
def regressions(campaign: str | None, environment: str | None, endpoint: str | None, metric: str | None, since: str,
                warehouse: str | None, as_json: bool, improvements: bool, refresh: bool) -> None:
    """Change points the analysis found (open ones, newest first): direction by the metric's good
    direction, magnitude, significance and the run where each began."""
    _check_metric(metric)
    bound = parse_since(since)
    store = _store(warehouse)
    from warehouse.analytics.service import latest_night_regressions

    try:
        if refresh:
            from warehouse.analytics.service import analyze

            analyze(store, campaign, environment)
        nightly = latest_night_regressions(store, campaign, environment, since=bound, endpoint=endpoint,
                                           metric=metric, improvements=improvements)
        frame = store.open_change_points(campaign, environment, endpoint=endpoint, metric=metric, since=bound,
                                         regressions_only=not improvements)
        excluded = store.excluded_run_rows(20)
    except WarehouseError as exc:
        raise Failure.of(exc) from None
    rows = frame.to_dicts()
    last_nights = nightly.to_dicts() if not nightly.is_empty() else []
    doc = {"warehouse": str(store.path), "since": bound, "campaign": campaign, "environment": environment,
           "endpoint": endpoint, "metric": metric, "latest_night": last_nights, "change_points": rows,
           "excluded_runs": excluded}
    if as_json:
        _emit_json(doc)
        return
    if not rows and not last_nights:
        click.echo("no regressions" + (" or improvements" if improvements else "") + " found"
                   + ("" if refresh else " (has the analysis run? try --refresh)"))
        return
    out = console()
    if last_nights:
        out.print(night_table(last_nights, "the latest night vs last night / vs baseline"))
    if rows:
        out.print(regressions_table(rows, "change points" if improvements else "change-point regressions"))


def night_table(rows: list[dict[str, Any]], title: str) -> Table:
    """The newest night's significant changes: against which reference, by how much, how sure, by which method."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, title_justify="left")
    for col in ("env", "endpoint", "metric", "night", "vs", "before", "after", "change", "p", "method"):
        table.add_column(col, justify="right" if col in ("before", "after", "change", "p") else "left")
    for r in rows:
        m = r["metric"]
        style = "red" if r["direction"] == "regression" else "green"
        table.add_row(r["environment"], r["endpoint"], METRICS[m].label if m in METRICS else m,
                      f"{r['night']:%Y-%m-%d %H:%M}", "last night" if r["reference"] == "previous" else "baseline",
                      fmt(m, r["reference_value"]), fmt(m, r["value"]),
                      f"[{style}]{pct(r.get('rel_change'))}[/{style}]",
                      "–" if r.get("p_value") is None else f"{r['p_value']:.1g}", r["method"])
    return table


@click.command()
@click.argument("run_id")
@click.option("--reason", required=True, help="Why this run's numbers are not to be trusted.")
@click.option("--warehouse", type=click.Path(dir_okay=False))
def exclude(run_id: str, reason: str, warehouse: str | None) -> None:
    """Leave RUN_ID out of trends, baselines and change points, with the reason kept beside it."""
    if not reason.strip():
        raise Failure("--reason cannot be empty", ExitCode.BAD_INPUT)
    store = _store(warehouse)
    try:
        store.exclude_run(run_id, reason.strip())
    except WarehouseError as exc:
        code = ExitCode.BAD_INPUT if "no run" in str(exc) else ExitCode.INFRA
        raise Failure(str(exc), code) from None
    click.echo(f"excluded run {run_id}: {reason.strip()}")
