"""Two runs never load the same environment at once: a Prefect global concurrency limit per
campaign and environment (``perfcampaign-env-<campaign>-<environment>``, one slot), taken strictly.

Strictly means a missing limit is an error, never an unprotected run (``strict=True``): the limit is
created with one slot the first time (:func:`ensure_limit`), so a fresh server needs no set-up, and
an operator can pre-create or tune it (``prefect gcl create perfcampaign-env-demo-staging --limit 1``;
``prefect gcl disable …`` to pause a target). A run that finds the slot taken waits for it
(``timeout_seconds``; None waits as long as it takes). Nightly deployments additionally cancel a
colliding new run of the same deployment (``concurrency_limit`` with ``CANCEL_NEW`` in
``prefect.yaml``). The slot is a lease the client renews while the environment runs.

The runner wraps each environment's run::

    async with environment_slot(campaign.campaign, env_name):
        report.environments[env_name] = await run_environment(...)
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

PREFIX = "perfcampaign-env"


def limit_name(campaign: str, environment: str) -> str:
    """``perfcampaign-env-demo-staging``."""
    raw = f"{PREFIX}-{campaign}-{environment}".lower()
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]+", "-", raw)).strip("-")


async def ensure_limit(name: str, limit: int = 1) -> bool:
    """Create the global concurrency limit ``name`` when it does not exist; True when created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    async with get_client() as client:
        try:
            await client.read_global_concurrency_limit_by_name(name)
            return False
        except ObjectNotFound:
            pass
        try:
            await client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=limit))
        except ObjectAlreadyExists:  # another run created it meanwhile
            return False
        return True


@asynccontextmanager
async def environment_slot(campaign: str, environment: str, *, timeout_seconds: float | None = None,
                           create: bool = True, lease_duration: float = 300) -> AsyncIterator[str]:
    """Hold the environment's slot for the ``with`` block; yields the limit's name.

    Raises ``TimeoutError`` when the slot stays taken past ``timeout_seconds`` and
    ``ConcurrencySlotAcquisitionError`` when the limit does not exist (``create=False``).
    """
    from prefect.concurrency.asyncio import concurrency

    name = limit_name(campaign, environment)
    if create:
        await ensure_limit(name)
    async with concurrency(name, occupy=1, timeout_seconds=timeout_seconds, strict=True,
                           lease_duration=lease_duration):
        yield name
