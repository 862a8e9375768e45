"""Bring your own tests, measured: per source kind (Artillery, OpenAPI, Swagger 2.0), how many files
convert, validate and run without an internal error, and how many constructs were dropped without
a note.

    python -m bench.importers [--corpus DIR]... [--no-run] [--json] [--limit N]

Default corpus: ``tests/importers/corpus`` (our Artillery scripts written after real public ones, the
MIT-licensed ``@readme/oas-examples`` npm package that ``make setup`` installs) and the Prefect
server's own OpenAPI document, generated from the venv. ``--corpus DIR`` adds any folder of real
files (kinds are recognised by content, as ``perfcampaign validate`` does).

Per file:

- **convert**: the importer returns a campaign, or refuses the file with its reasons (exit 2: a
  WebSocket-only script, a spec with no paths); anything else is an *internal error*;
- **validate**: the written campaign loads (model + preflight, secrets aside); a feeder file the
  script names but the folder lacks is the *user's* problem, counted apart; any other problem is
  the importer's;
- **run**: readiness, smoke, e2e and load against a catch-all loopback server (every answer 200
  JSON), every ``${env:X}`` set to a dummy, phases shortened to a few seconds and capped at 50 rps;
  the run's stages must end without an unexpected exception (statuses passed/failed are fine);
- **silent drops**: an inventory of the source's constructs, taken independently of the importer
  (every key of config, phases, payloads, plugins, ensure, scenarios, flow steps, requests,
  expectations and captures; every template expression; for OpenAPI every operation, parameter,
  request body, security requirement, link, callback and webhook), each of which must be either
  converted (the table below) or named in the import's notes. What is neither is a silent drop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "importers" / "corpus"
CATCH_ALL_BODY = {"id": 1, "token": "t", "items": [{"id": 1}], "data": [{"id": 1}], "status": "ok"}

# -- what the Artillery importer converts (everything else must be in the notes) ------------------
ART_CONFIG = {"target", "phases", "variables", "payload", "http", "timeout", "tls", "ensure", "plugins", "defaults",
              "environments", "processor"}
ART_PHASE = {"name", "duration", "arrivalRate", "rampTo", "arrivalCount", "maxVusers", "pause"}
ART_PAYLOAD = {"path", "fields", "order", "skipHeader", "name", "loadAll", "delimiter", "cast", "skipEmptyLines"}
ART_HTTP = {"timeout", "defaults"}
ART_DEFAULTS = {"headers", "cookie"}
ART_ENSURE = {"p95", "p99", "max", "min", "median", "maxErrorRate", "thresholds", "conditions"}
ART_PLUGINS = {"ensure", "expect", "metrics-by-endpoint"}
ART_SCENARIO = {"name", "weight", "flow"}
ART_STEP = {"get", "post", "put", "patch", "delete", "head", "options", "think", "loop"}
ART_LOOP = {"loop", "count", "over", "loopValue", "loopElement"}
ART_REQUEST = {"url", "uri", "qs", "json", "form", "formData", "headers", "capture", "expect", "ifTrue", "name", "cookie", "auth",
               "followRedirect"}
ART_EXPECT = {"statusCode", "contentType", "hasProperty"}
ART_CAPTURE = {"json", "as", "strict"}


#: what --quick runs end to end (the rest is converted and validated)
QUICK_RUN = {"petstore-expanded.yaml", "link-example.yaml", "polymorphism.yaml", "form-data.yaml", "file-uploads.yaml",
             "security.yaml", "petstore.yaml", "prefect-server.openapi.json", "sign-in-cookies.yml",
             "table-driven.yml", "loops-and-functions.yml", "unsupported.yml"}


@dataclass
class FileResult:
    file: str
    kind: str
    convert: str = "-"          # ok | refused | internal-error
    validate: str = "-"         # ok | user-data | invalid | internal-error
    run: str = "-"              # ok | internal-error | skipped
    constructs: int = 0
    silent: list[str] = field(default_factory=list)
    detail: str = ""
    seconds: float = 0.0


# -- source kinds ------------------------------------------------------------------------------------


def parse(path: Path) -> Any:
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_Loader)  # noqa: S506
    except (ValueError, yaml.YAMLError):
        return None


class _Loader(yaml.SafeLoader):
    pass


def kind_of(path: Path) -> str | None:
    from campaigns.importers.detect import foreign_kind

    if path.stat().st_size > 8_000_000:
        return None
    return foreign_kind(parse(path))


def discover(dirs: list[Path]) -> list[tuple[Path, str]]:
    out = []
    for d in dirs:
        for path in sorted(d.rglob("*")):
            if path.suffix not in (".yml", ".yaml", ".json") or "package" in path.name or not path.is_file():
                continue
            if "/test/" in str(path).replace("\\", "/") and "node_modules" in str(path):
                continue
            kind = kind_of(path)
            if kind:
                out.append((path, kind))
    return out


# -- the silent-drop oracle ----------------------------------------------------------------------------


def _noted(notes: str, *needles: str) -> bool:
    return any(n and n in notes for n in needles)


def artillery_constructs(doc: dict[str, Any], notes: str, output: str) -> tuple[int, list[str]]:
    """(constructs seen, those neither converted nor noted)."""
    seen, silent = 0, []

    def account(where: str, key: str, converted: bool) -> None:
        nonlocal seen
        seen += 1
        if not converted and not _noted(notes, f"{where}.{key}", f"{where} {key}", f"{key}:") \
                and not re.search(rf"\b{re.escape(key)}\b", notes):
            silent.append(f"{where}.{key}")

    config = doc.get("config") if isinstance(doc.get("config"), dict) else {}
    for key in doc:
        account("", key, key in ("config", "scenarios"))
    for key, value in config.items():
        account("config", key, key in ART_CONFIG - {"processor"})
        if key == "phases" and isinstance(value, list):
            for i, ph in enumerate(value):
                for k in (ph if isinstance(ph, dict) else {}):
                    account(f"config.phases[{i}]", k, k in ART_PHASE)
        if key == "payload":
            for i, p in enumerate(value if isinstance(value, list) else [value]):
                for k in (p if isinstance(p, dict) else {}):
                    account(f"config.payload[{i}]", k, k in ART_PAYLOAD)
        if key == "http" and isinstance(value, dict):
            for k in value:
                account("config.http", k, k in ART_HTTP)
        if key in ("defaults",) and isinstance(value, dict):
            for k in value:
                account(f"config.{key}", k, k in ART_DEFAULTS)
        if key == "plugins" and isinstance(value, dict):
            for k in value:
                account("plugins", k, k in ART_PLUGINS)
        if key == "ensure" and isinstance(value, dict):
            for k in value:
                account("config.ensure", k, k in ART_ENSURE)
    for i, sc in enumerate(doc.get("scenarios") or []):
        if not isinstance(sc, dict):
            continue
        where = f"scenarios[{i}]"
        for k in sc:
            account(where, k, k in ART_SCENARIO)
        if sc.get("engine") not in (None, "http"):
            continue
        _flow(sc.get("flow") or [], f"{where}.flow", account)
    http = [sc for sc in doc.get("scenarios") or [] if isinstance(sc, dict) and sc.get("engine") in (None, "http")]
    requests = _requests([step for sc in http for step in (sc.get("flow") or [])])  # templates a request sends
    for expr in sorted(set(re.findall(r"\{\{\s*([^{}]+?)\s*\}\}", json.dumps(requests)))):
        seen += 1
        names = [t for t in re.findall(r"[A-Za-z_]\w*", expr) if t not in ("processEnvironment", "env")]
        if names and not any(n in output or _noted(notes, n) for n in names):
            silent.append(f"template {{{{ {expr} }}}}")
    return seen, silent


def _requests(items: Any) -> list[Any]:
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            out += [item[m] for m in ("get", "post", "put", "patch", "delete", "head", "options") if m in item]
            out += _requests(item.get("loop")) + _requests(item.get("parallel"))
    return out


def _flow(items: Any, where: str, account: Any) -> None:
    for j, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        here = f"{where}[{j}]"
        for k in item:
            if k in ART_STEP or k in ART_LOOP:
                account(here, k, True)
            else:
                account(here, k, False)
        for method in ("get", "post", "put", "patch", "delete", "head", "options"):
            spec = item.get(method)
            if isinstance(spec, dict):
                for k in spec:
                    account(here, k, k in ART_REQUEST)
                for e in (spec.get("expect") if isinstance(spec.get("expect"), list) else
                          [{k: v} for k, v in spec.get("expect", {}).items()] if isinstance(spec.get("expect"), dict)
                          else []):
                    for k in (e if isinstance(e, dict) else {}):
                        account(f"{here}.expect", k, k in ART_EXPECT)
                for c in (spec.get("capture") if isinstance(spec.get("capture"), list) else [spec.get("capture")]):
                    for k in (c if isinstance(c, dict) else {}):
                        account(f"{here}.capture", k, k in ART_CAPTURE)
        if isinstance(item.get("loop"), list):
            _flow(item["loop"], f"{here}.loop", account)
        if isinstance(item.get("parallel"), list):
            _flow(item["parallel"], f"{here}.parallel", account)


def openapi_constructs(doc: dict[str, Any], result: Any, notes: str) -> tuple[int, list[str]]:
    """Operations, parameters, bodies, security, links, callbacks, webhooks: converted or noted."""
    from campaigns.importers.spec import HTTP_METHODS, load_spec, pointer

    spec = load_spec(json.dumps(doc) if isinstance(doc, dict) else "", "x")
    campaign = result.campaign
    endpoints = {(e.get("method", "GET"), e["path"].split("?")[0]): e for e in campaign["endpoints"]}
    by_name = {e["name"]: e for e in campaign["endpoints"]}
    journeys = json.dumps((campaign.get("e2e") or {}).get("api_journeys") or [])
    seen, silent = 0, []
    for path, method, op, params in spec.operations():
        seen += 1
        where = pointer("paths", path, method)
        ep = next((e for (m, p), e in endpoints.items() if m == method.upper() and
                   re.sub(r"\{[^}]+\}", "{}", p) == re.sub(r"\{[^}]+\}", "{}", path)), None)
        if ep is None:
            if not _noted(notes, where):
                silent.append(f"{where} (operation)")
            continue
        for p in params:
            seen += 1
            name, where_in = str(p.get("name")), p.get("in")
            sent = (where_in == "path" or (where_in == "query" and name in (ep.get("query") or {}))
                    or (where_in == "header" and name in (ep.get("headers") or {})))
            if not sent and not _noted(notes, f"{where}: {where_in} parameter {name}",
                                       f"optional {where_in} parameters", f"parameter {name}"):
                silent.append(f"{where} parameter {where_in}:{name}")
        if op.get("requestBody") is not None:
            seen += 1
            if "json" not in ep and "form" not in ep and "multipart" not in ep and not _noted(notes,
                                                                                           f"{where}/requestBody"):
                silent.append(f"{where}/requestBody")
        for code, resp in (op.get("responses") or {}).items():
            for link in (spec.deref(resp).get("links") or {}) if isinstance(spec.deref(resp), dict) else {}:
                seen += 1
                if link not in journeys and not _noted(notes, f"links/{link}", f"link {link}"):
                    silent.append(f"{where}/responses/{code}/links/{link}")
        for cb in op.get("callbacks") or {}:
            seen += 1
            if not _noted(notes, f"{where}/callbacks/{cb}", "callbacks"):
                silent.append(f"{where}/callbacks/{cb}")
    for hook in (doc.get("webhooks") or {}) if isinstance(doc, dict) else {}:
        seen += 1
        if not _noted(notes, "webhooks"):
            silent.append(f"#/webhooks/{hook}")
    del by_name, HTTP_METHODS
    return seen, silent


# -- convert, validate, run ----------------------------------------------------------------------------


def convert(path: Path, kind: str, out: Path, base_url: str) -> Any:
    text = path.read_text(encoding="utf-8", errors="replace")
    if kind == "artillery":
        from campaigns.importers.artillery import convert_artillery

        if path.suffix == ".json":
            text = yaml.safe_dump(json.loads(text))
        return convert_artillery(text, str(path), base_url=base_url, output=out, source_dir=path.parent)
    from campaigns.importers.openapi import import_openapi

    return import_openapi(text, str(path), base_url=base_url, output=out.name)


def _dummy_env(text: str) -> None:
    for name in set(re.findall(r"\$\{env:([A-Za-z_][A-Za-z0-9_.\-/]*)\}", text)) | set(
            re.findall(r"\{\{\s*\$env\.([A-Za-z_]\w*)\s*\}\}", text)):
        os.environ.setdefault(name, "bench-dummy")


def _shorten(doc: dict[str, Any]) -> dict[str, Any]:
    env = doc["environments"]["dev"]
    env["caps"] = {"max_rps": 50, "max_vus": 20, "max_duration": "4s"}
    for name in list(doc["environments"]):
        if name != "dev":
            del doc["environments"][name]
    doc.setdefault("readiness", {})["samples"] = 2
    return doc


def run_file(campaign_file: Path, workdir: Path) -> tuple[str, str]:
    """Run the imported campaign against the catch-all server: ("ok" | "internal-error", detail)."""
    from campaigns.loader import load_campaign
    from flows.runner import RunOptions, run_campaign
    from warehouse.store import Warehouse

    doc = yaml.safe_load(campaign_file.read_text())
    campaign_file.write_text(yaml.safe_dump(_shorten(doc), sort_keys=False))
    _dummy_env(campaign_file.read_text())
    loaded = load_campaign(campaign_file)
    store = Warehouse(workdir / "wh.duckdb")
    store.migrate()
    stages = ["readiness", "smoke", "load"] + (["e2e"] if loaded.campaign.e2e is not None else [])
    report = asyncio.run(run_campaign(loaded, store, RunOptions(
        environments=["dev"], stages=stages, trigger="bench", start_services=False, out_dir=workdir / "runs",
        stage_options={"shards": 1, "duration_scale": 0.05})))
    env = report.environments["dev"]
    broken = [f"{name}: {r.error}" for name, r in env.results.items()
              if r.status == "error" and "traceback" in (r.summary or {})]
    return ("internal-error", "; ".join(broken)) if broken else ("ok", env.status)


def measure(files: list[tuple[Path, str]], run: bool = True, base_url: str = "http://127.0.0.1:9",
            log: Any = None) -> list[FileResult]:
    from campaigns.importers import SourceError
    from campaigns.loader import CampaignError, load_campaign

    results = []
    for path, kind in files:
        r = FileResult(str(path), kind)
        started = time.perf_counter()
        work = Path(tempfile.mkdtemp(prefix="bench-import-"))
        out = work / (re.sub(r"\W+", "-", path.stem) + ".campaign.yaml")
        try:
            result = convert(path, kind, out, base_url)
            r.convert = "ok"
        except SourceError as exc:
            r.convert, r.detail = "refused", exc.problems[0][:200]
        except Exception as exc:  # noqa: BLE001 - what the bench counts
            r.convert, r.detail = "internal-error", f"{type(exc).__name__}: {exc}"[:300]
            if os.environ.get("PERFCAMPAIGN_DEBUG"):
                traceback.print_exc()
        if r.convert == "ok":
            notes = "\n".join(result.notes)
            out.write_text(result.yaml())
            for name, content in result.files.items():
                (out.parent / name).write_text(content)
            doc = parse(path)
            try:
                if kind == "artillery":
                    r.constructs, r.silent = artillery_constructs(doc, notes, result.yaml())
                else:
                    r.constructs, r.silent = openapi_constructs(doc, result, notes)
            except Exception as exc:  # noqa: BLE001
                r.detail = f"oracle: {type(exc).__name__}: {exc}"
            try:
                load_campaign(out)
                r.validate = "ok"
            except CampaignError as exc:
                user = all("data." in p.field and ("cannot read" in p.message or "no data rows" in p.message)
                           for p in exc.problems)
                r.validate = "user-data" if user else "invalid"
                r.detail = str(exc.problems[0])[:300]
            except Exception as exc:  # noqa: BLE001
                r.validate, r.detail = "internal-error", f"{type(exc).__name__}: {exc}"[:300]
            if run and r.validate == "ok":
                try:
                    r.run, detail = run_file(out, work)
                    if r.run != "ok":
                        r.detail = detail[:300]
                except Exception as exc:  # noqa: BLE001
                    r.run, r.detail = "internal-error", f"{type(exc).__name__}: {exc}"[:300]
                    if os.environ.get("PERFCAMPAIGN_DEBUG"):
                        traceback.print_exc()
        r.seconds = round(time.perf_counter() - started, 2)
        if log:
            log(r)
        results.append(r)
    return results


def summarize(results: list[FileResult]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in results:
        s = out.setdefault(r.kind, Counter())
        s["files"] += 1
        s[f"convert {r.convert}"] += 1
        s[f"validate {r.validate}"] += 1
        s[f"run {r.run}"] += 1
        s["constructs"] += r.constructs
        s["silent drops"] += len(r.silent)
        s["internal errors"] += sum(x == "internal-error" for x in (r.convert, r.validate, r.run))
    return {k: dict(v) for k, v in out.items()}


def prefect_spec(folder: Path) -> Path:
    """The Prefect server's own OpenAPI document (the real app in our venv)."""
    path = folder / "prefect-server.openapi.json"
    if not path.exists():
        from prefect.server.api.server import create_app

        path.write_text(json.dumps(create_app().openapi()))
    return path


