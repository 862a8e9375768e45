"""The chaos stage's exceptions, under one root, and the production guard every entry point calls.

::

    ChaosError
    ├── ChaosRefused        (also a PermissionError) chaos asked of a production environment, or of
    │                       a target (host:port) that belongs to one
    ├── ExperimentInvalid   the chaos section cannot run here; ``problems`` lists every mistake
    ├── FaultError          a fault that cannot be built (unknown type, bad params)
    └── MethodFailed        an activity of the method failed (a command exited non-zero, …)

The watchdog does not raise: it records why it tripped and the run stops the method (see
``safeguards``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

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


def _addresses(host: str) -> set[str]:
    """The names one host goes by, for comparing targets: ``localhost`` is 127.0.0.1 and ::1, an IP
    literal is its canonical form (``::ffff:127.0.0.1`` is 127.0.0.1), ``0.0.0.0`` / ``::`` reach every
    local address."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return {"127.0.0.1", "::1", "localhost", "*local*"}
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return {name}
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped  # type: ignore[union-attr]
    out = {str(ip)}
    if ip.is_unspecified or ip.is_loopback:
        out.add("*local*")
    return out


def same_target(a: tuple[str, int], b: tuple[str, int]) -> bool:
    """Whether two (host, port) pairs reach the same service (as far as names tell without DNS)."""
    if a[1] != b[1]:
        return False
    ha, hb = _addresses(a[0]), _addresses(b[0])
    if ha & hb - {"*local*"}:
        return True
    # 0.0.0.0 reaches 127.0.0.1; 127.0.0.2 and 127.0.0.1 are different addresses
    unspecified = {"0.0.0.0", "::"}
    return "*local*" in ha and "*local*" in hb and bool((ha | hb) & unspecified)


def refuse_production_target(target: tuple[str, int], production: dict[tuple[str, int], str] | Iterable[Any],
                             what: str = "chaos") -> None:
    """Raise :class:`ChaosRefused` when ``target`` (host, port) is a production environment's target,
    whatever the environment asking for chaos is labelled (a staging environment pointed at
    production's base URL is production). ``production`` maps (host, port) to an environment name."""
    items = production.items() if isinstance(production, dict) else ((t, "production") for t in production)
    for prod_target, name in items:
        if same_target(target, prod_target):
            raise ChaosRefused(f"{REFUSAL}: {what} refused: {target[0]}:{target[1]} is the target of production "
                               f"environment {name!r}")


def production_targets_of(campaign: Any) -> dict[tuple[str, int], str]:
    """(host, port) → name of every production environment of ``campaign`` (empty for objects that
    are not campaigns)."""
    finder = getattr(campaign, "production_targets", None)
    return finder() if callable(finder) else {}
