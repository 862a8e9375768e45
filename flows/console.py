"""What every ``perfcampaign`` command shares: the failure that becomes one line and an exit code,
opening the warehouse, ``--since``, and a console that fits the terminal.

Exit codes are ``campaigns.vocabulary.ExitCode``; anything perfcampaign raises on purpose derives
from ``campaigns.errors.PerfcampaignError`` and carries its own code, so ``main`` turns it into one
line on stderr, never a traceback.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

import click

from campaigns.errors import PerfcampaignError
from campaigns.vocabulary import ExitCode

_SINCE = re.compile(r"^(\d+)\s*([hdw])$")
#: the width tables are laid out for when stdout is not a terminal (a pipe, CI logs)
DEFAULT_WIDTH = 100


class Failure(click.ClickException):
    """A handled failure: ``perfcampaign: <message>`` on stderr and a chosen exit code."""

    def __init__(self, message: str, code: int = ExitCode.BAD_INPUT):
        super().__init__(message)
        self.exit_code = int(code)

    @classmethod
    def of(cls, exc: PerfcampaignError) -> Failure:
        return cls(str(exc), exc.exit_code)

    def show(self, file: Any = None) -> None:
        click.echo(f"perfcampaign: {self.message}", err=True)


def open_store(path: str | None, *, must_exist: bool = True, missing_code: int = ExitCode.INFRA) -> Any:
    """The warehouse at ``--warehouse`` (or the default); a missing or unreadable one is a :class:`Failure`."""
    from warehouse.store import Warehouse, WarehouseError, default_path

    target = default_path(path)
    if must_exist and not target.exists():
        raise Failure(f"no warehouse at {target} (run a campaign first, or pass --warehouse)", missing_code)
    try:
        return Warehouse(target)
    except WarehouseError as exc:
        raise Failure.of(exc) from None


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """``30d``, ``12h``, ``2w`` (before now) or a date ``2025-01-31``; empty or ``all`` means no bound."""
    if not text or text.strip().lower() == "all":
        return None
    now = now or datetime.now(UTC)
    match = _SINCE.match(text.strip().lower())
    if match:
        n, unit = int(match.group(1)), match.group(2)
        return now - {"h": timedelta(hours=n), "d": timedelta(days=n), "w": timedelta(weeks=n)}[unit]
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise Failure(f"--since {text!r}: use e.g. 30d, 12h, 2w, a date like 2025-01-31, or 'all'",
                      ExitCode.BAD_INPUT) from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def console(stderr: bool = False) -> Any:
    """A rich Console: the terminal's width, or :data:`DEFAULT_WIDTH` columns when not a terminal."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else DEFAULT_WIDTH
    return Console(highlight=False, width=width, stderr=stderr)
