"""``perfcampaign load URL``: the quick load command (``tasks.load.quick``) with the terminal's live
progress (``flows.progress``) plugged in — the engines never import the CLI's displays, so the CLI
hands its display to them here."""

from __future__ import annotations

from flows.progress.display import display_for
from tasks.load import quick

quick.DISPLAY = display_for
load = quick.load
