"""The one run-context object of a chaos run (instead of parameters threaded through every call).

:class:`ChaosContext` refuses a production environment when it is built — by its kind, and by its
target: a base URL whose host and port are any production environment's is refused whatever its
own environment is labelled — so no experiment can run with one.
:meth:`ChaosContext.from_run_context` builds it from the stage's ``RunContext``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from campaigns.chaos import ChaosSpec
from tasks.chaos.errors import production_targets_of, refuse_production, refuse_production_target


@dataclass
class ChaosContext:
    campaign: Any                       # campaigns.model.Campaign (endpoints, variables, environments)
    spec: ChaosSpec
    env_name: str
    env_kind: str
    base_url: str
    allow_hosts: list[str]
    out_dir: Path
    base_dir: Path                      # the campaign file's folder: commands run there
    run_id: str = ""
    feeders: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)
    auth_headers: dict[str, str] | None = None
    dry_run: bool = False
    python: str = sys.executable
    #: progress: ``emit(kind, message, data)`` with kind info | item | warning
    emit: Callable[[str, str, dict[str, Any]], None] = lambda kind, message, data: None

    def __post_init__(self) -> None:
        refuse_production(self.env_kind, f"chaos in environment {self.env_name!r}")
        refuse_production_target((self.host, self.port), production_targets_of(self.campaign),
                                 f"chaos in environment {self.env_name!r}")

    def safety(self) -> dict[str, Any]:
        """What the chaos stage checked before injecting anything (shown in its summary)."""
        return {"env_kind": self.env_kind, "target": f"{self.host}:{self.port}",
                "production_targets": sorted(f"{h}:{p} ({n})" for (h, p), n in
                                             production_targets_of(self.campaign).items()),
                "allow_writes": bool(getattr(self.campaign.environments.get(self.env_name), "allow_writes", True))
                if hasattr(self.campaign, "environments") else None}

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.base_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def placeholders(self, experiment: str, proxy_url: str | None) -> dict[str, str]:
        return {"python": self.python, "base_url": self.base_url, "host": self.host, "port": str(self.port),
                "proxy_url": proxy_url or "", "env": self.env_name, "experiment": experiment,
                "out_dir": str(self.out_dir)}

    @classmethod
    def from_run_context(cls, ctx: Any, spec: ChaosSpec) -> ChaosContext:
        env = ctx.environment

        def emit(kind: str, message: str, data: dict[str, Any]) -> None:
            from tasks.base import ProgressEvent

            ctx.emit(ProgressEvent(ctx.env_name, "chaos", kind, message, data))  # type: ignore[arg-type]

        return cls(campaign=ctx.campaign, spec=spec, env_name=ctx.env_name, env_kind=env.kind, base_url=env.base_url,
                   allow_hosts=list(env.allow_hosts), out_dir=Path(ctx.out_dir), base_dir=ctx.loaded.base_dir,
                   run_id=ctx.run_id, feeders=dict(ctx.loaded.feeders), blocked=dict(ctx.blocked),
                   auth_headers=ctx.auth_headers, dry_run=spec.dry_run or bool(ctx.options.get("chaos_dry_run")),
                   emit=emit)
