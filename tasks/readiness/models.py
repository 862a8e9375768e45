"""Public data types of the readiness engine.

``ProbeTarget`` is what the caller asks about, ``Evidence`` is one observation that points
somewhere, ``ReadinessVerdict`` is the answer for one endpoint, ``ReadinessReport`` the answer for
a whole run (every verdict, and what the write probes created, removed and left behind).
They are plain dataclasses so the engine stays free of any campaign model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

#: the verdicts, as campaigns.vocabulary.READINESS_VERDICTS says them
Verdict = Literal["real", "mock", "missing", "unverified", "error", "unreachable"]
PointsTo = Literal["mock", "real", "missing", "error"]


@dataclass(frozen=True)
class ProbeTarget:
    """One endpoint of a campaign, as the readiness stage sees it.

    ``url`` may contain ``{placeholders}`` (in the path or the query string); ``params`` gives
    sample values for each of them. ``headers`` are already resolved (auth and the like).
    ``body`` is the JSON body sent on writes. ``expect_status`` lists the statuses the campaign
    expects; empty means "any 2xx". ``safe``: a POST that only reads (filter, count, search…),
    probed like a GET. ``never_write``: the campaign forbids writing to this endpoint.
    """

    name: str
    method: str
    url: str
    params: dict[str, list] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    expect_status: tuple[int, ...] = ()
    safe: bool = False
    never_write: bool = False
    #: example values the endpoint's documented response schema gives, by JSON path (``$.swapId``)
    examples: dict[str, Any] = field(default_factory=dict)


@dataclass
class Evidence:
    """One signal: a stable kebab-case id, where it points, how strongly, and a human-readable
    detail quoting what was actually observed."""

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
    """The readiness answer for one endpoint. ``reason`` says in one line why (always set for
    ``unverified``, ``missing``, ``mock``, ``error`` and ``unreachable``)."""

    name: str
    method: str
    url: str
    verdict: Verdict
    confidence: float
    evidence: list[Evidence]
    status_code: int | None
    latencies_ms: list[float]
    requests: int
    reason: str = ""

    def to_dict(self) -> dict:
        data = asdict(self)
        data["confidence"] = round(float(self.confidence), 3)
        data["latencies_ms"] = [round(float(x), 3) for x in self.latencies_ms]
        data["evidence"] = [e.to_dict() for e in self.evidence]
        return data


@dataclass
class CreatedObject:
    """Something a write probe created on the target, and what became of it."""

    endpoint: str
    collection: str                   #: URL of the collection it was created in
    ref: str                          #: its id (or the value that names it)
    url: str | None = None            #: where it can be read (Location, or collection/id)
    #: "existed": the write answered the id of an object seen before it (an upsert, a stub's fixed
    #: answer): not this run's to delete, never touched again
    state: Literal["created", "deleted", "gone", "left", "existed"] = "created"
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ReadinessReport:
    """A whole readiness run: one verdict per target (in order) and the harm ledger."""

    verdicts: list[ReadinessVerdict]
    created: list[CreatedObject] = field(default_factory=list)
    #: write endpoints that answered 2xx without saying what they created (nothing to remove)
    unknown_effects: list[str] = field(default_factory=list)
    writes_sent: int = 0
    #: objects the target made for a created one (``{endpoint, field, collection, list}``): smoke
    #: removes them after its own writes the same way
    made_by_target: list[dict] = field(default_factory=list)
    #: POSTs whose valid write was withheld: nothing they create could be removed (name → why)
    withheld: dict[str, str] = field(default_factory=dict)

    @property
    def left_behind(self) -> list[CreatedObject]:
        return [c for c in self.created if c.state in ("created", "left")]

    def harm(self) -> dict:
        return {"created": sum(c.state != "existed" for c in self.created),
                "removed": sum(c.state in ("deleted", "gone") for c in self.created),
                "left_behind": [c.to_dict() for c in self.left_behind],
                "unknown_effects": list(self.unknown_effects),
                "writes_sent": self.writes_sent,
                "made_by_target": list(self.made_by_target),
                "withheld": dict(self.withheld)}
