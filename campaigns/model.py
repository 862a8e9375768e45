"""The campaign file, as a pydantic v2 model.

A campaign names a team's service, its environments (dev / staging / production, each with a base
URL, an allow-list of hosts, caps and the stages it may run), its endpoints with expectations, the
per-domain targets (seed 000: concurrent users, p50, p95, error rate) and the quality thresholds
(seed 001: mean 1500 ms, p95 3000 ms, error rate 1 %, 50 rps).

Every model forbids unknown keys, so a typo is an error with its file and line (see ``loader``),
never a silently ignored option. ``SCHEMA_VERSION`` is the ``version`` this code reads.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from campaigns.analytics import AnalyticsOptions, MetricsSource, PrometheusExport
from campaigns.load import LoadSpec
from campaigns.templating import placeholders
from campaigns.types import (MAX_RATE, MAX_VUS, Duration, Slug, StrictModel, check_headers, check_path,
                             check_path_value, no_control_characters, upper_method)
from campaigns.verdict import VerdictOptions
from campaigns.vocabulary import STAGE_ORDER, EnvKind, Stage

SCHEMA_VERSION = 1

StageName = Stage
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Scalar = str | int | float | bool
#: words that end the path of a POST which only reads (a query sent as a body): ``/flows/filter``,
#: ``/orders/search``, ``/events/count-by/{unit}``. Such POSTs are probed, smoke-tested and loaded
#: like GETs (``safe: false`` on the endpoint says otherwise).
QUERY_POST_WORDS = frozenset({"filter", "filters", "count", "counts", "search", "query", "paginate", "find",
                              "lookup", "history", "validate"})


def reads_only(method: str, path: str) -> bool:
    """A POST whose last literal path segment names a query (filter, count, search, paginate…)."""
    if method.upper() != "POST":
        return False
    literals = [s for s in path.partition("?")[0].split("/") if s and "{" not in s]
    if not literals:
        return False
    words = {w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", literals[-1])}
    return bool(words & QUERY_POST_WORDS)

#: stages an environment runs when its file does not say; production never runs chaos.
DEFAULT_STAGES: dict[str, tuple[str, ...]] = {
    "dev": STAGE_ORDER,
    "staging": STAGE_ORDER,
    "production": ("readiness", "smoke", "e2e", "load"),
}


_HOST = re.compile(r"^[A-Za-z0-9._~-]+$")


def check_base_url(value: str) -> str:
    """An http(s) URL with a host (a name, an IPv4 or a bracketed IPv6 address; an internationalized
    name becomes its punycode), a valid port, no query, fragment, credentials or control characters."""
    no_control_characters(value, "base_url")
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL with a host")
    if parts.query or parts.fragment:
        raise ValueError("base_url takes no query or fragment")
    if parts.username or parts.password:
        raise ValueError("base_url takes no user or password: put credentials in headers as ${env:…} references")
    if port == 0:
        raise ValueError(f"{value!r}: port 0 is not a port to send to")
    host = parts.hostname
    if "[" not in parts.netloc and not _HOST.match(host):
        if any(unicodedata.category(ch).startswith(("C", "Z")) for ch in host):
            raise ValueError(f"the host of {value!r} holds invisible or space characters")
        try:
            ascii_host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"{host!r} is not a valid host name") from None
        netloc = ascii_host + (f":{port}" if port is not None else "")
        value = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return value.strip().rstrip("/")


class Strict(StrictModel):
    """Every section of the file: unknown keys are errors; numbers are finite and bounded."""


class Caps(Strict):
    """Hard limits for an environment: load and chaos never go past them."""

    max_rps: float | None = Field(None, gt=0, le=MAX_RATE, description="Highest arrival rate, requests per second.")
    max_vus: int | None = Field(None, gt=0, le=MAX_VUS, description="Most virtual users / connections at once.")
    max_duration: Duration | None = Field(None, gt=0, description="Longest load phase sum, e.g. '5m'.")


class Target(Strict):
    """A domain's service-level targets (seed 000): what load and gates hold it to."""

    concurrent_users: int | None = Field(None, gt=0, le=MAX_VUS)
    peak_users: int | None = Field(None, gt=0, le=MAX_VUS)
    p50_ms: float | None = Field(None, gt=0)
    p95_ms: float | None = Field(None, gt=0)
    p99_ms: float | None = Field(None, gt=0)
    mean_ms: float | None = Field(None, gt=0)
    error_rate: float | None = Field(None, ge=0, le=1, description="Fraction, e.g. 0.01 for 1 %.")
    min_rps: float | None = Field(None, gt=0, le=MAX_RATE)


