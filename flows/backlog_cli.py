"""``perfcampaign backlog``: the backlog gaps the stages found, exported as Markdown, CSV or JSON.

Gaps come from readiness (mocked and missing endpoints, keys ``readiness:…``) and e2e (friction
points, keys ``e2e:…``); a gap seen every night is one item with its first and last sighting and
the number of runs that saw it, and it is closed once a run no longer sees it.

    perfcampaign backlog                              # open items, Markdown table
    perfcampaign backlog --campaign demo --env dev --status all --format csv > backlog.csv
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

import click

from campaigns.vocabulary import ExitCode
from flows.console import Failure
from warehouse.store import Warehouse, default_path
COLUMNS = ("priority", "kind", "title", "effort", "endpoint", "status", "first_seen", "last_seen", "times_seen",
           "campaign", "environment", "key")


def load_items(path: str | None, campaign: str | None, env: str | None, status: str) -> list[dict[str, Any]]:
    """Backlog items, highest priority first, then oldest first."""
    where, params = [], []
    for column, value in (("campaign", campaign), ("environment", env)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if status != "all":
        where.append("status = ?")
        params.append(status)
    sql = ("SELECT key, campaign, environment, kind, title, priority, effort, endpoint, evidence, status, "
           "first_seen, last_seen, first_run_id, last_run_id, times_seen, closed_at FROM backlog_items"
           + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY CASE priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, status DESC, "
             "first_seen, key")
    items = Warehouse(path).query(sql, params).to_dicts()
    for item in items:
        if isinstance(item.get("evidence"), str):
            try:
                item["evidence"] = json.loads(item["evidence"])
            except ValueError:
                pass
    return items


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def to_markdown(items: list[dict[str, Any]]) -> str:
    if not items:
        return "No backlog items.\n"
    head = ("Priority", "Kind", "Title", "Effort", "Endpoint", "Status", "First seen", "Last seen", "Seen", "Key")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i in items:
        cells = [i["priority"], i["kind"], i["title"], i["effort"], i["endpoint"], i["status"], i["first_seen"],
                 i["last_seen"], i["times_seen"], f"`{i['key']}`"]
        lines.append("| " + " | ".join(_text(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines) + "\n"


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
@click.option("--format", "fmt", type=click.Choice(["markdown", "csv", "json"]), default="markdown",
              show_default=True)
@click.option("--warehouse", type=click.Path(dir_okay=False), help="DuckDB file (default $PERFCAMPAIGN_WAREHOUSE "
              "or .perfcampaign/warehouse.duckdb).")
def backlog(campaign: str | None, env: str | None, status: str, fmt: str, warehouse: str | None) -> None:
    """Export the backlog gaps (missing APIs, slow APIs, mock data, UI blockers, …)."""
    path = default_path(warehouse)
    if not path.exists():
        raise Failure(f"no warehouse at {path} (run a campaign first, or pass --warehouse)", ExitCode.BAD_INPUT)
    items = load_items(str(path), campaign, env, status)
    click.echo({"markdown": to_markdown, "csv": to_csv, "json": to_json}[fmt](items), nl=False)
