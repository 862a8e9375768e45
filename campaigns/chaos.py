"""The campaign file's ``chaos:`` section: experiments with a steady-state hypothesis, a method of
faults and commands, rollbacks, a recovery bound, safeguards and a time bound (Chaos Toolkit's
experiment, Toxiproxy's toxics as the faults).

Example (the demo campaign's)::

    chaos:
      load: {rate: 20, endpoints: [list-products, product], timeout: 2s}   # light load, per experiment
      safeguards: {max_error_rate: 0.5, max_p95_ms: 3000, for: 4s}         # the watchdog's hard bounds
      experiments:
        - name: latency-400ms
          description: Half the responses 400 ms late; p95 must come back under 300 ms.
          environments: [dev, staging]
          steady_state:
            tolerances: {p95_ms: 300, error_rate: 1%}
            probes: [{name: browse, endpoints: [list-products, product], rate: 20, duration: 2s}]
          method:
            - {fault: latency, params: {latency_ms: 400, jitter_ms: 50}, fraction: 0.5, duration: 3s}
          recovery: {timeout: 10s, hold: 2s}
          time_bound: 45s
        - name: outage-2s
          target: service                      # or {listen: 127.0.0.1:15432, upstream: 127.0.0.1:5432}
          steady_state: {tolerances: {p95_ms: 300, error_rate: 1%}, probes: [{endpoints: [product]}]}
          method:
            - {fault: outage, duration: 2s}
            - {command: ["{python}", "-c", "print('the method may run commands too')"], timeout: 10s}
            - {pause: 1s}
          rollbacks:
            - {command: ["{python}", "-c", "print('always run, even after a failure or a cancel')"]}
          safeguards: {max_error_rate: 0.5, for: 5s}

Activities are told apart by their key: ``fault`` (a registered fault type, see
``tasks/chaos/faults``; held for ``duration``, then removed — in the background with
``background: true``), ``command`` (argv, never a shell; ``{python}``, ``{base_url}``, ``{host}``,
``{port}``, ``{proxy_url}``, ``{env}``, ``{experiment}`` and ``{out_dir}`` are filled in) or
``pause``. Rollbacks are commands and pauses. ``target: service`` puts the proxy in front of the
environment's ``base_url`` and sends the probes and the load through it; a dependency target
``{listen, upstream}`` puts it in front of something the service calls (configure the service to
call ``listen``), and the load goes to ``base_url`` directly.

``error_rate`` takes a fraction or a percentage string (``0.01`` or ``"1%"``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from campaigns.model import Strict
from campaigns.types import Duration, Slug, is_loopback

PLACEHOLDERS = ("python", "base_url", "host", "port", "proxy_url", "env", "experiment", "out_dir")


def _fraction(value: Any) -> Any:
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1]) / 100
        except ValueError:
            raise ValueError(f"{value!r} is not a percentage") from None
    return value


def _address(value: str, what: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{what} {value!r} is not host:port")
    return value



class Tolerances(Strict):
    """What "steady" means: every given bound must hold (latencies in ms, from the intended send)."""

    p50_ms: float | None = Field(None, gt=0)
    p95_ms: float | None = Field(None, gt=0)
    p99_ms: float | None = Field(None, gt=0)
    mean_ms: float | None = Field(None, gt=0, description="Checked on whole probes only, not per second.")
    error_rate: float | None = Field(None, ge=0, le=1, description="Fraction (0.01) or percentage ('1%').")

    _pct = field_validator("error_rate", mode="before")(classmethod(lambda cls, v: _fraction(v)))

    @model_validator(mode="after")
    def _some(self) -> Tolerances:
        if all(getattr(self, k) is None for k in ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "error_rate")):
            raise ValueError("give at least one tolerance (p50_ms, p95_ms, p99_ms, mean_ms, error_rate)")
        return self


class Probe(Strict):
    """A light load on some endpoints for a while; the hypothesis holds when its tolerances do."""

    name: Slug = "probe"
    endpoints: list[Slug] = Field(min_length=1)
    rate: float = Field(10.0, gt=0, le=1000, description="Requests per second.")
    duration: Duration = Field(3.0, ge=1, le=300)
    tolerances: Tolerances | None = Field(None, description="Default: the hypothesis' tolerances.")


class SteadyState(Strict):
    """The steady-state hypothesis: checked before the method, and per second after it (recovery)."""

    tolerances: Tolerances
    probes: list[Probe] = Field(min_length=1)


class LightLoad(Strict):
    """The load sent through the experiment (baseline, fault, recovery); light by design."""

    rate: float = Field(10.0, gt=0, le=1000, description="Requests per second.")
    endpoints: list[Slug] | None = Field(None, description="Default: the steady-state probes' endpoints.")
    timeout: Duration = Field(2.0, gt=0, le=60, description="Request timeout (a hung request counts then).")
    connections: int = Field(100, gt=0, le=10_000, description="Most connections (requests in flight) at once.")


class FaultActivity(Strict):
    fault: str = Field(description="Fault type: latency, bandwidth, reset, timeout, outage, slow_close, "
                                   "http_error, http_delay.")
    name: Slug | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    fraction: float = Field(1.0, gt=0, le=1, description="Share of the traffic the fault applies to.")
    duration: Duration = Field(gt=0, le=600, description="How long the fault stays before it is removed.")
    background: bool = Field(False, description="Go on with the next activity while the fault is active.")

    _pct = field_validator("fraction", mode="before")(classmethod(lambda cls, v: _fraction(v)))

    @model_validator(mode="after")
    def _known(self) -> FaultActivity:
        from tasks.chaos.faults import params_errors  # the registry (pure: pydantic and stdlib)

        problems = params_errors(self.fault, self.params)
        if problems:
            raise ValueError(f"fault {self.fault!r}: " + "; ".join(problems))
        return self

    @property
    def label(self) -> str:
        return self.name or self.fault


class CommandActivity(Strict):
    command: list[str] = Field(min_length=1, description="argv (no shell); placeholders like {python} are filled.")
    name: str | None = None
    timeout: Duration = Field(30.0, gt=0, le=600)
    ok_exit_codes: list[int] = Field(default_factory=lambda: [0])

    @property
    def label(self) -> str:
        return self.name or " ".join(self.command)[:60]


class PauseActivity(Strict):
    pause: Duration = Field(gt=0, le=600)

    @property
    def label(self) -> str:
        return f"pause {self.pause:g}s"


def _kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ("fault", "command", "pause"):
            if key in value:
                return key
        return None
    return {FaultActivity: "fault", CommandActivity: "command", PauseActivity: "pause"}.get(type(value))


_NO_KIND = "an activity has one of the keys fault, command or pause"
Activity = Annotated[
    Annotated[FaultActivity, Tag("fault")] | Annotated[CommandActivity, Tag("command")]
    | Annotated[PauseActivity, Tag("pause")],
    Discriminator(_kind, custom_error_type="activity_kind", custom_error_message=_NO_KIND)]
RollbackActivity = Annotated[
    Annotated[CommandActivity, Tag("command")] | Annotated[PauseActivity, Tag("pause")],
    Discriminator(lambda v: None if _kind(v) == "fault" else _kind(v), custom_error_type="rollback_kind",
                  custom_error_message="a rollback is a command or a pause (faults are removed anyway)")]


class Recovery(Strict):
    timeout: Duration = Field(30.0, ge=1, le=600, description="Bound on the recovery time (a gate).")
    hold: Duration = Field(2.0, ge=1, le=60, description="Seconds in a row the hypothesis must hold again.")


class Safeguards(Strict):
    """Hard bounds for the watchdog: past any of them for ``for`` seconds in a row, the experiment stops."""

    max_error_rate: float | None = Field(None, ge=0, le=1)
    max_p95_ms: float | None = Field(None, gt=0)
    for_: Duration = Field(3.0, ge=1, le=600, alias="for", description="Consecutive seconds past a bound.")

    _pct = field_validator("max_error_rate", mode="before")(classmethod(lambda cls, v: _fraction(v)))


class DependencyTarget(Strict):
    """The proxy in front of a dependency: the service calls ``listen``; the proxy forwards to ``upstream``."""

    name: Slug | None = None
    listen: str = Field(description="host:port the service under test is configured to call (loopback).")
    upstream: str = Field(description="host:port of the real dependency (must be on the allow-list).")

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        _address(value, "listen")
        if not is_loopback(value.rpartition(":")[0]):
            raise ValueError(f"the chaos proxy listens on loopback only, not {value!r}")
        return value

    @field_validator("upstream")
    @classmethod
    def _upstream(cls, value: str) -> str:
        return _address(value, "upstream")


class Experiment(Strict):
    name: Slug
    description: str | None = None
    environments: list[Slug] | None = Field(None, description="Where it runs (default: every non-production one).")
    target: Literal["service"] | DependencyTarget = "service"
    steady_state: SteadyState
    load: LightLoad | None = Field(None, description="Default: the chaos section's load.")
    baseline: Duration = Field(2.0, ge=1, le=300, description="Load before the method (the reference).")
    method: list[Activity] = Field(min_length=1)
    rollbacks: list[RollbackActivity] = Field(default_factory=list)
    recovery: Recovery = Field(default_factory=Recovery)
    safeguards: Safeguards | None = Field(None, description="Default: the chaos section's.")
    time_bound: Duration = Field(120.0, gt=0, le=3600, description="The whole experiment, rollbacks aside.")
    dry_run: bool = Field(False, description="Run the steady-state probes only.")
    min_score: float | None = Field(None, ge=0, le=100, description="Gate on the resilience score.")

    @model_validator(mode="after")
    def _method(self) -> Experiment:
        problems = []
        if not any(isinstance(a, (FaultActivity, CommandActivity)) for a in self.method):
            problems.append("the method needs a fault or a command (pauses alone change nothing)")
        planned = self.planned_seconds()
        if planned > self.time_bound:
            problems.append(f"time_bound {self.time_bound:g}s is shorter than the experiment's planned "
                            f"{planned:g}s (probes + baseline + method + recovery hold)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def planned_seconds(self) -> float:
        """The least the experiment takes: probes, baseline, the method's faults and pauses, one hold."""
        method = sum(a.duration if isinstance(a, FaultActivity) and not a.background else
                     a.pause if isinstance(a, PauseActivity) else 0.0 for a in self.method)
        return sum(p.duration for p in self.steady_state.probes) + self.baseline + method + self.recovery.hold

    def endpoint_names(self, load: LightLoad) -> list[str]:
        names = list(load.endpoints or [])
        if not names:
            for probe in self.steady_state.probes:
                names += [e for e in probe.endpoints if e not in names]
        return names


