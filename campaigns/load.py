"""The campaign file's ``load:`` section: workload model, test type, scenarios and thresholds.

Example (see ``campaigns/demo.yaml``)::

    load:
      test_type: load              # load | stress | spike | soak | breakpoint
      phases:                      # open model (Artillery / k6 arrival-rate executors)
        - {name: warm-up, duration: 10s, arrivalRate: 5, rampTo: 20}
        - {name: sustained, duration: 30s, arrival_rate: 20}
      # closed model instead: vus: 20 + duration: 1m, or stages: [{duration: 10s, target: 20}, …]
      max_vus: 200                 # open model: connection limit (k6 maxVUs)
      scenarios:
        - name: browse
          weight: 70
          steps:
            - {endpoint: list-products}
            - {endpoint: product, think: 200ms}
        - name: buy
          weight: 30
          steps:
            - name: sign-in
              request: {method: POST, path: /auth/sign-in,
                        json: {email: "{{ users.email }}", password: "{{ users.password }}"}}
              capture: {token: "$.token"}
            - endpoint: create-order
              headers: {Authorization: "Bearer {{ token }}"}
      thresholds:
        - "p(95)<300"
        - {metric: p99, op: "<", value: 800, endpoint: product, abort_on_fail: true, grace: 10s}
        - {threshold: "error_rate<1%", abortOnFail: true, delayAbortEval: 5s}

Open model: ``phases`` (each ``duration`` + ``arrival_rate``/``arrivalRate``, optional
``ramp_to``/``rampTo``) or ``rate`` + ``duration``. Closed model: ``vus`` + ``duration`` or
``stages`` (k6 ramping-vus: each ``duration`` + ``target``), ``think`` between iterations. The
test type picks a preset (:meth:`LoadSpec.profile`) scaled from the nominal rate (or VUs) and
duration unless explicit phases are given for that very test type.

Threshold grammar (k6-like), parsed by :func:`parse_threshold`::

    threshold  := statistic [ "{" "endpoint" ":" name "}" ] op number [ unit ]
    statistic  := "p(" number ")" | "p" digits | "avg" | "mean" | "med" | "min" | "max"
                | "error_rate" | "rate" | "rps" | "throughput"
    op         := "<" | "<=" | ">" | ">=" | "==" | "!="
    unit       := "ms" | "s"          (latency statistics; ms when absent)
                | "%"                 (error_rate; a fraction when absent)

``med`` is ``p(50)``, ``avg`` is ``mean``, ``rate`` is ``error_rate`` (k6's http_req_failed) and
``throughput`` is ``rps`` (requests per second, typically with ``>=``). The object form takes the
same pieces as ``metric``/``op``/``value``, or a ``threshold`` string, plus ``endpoint``,
``abort_on_fail`` (k6 ``abortOnFail``) and ``grace`` (k6 ``delayAbortEval``): an abort-on-fail
threshold stops the run as soon as it fails after the grace period. A threshold over zero samples
fails.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from campaigns.types import (MAX_RATE, MAX_VUS, Duration, Slug, StrictModel, check_headers, check_path,
                             upper_method)
from campaigns.vocabulary import TEST_TYPES, TestType

Scalar = str | int | float | bool
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class _Strict(StrictModel):
    # The same base as campaigns.model.Strict. This module does not import
    # campaigns.model so that campaigns.model can import LoadSpec without an import cycle.
    pass


# ---------------------------------------------------------------------------------------------
# Thresholds
# ---------------------------------------------------------------------------------------------

_STAT = r"p\(\s*\d+(?:\.\d+)?\s*\)|p\d+(?:\.\d+)?|avg|mean|med|min|max|error_rate|rate|rps|throughput"
_THRESHOLD = re.compile(
    rf"^\s*(?P<stat>{_STAT})\s*(?:\{{\s*endpoint\s*:\s*(?P<endpoint>[a-z0-9_-]+)\s*\}})?\s*"
    r"(?P<op><=|>=|==|!=|<|>)\s*(?P<value>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(?P<unit>ms|s|%)?\s*$")
_ALIASES = {"avg": "mean", "med": "p(50)", "rate": "error_rate", "throughput": "rps"}
LATENCY_STATS = ("mean", "min", "max")
OPS = ("<", "<=", ">", ">=", "==", "!=")


def normalize_metric(stat: str) -> str:
    """``p95`` / ``p( 95 )`` → ``p(95)``; aliases to their canonical names; ValueError otherwise."""
    s = stat.strip().lower().replace(" ", "")
    s = _ALIASES.get(s, s)
    m = re.fullmatch(r"p\(?(\d+(?:\.\d+)?)\)?", s)
    if m:
        p = float(m.group(1))
        if not 0 < p <= 100:
            raise ValueError(f"percentile {p:g} is not in (0, 100]")
        return f"p({p:g})"
    if s in LATENCY_STATS or s in ("error_rate", "rps"):
        return s
    raise ValueError(f"{stat!r} is not a threshold statistic (p(N), pN, avg/mean, med, min, max, "
                     f"error_rate/rate, rps/throughput)")


def _scale(metric: str, value: float, unit: str | None, text: str) -> float:
    if unit == "%":
        if metric != "error_rate":
            raise ValueError(f"{text!r}: '%' only applies to error_rate")
        return value / 100
    if unit in ("ms", "s"):
        if metric in ("error_rate", "rps"):
            raise ValueError(f"{text!r}: a time unit does not apply to {metric}")
        return value * 1000 if unit == "s" else value
    return value


def parse_threshold(text: str) -> tuple[str, str, float, str | None]:
    """``"p(95)<300"`` → ``("p(95)", "<", 300.0, None)``; ``"error_rate<1%"`` → ``(…, 0.01, None)``."""
    m = _THRESHOLD.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a threshold: write e.g. 'p(95)<300', 'avg<200', 'error_rate<0.01', "
                         f"'rps>=50' or 'p(99){{endpoint:product}}<800ms'")
    metric = normalize_metric(m.group("stat"))
    value = _scale(metric, float(m.group("value")), m.group("unit"), text)
    return metric, m.group("op"), value, m.group("endpoint")


class Threshold(_Strict):
    """One threshold; the string form is :func:`parse_threshold`'s grammar."""

    threshold: str | None = Field(None, description="k6-style expression, e.g. 'p(95)<300'.")
    metric: str | None = Field(None, description="p50, p90, p95, p99, p(N), mean, min, max, error_rate, rps.")
    op: Literal["<", "<=", ">", ">=", "==", "!="] | None = None
    value: float | None = None
    endpoint: Slug | None = Field(None, description="Endpoint name; absent: all endpoints together.")
    abort_on_fail: bool = Field(False, alias="abortOnFail")
    grace: Duration = Field(0.0, alias="delayAbortEval", description="No abort before this much run time.")

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"threshold": data}
        return data

    @model_validator(mode="after")
    def _normalize(self) -> Threshold:
        if self.threshold is not None:
            if self.metric is not None or self.op is not None or self.value is not None:
                raise ValueError("give either 'threshold' (an expression) or metric/op/value, not both")
            metric, op, value, endpoint = parse_threshold(self.threshold)
            if endpoint and self.endpoint and endpoint != self.endpoint:
                raise ValueError(f"the expression names endpoint {endpoint!r} but 'endpoint' is {self.endpoint!r}")
            self.metric, self.op, self.value = metric, op, value  # type: ignore[assignment]
            self.endpoint = self.endpoint or endpoint
        else:
            missing = [k for k in ("metric", "op", "value") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"a threshold needs metric, op and value (missing: {', '.join(missing)}) "
                                 f"or a 'threshold' expression such as 'p(95)<300'")
            self.metric = normalize_metric(self.metric)  # type: ignore[arg-type]
        if self.metric == "error_rate" and not 0 <= (self.value or 0) <= 1:
            raise ValueError("an error_rate threshold is a fraction between 0 and 1 (or write '1%')")
        return self

    @property
    def label(self) -> str:
        where = f"{{endpoint:{self.endpoint}}}" if self.endpoint else ""
        return self.threshold or f"{self.metric}{where}{self.op}{self.value:g}"


