"""Scoring readiness verdicts against the bed's ground truth (pure: no I/O).

Per endpoint the truth is mock, real or missing; the verdict is what readiness said (real, mock,
missing, unverified, error, unreachable, or absent). The figures the issue sets targets for:

    recall        mocked endpoints called mock / mocked endpoints            (target ≥ 95 %)
    false alarms  real endpoints called mock                                 (target 0)
    wrong missing existing routes (truth mock or real) called missing / existing (target ≤ 2 %)
    left behind   objects a pass created and did not remove                  (target 0)
    destroyed     objects that were there before the pass and are gone after it
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Score:
    mocks: int = 0
    mocks_caught: int = 0
    real: int = 0
    real_called_mock: int = 0
    existing: int = 0
    existing_called_missing: int = 0
    missing: int = 0
    missing_caught: int = 0
    unverified: int = 0
    errors: int = 0
    left_behind: int = 0
    #: objects that existed before the pass and are gone after it (pre-existing data destroyed)
    destroyed: int = 0
    residue: int = 0
    unhealthy: int = 0
    seconds: float = 0.0
    #: per endpoint: (truth, verdict) where they disagree
    wrong: dict[str, tuple[str, str]] = field(default_factory=dict)

    def add(self, other: "Score") -> "Score":
        for key, value in asdict(other).items():
            if key == "wrong":
                continue
            setattr(self, key, getattr(self, key) + value)
        return self

    @property
    def recall(self) -> float | None:
        return self.mocks_caught / self.mocks if self.mocks else None

    @property
    def wrong_missing_rate(self) -> float | None:
        return self.existing_called_missing / self.existing if self.existing else None

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["wrong"] = {k: {"truth": t, "verdict": v} for k, (t, v) in self.wrong.items()}
        doc["recall"] = None if self.recall is None else round(self.recall, 4)
        doc["wrong_missing_rate"] = None if self.wrong_missing_rate is None else round(self.wrong_missing_rate, 4)
        doc["seconds"] = round(self.seconds, 2)
        return doc


def score(truth: dict[str, str], verdicts: dict[str, str | None]) -> Score:
    s = Score()
    for name, label in truth.items():
        verdict = verdicts.get(name) or "absent"
        if verdict == "unverified":
            s.unverified += 1
        if verdict in ("error", "unreachable", "absent"):
            s.errors += 1
        if label == "mock":
            s.mocks += 1
            s.mocks_caught += verdict == "mock"
        elif label == "real":
            s.real += 1
            s.real_called_mock += verdict == "mock"
        else:
            s.missing += 1
            s.missing_caught += verdict == "missing"
        if label in ("mock", "real"):
            s.existing += 1
            s.existing_called_missing += verdict == "missing"
        if verdict != label and not (label == "real" and verdict == "unverified"):
            s.wrong[name] = (label, verdict)
    return s


def left_behind(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Objects per kind that are more numerous after the pass than before."""
    return {k: after.get(k, 0) - v for k, v in before.items() if after.get(k, 0) > v}


def destroyed(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Objects per kind that are fewer after the pass than before."""
    return {k: v - after.get(k, 0) for k, v in before.items() if after.get(k, 0) < v}
