"""``perfcampaign backlog``: the gaps the stages found, one line per gap, in a terminal or exported.

Gaps come from readiness (mocked and missing endpoints, keys ``readiness:…``) and e2e (friction
points, keys ``e2e:…``); a gap seen every night is one item with its first and last sighting and
the number of runs that saw it, and it is closed once a run no longer sees it.

The table and the Markdown merge what is one gap for a team: the same kind of gap on the same
endpoint, whichever stage saw it (readiness's ``missing`` and the journey's ``404`` are one item)
and in whichever environment (listed in the ``environments`` column). What users saw because of
it (an error message on the page) is part of the item, never lost. Summary lines come first.
CSV and JSON keep one row per stored item (with its ``environment`` and ``key``), for tools.

    perfcampaign backlog                              # open gaps: a table in a terminal, Markdown in a pipe
    perfcampaign backlog --campaign demo --env dev --status all --format csv > backlog.csv
"""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import click

from campaigns.vocabulary import ENV_KINDS, ExitCode
from flows.console import console, open_store

COLUMNS = ("priority", "kind", "title", "effort", "endpoint", "status", "first_seen", "last_seen", "times_seen",
           "campaign", "environment", "key")
PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}


def load_items(path: str | None, campaign: str | None, env: str | None, status: str) -> list[dict[str, Any]]:
    """Stored backlog items, highest priority first, then oldest first."""
    return open_store(path, missing_code=ExitCode.BAD_INPUT).backlog_rows(campaign, env, status)


@dataclass
class Gap:
    """One gap for the team, merged across stages and environments."""

    campaign: str
    kind: str
    subject: str                          #: the endpoint, else what the title names
    title: str
    priority: str
    effort: str
    status: str
    endpoint: str | None
    environments: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)        #: readiness, e2e
    keys: list[str] = field(default_factory=list)
    users_see: list[str] = field(default_factory=list)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    runs: int = 0

    @property
    def what(self) -> str:
        seen = "; ".join(f"“{s}”" for s in self.users_see[:2])
        return self.title + (f" — users see {seen}" if seen else "")


def _subject(item: dict[str, Any]) -> str:
    return str(item.get("endpoint") or item["key"].split(":", 2)[-1])


def _env_order(name: str) -> tuple[int, str]:
    return (ENV_KINDS.index(name) if name in ENV_KINDS else len(ENV_KINDS), name)


def merge_gaps(items: list[dict[str, Any]]) -> list[Gap]:
    """One :class:`Gap` per (campaign, kind, subject, status): across stages and environments."""
    gaps: dict[tuple[str, str, str, str], Gap] = {}
    for item in items:
        key = (item["campaign"], item["kind"], _subject(item), item["status"])
        gap = gaps.get(key)
        if gap is None:
            gap = gaps[key] = Gap(campaign=item["campaign"], kind=item["kind"], subject=key[2], title=item["title"],
                                  priority=item["priority"], effort=item["effort"], status=item["status"],
                                  endpoint=item.get("endpoint"))
        elif PRIORITY_RANK.get(item["priority"], 3) < PRIORITY_RANK.get(gap.priority, 3):
            gap.priority, gap.effort, gap.title = item["priority"], item["effort"], item["title"]
        source = item["key"].split(":", 1)[0]
        for values, value in ((gap.environments, item["environment"]), (gap.sources, source),
                              (gap.keys, item["key"])):
            if value not in values:
                values.append(value)
        evidence = item.get("evidence")
        for text in (evidence.get("user_sees") or []) if isinstance(evidence, dict) else []:
            if text not in gap.users_see:
                gap.users_see.append(str(text))
        first, last = item.get("first_seen"), item.get("last_seen")
        gap.first_seen = min(d for d in (gap.first_seen, first) if d) if (gap.first_seen or first) else None
        gap.last_seen = max(d for d in (gap.last_seen, last) if d) if (gap.last_seen or last) else None
        gap.runs = max(gap.runs, int(item.get("times_seen") or 0))
    out = list(gaps.values())
    for gap in out:
        gap.environments.sort(key=_env_order)
    out.sort(key=lambda g: (g.status != "open", PRIORITY_RANK.get(g.priority, 3), g.first_seen or datetime.max,
                            g.kind, g.subject))
    return out


