"""Validate every experiment for one environment before anything runs; report every problem at once.

The campaign model already checked each experiment on its own (fault types and parameters,
activities, time bounds, file and line). This checks them against the campaign and the
environment they are about to run in:

- the environment is not production (:func:`tasks.chaos.errors.refuse_production`), and no target —
  the service, a dependency's upstream — is any production environment's host and port,
- every endpoint a probe or the load names exists, and readiness left at least one of them,
- a ``service`` target is plain ``http://`` (the proxy frames HTTP; it cannot read TLS),
- a dependency's ``upstream`` host is on the environment's allow-list and differs from ``listen``,
- each probe and load compiles to a load plan (caps, auth, feeders: ``plan_load``),
- each command's program exists,
- the time bound (which bounds the load) fits the environment's ``caps.max_duration``; the
  rate and the connections are clamped to ``max_rps`` / ``max_vus`` by the load planner.

:func:`validate` returns ``(problems, notes)``; :func:`check` raises
:class:`~tasks.chaos.errors.ExperimentInvalid` with all the problems.
"""

from __future__ import annotations

import os
import shutil
from typing import Any
from urllib.parse import urlsplit

from campaigns.chaos import CommandActivity, DependencyTarget, Experiment
from tasks.chaos.activity import fill
from tasks.chaos.errors import (ChaosRefused, ExperimentInvalid, production_targets_of, refuse_production,
                               refuse_production_target)
from tasks.chaos.windows import build_plan
from tasks.load.planner import PlanError


def _program_exists(program: str, cwd: Any) -> bool:
    if os.sep in program:
        path = program if os.path.isabs(program) else os.path.join(str(cwd), program)
        return os.path.exists(path)
    return shutil.which(program) is not None


def validate(cc: Any, experiments: list[Experiment] | None = None) -> tuple[list[str], list[str]]:
    refuse_production(cc.env_kind, f"chaos in environment {cc.env_name!r}")
    spec = cc.spec
    problems = list(spec.reference_errors([e.name for e in cc.campaign.endpoints], cc.campaign.environments))
    notes: list[str] = []
    chosen = experiments if experiments is not None else spec.for_environment(cc.env_name)
    index = {e.name: i for i, e in enumerate(spec.experiments)}
    known = {e.name for e in cc.campaign.endpoints}
    caps = cc.campaign.environments[cc.env_name].caps
    for exp in chosen:
        where = f"chaos.experiments[{index.get(exp.name, '?')}] ({exp.name})"
        if caps.max_duration is not None and exp.time_bound > caps.max_duration:
            problems.append(f"{where}.time_bound: {exp.time_bound:g}s is longer than environment {cc.env_name!r}'s "
                            f"caps.max_duration {caps.max_duration:g}s (the time bound bounds the load)")
        load = spec.load_of(exp)
        names = exp.endpoint_names(load)
        if isinstance(exp.target, DependencyTarget):
            host = exp.target.upstream.rpartition(":")[0].strip("[]")
            upstream = (host, int(exp.target.upstream.rpartition(":")[2]))
            try:
                refuse_production_target(upstream, production_targets_of(cc.campaign), f"{where}.target.upstream")
            except ChaosRefused as exc:
                problems.append(str(exc))
            if host not in cc.allow_hosts:
                problems.append(f"{where}.target.upstream: host {host!r} is not on the allow_hosts of environment "
                                f"{cc.env_name!r} {cc.allow_hosts}")
            if exp.target.listen == exp.target.upstream:
                problems.append(f"{where}.target: listen and upstream are the same address")
            url = cc.base_url
        else:
            if urlsplit(cc.base_url).scheme != "http":
                problems.append(f"{where}.target: a service target needs an http:// base_url (the proxy cannot "
                                f"read TLS); put the proxy in front of a dependency instead")
            url = "http://127.0.0.1:9"  # the proxy's address is known only once it listens
        blocked = [n for n in names if n in cc.blocked]
        if blocked and len(blocked) < len(names):
            notes.append(f"{exp.name}: left out of the load (readiness): "
                         + ", ".join(f"{n} ({cc.blocked[n]})" for n in blocked))
        if names and all(n in known for n in names):
            try:
                build_plan(cc, names, load.rate, 1.0, url, timeout=load.timeout, connections=load.connections)
            except PlanError as exc:
                problems.append(f"{where}.load: {exc}")
            for j, probe in enumerate(exp.steady_state.probes):
                if not all(n in known for n in probe.endpoints):
                    continue
                try:
                    build_plan(cc, list(probe.endpoints), probe.rate, probe.duration, url, timeout=load.timeout)
                except PlanError as exc:
                    problems.append(f"{where}.steady_state.probes[{j}]: {exc}")
        values = cc.placeholders(exp.name, "http://127.0.0.1:9")
        for part, acts in (("method", exp.method), ("rollbacks", exp.rollbacks)):
            for k, act in enumerate(acts):
                if isinstance(act, CommandActivity):
                    program = fill(act.command, values)[0]
                    if not _program_exists(program, cc.base_dir):
                        problems.append(f"{where}.{part}[{k}].command: program {program!r} not found")
    return problems, notes


def check(cc: Any, experiments: list[Experiment] | None = None) -> list[str]:
    """Raise :class:`ExperimentInvalid` listing every problem; return the notes otherwise."""
    problems, notes = validate(cc, experiments)
    if problems:
        raise ExperimentInvalid(problems)
    return notes
