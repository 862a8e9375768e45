"""Artillery YAML → a campaign: ``perfcampaign import artillery FILE.yml``.

What converts (Artillery → campaign):

    config.target                        environments.dev.base_url (``--base-url`` overrides it)
    config.environments.NAME.target     environments.NAME (kind guessed from the name)
    config.phases (duration, arrivalRate,
      rampTo, name, arrivalCount, pause) load.phases (open model); maxVusers → load.max_vus
    config.http.timeout / config.timeout load.timeout
    config.tls.rejectUnauthorized        load.tls.verify
    config.defaults.headers              the environment's headers
    config.variables                     scalars → variables; lists → a CSV feeder ``vars`` (random order)
    config.payload (CSV)                 a data feeder; ``{{ field }}`` → ``{{ payload.field }}``
    config.ensure                        load.thresholds (p95, p99, median, max, maxErrorRate, thresholds)
    scenarios[].name / weight            load.scenarios[].name (kebab-case) / weight
    flow: get/post/put/patch/delete/…    an endpoint per method + path + query (named ``get-api-bounties``),
                                         and a step naming it
    url, qs, json, headers               path, query, json, headers (captured values stay on the step)
    capture: json/as                     the step's capture
    expect: statusCode / contentType /
      hasProperty                        expect.status / content_type / fields
    think                                the previous step's think time
    ifTrue: VAR                          if: VAR (see below)
    {{ $randomString() }} {{ $uuid }}
      {{ $randomNumber(a, b) }}          {{ $randomString() }} {{ $uuid() }} {{ $randomInt(a, b) }}
    {{ $env.NAME }} in headers           ${env:NAME}

``ifTrue: VAR`` becomes the step's ``if: VAR``: the step is sent only when the variable is set and
truthy. One difference remains: a capture that finds nothing is an error here (the iteration
ends, counted as a ``capture`` error), where Artillery leaves the variable unset and goes on. An
``ifTrue`` expression (not a plain variable name) has no equivalent and is listed in the notes.

Everything else (processor functions, plugins, loops over data, ``before`` flows, WebSocket and
Socket.IO engines, captures by header/regexp/xpath, ``equals`` expectations…) is listed in the
notes, never silently dropped.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import yaml

from campaigns.importers.artillery_flow import (Context, convert_templates, flow_steps, seconds, secret_headers,
                                                walk_requests)
from campaigns.importers.result import ImportResult, SourceError, load_source, slug, unique, var_name
from campaigns.load import TEST_TYPES
from campaigns.types import format_duration, is_secret_key

#: Artillery ensure keys → threshold statistics
_ENSURE = {"p50": "p(50)", "median": "p(50)", "p75": "p(75)", "p90": "p(90)", "p95": "p(95)", "p99": "p(99)",
           "p999": "p(99.9)", "max": "max", "min": "min", "mean": "avg"}
_PLUGIN_NOTES = {
    "expect": "plugins.expect: expectations are built in (statusCode, contentType and hasProperty converted)",
    "metrics-by-endpoint": "plugins.metrics-by-endpoint: perfcampaign always groups metrics by endpoint name",
    "ensure": "plugins.ensure: converted to load.thresholds",
}


# ---------------------------------------------------------------------------------------------
# config
# ---------------------------------------------------------------------------------------------


def _phases(config: dict[str, Any], cx: Context) -> tuple[list[dict[str, Any]], int | None]:
    phases, max_vus = [], None
    for i, ph in enumerate(config.get("phases") or []):
        where = f"config.phases[{i}]"
        if not isinstance(ph, dict):
            cx.problems.append(f"{cx.file}: {where}: a phase is a mapping (duration, arrivalRate…)")
            continue
        if "pause" in ph:
            pause = seconds(ph["pause"], f"{where}.pause", cx)
            if pause:
                phases.append({"name": str(ph.get("name") or "pause"), "duration": format_duration(pause),
                               "arrivalRate": 0})
            continue
        if "duration" not in ph:
            cx.problems.append(f"{cx.file}: {where}.duration: required (seconds, or e.g. '5m')")
            continue
        duration = seconds(ph["duration"], f"{where}.duration", cx)
        if not duration:
            continue
        out: dict[str, Any] = {}
        if ph.get("name"):
            out["name"] = str(ph["name"])
        out["duration"] = format_duration(duration)
        if "arrivalCount" in ph:
            rate = float(ph["arrivalCount"]) / duration
            out["arrivalRate"] = round(rate, 6)
            cx.note(f"{where}: arrivalCount {ph['arrivalCount']} over {format_duration(duration)} "
                    f"→ arrivalRate {rate:.4g}/s")
        else:
            out["arrivalRate"] = ph.get("arrivalRate", 0)
        if ph.get("rampTo") is not None:
            out["rampTo"] = ph["rampTo"]
        if ph.get("maxVusers") is not None:
            max_vus = max(max_vus or 0, int(ph["maxVusers"]))
        for key in sorted(set(ph) - {"name", "duration", "arrivalRate", "rampTo", "arrivalCount", "maxVusers"}):
            cx.note(f"{where}.{key}: no equivalent (ignored)")
        phases.append(out)
    return phases, max_vus


def _variables(config: dict[str, Any], cx: Context, stem: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(campaign variables, data feeders, side files)."""
    variables: dict[str, Any] = {}
    data: dict[str, Any] = {}
    files: dict[str, str] = {}
    for key, value in (config.get("variables") or {}).items():
        name = var_name(key)
        if name != key:
            cx.renames[str(key)] = name
            cx.note(f"config.variables.{key}: renamed {name} (template names are letters, digits and '_')")
        if isinstance(value, list):
            if value:
                cx.lists[name] = value
        else:
            cx.scalars[name] = value
            variables[name] = value
            if is_secret_key(name) and isinstance(value, str) and value:
                cx.note(f"config.variables.{key} looks like a credential: keep only synthetic test-user values in "
                        f"campaign files (real secrets belong in ${{env:NAME}} header references)")
    if cx.lists:
        names = list(cx.lists)
        n = max(len(v) for v in cx.lists.values())
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(names)
        for i in range(n):
            writer.writerow([cx.lists[k][i % len(cx.lists[k])] for k in names])
        csv_name = f"{stem}.variables.csv"
        files[csv_name] = buf.getvalue()
        data["vars"] = {"file": csv_name, "order": "random"}
        cx.note(f"config.variables {', '.join(names)}: lists → the CSV feeder 'vars' ({csv_name}, random order); "
                f"write {{{{ vars.{names[0]} }}}}. Lists of different lengths are paired row by row, "
                f"where Artillery picks each at random")
    payloads = config.get("payload")
    if isinstance(payloads, dict):
        payloads = [payloads]
    for i, p in enumerate(payloads or []):
        if not isinstance(p, dict) or "path" not in p:
            cx.problems.append(f"{cx.file}: config.payload[{i}]: a payload has a 'path' (CSV file) and 'fields'")
            continue
        name = var_name(p.get("name") or ("payload" if i == 0 else f"payload{i + 1}"))
        cx.feeders.add(name)
        fields = [str(f) for f in p.get("fields") or []]
        for f in fields:
            cx.payload_fields[f] = name
        order = "sequential" if str(p.get("order", "random")) == "sequence" else "random"
        data[name] = {"file": str(p["path"]), "order": order}
        if not p.get("skipHeader"):
            cx.note(f"config.payload {p['path']}: perfcampaign feeders read a header row; add the line "
                    f"'{','.join(fields)}' at the top of the file")
        cx.note(f"config.payload {p['path']} → feeder '{name}': write {{{{ {name}.{fields[0] if fields else 'field'} }}}}")
        for key in sorted(set(p) - {"path", "fields", "order", "skipHeader", "name"}):
            cx.note(f"config.payload[{i}].{key}: no equivalent (ignored)")
    return variables, data, files


