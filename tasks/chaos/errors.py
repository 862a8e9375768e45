"""The chaos stage's exceptions, under one root, and the production guard every entry point calls.

::

    ChaosError
    ├── ChaosRefused        (also a PermissionError) chaos asked of a production environment
    ├── ExperimentInvalid   the chaos section cannot run here; ``problems`` lists every mistake
    ├── FaultError          a fault that cannot be built (unknown type, bad params)
    └── MethodFailed        an activity of the method failed (a command exited non-zero, …)

The watchdog does not raise: it records why it tripped and the run stops the method (see
``safeguards``).
"""

from __future__ import annotations

PRODUCTION = "production"
REFUSAL = "chaos never runs in a production environment"


class ChaosError(Exception):
    """Root of every chaos-stage error."""


class ChaosRefused(ChaosError, PermissionError):
    """Chaos was asked of a production environment (or of something that cannot say it is not)."""


class ExperimentInvalid(ChaosError, ValueError):
    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class FaultError(ChaosError, ValueError):
    """A fault that cannot be built: unknown type or invalid parameters."""


class MethodFailed(ChaosError):
    """An activity of the method failed."""


def refuse_production(env_kind: str | None, what: str = "chaos") -> None:
    """Raise :class:`ChaosRefused` unless ``env_kind`` names a non-production environment.

    Every way into fault injection calls this: the stage, :func:`tasks.chaos.run.run_experiment`,
    the run context, the proxy's constructor and its ``add_fault``. An unknown or missing kind is
    refused too: chaos needs an environment that says it is ``dev`` or ``staging``.
    """
    if env_kind == PRODUCTION:
        raise ChaosRefused(f"{REFUSAL}: {what} refused")
    if env_kind not in ("dev", "staging"):
        raise ChaosRefused(f"{what} needs an environment of kind dev or staging, not {env_kind!r}")