class Thresholds(Strict):
    """Campaign-wide quality thresholds; defaults are seed 001's."""

    max_mean_ms: float = Field(1500, gt=0)
    max_p95_ms: float = Field(3000, gt=0)
    max_error_rate: float = Field(0.01, ge=0, le=1)
    min_rps: float = Field(50, ge=0, le=MAX_RATE)


class Expect(Strict):
    """What a response must look like. No ``status`` means any 2xx."""

    status: list[int] = Field(default_factory=list)
    fields: list[str] = Field(default_factory=list,
                              description="JSON paths that must be present, e.g. 'items[0].id' or '$.token'.")
    values: dict[str, Any] = Field(default_factory=dict, description="JSON path → expected value.")
    max_latency_ms: float | None = Field(None, gt=0, description="Latency budget for one request.")
    content_type: str | None = None
    body_contains: str | None = None

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: list[int]) -> list[int]:
        for code in value:
            if not 100 <= code <= 599:
                raise ValueError(f"{code} is not an HTTP status")
        return value


class MultipartFile(Strict):
    """A file part of a multipart body."""

    filename: str = "sample.bin"
    content: str = Field("sample", description="The file's content (text).")
    content_type: str = "application/octet-stream"


class Endpoint(Strict):
    """One operation of the service under test, named: metrics are grouped by name, never by URL."""

    name: Slug
    method: Method = "GET"
    path: str = Field(description="Path from the base URL; '{id}' placeholders take values from params.")
    params: dict[str, list[Scalar]] = Field(default_factory=dict)
    query: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = Field(None, alias="json", description="JSON request body.")
    form: dict[str, Scalar | list[Scalar]] | None = Field(
        None, description="An application/x-www-form-urlencoded body (field → value); '{{ }}' templates allowed.")
    multipart: dict[str, Scalar | list[Scalar] | MultipartFile] | None = Field(
        None, description="A multipart/form-data body: field → value, or {filename, content, content_type} "
                          "for a file part.")
    expect: Expect = Field(default_factory=Expect)
    domain: str | None = Field(None, description="Key of the campaign's targets this endpoint answers to.")
    auth: bool = Field(False, description="Send the token obtained by the campaign's auth flow.")
    tags: list[str] = Field(default_factory=list)
    safe: bool | None = Field(
        None, description="A POST that only reads (a filter, count or search sent as a body): probed, smoke-tested "
                          "and loaded like a GET, in production too. Default: true when the path ends in filter, "
                          "count, search, query, paginate, find, lookup, history or validate.")
    response_schema: str | dict[str, Any] | None = Field(
        None, description="JSON Schema of the endpoint's 2xx bodies, checked by readiness and smoke: inline, or "
                          "'FILE#/json/pointer' relative to the campaign file (a schema file, or the OpenAPI spec "
                          "itself, e.g. 'openapi.yaml#/paths/~1api~1products/get/responses/200'). Default: "
                          "endpoints.<name> in <campaign>.schemas.json beside the campaign file, when present.")

    _upper = field_validator("method", mode="before")(classmethod(lambda cls, v: upper_method(v)))
    _path = field_validator("path")(classmethod(lambda cls, v: check_path(v)))
    _headers = field_validator("headers")(classmethod(lambda cls, v: check_headers(v)))
    _params = field_validator("params")(classmethod(
        lambda cls, v: {k: [check_path_value(x) for x in values] for k, values in v.items()}))

    @model_validator(mode="after")
    def _placeholders(self) -> Endpoint:
        wanted = set(placeholders(self.path))
        missing = wanted - set(self.params)
        if missing:
            raise ValueError(f"path {self.path!r} has placeholders without values in params: {sorted(missing)}")
        unused = set(self.params) - wanted
        if unused:
            raise ValueError(f"params {sorted(unused)} match no '{{placeholder}}' in path {self.path!r}")
        for key, values in self.params.items():
            if not values:
                raise ValueError(f"params.{key} needs at least one value")
        return self

    @model_validator(mode="after")
    def _encoded_body(self) -> Endpoint:
        given = [k for k, v in (("json", self.body), ("form", self.form), ("multipart", self.multipart))
                 if v is not None]
        if len(given) > 1:
            raise ValueError(f"a request has one body: json, form or multipart, not {' and '.join(given)}")
        if self.form is not None or self.multipart is not None:
            from campaigns.bodies import encode_form, encode_multipart

            body, content_type = (encode_form(self.form) if self.form is not None
                                  else encode_multipart(self.multipart))  # type: ignore[arg-type]
            self.body = body
            if not any(k.lower() == "content-type" for k in self.headers):
                self.headers = {**self.headers, "Content-Type": content_type}
        elif isinstance(self.body, str) and not any(k.lower() == "content-type" for k in self.headers):
            # ``json: "1.0.0"`` is a JSON string (npm's dist-tag API takes one): it was sent as the raw
            # text 1.0.0 with no Content-Type (verdaccio answered 415). A raw text body names its own type.
            import json

            self.body = json.dumps(self.body)
            self.headers = {**self.headers, "Content-Type": "application/json"}
        return self

    @property
    def is_safe(self) -> bool:
        """Sends no change: a GET/HEAD/OPTIONS, or a POST that only reads."""
        if self.method not in WRITE_METHODS:
            return True
        if self.safe is not None:
            return self.safe and self.method == "POST"
        return reads_only(self.method, self.path)

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS and not self.is_safe