def _thresholds(config: dict[str, Any], cx: Context) -> list[Any]:
    ensure = config.get("ensure") or (config.get("plugins") or {}).get("ensure") or {}
    out: list[Any] = []
    if not isinstance(ensure, dict):
        return out
    for key, value in ensure.items():
        if key in _ENSURE and isinstance(value, (int, float)):
            out.append(f"{_ENSURE[key]}<{value:g}")
        elif key == "maxErrorRate" and isinstance(value, (int, float)):
            out.append(f"error_rate<{value:g}%")
        elif key == "thresholds" and isinstance(value, list):
            for item in value:
                for metric, limit in (item or {}).items():
                    stat = str(metric).rsplit(".", 1)[-1]
                    if str(metric).startswith("http.response_time.") and stat in _ENSURE:
                        out.append(f"{_ENSURE[stat]}<{limit:g}")
                    else:
                        cx.note(f"config.ensure.thresholds: no equivalent for {metric}")
        else:
            cx.note(f"config.ensure.{key}: no equivalent (conditions and custom metrics are not converted)")
    return out


# ---------------------------------------------------------------------------------------------
# the whole file
# ---------------------------------------------------------------------------------------------


def _env_kind(name: str) -> str:
    low = name.lower()
    if low.startswith("prod") or "production" in low or low == "live":
        return "production"
    if low.startswith(("stag", "preprod", "uat", "qa")):
        return "staging"
    return "dev"


def _base_url(target: Any, cx: Context, where: str) -> str | None:
    if not isinstance(target, str) or not re.match(r"^https?://[^/]+", target):
        cx.problems.append(f"{cx.file}: {where}: {target!r} is not an http(s) URL")
        return None
    return target.rstrip("/")