# ---------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------


class StepExpect(_Strict):
    """What a response must look like (as an endpoint's ``expect``); no ``status`` means any 2xx."""

    status: list[int] = Field(default_factory=list)
    fields: list[str] = Field(default_factory=list, description="JSON paths that must be present.")
    values: dict[str, Any] = Field(default_factory=dict, description="JSON path → expected value.")
    max_latency_ms: float | None = Field(None, gt=0)
    content_type: str | None = None
    body_contains: str | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, int) else value

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: list[int]) -> list[int]:
        for code in value:
            if not 100 <= code <= 599:
                raise ValueError(f"{code} is not an HTTP status")
        return value


class InlineRequest(_Strict):
    """A request that is not one of the campaign's endpoints (e.g. a sign-in inside a flow)."""

    method: Method = "GET"
    path: str
    query: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = Field(None, alias="json")

    _upper = field_validator("method", mode="before")(classmethod(lambda cls, v: upper_method(v)))
    _path = field_validator("path")(classmethod(lambda cls, v: check_path(v)))
    _headers = field_validator("headers")(classmethod(lambda cls, v: check_headers(v)))


class Step(_Strict):
    """One step of a flow: a campaign endpoint by name, or an inline ``request`` with a ``name``."""

    endpoint: Slug | None = None
    request: InlineRequest | None = None
    name: Slug | None = Field(None, description="Metric name of an inline request.")
    params: dict[str, list[Scalar]] | None = Field(None, description="Override the endpoint's path params.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers ('{{ var }}' allowed).")
    body: Any = Field(None, alias="json", description="Replace the endpoint's JSON body.")
    capture: dict[str, str] = Field(default_factory=dict, description="variable → JSON path, e.g. '$.token'.")
    expect: StepExpect | None = Field(None, description="Default: the endpoint's own expect.")
    think: Duration = Field(0.0, description="Pause after this step, before the next.")
    if_: str | None = Field(None, alias="if", pattern=r"^[A-Za-z_]\w*$",
                            description="Send this step only when this variable is set and truthy "
                                        "(Artillery's ifTrue); otherwise the flow goes on without it.")

    @field_validator("capture", mode="before")
    @classmethod
    def _artillery_capture(cls, value: Any) -> Any:
        # Artillery's list form: [{json: "$.token", as: "token"}]
        if isinstance(value, list):
            out = {}
            for item in value:
                if not isinstance(item, dict) or set(item) != {"json", "as"}:
                    raise ValueError("a capture list holds {json: '$.path', as: name} items")
                out[item["as"]] = item["json"]
            return out
        if isinstance(value, dict) and "json" in value and "as" in value and len(value) == 2:
            return {value["as"]: value["json"]}
        return value

    @field_validator("capture")
    @classmethod
    def _paths(cls, value: dict[str, str]) -> dict[str, str]:
        for var, path in value.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):
                raise ValueError(f"capture variable {var!r} is not a name (letters, digits, '_')")
            if not isinstance(path, str) or not path.strip().startswith("$"):
                raise ValueError(f"capture {var!r}: {path!r} is not a JSON path such as '$.token'")
        return value

    _headers = field_validator("headers")(classmethod(lambda cls, v: check_headers(v)))

    @model_validator(mode="after")
    def _one_target(self) -> Step:
        if (self.endpoint is None) == (self.request is None):
            raise ValueError("a step names an 'endpoint' or holds an inline 'request' (exactly one)")
        if self.request is not None and self.name is None:
            raise ValueError("an inline request needs a 'name': metrics are grouped by name, never by URL")
        if self.endpoint is not None and self.name is not None and self.name != self.endpoint:
            raise ValueError("an endpoint step is reported under the endpoint's name; drop 'name'")
        return self

    @property
    def metric_name(self) -> str:
        return self.endpoint or self.name  # type: ignore[return-value]


