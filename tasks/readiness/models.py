"""Public data types of the readiness engine.

``ProbeTarget`` is what the caller asks about, ``Evidence`` is one observation
that points somewhere, ``ReadinessVerdict`` is the answer for one endpoint.
They are plain dataclasses so the engine stays free of any campaign model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Verdict = Literal["real", "mock", "missing", "error", "unreachable"]
PointsTo = Literal["mock", "real", "missing", "error"]


@dataclass(frozen=True)
class ProbeTarget:
    """One endpoint of a campaign, as the readiness stage sees it.

    ``url`` may contain ``{placeholders}`` (in the path or the query string);
    ``params`` gives sample values for each of them.  ``headers`` are already
    resolved (auth and the like).  ``body`` is the JSON body sent on writes.
    ``expect_status`` lists the statuses the campaign expects; empty means
    "any 2xx".
    """

    name: str
    method: str
    url: str
    params: dict[str, list] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    expect_status: tuple[int, ...] = ()


@dataclass
class Evidence:
    """One signal: a stable kebab-case id, where it points, how strongly, and
    a human-readable detail quoting what was actually observed."""

    signal: str
    points_to: PointsTo
    weight: float
    detail: str

    def to_dict(self) -> dict:
        return {
            "signal": self.signal,
            "points_to": self.points_to,
            "weight": round(float(self.weight), 3),
            "detail": self.detail,
        }


@dataclass
class ReadinessVerdict:
    """The readiness answer for one endpoint."""

    name: str
    method: str
    url: str
    verdict: Verdict
    confidence: float
    evidence: list[Evidence]
    status_code: int | None
    latencies_ms: list[float]
    requests: int

    def to_dict(self) -> dict:
        data = asdict(self)
        data["confidence"] = round(float(self.confidence), 3)
        data["latencies_ms"] = [round(float(x), 3) for x in self.latencies_ms]
        data["evidence"] = [e.to_dict() for e in self.evidence]
        return data