def convert_artillery(text: str, file: str = "artillery.yml", *, base_url: str | None = None,
                      campaign: str | None = None, team: str | None = None,
                      test_type: str | None = None) -> ImportResult:
    """An Artillery test script (YAML text) as a campaign; :class:`SourceError` when it cannot be read."""
    cx = Context(file)
    try:
        doc = load_source(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise SourceError([f"{file}{line}: invalid YAML: {getattr(exc, 'problem', None) or exc}"]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("scenarios"), list):
        raise SourceError([f"{file}: not an Artillery script: it needs 'config:' and a 'scenarios:' list"])
    config = doc.get("config") or {}
    if not isinstance(config, dict):
        raise SourceError([f"{file}: config: a mapping (target, phases, variables…)"])
    stem = PurePosixPath(file.replace("\\", "/")).stem
    name = campaign or slug(stem, "imported")

    # -- environments ------------------------------------------------------------------------
    target = base_url or config.get("target")
    if target is None:
        target = "http://127.0.0.1:8080"
        cx.note("config.target is missing: base_url set to http://127.0.0.1:8080 (use --base-url)")
    url = _base_url(target, cx, "--base-url" if base_url else "config.target") or "http://127.0.0.1:8080"
    if base_url and config.get("target") and base_url.rstrip("/") != str(config["target"]).rstrip("/"):
        cx.note(f"config.target {config['target']} replaced by --base-url {base_url}")
    parts = urlsplit(str(config.get("target") or url))
    cx.origin = (parts.scheme, parts.netloc)
    cx.base_path = parts.path.rstrip("/")
    environments: dict[str, Any] = {"dev": {"kind": "dev", "base_url": url}}
    defaults = config.get("defaults") or {}
    if isinstance(defaults, dict) and defaults.get("headers"):
        environments["dev"]["headers"] = secret_headers(
            convert_templates(defaults["headers"], cx, "config.defaults", allow_env=True), cx, "config.defaults")
    for env_name, env in (config.get("environments") or {}).items():
        key = slug(env_name, "env")
        if not isinstance(env, dict):
            continue
        env_url = _base_url(env.get("target", url), cx, f"config.environments.{env_name}.target")
        if env_url is None:
            continue
        kind = _env_kind(key)
        environments[key] = {"kind": kind, "base_url": env_url}
        if "headers" in environments["dev"]:
            environments[key]["headers"] = environments["dev"]["headers"]
        if kind == "production":
            environments[key]["caps"] = {"max_rps": 50, "max_vus": 20, "max_duration": "5m"}
            cx.note(f"config.environments.{env_name}: a production environment, given conservative caps "
                    f"(max_rps 50, max_vus 20, max_duration 5m)")
        for k in sorted(set(env) - {"target"}):
            cx.note(f"config.environments.{env_name}.{k}: per-environment {k} has no equivalent "
                    f"(one load section serves every environment)")

    # -- variables, phases, options ----------------------------------------------------------
    variables, data, files = _variables(config, cx, stem)
    phases, max_vus = _phases(config, cx)
    load: dict[str, Any] = {}
    guessed = next((t for t in TEST_TYPES if t in stem.lower()), None)
    load["test_type"] = test_type or guessed or "load"
    if not test_type and guessed and guessed != "load":
        cx.note(f"test_type {guessed}: guessed from the file name (--test-type overrides it)")
    if phases and any(float(p["arrivalRate"]) > 0 or float(p.get("rampTo") or 0) > 0 for p in phases):
        load["phases"] = phases
    else:
        load["rate"], load["duration"] = 1, "1m"
        cx.note("config.phases: none with a positive arrival rate; load set to 1 iteration/s for 1m")
    if max_vus:
        load["max_vus"] = max_vus
    http = config.get("http") or {}
    timeout = http.get("timeout", config.get("timeout")) if isinstance(http, dict) else config.get("timeout")
    if timeout is not None:
        limit = seconds(timeout, "config.http.timeout", cx)
        if limit:
            load["timeout"] = format_duration(limit)
    for key in sorted(set(http) - {"timeout"}) if isinstance(http, dict) else ():
        cx.note(f"config.http.{key}: no equivalent (perfcampaign sizes its connection pool from max_vus)")
    tls = config.get("tls") or {}
    if isinstance(tls, dict) and tls.get("rejectUnauthorized") is False:
        load["tls"] = {"verify": False}
    thresholds = _thresholds(config, cx)
    for plugin in (config.get("plugins") or {}):
        cx.note(_PLUGIN_NOTES.get(plugin, f"plugins.{plugin}: no equivalent (ignored)"))
    if config.get("processor"):
        cx.note(f"no equivalent for processor: {config['processor']} (custom JavaScript is not run; "
                f"functions it defines are ignored)")
    for key in ("engines", "ws", "socketio", "before", "after", "includeFiles", "statsInterval", "payload_dir"):
        if key in config:
            cx.note(f"config.{key}: no equivalent (ignored)")
    for key in ("before", "after"):
        if key in doc:
            cx.note(f"{key}: flows run once {key} the test have no equivalent (for a sign-in, use the "
                    f"campaign's auth: flow)")
    known = {"target", "phases", "http", "timeout", "variables", "payload", "plugins", "processor", "environments",
             "defaults", "tls", "ensure", "engines", "ws", "socketio", "before", "after", "includeFiles",
             "statsInterval", "payload_dir"}
    for key in sorted(set(config) - known):
        cx.note(f"config.{key}: no equivalent (ignored)")

    # -- scenarios ---------------------------------------------------------------------------
    # first pass: every captured variable, so endpoints never depend on a value only a flow has
    for sc in doc["scenarios"]:
        for item in walk_requests((sc or {}).get("flow") or []):
            for cap in (item.get("capture") if isinstance(item.get("capture"), list) else [item.get("capture")]):
                if isinstance(cap, dict) and "as" in cap and "json" in cap:
                    cx.captured.add(var_name(cap["as"]))
                    if var_name(cap["as"]) != str(cap["as"]):
                        cx.renames[str(cap["as"])] = var_name(cap["as"])
                        cx.note(f"capture as '{cap['as']}': renamed {var_name(cap['as'])} (template names are "
                                f"letters, digits and '_'); its uses are renamed too")
    scenarios, scenario_names = [], set()
    for i, sc in enumerate(doc["scenarios"]):
        where = f"scenarios[{i}]"
        if not isinstance(sc, dict):
            cx.problems.append(f"{file}: {where}: a scenario is a mapping (name, weight, flow)")
            continue
        sc_name = unique(slug(sc.get("name") or f"scenario-{i + 1}", f"scenario-{i + 1}"), scenario_names)
        cx.scenario = sc_name
        if sc.get("engine") not in (None, "http"):
            cx.note(f"{where} ({sc_name}): engine {sc['engine']} has no equivalent: scenario left out")
            continue
        for key in ("beforeScenario", "afterScenario", "beforeRequest", "afterResponse"):
            if key in sc:
                cx.note(f"{where}.{key}: processor hooks have no equivalent (ignored)")
        steps: list[dict[str, Any]] = []
        flow_steps(sc.get("flow") or [], cx, f"{where}.flow", steps)
        if not steps:
            cx.note(f"{where} ({sc_name}): no request converted: scenario left out")
            continue
        scenarios.append({"name": sc_name, "weight": sc.get("weight", 1), "steps": steps})
    if cx.problems:
        raise SourceError(cx.problems)
    if not scenarios:
        raise SourceError([f"{file}: scenarios: no request could be converted (see the notes)"] + cx.notes)

    for cond, wheres in cx.conditions.items():
        if not re.fullmatch(r"[A-Za-z_]\w*", cond):  # an expression, not a variable name
            cx.note(f"ifTrue '{cond}' ({len(wheres)} step(s): {', '.join(wheres)}) is an expression; `if:` takes a "
                    f"variable name, so the step always runs")
    defined = set(cx.scalars) | set(cx.lists) | set(cx.payload_fields) | cx.captured | cx.feeders | {"vars"}
    for var, used_in in sorted(cx.used.items()):
        if var not in defined:
            cx.note(f"variable {var} is never defined (not in config.variables, not captured): requests of "
                    f"{', '.join(sorted(used_in))} that use it fail with a template error until you define it")
    no_expect = sorted({st["endpoint"] for sc in scenarios for st in sc["steps"]
                        if "expect" not in st and "expect" not in _endpoint_by_name(cx, st["endpoint"])})
    if no_expect:
        cx.note(f"requests without expect ({', '.join(no_expect)}): perfcampaign expects a 2xx status "
                f"where Artillery accepts any status")
    load["scenarios"] = scenarios
    if thresholds:
        load["thresholds"] = thresholds

    out: dict[str, Any] = {"version": 1, "campaign": name, "team": team or "unassigned",
                           "description": f"Imported from Artillery ({PurePosixPath(file).name})",
                           "environments": environments}
    if not team:
        cx.note("team: set to 'unassigned' (use --team)")
    if variables:
        out["variables"] = variables
    if data:
        out["data"] = data
    out["endpoints"] = list(cx.endpoints.values())
    out["load"] = load
    origins = {ep["name"]: (ep.get("method", "GET"), ep["path"]) for ep in cx.endpoints.values()}
    return ImportResult(campaign=out, notes=cx.notes, files=files, source=PurePosixPath(file).name, origins=origins)


def _endpoint_by_name(cx: Context, name: str) -> dict[str, Any]:
    return next(ep for ep in cx.endpoints.values() if ep["name"] == name)