class RequestSpec(Strict):
    """A request outside the endpoint list (e.g. the sign-in of an auth flow)."""

    method: Method = "POST"
    path: str
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = Field(None, alias="json")

    _upper = field_validator("method", mode="before")(classmethod(lambda cls, v: upper_method(v)))
    _path = field_validator("path")(classmethod(lambda cls, v: check_path(v)))
    _headers = field_validator("headers")(classmethod(lambda cls, v: check_headers(v)))


class AuthFlow(Strict):
    """Sign in once per environment and stage, then send the token with every ``auth: true`` endpoint."""

    request: RequestSpec
    capture: str = Field("$.token", description="JSON path of the token in the response.")
    header: str = "Authorization"
    format: str = Field("Bearer {token}", description="How the token is written into the header.")


class Feeder(Strict):
    """A CSV file of test data, loaded once and shared (Artillery payload / k6 SharedArray)."""

    file: str = Field(description="Path relative to the campaign file.")
    order: Literal["sequential", "random"] = "sequential"
    fields: list[str] | None = Field(None, min_length=1, description="Column names for a CSV without a header row "
                                     "(Artillery's payload fields); absent: the first row names the columns.")
    skip_header: bool = Field(False, description="With fields: the file has a header row anyway; skip it.")
    delimiter: str = Field(",", min_length=1, max_length=1)

    @model_validator(mode="after")
    def _fields(self) -> Feeder:
        if self.fields is not None:
            bad = [f for f in self.fields if not f or not f.replace("_", "a").isalnum() or f[0].isdigit()]
            if bad:
                raise ValueError(f"fields {bad} are not variable names (letters, digits, '_')")
            if len(set(self.fields)) != len(self.fields):
                raise ValueError("fields names a column twice")
        elif self.skip_header:
            raise ValueError("skip_header applies with fields (the header row is otherwise the column names)")
        return self


class Service(Strict):
    """How to start the service under test when it is not already answering.

    ``command`` may use ``{python}`` (this interpreter), ``{port}`` and ``{host}`` (from base_url),
    ``{env}`` (environment name) and ``{state}`` (the warehouse folder).
    """

    command: list[str] = Field(min_length=1)
    cwd: str | None = Field(None, description="Working directory, relative to the campaign file.")
    env: dict[str, str] = Field(default_factory=dict)
    health: str = Field("/health", description="Path that answers 2xx once the service is up.")
    start_timeout: Duration = 30.0
    when: Literal["auto", "always", "never"] = Field(
        "auto", description="auto: start only when nothing answers at base_url.")


