"""Scenarios compiled for the hot path, and the iteration that walks one through its steps.

A :class:`CompiledStep` holds pre-built request bytes when nothing in it varies (one variant per
path-parameter value, cycled), or renders its templates per iteration from the variables: the
campaign's ``variables``, one row of each CSV feeder (loaded once, shared by every virtual user,
sequential or random) and values captured from earlier JSON responses.

An :class:`Iteration` is one pass through a scenario. It is the pool's ``Job``: each step's
latency is measured from the instant the step was *intended* to start (the arrival instant for
the first step, the previous response plus think time for the next), and service time from the
actual send, so coordinated omission shows instead of hiding.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
from typing import TYPE_CHECKING, Any

from campaigns.templating import MissingVariable, lookup, render
from tasks.load.cookies import CookieJar
from tasks.load.errors import CONNECT_KINDS, status_kind
from tasks.load.plan import Plan, ScenarioPlan, StepPlan, build_request, request_target

if TYPE_CHECKING:
    from tasks.load.engine import ShardEngine

try:  # orjson comes with prefect; json is the fallback
    import orjson

    _loads = orjson.loads
except ImportError:  # pragma: no cover
    _loads = json.loads


def json_path(document: Any, path: str) -> Any:
    """``$.items[0].id`` (or ``items[0].id``) → the value; ``MissingVariable`` when absent."""
    expr = path.strip()
    if expr.startswith("$"):
        expr = expr[1:]
    if not expr:
        return document
    if not expr.startswith("["):
        expr = "." + expr.lstrip(".")
    return lookup({"$": document}, "$" + expr)


class CompiledStep:
    __slots__ = ("index", "plan", "name", "variants", "n_variants", "counter", "templated", "want_body",
                 "simple", "ok_status", "think", "capture", "expect", "host", "base_path", "condition")

    def __init__(self, index: int, step: StepPlan, host: str, base_path: str):
        self.index = index
        self.plan = step
        self.name = step.name
        self.host, self.base_path = host, base_path
        self.templated = step.templated
        self.want_body = step.needs_body
        self.ok_status = frozenset(step.expect.status) if step.expect.status else None
        self.think = step.think
        self.condition = step.condition
        self.capture = step.capture
        self.expect = step.expect
        self.simple = not (step.capture or step.expect.needs_body or step.expect.content_type
                           or step.expect.max_latency_ms)
        self.counter = itertools.count()
        self.variants: list[bytes] = []
        if not self.templated:
            paths = list(step.path_values) or [step.path]
            self.variants = [build_request(step.method, request_target(base_path, p, step.query), host,
                                           step.headers, step.body) for p in paths]
        self.n_variants = len(self.variants)

    def data(self, variables: dict[str, Any] | None, rng: random.Random) -> bytes:
        n = next(self.counter)
        if not self.templated:
            return self.variants[n % self.n_variants]
        st = self.plan
        v = variables or {}
        path = st.path_values[n % len(st.path_values)] if st.path_values else st.path
        return build_request(st.method, request_target(self.base_path, render(path, v, rng), render(dict(st.query), v, rng)),
                             self.host, tuple((k, str(render(val, v, rng))) for k, val in st.headers),
                             render(st.body, v, rng))


class CompiledScenario:
    __slots__ = ("name", "steps", "needs_vars")

    def __init__(self, plan: ScenarioPlan, steps: list[CompiledStep]):
        self.name = plan.name
        self.steps = steps
        self.needs_vars = any(s.templated or s.capture or s.condition for s in steps)


class Feeders:
    """CSV rows shared by every iteration: sequential (interleaved across shards) or random."""

    def __init__(self, plan: Plan, shard: int, n_shards: int, rng: random.Random):
        self.rows = plan.feeders
        self.order = plan.feeder_order
        self.rng = rng
        self.counters = {name: itertools.count(shard, n_shards) for name in self.rows}

    def pick(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, rows in self.rows.items():
            if self.order.get(name) == "random":
                out[name] = rows[self.rng.randrange(len(rows))]
            else:
                out[name] = rows[next(self.counters[name]) % len(rows)]
        return out


class Workload:
    """The compiled scenarios of a plan and the weighted choice among them."""

    def __init__(self, plan: Plan, names: list[str], host: str, base_path: str, shard: int, n_shards: int):
        index = {n: i for i, n in enumerate(names)}
        self.rng = random.Random(plan.seed * 1000 + shard)
        self.scenarios = [CompiledScenario(sc, [CompiledStep(index[st.name], st, host, base_path) for st in sc.steps])
                          for sc in plan.scenarios if sc.weight > 0 and sc.steps]
        if not self.scenarios:
            raise ValueError("the plan has no scenario with a positive weight and at least one step")
        weights = [sc.weight for sc in plan.scenarios if sc.weight > 0 and sc.steps]
        total = sum(weights)
        self.cumulative = list(itertools.accumulate(w / total for w in weights))
        self.single = self.scenarios[0] if len(self.scenarios) == 1 else None
        self.variables = dict(plan.variables)
        self.feeders = Feeders(plan, shard, n_shards, self.rng)
        self.with_headers = any(st.expect.content_type for sc in self.scenarios for st in sc.steps)

    def pick(self) -> CompiledScenario:
        if self.single is not None:
            return self.single
        i = bisect.bisect_left(self.cumulative, self.rng.random())
        return self.scenarios[min(i, len(self.scenarios) - 1)]

    def new_variables(self) -> dict[str, Any]:
        out = dict(self.variables)
        out.update(self.feeders.pick())
        return out


class Iteration:
    """One pass of a scenario; the pool's ``Job`` for each of its requests."""

    __slots__ = ("engine", "scenario", "k", "step", "vars", "t_intended", "data", "want_body", "queued_at", "vu",
                 "jar")

    def __init__(self, engine: ShardEngine, scenario: CompiledScenario, t_intended: float, vu: Any = None):
        self.engine = engine
        self.scenario = scenario
        self.vars = engine.workload.new_variables() if scenario.needs_vars else None
        self.k = self._next_met(0)
        # None when every step's condition is unmet: the iteration ends without a request
        self.step = scenario.steps[self.k] if self.k < len(scenario.steps) else None
        self.t_intended = t_intended
        self.data = b""
        self.want_body = False
        self.queued_at = 0.0
        self.vu = vu
        self.jar: CookieJar | None = None  # created by the first Set-Cookie (see tasks/load/cookies.py)

    def prepare(self) -> bool:
        """Build the current step's request; False (and the flow ends) when a template fails."""
        step = self.step
        try:
            self.data = step.data(self.vars, self.engine.workload.rng)
        except (MissingVariable, ValueError, TypeError):
            self.engine.rec.fail(step.index, "template")
            return False
        if self.jar:
            self.data = self.jar.apply(self.data)
        self.want_body = step.want_body
        return True

    def add_cookies(self, values: list[bytes]) -> None:
        """``Set-Cookie`` values of the current response (the connection calls this)."""
        if self.jar is None:
            origin = self.engine.origin
            self.jar = CookieJar(origin.host, origin.scheme == "https")
        line_end = self.data.find(b"\r\n")
        parts = self.data[:line_end].split(b" ", 2)
        self.jar.store(values, parts[1].decode("latin-1") if len(parts) > 1 else "/")

    def on_response(self, status: int, now: float, t_sent: float, body: list[bytes] | None,
                    headers: dict[bytes, bytes] | None) -> None:
        step = self.step
        engine = self.engine
        latency = now - self.t_intended
        if t_sent - self.t_intended > engine.late_after:
            engine.rec.late += 1
        if step.simple:
            if (status in step.ok_status) if step.ok_status is not None else (200 <= status < 300):
                engine.rec.ok(step.index, latency, now - t_sent, status)
                self.advance(now)
            else:
                engine.rec.fail(step.index, status_kind(status), latency, now - t_sent, status)
                self.advance(now)
            return
        kind = self._check(step, status, latency, body, headers)
        if kind is None:
            engine.rec.ok(step.index, latency, now - t_sent, status)
            self.advance(now)
        else:
            engine.rec.fail(step.index, kind, latency, now - t_sent, status)
            if kind == "capture":
                engine.iteration_done(self, now, failed=True)
            else:
                self.advance(now)

    def _check(self, step: CompiledStep, status: int, latency: float, body: list[bytes] | None,
               headers: dict[bytes, bytes] | None) -> str | None:
        ok = (status in step.ok_status) if step.ok_status is not None else (200 <= status < 300)
        if not ok:
            return status_kind(status)
        exp = step.expect
        if exp.max_latency_ms is not None and latency * 1000 > exp.max_latency_ms:
            return "slow"
        if exp.content_type and headers is not None:
            if exp.content_type.encode().lower() not in headers.get(b"content-type", b"").lower():
                return "expect"
        raw = b"".join(body) if body else b""
        if exp.body_contains is not None and exp.body_contains.encode() not in raw:
            return "expect"
        doc: Any = None
        if exp.fields or exp.values or step.capture:
            try:
                doc = _loads(raw)
            except ValueError:
                return "capture" if step.capture else "expect"
        for path in exp.fields:
            try:
                json_path(doc, path)
            except MissingVariable:
                return "expect"
        for path, value in exp.values:
            try:
                if json_path(doc, path) != value:
                    return "expect"
            except MissingVariable:
                return "expect"
        if step.capture:
            variables = self.vars if self.vars is not None else {}
            for var, path in step.capture:
                try:
                    variables[var] = json_path(doc, path)
                except MissingVariable:
                    return "capture"
            self.vars = variables
        return None

    def on_error(self, kind: str, now: float, sent: bool) -> None:
        step = self.step
        if kind == "timeout":
            # a timeout is a latency the user saw: at least the timeout, from the intended start
            self.engine.rec.fail(step.index, kind, now - self.t_intended)
        else:
            self.engine.rec.fail(step.index, kind)
        self.engine.iteration_done(self, now, failed=True, connect_error=kind in CONNECT_KINDS)

    def _next_met(self, k: int) -> int:
        """The first step from ``k`` whose ``if`` condition holds (Artillery ifTrue): a skipped step
        sends nothing and counts nothing."""
        steps = self.scenario.steps
        while k < len(steps) and steps[k].condition is not None and not (self.vars or {}).get(steps[k].condition):
            k += 1
        return k

    def advance(self, now: float) -> None:
        scenario = self.scenario
        self.k = self._next_met(self.k + 1)
        if self.k >= len(scenario.steps):
            self.engine.iteration_done(self, now, failed=False)
            return
        think = self.step.think
        self.step = scenario.steps[self.k]
        if think > 0:
            self.engine.loop.call_later(think, self.resume)
        else:
            self.t_intended = now
            self.engine.send(self)

    def resume(self) -> None:
        self.t_intended = self.engine.clock()
        self.engine.send(self)
