"""Bring your own tests: ``perfcampaign init --openapi``, ``import artillery``, ``export k6``.

    perfcampaign init --openapi openapi.yaml [--base-url URL] [-o shop.yaml] [--campaign NAME] [--team TEAM]
    perfcampaign import artillery load-test.yml [-o FILE] [--base-url URL] [--check] [--test-type T]
    perfcampaign export k6 campaigns/demo.yaml [--env dev] [-o demo.js]

Importers are pure (``campaigns/importers``); this module reads and writes the files, prints what
did not convert (stderr, ``note:`` lines) and validates every campaign it writes with the same
loader ``perfcampaign validate`` uses. Exit codes: 0 done, 2 bad input (a broken source file,
an output file that exists without ``--force``), 3 an internal error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from campaigns.importers import ImportResult, SourceError
from campaigns.loader import CampaignError, load_campaign, parse_campaign

from campaigns.vocabulary import TEST_TYPES, ExitCode
from flows.console import Failure as _Failure

EXIT_BAD_INPUT, EXIT_INFRA = ExitCode.BAD_INPUT, ExitCode.INFRA


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _Failure(f"cannot read {path}: {exc}") from None


def _write(result: ImportResult, out: Path, force: bool) -> list[Path]:
    """Validate, then write the campaign and its side files next to it."""
    text = result.yaml()
    try:
        parse_campaign(text, str(out))
    except CampaignError as exc:  # an importer bug, never the user's: say so
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise _Failure("the imported campaign does not validate (a bug in the importer: please report it)",
                       EXIT_INFRA) from None
    targets = [out] + [out.parent / name for name in result.files]
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        raise _Failure(f"{', '.join(map(str, existing))} exists: use --force to overwrite")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    for name, content in result.files.items():
        (out.parent / name).write_text(content, encoding="utf-8")
    return targets


def _report(result: ImportResult, written: list[Path], as_json: bool, extra: dict[str, Any] | None = None) -> None:
    campaign = result.campaign
    if as_json:
        doc = {"campaign": campaign["campaign"], "file": str(written[0]), "files": [str(p) for p in written[1:]],
               "endpoints": [{"name": n, "method": m, "path": p} for n, (m, p) in result.origins.items()],
               "notes": result.notes, **(extra or {})}
        click.echo(json.dumps(doc, indent=2))
        return
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    side = f" (+ {', '.join(p.name for p in written[1:])})" if written[1:] else ""
    click.echo(f"wrote {written[0]}{side}: campaign {campaign['campaign']}, {len(campaign['endpoints'])} endpoints, "
               f"{len(result.notes)} notes — check it with `perfcampaign validate {written[0]}`")


@click.command("init")
@click.option("--openapi", "spec", required=True, type=click.Path(exists=True, dir_okay=False),
              help="OpenAPI 3.0 / 3.1 document (YAML or JSON).")
@click.option("--base-url", help="The service's base URL (default: the spec's servers).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Campaign file (default: <campaign>.yaml).")
@click.option("--campaign", "name", help="Campaign slug (default: from info.title).")
@click.option("--team", help="Owning team.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (files, endpoints, notes).")
def init(spec: str, base_url: str | None, output: str | None, name: str | None, team: str | None, force: bool,
         as_json: bool) -> None:
    """Write a campaign from an OpenAPI spec: an endpoint per operation, sample values, bodies,
    expectations and response schemas (readiness and smoke validate bodies against them)."""
    from campaigns.importers.openapi import import_openapi

    try:
        result = import_openapi(_read(spec), spec, base_url=base_url, campaign=name, team=team,
                                output=Path(output).name if output else None)
    except SourceError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(EXIT_BAD_INPUT) from None
    out = Path(output) if output else Path(f"{result.campaign['campaign']}.yaml")
    _report(result, _write(result, out, force), as_json)


@click.group("import")
def import_group() -> None:
    """Convert another tool's test files into a campaign."""


@import_group.command("artillery")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Campaign file (default: <file stem>.campaign.yaml).")
@click.option("--base-url", help="Replace config.target (e.g. the service in dev).")
@click.option("--check", is_flag=True, help="Send each endpoint one request and list the ones the service lacks.")
@click.option("--campaign", "name", help="Campaign slug (default: from the file name).")
@click.option("--team", help="Owning team.")
@click.option("--test-type", type=click.Choice(TEST_TYPES),
              help="Default: guessed from the file name, else load.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (files, endpoints, notes, check).")