def catch_all_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def anything(request: Any) -> JSONResponse:
        await request.body()
        return JSONResponse(CATCH_ALL_BODY)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(routes=[Route("/{path:path}", anything, methods=methods)])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", action="append", type=Path, default=[], help="More folders of real files.")
    ap.add_argument("--no-run", action="store_true", help="Convert and validate only.")
    ap.add_argument("--only", action="store_true", help="Only the --corpus folders (not the default corpus).")
    ap.add_argument("--limit", type=int, help="At most N files per kind.")
    ap.add_argument("--quick", action="store_true", help="Convert and validate every file; run only a "
                                                         "representative dozen.")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from tests.loopback import serve

    extra = Path(tempfile.mkdtemp(prefix="bench-import-corpus-"))
    files = discover(args.corpus) if args.only else discover([CORPUS, *args.corpus]) + [(prefect_spec(extra),
                                                                                             "openapi")]
    if args.limit:
        kept: Counter[str] = Counter()
        files = [f for f in files if (kept.update([f[1]]) or kept[f[1]] <= args.limit)]

    def log(r: FileResult) -> None:
        if not args.json:
            flag = " ".join(x for x in (r.convert, r.validate, r.run) if x not in ("ok", "-"))
            print(f"{r.kind:9} {r.seconds:6.1f}s {flag or 'ok':24} {len(r.silent):3} silent  {r.file}"
                  + (f"\n          {r.detail}" if r.detail and flag else "")
                  + ("".join(f"\n          silent: {s}" for s in r.silent[:5])), flush=True)

    with serve(catch_all_app()) as url:
        if args.quick and not args.no_run:
            picked = [f for f in files if f[0].name in QUICK_RUN and "/json/" not in str(f[0])]
            rest = [f for f in files if f not in picked]
            results = measure(picked, run=True, base_url=url, log=log) + measure(rest, run=False, base_url=url,
                                                                                 log=log)
        else:
            results = measure(files, run=not args.no_run, base_url=url, log=log)
    summary = summarize(results)
    doc = {"summary": summary, "files": [r.__dict__ for r in results]}
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print()
        keys = ["files", "convert ok", "convert refused", "validate ok", "validate user-data", "validate invalid",
                "run ok", "internal errors", "constructs", "silent drops"]
        print(f"{'kind':10}" + "".join(f" {k:>18}" for k in keys))
        for kind, s in sorted(summary.items()):
            print(f"{kind:10}" + "".join(f" {s.get(k, 0):>18}" for k in keys))
    return doc


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
