"""The words perfcampaign says everywhere, said once: stages, test types, statuses, verdicts, exit codes.

Every module that names a stage, a run status, a readiness verdict or an exit code imports it from
here (the CLI, the runner, the Prefect flow, the report, Slack, JUnit, the warehouse), so a new word
is one edit. Standard library only: the CLI's fast paths import it.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal

#: the pipeline, in order
STAGE_ORDER: tuple[str, ...] = ("readiness", "smoke", "e2e", "load", "chaos")
Stage = Literal["readiness", "smoke", "e2e", "load", "chaos"]
#: steps after the stages that outputs also report on
POST_STAGES: tuple[str, ...] = ("analysis",)

TEST_TYPES: tuple[str, ...] = ("load", "stress", "spike", "soak", "breakpoint")
TestType = Literal["load", "stress", "spike", "soak", "breakpoint"]

ENV_KINDS: tuple[str, ...] = ("dev", "staging", "production")
EnvKind = Literal["dev", "staging", "production"]

#: a stage's outcome
StageStatus = Literal["passed", "failed", "skipped", "refused", "error", "interrupted"]
STAGE_STATUSES: tuple[str, ...] = ("passed", "failed", "skipped", "refused", "error", "interrupted")

#: a run's (campaign × environment) status in the warehouse; ``crashed`` is set after the fact for
#: a run whose process died while it was ``running``
RunStatus = Literal["running", "passed", "failed", "error", "interrupted", "crashed"]
RUN_STATUSES: tuple[str, ...] = ("running", "passed", "failed", "error", "interrupted", "crashed")

#: readiness's answer for one endpoint. ``unverified``: the route exists but the probe could not
#: exercise it enough to judge (no real id, writes not allowed here); the reason says why.
ReadinessVerdict = Literal["real", "mock", "missing", "unverified", "error", "unreachable"]
READINESS_VERDICTS: tuple[str, ...] = ("real", "mock", "missing", "unverified", "error", "unreachable")
#: verdicts that keep an endpoint out of load and chaos
BLOCKING_VERDICTS: tuple[str, ...] = ("mock", "missing")


class ExitCode(IntEnum):
    """The process's exit code, for every command."""

    OK = 0            #: every gate passed
    GATE_FAILED = 1   #: an expectation or threshold failed, or a regression was found
    BAD_INPUT = 2     #: invalid campaign file, unknown environment or stage, a refused stage
    INFRA = 3         #: the target was unreachable, a service would not start, the machinery failed
    INTERRUPTED = 130  #: stopped by SIGINT/SIGTERM (stored as ``interrupted`` with what it measured)
