"""Artillery YAML → a campaign: ``perfcampaign import artillery FILE.yml``.

What converts (Artillery → campaign), with Artillery's own semantics (read from its source):

    config.target (and {{ target }})    environments.dev.base_url (``--base-url`` overrides it)
    config.environments.NAME.target     environments.NAME (kind guessed from the name)
    config.phases (duration, arrivalRate,
      rampTo, name, arrivalCount, pause) load.phases (open model); maxVusers → load.max_vus
    config.http.timeout / config.timeout load.timeout
    config.tls.rejectUnauthorized        load.tls.verify
    config.defaults / http.defaults      the environment's headers; cookie → a Cookie header
    config.variables                     scalars → variables; lists → a CSV feeder ``vars`` (random order);
                                         a value that is itself a template is written where it is used
    config.payload (CSV)                 a data feeder (fields, skipHeader, delimiter; the path rebased to
                                         the campaign file); loadAll → rows read now, for loops over it
    config.ensure / plugins.ensure       load.thresholds: p95/p99/max/min/median → "<", maxErrorRate →
                                         error_rate<=N%, thresholds and conditions on http.response_time.*
                                         and http.request_rate (counts of Artillery's own are noted)
    scenarios[].name / weight            load.scenarios[].name (kebab-case) / weight
    flow: get/post/put/patch/delete/…    an endpoint per method + path + query (named after the request's
                                         ``name`` or ``get-api-bounties``), and a step naming it
    url (a variable holding the URL too) path (a URL outside the target: left out, noted)
    qs, json, headers, form, formData,
      cookie, auth {user, pass}          query, json, headers, form / multipart bodies, Cookie and
                                         Authorization headers (literal secrets → ${env:NAME})
    capture: json/as                     the step's capture
    expect: statusCode / contentType /
      hasProperty                        expect.status / content_type / fields
    loop (count, "1-5", over a list,
      over a loadAll payload)            a loop item (unrolled when the campaign loads); $loopCount and
                                         $loopElement (and loopValue/loopElement names) follow
    think                                the previous step's think time
    ifTrue: VAR                          if: VAR
    {{ $randomNumber() }} {{ $randomString() }} {{ $uuid }} {{ $env.X }} …  the same template functions

Everything else (processor functions and hooks, plugins, ``before``/``after`` flows, WebSocket,
Socket.IO and Playwright engines, captures by header/regexp/xpath, ``equals`` expectations,
``probability``…) is named in the notes with the reason, never silently dropped. A variable nothing
defines is set to the text 'undefined' — what Artillery sends for it — and named in the notes.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path, PurePosixPath
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
        if isinstance(value, str) and "{{" in value:  # a template: Artillery renders it where it is used
            cx.macros[name] = value
        elif isinstance(value, list):
            if value and all(isinstance(v, (str, int, float, bool)) or v is None for v in value):
                cx.lists[name] = value
            elif value:
                cx.scalars[name] = value
                variables[name] = value
                cx.note(f"config.variables.{key}: a list of objects: each use picks one item at random here "
                        f"({{{{ $randomFromArray({name}) }}}}), where Artillery picks one per virtual user")
                cx.macros[name] = "{{ $randomFromArray(" + name + ") }}"
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
        where = f"config.payload[{i}]"
        if not isinstance(p, dict):
            cx.problems.append(f"{cx.file}: {where}: a payload has a 'path' (CSV file) and 'fields'")
            continue
        if "path" not in p:  # given on the command line (artillery run --payload FILE)
            p = {**p, "path": f"{stem}.payload.csv"}
            cx.note(f"{where}: no path (Artillery takes it from --payload on the command line): the feeder reads "
                    f"{p['path']} beside the campaign — put the CSV there")
        name = var_name(p.get("name") or ("payload" if i == 0 else f"payload{i + 1}"))
        fields = [var_name(f) for f in p.get("fields") or []]
        source = cx.source_dir / str(p["path"]) if cx.source_dir is not None else None
        rows = _read_payload(source, p, fields)
        if p.get("loadAll"):
            if rows is None:
                cx.note(f"{where}: loadAll: {p['path']} could not be read at import time; it becomes a feeder "
                        f"(one row per iteration) instead of the whole table")
            else:
                cx.payload_rows[name] = rows
                cx.scalars[name] = rows
                cx.note(f"{where}: loadAll: {p['path']} ({len(rows)} rows) is read at import time for the loops "
                        f"that go over it")
                continue
        cx.feeders.add(name)
        if rows is not None:
            cx.feeder_rows[name] = rows
        for f in fields:
            cx.payload_fields[f] = name
        order = "sequential" if str(p.get("order", "random")) == "sequence" else "random"
        feeder: dict[str, Any] = {"file": cx.rebase(str(p["path"])), "order": order}
        if fields:
            feeder["fields"] = fields
            if p.get("skipHeader"):
                feeder["skip_header"] = True
        elif rows is not None and rows:
            cx.note(f"{where}: no fields: the first row of {p['path']} names the columns")
        if isinstance(p.get("delimiter"), str) and len(p["delimiter"]) == 1 and p["delimiter"] != ",":
            feeder["delimiter"] = p["delimiter"]
        data[name] = feeder
        if feeder["file"] != str(p["path"]):
            cx.note(f"{where}.path {p['path']} → {feeder['file']} (relative to the campaign file)")
        cx.note(f"{where} {p['path']} → feeder '{name}': write {{{{ {name}.{fields[0] if fields else 'column'} }}}}")
        if p.get("cast") is not False and fields and rows:
            numeric = [f for f in fields if rows and re.fullmatch(r"-?\d+(\.\d+)?", str(rows[0].get(f, "")))]
            if numeric:
                cx.note(f"{where}: {', '.join(numeric)} are sent as text (Artillery casts numbers in CSV cells)")
        for key in sorted(set(p) - {"path", "fields", "order", "skipHeader", "name", "loadAll", "delimiter",
                                    "cast", "skipEmptyLines"}):
            cx.note(f"{where}.{key}: no equivalent (ignored)")
    return variables, data, files


def _read_payload(path: Any, p: dict[str, Any], fields: list[str]) -> list[dict[str, str]] | None:
    """The rows of a payload CSV as Artillery reads them (None when the file cannot be read)."""
    if path is None:
        return None
    delimiter = p.get("delimiter") if isinstance(p.get("delimiter"), str) and len(p["delimiter"]) == 1 else ","
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            table = [row for row in csv.reader(fh, delimiter=delimiter) if row and any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if not fields:
        if not table:
            return []
        head, table = table[0], table[1:]
        return [dict(zip(head, row, strict=False)) for row in table]
    if p.get("skipHeader"):
        table = table[1:]
    return [dict(zip(fields, row, strict=False)) for row in table]


#: the ensure keys Artillery itself checks as "http.response_time.KEY < value" (its LEGACY_CONDITIONS)
_LEGACY = {"min": "min", "max": "max", "median": "p(50)", "p95": "p(95)", "p99": "p(99)"}
#: summary statistics of Artillery's metrics → threshold statistics
_STATS = {"min": "min", "max": "max", "mean": "avg", "median": "p(50)", "p50": "p(50)", "p75": "p(75)",
          "p90": "p(90)", "p95": "p(95)", "p99": "p(99)", "p999": "p(99.9)"}
_COMPARISON = re.compile(r"^\s*([A-Za-z_][\w.\-/]*)\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$")


def _metric(metric: str, op: str, value: float) -> tuple[str | None, str]:
    """An Artillery metric comparison as a threshold, or (None, why not)."""
    if metric.startswith("http.response_time."):
        stat = metric.rsplit(".", 1)[-1]
        if stat in _STATS:
            return f"{_STATS[stat]}{op}{value:g}", ""
        return None, f"the statistic {stat!r} of http.response_time"
    if metric == "http.request_rate":
        return f"rps{op}{value:g}", ""
    if metric in ("vusers.failed", "errors") and op in ("<", "<=", "==") and value <= 1 and not (op == "<=" and value):
        return "error_rate<=0", ""
    return None, (f"{metric} is a count of Artillery's own (status codes, errors by code, virtual users, "
                  f"custom metrics); perfcampaign's thresholds are latency statistics, error_rate and rps")


def _thresholds(config: dict[str, Any], cx: Context) -> list[Any]:
    """Artillery's ensure (``config.ensure`` or ``config.plugins.ensure``) as load thresholds, with its
    semantics: thresholds and legacy keys are ``metric < value``; maxErrorRate is ``<=``."""
    ensure = config.get("ensure") or (config.get("plugins") or {}).get("ensure") or {}
    where = "config.ensure" if config.get("ensure") else "config.plugins.ensure"
    out: list[Any] = []
    if not isinstance(ensure, dict):
        if ensure:
            cx.note(f"{where}: not a mapping (ignored)")
        return out
    for key, value in ensure.items():
        if key in _LEGACY and isinstance(value, (int, float, str)) and str(value).strip().lstrip("-").isdigit():
            out.append(f"{_LEGACY[key]}<{int(str(value).strip())}")
        elif key == "maxErrorRate" and isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(f"error_rate<={value:g}%")
            cx.note(f"{where}.maxErrorRate {value:g} → error_rate<={value:g}%: Artillery counts failed virtual users "
                    f"(transport or capture errors); error_rate counts failed requests, unexpected statuses included")
        elif key == "thresholds" and isinstance(value, list):
            for i, item in enumerate(value):
                for metric, limit in (item.items() if isinstance(item, dict) else []):
                    try:
                        number = float(limit)
                    except (TypeError, ValueError):
                        cx.note(f"{where}.thresholds[{i}].{metric}: {limit!r} is not a number (ignored)")
                        continue
                    converted, why = _metric(str(metric), "<", number)
                    if converted:
                        out.append(converted)
                    else:
                        cx.note(f"{where}.thresholds[{i}]: {metric} < {limit} has no equivalent: {why}")
        elif key == "conditions" and isinstance(value, list):
            for i, item in enumerate(value):
                expr = str((item or {}).get("expression", "")) if isinstance(item, dict) else ""
                if isinstance(item, dict) and item.get("strict") is False:
                    cx.note(f"{where}.conditions[{i}] {expr!r}: strict: false only reports in Artillery; "
                            f"perfcampaign's thresholds gate the run (left out)")
                    continue
                parts = re.split(r"\s+and\s+", expr.strip())
                converted = []
                for part in parts:
                    m = _COMPARISON.match(part)
                    t, why = _metric(m.group(1), m.group(2), float(m.group(3))) if m else (None, "")
                    if t is None:
                        converted = None
                        cx.note(f"{where}.conditions[{i}] {expr!r} has no equivalent: "
                                f"{why or 'only comparisons joined by and convert (metric < number and …)'}")
                        break
                    converted.append(t)
                out += converted or []
        elif key in _STATS:
            cx.note(f"{where}.{key}: Artillery does not check this key either (only min, max, median, p95, p99, "
                    f"thresholds, conditions and maxErrorRate): left out")
        else:
            cx.note(f"{where}.{key}: no equivalent (ignored)")
    return list(dict.fromkeys(out))


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
                      test_type: str | None = None, output: str | Path | None = None,
                      source_dir: str | Path | None = None) -> ImportResult:
    """An Artillery test script (YAML text) as a campaign; :class:`SourceError` when it cannot be read.

    ``source_dir`` is the script's folder (payload CSVs are read from it, default: the folder of
    ``file``); ``output`` is the campaign file to be written, so the feeders' paths are rebased
    relative to it."""
    cx = Context(file)
    cx.source_dir = Path(source_dir) if source_dir is not None else Path(file).parent
    cx.output_dir = Path(output).parent if output is not None else cx.source_dir
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
    elif not base_url and isinstance(target, str) and ("{{" in target or re.match(r"^wss?://", target)):
        cx.note(f"config.target {target!r} is not an http(s) URL the file gives (a template, or a WebSocket "
                f"server): base_url set to http://127.0.0.1:8080 (use --base-url)")
        target = "http://127.0.0.1:8080"
    url = _base_url(target, cx, "--base-url" if base_url else "config.target") or "http://127.0.0.1:8080"
    written_target = config.get("target")
    cx.target = written_target if isinstance(written_target, str) and re.match(r"^https?://", written_target) else url
    if base_url and config.get("target") and base_url.rstrip("/") != str(config["target"]).rstrip("/"):
        cx.note(f"config.target {config['target']} replaced by --base-url {base_url}")
    written = config.get("target")
    parts = urlsplit(str(written if isinstance(written, str) and re.match(r"^https?://", written) else url))
    cx.origin = (parts.scheme, parts.netloc)
    cx.base_path = parts.path.rstrip("/")
    environments: dict[str, Any] = {"dev": {"kind": "dev", "base_url": url}}
    defaults = config.get("defaults") or ((config.get("http") or {}).get("defaults") if isinstance(
        config.get("http"), dict) else None) or {}
    dwhere = "config.defaults" if config.get("defaults") else "config.http.defaults"
    if isinstance(defaults, dict):
        if isinstance(defaults.get("headers"), dict) and defaults["headers"]:
            environments["dev"]["headers"] = secret_headers(
                convert_templates(defaults["headers"], cx, dwhere, allow_env=True), cx, dwhere)
        if isinstance(defaults.get("cookie"), dict):
            cx.default_cookies = dict(defaults["cookie"])
        if defaults.get("strictCapture") is False:
            cx.note(f"{dwhere}.strictCapture false: a capture that finds nothing fails the iteration here")
        for key in sorted(set(defaults) - {"headers", "cookie", "strictCapture", "think"}):
            cx.note(f"{dwhere}.{key}: no equivalent (ignored)")
        if "think" in defaults:
            cx.note(f"{dwhere}.think: a default think time has no equivalent (each think step carries its own)")
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
    for key in sorted(set(http) - {"timeout", "defaults"}) if isinstance(http, dict) else ():
        cx.note(f"config.http.{key}: no equivalent (ignored; perfcampaign sizes its connection pool from max_vus)")
    tls = config.get("tls") or {}
    if isinstance(tls, dict) and tls.get("rejectUnauthorized") is False:
        load["tls"] = {"verify": False}
    thresholds = _thresholds(config, cx)
    for plugin in (config.get("plugins") or {}):
        cx.note(_PLUGIN_NOTES.get(plugin, f"plugins.{plugin}: no equivalent (ignored)"))
    cx.scripted = bool(config.get("processor")) or "function" in json.dumps(doc.get("scenarios"), default=str)
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
    for key in sorted(set(doc) - {"config", "scenarios", "before", "after"}):
        cx.note(f"{key}: a top-level key Artillery does not read either (ignored; ensure and thresholds belong "
                f"under config)" if key in ("ensure", "thresholds", "phases") else f"{key}: no equivalent (ignored)")

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
        for key in ("beforeScenario", "afterScenario", "beforeRequest", "afterResponse", "onError"):
            if key in sc:
                cx.note(f"{where}.{key}: processor hooks (JavaScript) are not run (ignored)")
        for key in sorted(set(sc) - {"name", "weight", "flow", "engine", "beforeScenario", "afterScenario",
                                     "beforeRequest", "afterResponse", "onError"}):
            cx.note(f"{where}.{key}: no equivalent (ignored)")
        steps: list[dict[str, Any]] = []
        flow_steps(sc.get("flow") if isinstance(sc.get("flow"), list) else [], cx, f"{where}.flow", steps)
        if not steps:
            cx.note(f"{where} ({sc_name}): no request converted: scenario left out")
            continue
        weight = sc.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            cx.note(f"{where}.weight {weight!r}: not a number: weight 1")
            weight = 1
        scenarios.append({"name": sc_name, "weight": weight, "steps": steps})
    if cx.problems:
        raise SourceError(cx.problems)
    if not scenarios:
        raise SourceError([f"{file}: scenarios: no request could be converted (see the notes)"] + cx.notes)

    for cond, wheres in cx.conditions.items():
        if not re.fullmatch(r"[A-Za-z_]\w*", cond):  # an expression, not a variable name
            cx.note(f"ifTrue '{cond}' ({len(wheres)} step(s): {', '.join(wheres)}) is an expression; `if:` takes a "
                    f"variable name, so the step always runs")
    no_expect = sorted({st.get("endpoint") or st.get("name") for sc in scenarios for st in _leaves(sc["steps"])
                        if "expect" not in st and "expect" not in _endpoint_by_name(cx, st.get("endpoint"))})
    if no_expect:
        cx.note(f"requests without expect ({', '.join(no_expect)}): perfcampaign expects a 2xx status "
                f"where Artillery accepts any status")
    if cx.redirects:
        cx.note("redirects: Artillery follows them by default; perfcampaign never does (a 3xx is the answer), so "
                "expect a 3xx status where a request is answered with a redirect")
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
    if not out["endpoints"]:  # every request changes with a loop: readiness and smoke need one endpoint
        first = next(st for sc in scenarios for st in _leaves(sc["steps"]))
        out["endpoints"] = [{"name": unique("root", cx.names), "path": "/"}]
        cx.note(f"endpoints: every request comes from a loop item ({first.get('name')}…): the endpoint 'root' "
                f"(GET /) stands in for readiness and smoke")
    _define_missing(out, cx, files)
    if cx.env_refs:
        cx.note("set before running: " + ", ".join(sorted(cx.env_refs)) + " (the script reads them from the "
                "environment)")
    origins = {ep["name"]: (ep.get("method", "GET"), ep["path"]) for ep in out["endpoints"]}
    return ImportResult(campaign=out, notes=cx.notes, files=files, source=PurePosixPath(file).name, origins=origins)


def _leaves(steps: list[dict[str, Any]]):
    """Every request step, loops opened."""
    for st in steps:
        if "loop" in st:
            yield from _leaves(st["loop"])
        else:
            yield st


def _endpoint_by_name(cx: Context, name: str | None) -> dict[str, Any]:
    return next((ep for ep in cx.endpoints.values() if ep["name"] == name), {})


def _define_missing(out: dict[str, Any], cx: Context, files: dict[str, str]) -> None:
    """Variables a template names that no variable, feeder or earlier capture gives: Artillery sends the
    text 'undefined' for them, so they are defined as 'undefined' — the file validates, and the notes
    say which to give a real value."""
    from campaigns import preflight
    from campaigns.model import Campaign

    for var, why in sorted(cx.undefined.items()):
        out.setdefault("variables", {})[var] = "undefined"
        cx.note(f"variable {var} = 'undefined': {why}")
    feeders: dict[str, list[dict[str, str]]] = {}
    for name, feeder in (out.get("data") or {}).items():
        if feeder.get("file") in files:
            rows = list(csv.DictReader(io.StringIO(files[feeder["file"]])))
        else:
            rows = cx.feeder_rows.get(name, [])
        feeders[name] = rows
    try:
        campaign = Campaign.model_validate(out)
    except ValueError:
        return  # the writer reports an invalid campaign as the importer's bug
    checker = preflight._Checker(campaign, feeders, False, None)
    checker.run()
    for var, locs in sorted(checker.undefined.items()):
        out.setdefault("variables", {})[var] = "undefined"
        fields = sorted({preflight.describe(loc) for loc in locs})[:3]
        if cx.scripted:
            why = ("a processor function may set it in Artillery, but perfcampaign runs no JavaScript, so the "
                   "text 'undefined' is sent (as Artillery would without the function)")
        else:
            why = "Artillery sends the text 'undefined' there too"
        cx.note(f"variable {var} = 'undefined': it is used ({', '.join(fields)}) where no variable, feeder or "
                f"earlier capture of the same scenario gives it; {why} — give it a real value under variables:")