#: most requests a scenario may hold once its loops are unrolled (a file cannot blow up memory)
MAX_UNROLLED_STEPS = 10_000
_LOOP_TEMPLATE = re.compile(r"\{\{\s*\$loop(Count|Element)((?:\.[A-Za-z_]\w*|\[\d+\])*)\s*\}\}")


class LoopStep(_Strict):
    """Steps repeated ``count`` times, or once per item of ``over`` (Artillery's ``loop``).

    Inside the loop, ``{{ $loopCount }}`` is the pass number (from 0) and ``{{ $loopElement }}``
    the item of ``over`` (``{{ $loopElement.id }}`` a field of it), anywhere in the steps — an
    expected status too. Loops are unrolled when the file is read, so every engine runs the same
    flat steps; an unrolled scenario holds at most 10,000 requests."""

    loop: list[dict[str, Any]] = Field(min_length=1, description="The steps to repeat (steps or loops).")
    count: int | None = Field(None, ge=1, le=MAX_UNROLLED_STEPS, description="How many passes.")
    over: list[Any] | None = Field(None, min_length=1, description="One pass per item (a literal list).")

    @model_validator(mode="after")
    def _one_bound(self) -> LoopStep:
        if (self.count is None) == (self.over is None):
            raise ValueError("a loop has either 'count' (passes) or 'over' (a list of items), exactly one")
        self.unrolled()  # every pass must make valid steps
        return self

    def unrolled(self) -> list[Step]:
        from pydantic import ValidationError

        items = self.over if self.over is not None else list(range(self.count or 0))
        out: list[Step] = []
        for i, item in enumerate(items):
            for k, raw in enumerate(self.loop):
                bound = _bind(raw, i, item)
                try:
                    if isinstance(bound, dict) and "loop" in bound:
                        out += LoopStep.model_validate(bound).unrolled()
                    else:
                        out.append(Step.model_validate(bound))
                except ValidationError as exc:
                    err = exc.errors(include_url=False)[0]
                    where = ".".join(str(x) for x in err["loc"])
                    raise ValueError(f"loop[{k}] (pass {i}){': ' + where if where else ''}: "
                                     f"{err['msg'].removeprefix('Value error, ')}") from None
                if len(out) > MAX_UNROLLED_STEPS:
                    raise ValueError(f"the loop unrolls to more than {MAX_UNROLLED_STEPS} requests")
        return out


