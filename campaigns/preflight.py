"""Preflight: what would fail at run time for a reason the user controls, found before the run.

A campaign file can be valid YAML that matches the model and still fail on its first request: a
template that names a variable nobody defines, a function that does not exist, a feeder column the
CSV does not have (a headerless file reads its first data row as the header), an
``${env:NAME}`` or ``{{ $env.NAME }}`` that is not set. :func:`check` finds them all at once, as
``file:line: field: message`` problems (:class:`campaigns.loader.Problem`), so ``validate`` reports
them and ``run`` stops before its first request (exit 2).

Two levels:

- *static* (always, from :func:`campaigns.loader.load_campaign`): templates, functions, variables,
  feeder columns — nothing outside the file and its feeders is read;
- *secrets* (``validate`` and ``run``, not ``export k6``, whose script reads them from k6's own
  environment): every ``${env:NAME}`` and ``{{ $env.NAME }}`` reference that the environments being
  run would resolve is set. ``${prefect:BLOCK}`` needs the Prefect server and is resolved by the
  run itself.

Scopes, as the stages render templates: endpoints and the auth flow see the campaign's variables
and the first row of each feeder (readiness and smoke send endpoints on their own); a load scenario
or an API journey also sees what its earlier steps captured.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Iterator
from typing import Any

from campaigns.templating import BUILTINS, ENV_PREFIX, TEMPLATE, MissingVariable, function_name, lookup
from campaigns.types import REF

_ROOT = re.compile(r"^\s*([A-Za-z_$][\w$]*)")
_FIELD = re.compile(r"^\s*[A-Za-z_$][\w$]*\s*(?:\.\s*([A-Za-z_$][\w$-]*)|\[\s*['\"]([^'\"]+)['\"]\s*\])")

Loc = tuple[Any, ...]


def _strings(value: Any, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k, loc)
            yield from _strings(v, (*loc, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*loc, i))


class _Checker:
    def __init__(self, campaign: Any, feeders: dict[str, list[dict[str, str]]], secrets: bool,
                 environments: list[str] | None):
        self.campaign = campaign
        self.feeders = feeders
        self.secrets = secrets
        self.environments = environments or list(campaign.environments)
        self.found: list[tuple[Loc, str]] = []
        self.undefined: dict[str, list[Loc]] = {}   # variable → where it is used undefined
        self._seen: set[tuple[Loc, str]] = set()
        self.columns: dict[str, set[str]] = {}
        for name, rows in feeders.items():
            self.columns[name] = set().union(*(r.keys() for r in rows[:50])) - {None} if rows else set()

    def problem(self, loc: Loc, message: str) -> None:
        if (loc, message) not in self._seen:
            self._seen.add((loc, message))
            self.found.append((loc, message))

    # -- one value ------------------------------------------------------------------------------
    def value(self, value: Any, loc: Loc, scope: set[str], where: str) -> None:
        for here, text in _strings(value, loc):
            if self.secrets and "${" in text:
                for m in REF.finditer(text):
                    if m.group(1) == "env" and m.group(2) not in os.environ:
                        self.problem(here, f"environment variable {m.group(2)} is not set (referenced as "
                                           f"${{env:{m.group(2)}}}): set it before running")
            if "{{" not in text:
                continue
            for m in TEMPLATE.finditer(text):
                self.expression(m.group(1).strip(), here, scope, where)

    def expression(self, expr: str, loc: Loc, scope: set[str], where: str) -> None:
        if expr.startswith(ENV_PREFIX):
            name = expr[len(ENV_PREFIX):].strip()
            if self.secrets and name not in os.environ:
                self.problem(loc, f"environment variable {name} is not set (referenced as {{{{ {expr} }}}}): "
                                  f"set it before running")
            return
        fn = function_name(expr)
        if fn is not None and fn not in scope:
            if fn not in BUILTINS:
                self.problem(loc, f"{{{{ {expr} }}}}: ${fn} is not a template function (known: "
                                  f"{', '.join('$' + n for n in sorted(BUILTINS))})")
                return
            try:  # literal arguments: call it once, as the run will
                lookup({name: [1] for name in scope}, expr, random.Random(0))
            except MissingVariable as exc:
                self.problem(loc, str(exc))
            return
        if expr.startswith("$") and "(" in expr:
            self.problem(loc, f"{{{{ {expr} }}}} is not a template expression (a variable, a.b.c, or "
                              f"$function(arguments))")
            return
        root = _ROOT.match(expr)
        if root is None:
            self.problem(loc, f"{{{{ {expr} }}}} is not a variable name, a path such as user.email or a "
                              f"$function()")
            return
        name = root.group(1)
        if name in self.feeders:
            field = _FIELD.match(expr)
            column = field and (field.group(1) or field.group(2))
            if column and self.columns.get(name) and column not in self.columns[name]:
                header = ", ".join(sorted(self.columns[name]))
                self.problem(loc, f"{{{{ {expr} }}}}: feeder {name} has no column {column!r} (its columns: "
                                  f"{header}); a CSV without a header row needs 'fields:' naming its columns")
            return
        if name in scope:
            return
        self.undefined.setdefault(name, []).append(loc)
        self.problem(loc, f"{{{{ {expr} }}}}: no variable {name!r} {where} (define it under variables:, "
                          f"name a data: feeder, or capture it in an earlier step)")

    # -- the whole campaign ---------------------------------------------------------------------
    def run(self) -> list[tuple[Loc, str]]:
        c = self.campaign
        base = set(c.variables) | set(c.data)
        for name in self.environments:
            env = c.environments.get(name)
            if env is not None:
                self.value(env.headers, ("environments", name, "headers"), base, "for the environment's headers")
        for i, ep in enumerate(c.endpoints):
            where = "(endpoints are sent on their own by readiness and smoke: they see variables and feeders only)"
            for key, value in (("path", ep.path), ("query", ep.query), ("headers", ep.headers), ("json", ep.body)):
                self.value(value, ("endpoints", i, key), base, where)
        if c.auth is not None:
            req = c.auth.request
            for key, value in (("path", req.path), ("headers", req.headers), ("json", req.body)):
                self.value(value, ("auth", "request", key), base, "for the auth flow")
        if c.load is not None:
            for i, sc in enumerate(c.load.scenarios):
                scope = set(base)
                for j, st in enumerate(sc.steps):
                    loc: Loc = ("load", "scenarios", i, "steps", j)
                    where = f"in scenario {sc.name} before this step"
                    if st.request is not None:
                        for key, value in (("path", st.request.path), ("query", st.request.query),
                                           ("headers", st.request.headers), ("json", st.request.body)):
                            self.value(value, (*loc, "request", key), scope, where)
                    elif st.endpoint is not None:
                        try:
                            ep = c.endpoint(st.endpoint)
                        except KeyError:
                            ep = None
                        if ep is not None and st.params is not None:
                            self.value(st.params, (*loc, "params"), scope, where)
                    self.value(st.headers, (*loc, "headers"), scope, where)
                    self.value(st.body, (*loc, "json"), scope, where)
                    scope |= set(st.capture)
        e2e = getattr(c, "e2e", None)
        for i, journey in enumerate(getattr(e2e, "api_journeys", None) or []):
            scope = set(base)
            for j, st in enumerate(journey.steps):
                loc = ("e2e", "api_journeys", i, "steps", j)
                where = f"in journey {journey.name} before this step"
                for key, value in (("path", st.path), ("query", st.query), ("headers", st.headers),
                                   ("json", st.body)):
                    self.value(value, (*loc, key), scope, where)
                if st.expect is not None:
                    self.value(st.expect.values, (*loc, "expect", "values"), scope | set(st.capture), where)
                scope |= set(st.capture) | set(st.capture_headers)
        return self.found


def describe(loc: Loc) -> str:
    """``("load", "scenarios", 0, "steps", 2, "headers")`` → ``load.scenarios[0].steps[2].headers``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def check(campaign: Any, feeders: dict[str, list[dict[str, str]]], *, secrets: bool = False,
          environments: list[str] | None = None) -> list[tuple[Loc, str]]:
    """Every problem as ``(location in the file, message)``; see the module docstring."""
    return _Checker(campaign, feeders, secrets, environments).run()


def problems(loaded: Any, *, secrets: bool = True, environments: list[str] | None = None) -> list[Any]:
    """:func:`check` on a loaded campaign, as ``file:line: field: message`` problems."""
    from campaigns.loader import Problem, field_path, line_of, node_of

    node = node_of(loaded.text)
    return [Problem(str(loaded.path), line_of(node, loc), field_path(loc), message)
            for loc, message in check(loaded.campaign, loaded.feeders, secrets=secrets, environments=environments)]