def summary_lines(gaps: list[Gap]) -> list[str]:
    """``7 open gaps: 2 high, 4 medium, 1 low`` and ``dev 5 · staging 6 · production 7``."""
    if not gaps:
        return []
    by_priority: dict[str, int] = {}
    by_env: dict[str, int] = {}
    for gap in gaps:
        by_priority[gap.priority] = by_priority.get(gap.priority, 0) + 1
        for env in gap.environments:
            by_env[env] = by_env.get(env, 0) + 1
    statuses = sorted({g.status for g in gaps})
    noun = f"{statuses[0]} gap" if len(statuses) == 1 else "gap"
    counts = ", ".join(f"{by_priority[p]} {p}" for p in sorted(by_priority, key=lambda p: PRIORITY_RANK.get(p, 3)))
    return [f"{len(gaps)} {noun}{'s' if len(gaps) != 1 else ''}: {counts}",
            "by environment: " + " · ".join(f"{e} {n}" for e, n in sorted(by_env.items(), key=lambda kv: _env_order(kv[0])))]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "–"


def to_markdown(items: list[dict[str, Any]]) -> str:
    gaps = merge_gaps(items)
    if not gaps:
        return "No backlog items.\n"
    head = ("Priority", "Kind", "Title", "Effort", "Environments", "Endpoint", "Status", "First seen", "Last seen",
            "Runs", "Found by", "Key")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for g in gaps:
        cells = [g.priority, g.kind, g.what, g.effort, ", ".join(g.environments), g.endpoint or "", g.status,
                 g.first_seen, g.last_seen, g.runs, ", ".join(g.sources), ", ".join(f"`{k}`" for k in g.keys)]
        lines.append("| " + " | ".join(_text(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def backlog_table(gaps: list[Gap], title: str | None = None) -> Any:
    """The terminal view: fits 100 columns (what, where, since when, how often)."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, title=title, title_justify="left",
                  expand=True)
    table.add_column("priority", no_wrap=True)
    table.add_column("gap", ratio=1, overflow="fold")
    table.add_column("kind", no_wrap=True)
    table.add_column("effort", no_wrap=True)
    table.add_column("environments", max_width=16)
    table.add_column("since", no_wrap=True)
    table.add_column("runs", justify="right", no_wrap=True)
    styles = {"high": "red", "medium": "yellow", "low": "dim"}
    for g in gaps:
        table.add_row(f"[{styles.get(g.priority, '')}]{g.priority}[/]", g.what, g.kind, g.effort,
                      ", ".join(g.environments), _day(g.first_seen), str(g.runs))
    return table


def to_csv(items: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*COLUMNS, "closed_at", "evidence"])
    for i in items:
        evidence = json.dumps(i.get("evidence"), default=str) if i.get("evidence") is not None else ""
        writer.writerow([*(_json_value(i.get(c)) for c in COLUMNS), _json_value(i.get("closed_at")), evidence])
    return out.getvalue()


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def to_json(items: list[dict[str, Any]]) -> str:
    return json.dumps([{k: _json_value(v) for k, v in i.items()} for i in items], indent=2, default=str) + "\n"


@click.command()
@click.option("--campaign", help="Only this campaign.")
@click.option("--env", help="Only this environment.")
@click.option("--status", type=click.Choice(["open", "closed", "all"]), default="open", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "csv", "json"]),
              help="table in a terminal, markdown otherwise; csv and json: one row per stored item.")
@click.option("--warehouse", type=click.Path(dir_okay=False), help="DuckDB file (default $PERFCAMPAIGN_WAREHOUSE "
              "or .perfcampaign/warehouse.duckdb).")
def backlog(campaign: str | None, env: str | None, status: str, fmt: str | None, warehouse: str | None) -> None:
    """The backlog gaps (missing APIs, slow APIs, mock data, UI blockers, …), one line per gap."""
    store = open_store(warehouse, missing_code=ExitCode.BAD_INPUT)
    items = store.backlog_rows(campaign, env, status)
    fmt = fmt or ("table" if sys.stdout.isatty() else "markdown")
    if fmt != "table":
        click.echo({"markdown": to_markdown, "csv": to_csv, "json": to_json}[fmt](items), nl=False)
        return
    gaps = merge_gaps(items)
    if not gaps:
        click.echo("No backlog items.")
        return
    out = console()
    for line in summary_lines(gaps):
        out.print(line, markup=False)
    out.print(backlog_table(gaps))


__all__ = ["Gap", "backlog", "backlog_table", "load_items", "merge_gaps", "summary_lines", "to_csv",
           "to_json", "to_markdown"]