class ChaosSpec(Strict):
    """The ``chaos:`` section of a campaign file."""

    load: LightLoad = Field(default_factory=LightLoad, description="Default light load of every experiment.")
    safeguards: Safeguards | None = Field(None, description="Default watchdog bounds of every experiment.")
    dry_run: bool = Field(False, description="Every experiment runs its steady-state probes only.")
    seed: int | None = Field(None, description="Seed of the faults' choices (fraction), for repeatable runs.")
    experiments: list[Experiment] = Field(min_length=1)

    @field_validator("experiments")
    @classmethod
    def _unique(cls, value: list[Experiment]) -> list[Experiment]:
        names = [e.name for e in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"experiment names used twice: {twice}")
        return value

    def for_environment(self, env_name: str) -> list[Experiment]:
        return [e for e in self.experiments if e.environments is None or env_name in e.environments]

    def load_of(self, experiment: Experiment) -> LightLoad:
        return experiment.load or self.load

    def safeguards_of(self, experiment: Experiment) -> Safeguards | None:
        return experiment.safeguards or self.safeguards

    def reference_errors(self, endpoint_names: set[str] | list[str], environments: dict[str, Any] | None = None,
                         prefix: str = "chaos") -> list[str]:
        """Every reference to an unknown endpoint or environment (or to a production one), as
        ``path: message`` — what the campaign model reports with file and line."""
        known = set(endpoint_names)
        hint = f"(known: {', '.join(sorted(known)) or 'none'})"
        out = []
        for i, exp in enumerate(self.experiments):
            where = f"{prefix}.experiments[{i}]"
            for j, probe in enumerate(exp.steady_state.probes):
                for name in probe.endpoints:
                    if name not in known:
                        out.append(f"{where}.steady_state.probes[{j}].endpoints: unknown endpoint {name!r} {hint}")
            for name in (exp.load.endpoints if exp.load is not None else None) or []:
                if name not in known:
                    out.append(f"{where}.load.endpoints: unknown endpoint {name!r} {hint}")
            if environments is not None:
                for env in exp.environments or []:
                    if env not in environments:
                        out.append(f"{where}.environments: unknown environment {env!r} "
                                   f"(the campaign has: {', '.join(environments)})")
                    elif getattr(environments[env], "kind", None) == "production":
                        out.append(f"{where}.environments: {env!r} is a production environment: "
                                   f"chaos never runs there")
        for name in self.load.endpoints or []:
            if name not in known:
                out.append(f"{prefix}.load.endpoints: unknown endpoint {name!r} {hint}")
        return out


__all__ = ["ChaosSpec", "Experiment", "SteadyState", "Probe", "Tolerances", "LightLoad", "FaultActivity",
           "CommandActivity", "PauseActivity", "Recovery", "Safeguards", "DependencyTarget", "PLACEHOLDERS"]
