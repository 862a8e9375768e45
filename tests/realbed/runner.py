"""One pass over a target, as a user runs it: ``perfcampaign run FILE --no-prefect --stages
readiness,smoke --json``, with the target's objects counted before and after, and its health
checked afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from tests.realbed.bed import PERFCAMPAIGN, Target
from tests.realbed.score import Score, destroyed, left_behind, score


@dataclass
class Outcome:
    target: Target
    verdicts: dict[str, str | None]
    endpoints: dict[str, Any]
    exit_code: int
    score: Score
    left: dict[str, int] = field(default_factory=dict)
    destroyed: dict[str, int] = field(default_factory=dict)
    residue: dict[str, int] = field(default_factory=dict)
    health: str | None = None
    stderr: str = ""

    def evidence(self, name: str) -> str:
        ep = self.endpoints.get(name) or {}
        return "; ".join(f"{e.get('signal')}→{e.get('points_to')}({e.get('weight')})"
                         for e in (ep.get("evidence") or [])[:5])

    def explain(self) -> str:
        lines = [f"{self.target.config.name}: exit {self.exit_code}"]
        for name, (truth, verdict) in sorted(self.score.wrong.items()):
            lines.append(f"  {name}: truth {truth}, verdict {verdict}  [{self.evidence(name)}]")
        if self.left:
            lines.append(f"  left behind: {self.left}")
        if self.destroyed:
            lines.append(f"  destroyed: {self.destroyed}")
        if self.health:
            lines.append(f"  health: {self.health}")
        return "\n".join(lines)


def run_pass(target: Target, stages: str = "readiness,smoke", timeout: float = 900.0) -> Outcome:
    before = target.count() if target.count else None
    work = target.campaign.parent
    env = {**os.environ, **target.env, "PERFCAMPAIGN_WAREHOUSE": str(work / "warehouse.duckdb")}
    started = time.monotonic()
    proc = subprocess.run([PERFCAMPAIGN, "run", str(target.campaign), "--no-prefect", "--no-start", "-q",
                           "--stages", stages, "--json"], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=work)
    seconds = time.monotonic() - started
    doc = _last_json(proc.stdout)
    endpoints: dict[str, Any] = {}
    for env_doc in (doc or {}).get("environments", {}).values():
        endpoints.update(env_doc.get("endpoints", {}))
    verdicts = {name: ep.get("verdict") for name, ep in endpoints.items()}
    s = score(target.truth, verdicts)
    s.seconds = seconds
    outcome = Outcome(target, verdicts, endpoints, proc.returncode, s, stderr=proc.stderr[-4000:])
    if before is not None:
        after = target.count()
        outcome.left = left_behind(before.deletable, after.deletable)
        outcome.residue = left_behind(before.residue, after.residue)
        outcome.destroyed = destroyed(before.deletable, after.deletable)
        s.destroyed = sum(outcome.destroyed.values())
        s.left_behind = sum(outcome.left.values())
        s.residue = sum(outcome.residue.values())
    if target.health is not None:
        outcome.health = target.health()
        s.unhealthy = int(outcome.health is not None)
    if doc is None:
        raise RuntimeError(f"{target.config.name}: perfcampaign run printed no JSON (exit {proc.returncode}):\n"
                           f"{proc.stderr[-3000:]}")
    return outcome


def _last_json(stdout: str) -> dict[str, Any] | None:
    text = stdout.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        start = text.rfind("\n{")
        return json.loads(text[start + 1:]) if start >= 0 else None
