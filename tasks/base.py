"""The contract every stage fulfils, and the registry the flow reads stages from.

A stage is one class with a ``name`` and an ``async run(ctx) -> StageResult``. It reads what it
needs from the :class:`RunContext` (the campaign, the environment, what earlier stages found),
talks to the target, and returns a :class:`StageResult` whose ``rows`` the flow writes to the
warehouse in one transaction. Stages never import Prefect or DuckDB: the flow owns both.

Adding a stage is adding a module that defines a class decorated with :func:`register` and
listing it in ``STAGE_MODULES``; the contract test in ``tests/test_stage_contract.py`` checks
every registered stage.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol
from urllib.parse import urlencode, urlsplit

from campaigns.loader import LoadedCampaign
from campaigns.model import Campaign, Endpoint, Environment
from campaigns.templating import fill_path, render
from campaigns.vocabulary import StageStatus


#: modules that define stages, in pipeline order; importing one registers its stage.
STAGE_MODULES = ("tasks.readiness.stage", "tasks.smoke", "tasks.e2e", "tasks.load.stage", "tasks.chaos.stage")


def now() -> datetime:
    return datetime.now(UTC)


class TargetNotAllowed(PermissionError):
    """A request would leave the environment's allow-list of hosts."""


@dataclass
class Gate:
    """One pass/fail decision (a JUnit test case, a line in the summary)."""

    stage: str
    name: str
    passed: bool
    observed: Any = None
    limit: Any = None
    endpoint: str | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "name": self.name, "passed": self.passed, "observed": self.observed,
                "limit": self.limit, "endpoint": self.endpoint, "detail": self.detail}


@dataclass
class StageResult:
    stage: str
    status: StageStatus
    started_at: datetime = field(default_factory=now)
    finished_at: datetime = field(default_factory=now)
    summary: dict[str, Any] = field(default_factory=dict)
    gates: list[Gate] = field(default_factory=list)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    error: str | None = None
    #: the target or the machinery failed (not the target's quality): exit code 3
    infrastructure_failure: bool = False
    #: gaps for the team's backlog ({key, kind, title, priority, effort, endpoint, evidence}); keys start
    #: with ``backlog_scope`` so the flow can close the ones this source no longer sees
    backlog: list[dict[str, Any]] = field(default_factory=list)
    backlog_scope: str | None = None

    @property
    def gates_passed(self) -> bool:
        return all(g.passed for g in self.gates)

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "status": self.status, "started_at": self.started_at.isoformat(),
                "finished_at": self.finished_at.isoformat(),
                "duration_s": round((self.finished_at - self.started_at).total_seconds(), 3),
                "summary": self.summary, "gates": [g.to_dict() for g in self.gates],
                "endpoints": self.endpoints, "error": self.error}


ProgressKind = Literal["stage-start", "stage-end", "item", "info", "warning"]


@dataclass
class ProgressEvent:
    """One thing a running campaign tells whoever watches it: the terminal (``flows.progress``),
    the Prefect flow run's logs and progress artifact. Producers fire events; they never know who
    listens (as Locust's ``events.request``).

    ``kind``:

    - ``stage-start`` / ``stage-end`` (the runner): ``data`` has ``status``, ``gates``, ``failed``
      and, when the stage failed to run, ``error``;
    - ``item``: one unit of a stage is done (an endpoint checked, a journey run, one second of
      load); ``data["passed"]`` (or readiness's ``verdict``) says whether it went well;
    - ``info`` / ``warning``: a line for people.

    A stage whose length is known says how far it is with ``done`` of ``total`` (in ``unit``:
    ``"s"`` for the load's seconds, ``"endpoints"``…); a watcher derives elapsed, remaining and ETA.
    The load stage announces its plan in an ``info`` event whose ``data["phases"]`` lists
    :func:`phase_dicts` and then sends, each second, an ``item`` whose ``data`` is the merged
    ``_overall`` row (``second``, ``requests``, ``errors``, ``rps``, ``p95_ms``, ``target_rate``,
    ``vus``…; see :data:`LOAD_SAMPLE_KEYS`).
    """

    env: str
    stage: str
    kind: ProgressKind
    message: str
    data: dict[str, Any] = field(default_factory=dict)
    #: how far the stage is, in ``unit`` (e.g. seconds of load sent)
    done: float | None = None
    #: how much the stage will do in all, in ``unit`` (e.g. the load's planned seconds)
    total: float | None = None
    unit: str = ""


