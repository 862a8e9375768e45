"""The fault registry: one fault per module, named after its type string (Toxiproxy's toxics).

=============  ==============================================================================
type           what it does (``fraction`` selects what the "unit" column says)
=============  ==============================================================================
latency        adds ``latency_ms`` ± ``jitter_ms`` to a chosen exchange (request)
bandwidth      limits a chosen connection to ``rate_kbps`` KB/s (connection)
reset          answers a chosen request with a TCP RST (request)
timeout        accepts and reads but never answers a chosen request's connection (request)
outage         resets chosen requests; at fraction 1 every connection, new or open (request)
slow_close     delays propagating a close by ``delay_ms`` (connection)
http_error     answers a chosen HTTP request with ``status`` (5xx) itself (request)
http_delay     holds a chosen HTTP request ``delay_ms`` before forwarding it (request)
=============  ==============================================================================

:func:`build` makes a fault from its type, parameters and fraction; :func:`params_errors` lists
every problem with a parameter set (the campaign model uses it, so a typo is reported with its
file and line before anything runs).
"""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import ValidationError

from tasks.chaos.errors import FaultError
from tasks.chaos.faults.base import Fault

FAULT_MODULES = ("latency", "bandwidth", "reset", "timeout", "outage", "slow_close", "http_error", "http_delay")
FAULTS: dict[str, type[Fault]] = {}


def register(cls: type[Fault]) -> type[Fault]:
    FAULTS[cls.type] = cls
    return cls


def _load() -> None:
    for name in FAULT_MODULES:
        importlib.import_module(f"tasks.chaos.faults.{name}")


def params_errors(fault_type: str, params: dict[str, Any] | None) -> list[str]:
    """Every problem with ``params`` for ``fault_type``, as ``"field: message"``; [] when fine."""
    cls = FAULTS.get(fault_type)
    if cls is None:
        return [f"unknown fault type {fault_type!r} (known: {', '.join(sorted(FAULTS))})"]
    try:
        cls.Params.model_validate(params or {})
    except ValidationError as exc:
        out = []
        for err in exc.errors(include_url=False):
            where = ".".join(str(p) for p in err["loc"])
            msg = "unknown parameter" if err["type"] == "extra_forbidden" else err["msg"]
            out.append(f"{where}: {msg}" if where else msg)
        return out
    return []


def build(fault_type: str, params: dict[str, Any] | None = None, fraction: float = 1.0,
          name: str | None = None) -> Fault:
    problems = params_errors(fault_type, params)
    if problems:
        raise FaultError(f"fault {fault_type!r}: " + "; ".join(problems))
    if not 0.0 <= fraction <= 1.0:
        raise FaultError(f"fault {fault_type!r}: fraction {fraction} is not between 0 and 1")
    cls = FAULTS[fault_type]
    return cls(cls.Params.model_validate(params or {}), fraction, name)


_load()

__all__ = ["FAULTS", "FAULT_MODULES", "register", "build", "params_errors", "Fault"]
