"""The per-environment global concurrency limit, on a real Prefect server."""

from __future__ import annotations

import asyncio
import time

import pytest

from flows.concurrency import environment_slot, limit_name


def test_limit_names():
    assert limit_name("demo", "staging") == "perfcampaign-env-demo-staging"
    assert limit_name("Shop_API", "prod eu") == "perfcampaign-env-shop-api-prod-eu"


def test_two_runs_never_hold_the_same_environment_at_once(prefect_api):
    async def scenario():
        held: dict[str, tuple[float, float]] = {}
        first_in = asyncio.Event()

        async def run(who: str, env: str, hold: float) -> None:
            async with environment_slot("slot-test", env, timeout_seconds=60):
                start = time.monotonic()
                first_in.set()
                await asyncio.sleep(hold)
                held[who] = (start, time.monotonic())

        first = asyncio.create_task(run("first", "staging", 4.0))
        await first_in.wait()
        await asyncio.gather(first, run("second", "staging", 0.2), run("other", "dev", 0.2))
        return held

    held = asyncio.run(scenario())
    assert held["second"][0] >= held["first"][1] - 0.05         # the same environment: one after the other
    assert held["other"][0] < held["first"][1]                  # another environment did not wait


def test_a_missing_limit_is_an_error_when_not_created(prefect_api):
    from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError

    async def scenario():
        async with environment_slot("never-created", "dev", create=False, timeout_seconds=5):
            pass

    with pytest.raises(ConcurrencySlotAcquisitionError):
        asyncio.run(scenario())


def test_a_held_slot_times_out_the_next_run(prefect_api):
    async def scenario():
        async with environment_slot("slot-timeout", "prod"):
            async with environment_slot("slot-timeout", "prod", timeout_seconds=1.5):
                pass

    with pytest.raises(TimeoutError):
        asyncio.run(scenario())