class ReadinessOptions(Strict):
    samples: int = Field(5, ge=2, le=20, description="Repeated requests per endpoint.")
    probe_writes: bool | None = Field(
        None, description="Send writes to check they persist (default: the environment's allow_writes, else not "
                          "in production). Every object a probe creates is deleted afterwards.")
    never_write: list[str] = Field(
        default_factory=list, description="Endpoints never written to by readiness, smoke or load (names); they are "
                                          "reported unverified.")
    max_writes: int | None = Field(
        None, gt=0, description="Most write requests one readiness run sends (default: 6 per write endpoint, "
                                "at least 50).")
    fail_on_mock: bool = Field(False, description="A mocked endpoint fails the run instead of being reported.")
    timeout: Duration = 10.0


class SmokeOptions(Strict):
    timeout: Duration = 10.0
    max_latency_ms: float | None = Field(None, gt=0, description="Default latency budget per request.")


class Schedule(Strict):
    cron: str
    timezone: str = "UTC"


class Environment(Strict):
    kind: EnvKind
    base_url: str
    allow_hosts: list[str] = Field(default_factory=list,
                                   description="Hosts that may receive traffic (default: base_url's host).")
    caps: Caps = Field(default_factory=Caps)
    stages: list[StageName] | None = Field(None, description="Stages this environment runs (default by kind).")
    headers: dict[str, str] = Field(default_factory=dict)
    service: Service | None = None
    targets: dict[str, Target] = Field(default_factory=dict, description="Per-domain overrides.")
    slack_channel: str | None = None
    schedule: Schedule | None = None
    metrics: MetricsSource | None = Field(None, description="The target's Prometheus /metrics, scraped during load.")
    allow_writes: bool | None = Field(
        None, description="May requests that write (POST/PUT/PATCH/DELETE, unless the endpoint is marked safe) be "
                          "sent here: write probes, smoke, e2e API steps and load. Default: false for production, "
                          "true otherwise. Shown in every stage's summary.")
    never_write: list[str] = Field(
        default_factory=list, description="Endpoints never written to in this environment (names), besides the "
                                          "campaign's readiness.never_write.")

    _headers = field_validator("headers")(classmethod(lambda cls, v: check_headers(v)))

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_base_url(value)

    @model_validator(mode="after")
    def _hosts_and_stages(self) -> Environment:
        host = urlsplit(self.base_url).hostname or ""
        if not self.allow_hosts:
            self.allow_hosts = [host]
        elif host not in self.allow_hosts:
            raise ValueError(f"base_url host {host!r} is not in allow_hosts {self.allow_hosts}")
        if self.kind == "production" and self.stages and "chaos" in self.stages:
            raise ValueError("chaos never runs in a production environment: remove it from stages")
        if self.allow_writes is None:
            self.allow_writes = self.kind != "production"
        return self

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.base_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def target(self) -> tuple[str, int]:
        """(host, port) this environment's requests go to."""
        return self.host.lower().rstrip("."), self.port

    def allowed_stages(self) -> tuple[str, ...]:
        chosen = self.stages if self.stages is not None else DEFAULT_STAGES[self.kind]
        return tuple(s for s in STAGE_ORDER if s in chosen)