def _loop_value(item: Any, kind: str, path: str, index: int) -> Any:
    if kind == "Count":
        return index
    from campaigns.templating import lookup

    return lookup({"e": item}, "e" + path) if path else item


def _bind(value: Any, index: int, item: Any, typed: bool = False) -> Any:
    """``value`` with the loop's own templates filled in (the rest is left for run time). In a JSON
    body (``typed``) a value that is exactly one template keeps the item's type."""
    if isinstance(value, str) and "$loop" in value:
        whole = _LOOP_TEMPLATE.fullmatch(value.strip())
        if whole and typed:
            return _loop_value(item, whole.group(1), whole.group(2), index)
        return _LOOP_TEMPLATE.sub(lambda m: _text(_loop_value(item, m.group(1), m.group(2), index)), value)
    if isinstance(value, dict):
        return {k: _bind(v, index, item, typed or k in ("json", "body")) for k, v in value.items()}
    if isinstance(value, list):
        return [_bind(v, index, item, typed) for v in value]
    return value


def _text(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _item_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "loop" if "loop" in value else "step"
    return "loop" if isinstance(value, LoopStep) else "step"


ScenarioItem = Annotated[Annotated[Step, Tag("step")] | Annotated[LoopStep, Tag("loop")], Discriminator(_item_kind)]


class Scenario(_Strict):
    name: Slug
    weight: float = Field(1.0, ge=0, description="Relative share of iterations (Artillery weight).")
    steps: list[ScenarioItem] = Field(min_length=1, alias="flow",
                                         description="Requests in order; a {loop: [...], count: N} item repeats "
                                                     "its steps (unrolled when the file is read).")

    @field_validator("steps")
    @classmethod
    def _unroll(cls, value: list[Any]) -> list[Step]:
        out: list[Step] = []
        for st in value:
            out += st.unrolled() if isinstance(st, LoopStep) else [st]
            if len(out) > MAX_UNROLLED_STEPS:
                raise ValueError(f"the scenario holds more than {MAX_UNROLLED_STEPS} requests once its loops "
                                 f"are unrolled")
        return out


# ---------------------------------------------------------------------------------------------
# Workload models and test-type presets
# ---------------------------------------------------------------------------------------------


class Phase(_Strict):
    """An open-model phase: Artillery's ``duration / arrivalRate / rampTo``."""

    name: str | None = None
    duration: Duration = Field(gt=0)
    arrival_rate: float = Field(ge=0, le=MAX_RATE, alias="arrivalRate", description="Iterations per second at the start.")
    ramp_to: float | None = Field(None, ge=0, le=MAX_RATE, alias="rampTo", description="Rate at the end (linear ramp).")

    @property
    def peak(self) -> float:
        return max(self.arrival_rate, self.ramp_to or 0.0)


class VuStage(_Strict):
    """A closed-model stage (k6 ramping-vus): move linearly to ``target`` VUs over ``duration``."""

    name: str | None = None
    duration: Duration = Field(gt=0)
    target: int = Field(ge=0, le=MAX_VUS, alias="vus")


class StressPreset(_Strict):
    factor: float = Field(3.0, gt=1, le=100, description="Peak = factor × nominal rate.")
    steps: int = Field(3, ge=1, le=20)


class SpikePreset(_Strict):
    factor: float = Field(10.0, gt=1, le=100, description="Spike = factor × nominal rate.")
    spike: float = Field(0.2, gt=0, lt=1, description="Share of the duration at the spike.")


class SoakPreset(_Strict):
    duration: Duration = Field(3600.0, gt=0, description="How long to hold the nominal rate.")
    ramp: Duration = Field(60.0, ge=0)


class BreakpointPreset(_Strict):
    start: float | None = Field(None, ge=0, le=MAX_RATE, description="Starting rate (default: nominal / 10).")
    max: float | None = Field(None, gt=0, le=MAX_RATE, description="Highest rate tried (default: 10 × nominal).")
    duration: Duration | None = Field(None, gt=0, description="Ramp length (default: the nominal duration).")
    stop_when: list[Threshold] = Field(
        default_factory=lambda: [Threshold(threshold="p(95)<1000"), Threshold(threshold="error_rate<0.05")],
        description="Rules that must keep holding; the first to break ends the ramp.")
    window: Duration = Field(2.0, ge=1, description="Recent data the stop rules look at.")

    @field_validator("stop_when", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        return [{"threshold": v} if isinstance(v, str) else v for v in value] if isinstance(value, list) else value


class Presets(_Strict):
    stress: StressPreset = Field(default_factory=StressPreset)
    spike: SpikePreset = Field(default_factory=SpikePreset)
    soak: SoakPreset = Field(default_factory=SoakPreset)
    breakpoint: BreakpointPreset = Field(default_factory=BreakpointPreset)


class TlsOptions(_Strict):
    verify: bool = True
    ca_file: str | None = Field(None, description="CA bundle (PEM), relative to the campaign file.")


class ProfilePhase(BaseModel):
    """A phase after preset expansion (what the engine runs)."""

    executor: str
    duration: float
    rate: float = 0.0
    rate_to: float | None = None
    vus: int = 0
    vus_to: int | None = None
    name: str = ""


class Profile(BaseModel):
    model: Literal["open", "closed"]
    test_type: str
    phases: list[ProfilePhase]
    breakpoint: BreakpointPreset | None = None
    source: str = ""            # "phases", "stages" or "preset:<type>"


def _open(duration: float, rate: float, rate_to: float | None = None, name: str = "") -> ProfilePhase:
    if rate_to is None or abs(rate_to - rate) < 1e-9:
        return ProfilePhase(executor="constant-arrival-rate", duration=duration, rate=rate, name=name)
    return ProfilePhase(executor="ramping-arrival-rate", duration=duration, rate=rate, rate_to=rate_to, name=name)


def _closed(duration: float, vus: float, vus_to: float | None = None, name: str = "") -> ProfilePhase:
    a = max(int(round(vus)), 0)
    b = a if vus_to is None else max(int(round(vus_to)), 0)
    if a == b:
        return ProfilePhase(executor="constant-vus", duration=duration, vus=a, name=name)
    return ProfilePhase(executor="ramping-vus", duration=duration, vus=a, vus_to=b, name=name)


class LoadSpec(_Strict):
    """The ``load:`` section of a campaign file."""

    engine: Literal["builtin", "k6"] = Field(
        "builtin", description="builtin, or k6: the same scenarios, phases and thresholds run by the k6 binary "
                               "(see tasks/k6/); results land in the same tables.")
    test_type: TestType = "load"
    # open model
    rate: float | None = Field(None, gt=0, le=MAX_RATE, description="Nominal arrival rate (iterations/s) for presets.")
    phases: list[Phase] = Field(default_factory=list)
    max_vus: int = Field(1000, gt=0, le=MAX_VUS, alias="max_connections",
                         description="Open model: most connections (requests in flight) at once.")
    # closed model
    vus: int | None = Field(None, gt=0, le=MAX_VUS, description="Closed model: virtual users (one connection each).")
    stages: list[VuStage] = Field(default_factory=list)
    think: Duration = Field(0.0, description="Closed model: pause between a VU's iterations.")
    # both
    duration: Duration | None = Field(None, gt=0, description="Nominal duration (with rate or vus).")
    timeout: Duration = Field(10.0, gt=0)
    connect_timeout: Duration = Field(5.0, gt=0)
    graceful_stop: Duration = Field(5.0, ge=0, description="How long in-flight requests may finish.")
    shards: int | Literal["auto"] = Field(1, description="Generator processes (auto: one per core).")
    dask_address: str | None = Field(None, description="Run the shards on this Dask scheduler (tcp://host:8786), "
                                                       "one per worker thread; --dask-address overrides it.")
    scenarios: list[Scenario] = Field(default_factory=list, description="Default: every endpoint, equal weight.")
    thresholds: list[Threshold] = Field(default_factory=list)
    presets: Presets = Field(default_factory=Presets)
    tls: TlsOptions = Field(default_factory=TlsOptions)
    cookies: bool = Field(True, description="A cookie jar per virtual user (each iteration starts empty), as in "
                                            "Artillery and k6: Set-Cookie answers are sent back on the iteration's "
                                            "next requests. false: cookies are never sent back.")
    seed: int = 0

    @field_validator("thresholds", mode="before")
    @classmethod
    def _threshold_strings(cls, value: Any) -> Any:
        return [{"threshold": v} if isinstance(v, str) else v for v in value] if isinstance(value, list) else value

    @field_validator("shards")
    @classmethod
    def _shards(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= 256:
            raise ValueError("shards is between 1 and 256, or 'auto'")
        return value

    @field_validator("dask_address")
    @classmethod
    def _dask_address(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"(tcp|tls|ws|wss)://[^\s/:]+(:\d{1,5})?", value):
            raise ValueError(f"dask_address must look like tcp://host:8786, not {value!r}")
        return value

    @model_validator(mode="after")
    def _model(self) -> LoadSpec:
        problems = []
        open_ = self.rate is not None or bool(self.phases)
        closed = self.vus is not None or bool(self.stages)
        if open_ and closed:
            problems.append("choose one workload model: rate/phases (open) or vus/stages (closed), not both")
        if not open_ and not closed:
            problems.append("give an open model (rate + duration, or phases) or a closed one "
                            "(vus + duration, or stages)")
        if self.phases and self.rate is not None and self.duration is None:
            pass
        if (self.rate is not None or self.vus is not None) and not (self.phases or self.stages) and self.duration is None:
            problems.append("rate or vus needs a duration (or give phases / stages)")
        if self.phases and not any(p.peak > 0 for p in self.phases):
            problems.append("every phase has an arrival rate of 0: nothing would be sent")
        if self.stages and not any(s.target > 0 for s in self.stages):
            problems.append("every stage targets 0 VUs: nothing would be sent")
        names = [s.name for s in self.scenarios]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"scenario names used twice: {dupes}")
        if self.scenarios and not any(s.weight > 0 for s in self.scenarios):
            problems.append("every scenario has weight 0")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # -- derived ---------------------------------------------------------------------------------
    @property
    def model(self) -> Literal["open", "closed"]:
        return "open" if (self.rate is not None or self.phases) else "closed"

    def nominal(self) -> tuple[float, float]:
        """The nominal (rate or VUs, duration) the presets scale from."""
        if self.model == "open":
            level = self.rate if self.rate is not None else max(p.peak for p in self.phases)
            span = self.duration if self.duration is not None else sum(p.duration for p in self.phases)
        else:
            level = float(self.vus if self.vus is not None else max(s.target for s in self.stages))
            span = self.duration if self.duration is not None else sum(s.duration for s in self.stages)
        return float(level), float(span)

    def profile(self, test_type: str | None = None) -> Profile:
        """The phases to run for ``test_type`` (default: this spec's own)."""
        kind = test_type or self.test_type
        if kind not in TEST_TYPES:
            raise ValueError(f"unknown test type {kind!r} (known: {', '.join(TEST_TYPES)})")
        model = self.model
        explicit = self.phases if model == "open" else self.stages
        if explicit and kind == self.test_type and kind != "breakpoint":
            if model == "open":
                return Profile(model=model, test_type=kind, source="phases",
                               phases=[_open(p.duration, p.arrival_rate, p.ramp_to, p.name or "") for p in self.phases])
            out, prev = [], 0
            for s in self.stages:
                out.append(_closed(s.duration, prev, s.target, s.name or ""))
                prev = s.target
            return Profile(model=model, test_type=kind, source="stages", phases=out)
        level, span = self.nominal()
        make = _open if model == "open" else _closed
        phases: list[ProfilePhase]
        bp = None
        if kind == "load":
            phases = [make(span, level, None, "sustained")]
        elif kind == "stress":
            p = self.presets.stress
            part = span / (2 * p.steps)
            phases, prev = [], level
            for k in range(1, p.steps + 1):
                peak = level * (1 + (p.factor - 1) * k / p.steps)
                phases += [make(part, prev, peak, f"ramp-{k}"), make(part, peak, None, f"hold-{k}")]
                prev = peak
        elif kind == "spike":
            p = self.presets.spike
            before = span * (1 - p.spike) / 2
            phases = [make(before, level, None, "baseline"), make(span * p.spike, level * p.factor, None, "spike"),
                      make(before, level, None, "recovery")]
        elif kind == "soak":
            p = self.presets.soak
            phases = ([make(p.ramp, level / 10 if model == "open" else 1, level, "ramp-up")] if p.ramp > 0 else [])
            phases.append(make(p.duration, level, None, "soak"))
        else:  # breakpoint
            p = self.presets.breakpoint
            start = p.start if p.start is not None else level / 10
            top = p.max if p.max is not None else level * 10
            phases = [make(p.duration or span, start, top, "breakpoint-ramp")]
            bp = p
        return Profile(model=model, test_type=kind, phases=phases, breakpoint=bp, source=f"preset:{kind}")

    def without_writes(self, write_endpoints: set[str] | dict[str, str],
                       write_methods: frozenset[str] = frozenset({"POST", "PUT", "PATCH", "DELETE"})
                       ) -> tuple[LoadSpec, dict[str, Any]]:
        """A copy without the steps that write, for an environment that does not allow writes.

        A step writes when it names one of ``write_endpoints`` or holds an inline request with a write
        method. A scenario that loses a step that ``capture``s variables is left out whole (its later
        steps would run without them). Returns the copy and what was left out:
        ``{"steps": [...], "scenarios": {name: why}}``."""
        steps_out: list[str] = []
        scenarios_out: dict[str, str] = {}
        kept = []
        for sc in self.scenarios:
            writes = [st for st in sc.steps if (st.endpoint is not None and st.endpoint in write_endpoints)
                      or (st.request is not None and st.request.method in write_methods)]
            if not writes:
                kept.append(sc)
                continue
            steps_out += [st.metric_name for st in writes if st.metric_name not in steps_out]
            capturing = [st.metric_name for st in writes if st.capture]
            rest = [st for st in sc.steps if st not in writes]
            if capturing:
                scenarios_out[sc.name] = (f"its write step {capturing[0]!r} captures what later steps use")
            elif not rest:
                scenarios_out[sc.name] = "every step writes"
            else:
                kept.append(sc.model_copy(update={"steps": rest}))
        if not steps_out:
            return self, {"steps": [], "scenarios": {}}
        return self.model_copy(update={"scenarios": kept}), {"steps": steps_out, "scenarios": scenarios_out}

    # -- references --------------------------------------------------------------------------------
    def reference_errors(self, endpoint_names: set[str] | list[str], prefix: str = "load") -> list[str]:
        """Every reference to an endpoint the campaign does not define, as ``path: message``."""
        known = set(endpoint_names)
        hint = f"(known: {', '.join(sorted(known)) or 'none'})"
        out = []
        for i, sc in enumerate(self.scenarios):
            for j, st in enumerate(sc.steps):
                if st.endpoint is not None and st.endpoint not in known:
                    out.append(f"{prefix}.scenarios[{i}].steps[{j}].endpoint: unknown endpoint {st.endpoint!r} {hint}")
                if st.request is not None and st.name in known:
                    out.append(f"{prefix}.scenarios[{i}].steps[{j}].name: {st.name!r} is an endpoint's name; "
                               f"use 'endpoint: {st.name}' or another name")
        metric_names = known | {st.name for sc in self.scenarios for st in sc.steps if st.name}
        for i, th in enumerate(self.thresholds):
            if th.endpoint is not None and th.endpoint not in metric_names:
                out.append(f"{prefix}.thresholds[{i}].endpoint: unknown endpoint {th.endpoint!r} {hint}")
        for i, th in enumerate(self.presets.breakpoint.stop_when):
            if th.endpoint is not None and th.endpoint not in metric_names:
                out.append(f"{prefix}.presets.breakpoint.stop_when[{i}].endpoint: unknown endpoint "
                           f"{th.endpoint!r} {hint}")
        return out


__all__ = ["LoadSpec", "Phase", "VuStage", "Scenario", "Step", "LoopStep", "StepExpect", "InlineRequest", "Threshold",
           "Profile", "ProfilePhase", "parse_threshold", "normalize_metric", "TEST_TYPES"]