def import_artillery(file: str, output: str | None, base_url: str | None, check: bool, name: str | None,
                     team: str | None, test_type: str | None, force: bool, as_json: bool) -> None:
    """Convert an Artillery script (config.target, phases, variables, scenarios, flows, captures,
    expectations); what has no equivalent is listed as notes."""
    from campaigns.importers.artillery import convert_artillery

    out = Path(output) if output else Path(file).with_name(Path(file).stem + ".campaign.yaml")
    try:
        result = convert_artillery(_read(file), file, base_url=base_url, campaign=name, team=team, test_type=test_type,
                                   output=out, source_dir=Path(file).parent)
    except SourceError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(EXIT_BAD_INPUT) from None
    written = _write(result, out, force)
    extra = {}
    if check:
        extra["check"] = _check(out, as_json)
    _report(result, written, as_json, extra)


def _check(campaign_file: Path, quiet: bool) -> list[dict[str, Any]]:
    import httpx

    from campaigns.importers.check import probe_endpoints

    try:
        loaded = load_campaign(campaign_file)
    except CampaignError as exc:  # e.g. a feeder the script names is not there: say so, send nothing
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        click.echo(f"check skipped: {campaign_file} needs the fixes above first", err=True)
        return []
    env = next(iter(loaded.campaign.environments))
    with httpx.Client(timeout=5.0, trust_env=False, follow_redirects=False) as http:
        probes = probe_endpoints(loaded.campaign, env, http, loaded.feeders)
    if not quiet:
        base = loaded.campaign.environments[env].base_url
        missing = [p for p in probes if p.missing]
        click.echo(f"check against {base}: {len(probes) - len(missing)} of {len(probes)} endpoints answer", err=True)
        for p in probes:
            if p.verdict != "present":
                status = p.status if p.status is not None else p.error
                click.echo(f"{p.verdict}: {p.name} ({p.method} {p.url} → {status})", err=True)
    return [p.to_dict() for p in probes]


@click.group("export")
def export_group() -> None:
    """Write a campaign in another tool's format."""


@export_group.command("k6")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--env", "env_name", help="Environment (default: the first one).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Script file (default: stdout).")
@click.option("--test-type", type=click.Choice(TEST_TYPES),
              help="Default: the load section's test_type.")
@click.option("--duration-scale", type=float, help="Shorten every phase (e.g. 0.1 for a quick run).")
def export_k6(file: str, env_name: str | None, output: str | None, test_type: str | None,
              duration_scale: float | None) -> None:
    """Write the campaign's load section as a k6 script (scenarios, phases, thresholds; secrets
    read from the environment, the auth flow in setup())."""
    from tasks.k6.script import build_script
    from tasks.load.planner import PlanError

    try:
        loaded = load_campaign(file)
    except CampaignError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(EXIT_BAD_INPUT) from None
    campaign = loaded.campaign
    env_name = env_name or next(iter(campaign.environments))
    if env_name not in campaign.environments:
        raise _Failure(f"unknown environment {env_name!r} (the campaign has: {', '.join(campaign.environments)})")
    if campaign.load is None:
        raise _Failure(f"{file} has no load: section to export")
    options = {"duration_scale": duration_scale} if duration_scale else {}
    try:
        script = build_script(campaign.load, campaign, env_name, feeders=loaded.feeders, test_type=test_type,
                              options=options, base_dir=loaded.base_dir, for_run=False)
    except PlanError as exc:
        raise _Failure(str(exc)) from None
    for note in script.notes:
        click.echo(f"note: {note}", err=True)
    for ref in script.secrets:
        click.echo(f"note: set {ref.env} (${{{ref.kind}:{ref.name}}}) in k6's environment", err=True)
    if output:
        Path(output).write_text(script.text, encoding="utf-8")
        click.echo(f"wrote {output}: k6 run {output}", err=True)
    else:
        sys.stdout.write(script.text)


COMMANDS = (init, import_group, export_group)