class Campaign(Strict):
    """A whole campaign file."""

    version: int = Field(SCHEMA_VERSION, description="Schema version of this file.")
    campaign: Slug
    team: str
    slack_channel: str | None = None
    description: str | None = None
    environments: dict[Slug, Environment] = Field(min_length=1)
    endpoints: list[Endpoint] = Field(min_length=1)
    targets: dict[str, Target] = Field(default_factory=dict, description="Per-domain targets (seed 000).")
    thresholds: Thresholds = Field(default_factory=Thresholds)
    variables: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Feeder] = Field(default_factory=dict, description="CSV feeders by variable name.")
    auth: AuthFlow | None = None
    readiness: ReadinessOptions = Field(default_factory=ReadinessOptions)
    smoke: SmokeOptions = Field(default_factory=SmokeOptions)
    e2e: _e2e.E2ESpec | None = Field(None, description="API and browser journeys (see campaigns/e2e.py).")
    load: LoadSpec | None = Field(None, description="Load stage: workload model, scenarios, thresholds "
                                                    "(see campaigns/load.py).")
    chaos: _chaos.ChaosSpec | None = Field(None, description="Fault-injection experiments (see campaigns/chaos.py).")
    notify: _notify.NotifySettings = Field(default_factory=lambda: _notify.NotifySettings(),
                                           description="When and how runs are announced in Slack.")
    analytics: AnalyticsOptions = Field(default_factory=AnalyticsOptions,
                                        description="Trends, baselines and change-point regressions.")
    prometheus: PrometheusExport | None = Field(None, description="Push each run's results to a Pushgateway.")
    verdict: VerdictOptions = Field(default_factory=VerdictOptions,
                                    description="How the verdict treats numbers the generator cannot vouch for.")

    @field_validator("version")
    @classmethod
    def _version(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"this perfcampaign reads campaign version {SCHEMA_VERSION}, not {value}")
        return value

    @field_validator("endpoints")
    @classmethod
    def _unique(cls, value: list[Endpoint]) -> list[Endpoint]:
        seen: set[str] = set()
        for ep in value:
            if ep.name in seen:
                raise ValueError(f"endpoint name {ep.name!r} is used twice")
            seen.add(ep.name)
        return value

    @field_validator("load")
    @classmethod
    def _load_references(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and "endpoints" in info.data:
            problems = value.reference_errors([e.name for e in info.data["endpoints"]])
            if problems:
                raise ValueError("; ".join(problems))
        return value

    @field_validator("chaos")
    @classmethod
    def _chaos_references(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and "endpoints" in info.data:
            problems = value.reference_errors([e.name for e in info.data["endpoints"]], info.data.get("environments"))
            if problems:
                raise ValueError("; ".join(problems))
        return value

    @field_validator("e2e")
    @classmethod
    def _e2e_references(cls, value: Any, info: ValidationInfo) -> Any:
        return _e2e.check_in_campaign(value, info.data)

    @model_validator(mode="after")
    def _references(self) -> Campaign:
        known = set(self.targets) | {d for env in self.environments.values() for d in env.targets}
        for ep in self.endpoints:
            if ep.domain and ep.domain not in known:
                raise ValueError(f"endpoint {ep.name!r} names domain {ep.domain!r}, which has no targets "
                                 f"(known: {sorted(known) or 'none'})")
            if ep.auth and self.auth is None:
                raise ValueError(f"endpoint {ep.name!r} sets auth: true but the campaign has no auth flow")
        names = {ep.name for ep in self.endpoints}
        for where, listed in [("readiness.never_write", self.readiness.never_write)] + [
                (f"environments.{env}.never_write", e.never_write) for env, e in self.environments.items()]:
            unknown = [n for n in listed if n not in names]
            if unknown:
                raise ValueError(f"{where} names unknown endpoints {unknown} (known: {sorted(names)})")
        return self

    def writes_left_out(self, env: str) -> dict[str, str]:
        """Endpoints that write, by name, with why they are left out, when environment ``env`` does not
        allow writes (``allow_writes: false``, the default in production); an endpoint marked
        ``safe`` (a read sent as POST) is not a write."""
        environment = self.environments[env]
        never = {ep.name: "on the never-write list (readiness.never_write / environment never_write)"
                 for ep in self.endpoints if ep.is_write and ep.name in self.never_written(env)}
        if environment.allow_writes:
            return never
        why = (f"writes are not sent to environment {env!r} (allow_writes: false"
               f"{', the default in production' if environment.kind == 'production' else ''})")
        return {**never, **{ep.name: why for ep in self.endpoints if ep.is_write and not getattr(ep, "safe", False)}}

    def production_targets(self) -> dict[tuple[str, int], str]:
        """(host, port) → name of every production environment of the campaign."""
        return {env.target(): name for name, env in self.environments.items() if env.kind == "production"}

    def never_written(self, env: str) -> set[str]:
        """Endpoints no stage may write to in environment ``env``."""
        return set(self.readiness.never_write) | set(self.environments[env].never_write)

    def endpoint(self, name: str) -> Endpoint:
        for ep in self.endpoints:
            if ep.name == name:
                return ep
        raise KeyError(name)

    def target_for(self, env: str, domain: str | None) -> Target | None:
        if domain is None:
            return None
        return self.environments[env].targets.get(domain) or self.targets.get(domain)


# The stage sections build on Strict and Expect above, so they are imported last and as modules:
# their annotations on Campaign resolve when pydantic first builds it.
from campaigns import chaos as _chaos  # noqa: E402
from campaigns import e2e as _e2e  # noqa: E402
from campaigns import notify as _notify  # noqa: E402