#: the keys of a load ``item`` event's data that watchers read (the merged per-second row)
LOAD_SAMPLE_KEYS = ("second", "requests", "errors", "rps", "p50_ms", "p95_ms", "p99_ms", "target_rate", "vus",
                    "in_flight")


def phase_dicts(plan: Any) -> list[dict[str, Any]]:
    """A load plan's phases for a progress event: ``name``, ``duration_s``, ``executor``, ``rate``,
    ``rate_to`` (iterations per second), ``vus``, ``vus_to``, and ``steps`` (requests per iteration)."""
    steps = plan.mean_steps() if hasattr(plan, "mean_steps") else 1.0
    return [{"name": p.name or p.executor, "duration_s": p.duration, "executor": p.executor, "rate": p.rate,
             "rate_to": p.rate_to, "vus": p.vus, "vus_to": p.vus_to, "steps": steps} for p in plan.phases]


@dataclass
class RunContext:
    """Everything a stage may read, and the few things it may add for later stages."""

    loaded: LoadedCampaign
    env_name: str
    run_id: str
    out_dir: Path
    test_type: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    emit: Callable[[ProgressEvent], None] = lambda event: None
    #: endpoint name → readiness verdict ("real", "mock", "missing", …), set by readiness
    verdicts: dict[str, str] = field(default_factory=dict)
    #: endpoint name → why it is kept out of load and chaos
    blocked: dict[str, str] = field(default_factory=dict)
    #: results of the stages that ran before, by name
    results: dict[str, StageResult] = field(default_factory=dict)
    #: secrets resolved and auth tokens obtained, as headers for ``auth: true`` endpoints
    auth_headers: dict[str, str] | None = None
    #: write warehouse rows now, in one transaction (e.g. per load shard, so partial results survive);
    #: rows a stage returns in ``StageResult.rows`` are written when it ends
    write_rows: Callable[[dict[str, list[dict[str, Any]]]], None] = lambda rows: None

    @property
    def campaign(self) -> Campaign:
        return self.loaded.campaign

    @property
    def environment(self) -> Environment:
        return self.campaign.environments[self.env_name]

    @property
    def base_url(self) -> str:
        return self.environment.base_url

    def variables(self) -> dict[str, Any]:
        """Campaign variables plus the first row of every feeder (for single-pass stages)."""
        out = dict(self.campaign.variables)
        for name, rows in self.loaded.feeders.items():
            out[name] = rows[0]
        return out

    def check_url(self, url: str) -> str:
        """Return ``url`` if its host is on the environment's allow-list; raise otherwise."""
        host = urlsplit(url).hostname or ""
        if host not in self.environment.allow_hosts:
            raise TargetNotAllowed(f"{url} is outside environment {self.env_name!r}'s allow_hosts "
                                   f"{self.environment.allow_hosts}")
        return url

    def url_for(self, endpoint: Endpoint, sample: int = 0, variables: dict[str, Any] | None = None) -> str:
        """The absolute URL of an endpoint with the ``sample``-th value of each path param."""
        values = {k: v[sample % len(v)] for k, v in endpoint.params.items()}
        path = fill_path(endpoint.path, values)
        path = render(path, variables if variables is not None else self.variables())
        if endpoint.query:
            query = urlencode(render(endpoint.query, variables or self.variables()), doseq=True)
            path += ("&" if "?" in path else "?") + query
        return self.check_url(self.base_url + path)

    def headers_for(self, endpoint: Endpoint) -> dict[str, str]:
        from campaigns.types import resolve_refs

        headers = resolve_refs({**self.environment.headers, **endpoint.headers})
        if endpoint.auth and self.auth_headers:
            headers.update(self.auth_headers)
        return render(headers, self.variables())


class Stage(Protocol):
    name: ClassVar[str]

    async def run(self, ctx: RunContext) -> StageResult: ...


REGISTRY: dict[str, type[Stage]] = {}


def register(cls: type[Stage]) -> type[Stage]:
    """Class decorator: make a stage known to the flow under ``cls.name``."""
    REGISTRY[cls.name] = cls
    return cls


def load_stages() -> dict[str, type[Stage]]:
    """Import every stage module that exists (later issues add e2e, load, chaos)."""
    for module in STAGE_MODULES:
        if module in sys.modules:
            continue
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                continue  # that stage is not built yet
            raise
    return REGISTRY
