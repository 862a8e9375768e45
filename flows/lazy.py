"""Sub-commands imported when they are used, so ``perfcampaign --help`` answers in milliseconds.

``perfcampaign --help``, ``--version``, ``validate`` and ``schema`` must not pay for polars,
pyarrow, DuckDB, httpx, Prefect or plotly (about 1.5 s on a quiet 2-core machine, several seconds
on a busy one). The group below knows each lazy command by ``module:attribute`` and its one-line
help, so listing the commands (``--help``, shell completion) imports none of them; running one
imports only its own module. ``tests/test_startup.py`` checks the help text here against each
command's own, and which modules each fast path imports.

Adding a command: define it in its module (heavy imports may stay at the module's top) and add a
line to :data:`LAZY_COMMANDS`.
"""

from __future__ import annotations

import importlib
from typing import Any

import click
from click.utils import make_default_short_help

#: name → (``module:attribute``, the command's one-line help as ``--help`` lists it)
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "backlog": ("flows.backlog_cli:backlog",
                "The backlog gaps (missing APIs, slow APIs, mock data, UI blockers, …), one line per gap."),
    "exclude": ("flows.analytics_cli:exclude",
                "Leave RUN_ID out of trends, baselines and change points, with the reason kept beside it."),
    "export": ("flows.import_cli:export_group", "Write a campaign in another tool's format."),
    "import": ("flows.import_cli:import_group", "Convert another tool's test files into a campaign."),
    "init": ("flows.import_cli:init",
             "Write a campaign from an OpenAPI spec: an endpoint per operation, sample values, bodies, "
             "expectations and response schemas."),
    "load": ("flows.quick_cli:load", "Quick load test of URL (open model with --rate, closed with --connections)."),
    "notify": ("flows.report_cli:notify", "Send the Slack summaries kept in the warehouse (the outbox)."),
    "regressions": ("flows.analytics_cli:regressions",
                    "Change points the analysis found (open ones, newest first): direction by the metric's "
                    "good direction, magnitude, significance and the run where each began."),
    "report": ("flows.report_cli:report",
               "Rebuild the executive summary (HTML + PNGs) from the warehouse."),
    "serve": ("flows.serve:serve", "Serve the reports folder on loopback (for a browser, or behind the team's reverse "
                                   "proxy)."),
    "prefect-server": ("flows.server:server",
               "A Prefect server perfcampaign starts once and reuses (start, stop, status)."),
    "trends": ("flows.analytics_cli:trends",
               "Trends per campaign / environment / endpoint / metric: rolling medians, change against the "
               "last 7 and 30 nights."),
}


class LazyGroup(click.Group):
    """A click group whose :data:`LAZY_COMMANDS` are imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy = dict(LAZY_COMMANDS if lazy is None else lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in self.lazy:
            return command
        return self.load(cmd_name)

    def load(self, name: str) -> click.Command | None:
        """Import a lazy command and keep it; ``None`` when its module is not in this install."""
        target, _ = self.lazy[name]
        module_name, attr = target.split(":")
        try:
            command = getattr(importlib.import_module(module_name), attr)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                return None  # an optional part not present in this version
            raise
        self.add_command(command, name)
        return command

    def command_help(self, ctx: click.Context, name: str, limit: int) -> str | None:
        """The one-line help of ``name`` without importing it (``None``: hidden or unknown)."""
        if name in self.commands:
            command = self.commands[name]
            return None if command.hidden else command.get_short_help_str(limit)
        if name in self.lazy:
            return make_default_short_help(self.lazy[name][1], limit)
        return None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = [(n, h) for n in names if (h := self.command_help(ctx, n, limit)) is not None]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        """Command names (and the group's options) without importing the lazy commands."""
        from click.shell_completion import CompletionItem

        items = [CompletionItem(n, help=self.command_help(ctx, n, 45)) for n in self.list_commands(ctx)
                 if n.startswith(incomplete) and self.command_help(ctx, n, 45) is not None]
        items.extend(click.Command.shell_complete(self, ctx, incomplete))
        return items
