"""A load run outside a campaign (``perfcampaign load URL``) with the same live view as the load
stage: the plan announced (phases, planned seconds) and one progress event per merged second.

One shard runs in this process and hands each second over as it ends (``Control.on_tick``);
several shards run in worker processes and stream batches that a
:class:`~tasks.load.stream.SeriesMerger` merges across shards, exactly as the stage does, so
the rate, p95 and errors shown are those of the whole run. ``emit`` receives
:class:`~tasks.base.ProgressEvent` s (stage ``load``): the caller ends the stage (it knows the
verdict) and decides how to show them (the CLI: ``flows.progress``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tasks.base import ProgressEvent, phase_dicts
from tasks.load.recorder import OVERALL
from tasks.load.result import ShardResult

Emit = Callable[[ProgressEvent], None]


def run_streaming(plan: Any, shards: int, emit: Emit, env: str = "quick") -> list[ShardResult]:
    """Run ``plan`` on ``shards`` shards, emitting progress; the shards' results."""
    from tasks.load.engine import Control, run_shard
    from tasks.load.runner import run_local
    from tasks.load.stream import Emitted, SeriesMerger

    emit(ProgressEvent(env, "load", "stage-start", "load started"))
    emit(ProgressEvent(env, "load", "info", f"{plan.model} model, {plan.duration:g}s on {shards} shard(s)",
                       {"phases": phase_dicts(plan), "model": plan.model, "shards": shards},
                       done=0.0, total=plan.duration, unit="s"))

    def second(row: dict[str, Any]) -> None:
        if row.get("endpoint") == OVERALL:
            data = {k: v for k, v in row.items() if k != "histogram"}
            emit(ProgressEvent(env, "load", "item", f"t={row['second']}s", {"passed": not row.get("errors"), **data},
                               done=row["second"] + 1, total=plan.duration, unit="s"))

    if shards == 1:
        def on_tick(tick: dict[str, Any]) -> None:  # on the shard's loop, once a second
            for row in tick["rows"]:
                second(row)

        return [run_shard(plan, control=Control(on_tick=on_tick))]

    merger = SeriesMerger(shards)

    def emitted(out: Emitted) -> None:
        for row in out.merged:
            second(row)

    def on_batch(shard: int, batch: dict[str, Any]) -> None:  # the runner's thread
        emitted(merger.add(shard, batch["rows"]))

    def on_result(result: ShardResult) -> None:
        emitted(merger.add(result.shard, result.series).extend(merger.finish(result.shard)))

    results = run_local(plan, shards, on_result=on_result, on_batch=on_batch)
    emitted(merger.close())
    return results
