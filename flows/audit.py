"""Who or what started a run, and with what: the audit trail stored with every run (issue 14).

Each environment's ``runs`` row keeps:

- ``trigger``: how it was started (``cli``, ``schedule``, ``manual``, ``ci`` …, as before),
- ``triggered_by``: who or what asked — ``user:<login>`` for a command line (the OS account),
  ``schedule:<slug>`` for a deployment's schedule, ``prefect-user:<name>`` / ``automation:<name>`` /
  ``webhook:<name>`` when Prefect says who created the flow run, ``prefect:api`` when nobody is named,
- ``deployment`` (``flow/deployment``) and ``schedule`` (its slug) of a Prefect flow run,
- ``parameters``: what it was asked with (the CLI's options or the flow run's parameters), redacted,
- beside ``flow_run_id`` and ``campaign_sha256`` (the exact campaign file), already in the row.

``perfcampaign runs`` shows it; ``runs --json`` and the run document carry all of it.
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from campaigns.redact import redact


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a container without passwd entry)
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def from_process(parameters: dict[str, Any]) -> dict[str, Any]:
    """A run started in this process without Prefect's scheduling (the CLI, a test)."""
    return {"triggered_by": f"user:{os_user()}", "deployment": None, "schedule": None,
            "parameters": redact(_plain(parameters))}


def from_flow_run(parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """Inside a Prefect flow run: its deployment, the schedule or user that created it, its parameters.

    A flow run with no deployment was started in this process (``perfcampaign run`` through Prefect):
    the OS user asked for it."""
    from prefect.runtime import deployment
    from prefect.runtime import flow_run as runtime

    params = dict(parameters if parameters is not None else (runtime.parameters or {}))
    name = deployment.name if deployment.id else None
    flow_name = runtime.flow_name
    audit: dict[str, Any] = {"triggered_by": None, "deployment": f"{flow_name}/{name}" if name else None,
                             "schedule": None, "parameters": redact(_plain(params))}
    created_by = _created_by(runtime.id)
    if created_by is not None:
        kind = (created_by.get("type") or "").upper()
        value = created_by.get("display_value") or created_by.get("id")
        if kind == "SCHEDULE":
            audit["schedule"] = value
            audit["triggered_by"] = f"schedule:{value}"
        elif kind:
            audit["triggered_by"] = f"{_KINDS.get(kind, kind.lower())}:{value}"
    if audit["triggered_by"] is None:
        audit["triggered_by"] = "prefect:api" if name else f"user:{os_user()}"
    return audit


_KINDS = {"USER": "prefect-user", "AUTOMATION": "automation", "WEBHOOK": "webhook", "DEPLOYMENT": "deployment"}


def _created_by(flow_run_id: str | None) -> dict[str, Any] | None:
    if not flow_run_id:
        return None
    try:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            run = client.read_flow_run(flow_run_id)
        created = run.created_by
        return created.model_dump(mode="json") if created is not None else None
    except Exception:  # noqa: BLE001 - the audit trail never fails a run
        return None


def _plain(value: Any) -> Any:
    """JSON-able: callables and objects (a runner factory in stage options) become their names."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if not callable(v)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
