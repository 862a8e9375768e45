"""One root for everything perfcampaign raises on purpose, so callers can catch "anything we raised".

    PerfcampaignError
    ├── UserError            a mistake the user can fix (exit 2): bad file, unknown name, refused stage
    │   └── (campaigns.loader.CampaignError, importers' SourceError, runner's BadInput …)
    ├── TargetError          the target misbehaved or could not be reached (exit 3)
    └── MachineryError       perfcampaign's own machinery failed (exit 3)

Each class carries the exit code the CLI turns it into. Standard library only.
"""

from __future__ import annotations

from campaigns.vocabulary import ExitCode


class PerfcampaignError(Exception):
    """Root of every exception perfcampaign raises on purpose."""

    exit_code: int = ExitCode.INFRA


class UserError(PerfcampaignError):
    """Something the user can fix: the message says what and where (file:line: field: message)."""

    exit_code = ExitCode.BAD_INPUT


class TargetError(PerfcampaignError):
    """The target could not be reached, or a service would not start."""

    exit_code = ExitCode.INFRA


class MachineryError(PerfcampaignError):
    """perfcampaign's own machinery failed (warehouse, worker processes, browser…)."""

    exit_code = ExitCode.INFRA
