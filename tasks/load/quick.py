"""``perfcampaign load URL``: a quick load test of one URL, like ``artillery quick`` or wrk.

    perfcampaign load http://127.0.0.1:8000/health --rate 500 --duration 30s      # open model
    perfcampaign load http://127.0.0.1:8000/health --connections 50 --duration 10s --json

``--rate`` drives the open model (constant arrival rate, latency from the intended send time);
``--connections`` the closed model (that many connections, each sending as soon as the previous
answer arrives). ``--json`` prints one JSON document last.

Thresholds (``--threshold``, k6's grammar) decide the exit code; ``error_rate<1%`` applies unless a
threshold of your own speaks about the error rate (``--threshold 'error_rate<5%'``), so a run where
every request failed never exits 0.

Targets: loopback (127.0.0.0/8, ::1, localhost) always; any other host only when named with
``--allow-host HOST`` (repeatable) — the same allow-list rule as a campaign environment's
``allow_hosts``: redirects are never followed, so nothing but that host receives a request. Writes
(POST, PUT, PATCH, DELETE) to a host beyond loopback also need ``--allow-writes`` (a campaign's
``allow_writes``): quick load cannot tell a staging host from production.

Exit codes: 0 ok, 1 a threshold failed, 2 bad input (or a target not allowed), 3 target unreachable.
"""

from __future__ import annotations

import json
import socket
import sys
from typing import Any
from urllib.parse import urlsplit

import click

from campaigns.types import is_loopback, parse_duration
from campaigns.vocabulary import ExitCode

EXIT_OK, EXIT_THRESHOLD, EXIT_INPUT, EXIT_UNREACHABLE = (ExitCode.OK, ExitCode.GATE_FAILED, ExitCode.BAD_INPUT,
                                                        ExitCode.INFRA)
#: applies unless a threshold of the user's own is about the error rate
DEFAULT_THRESHOLD = "error_rate<1%"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: the live view's factory, set by the CLI (``flows/quick_cli.py``; the engines never import flows)
DISPLAY: Any = None


def reachable(host: str, port: int, timeout: float = 2.0) -> str | None:
    """None when a TCP connection opens, else why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


class _Duration(click.ParamType):
    name = "duration"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if seconds <= 0:
            self.fail("must be longer than 0", param, ctx)
        return seconds


def _fail(message: str, code: int, as_json: bool) -> None:
    click.echo(f"error: {message}", err=True)
    if as_json:
        click.echo(json.dumps({"error": message, "exit_code": code}))
    sys.exit(code)


@click.command("load")
@click.argument("url")
@click.option("--rate", "-r", type=click.FloatRange(min=0, min_open=True), help="Open model: requests per second.")
@click.option("--connections", "-c", type=click.IntRange(min=1),
              help="Closed model: concurrent connections (with --rate: the most connections to use).")
@click.option("--duration", "-d", type=_Duration(), required=True, help="How long, e.g. 30s, 2m.")
@click.option("--method", "-X", default="GET", show_default=True)
@click.option("--header", "-H", "headers", multiple=True, help="'Name: value', repeatable.")
@click.option("--body", default=None, help="Request body (sent as is).")
@click.option("--timeout", type=_Duration(), default="10s", show_default=True)
@click.option("--threshold", "thresholds", multiple=True, help="e.g. 'p(95)<300', 'error_rate<1%'.")
@click.option("--shards", type=click.IntRange(min=1), default=1, show_default=True,
              help="Generator processes (one per core).")
@click.option("--insecure", is_flag=True, help="Do not verify the TLS certificate.")
@click.option("--cacert", type=click.Path(exists=True, dir_okay=False), help="CA bundle for TLS.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="HOST",
              help="Let a host beyond loopback receive the load (repeatable); nothing else is ever contacted.")
@click.option("--allow-writes", is_flag=True,
              help="Let POST/PUT/PATCH/DELETE go to an --allow-host target (never needed for loopback).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document last.")
def load_command(url: str, rate: float | None, connections: int | None, duration: float, method: str,
                 headers: tuple[str, ...], body: str | None, timeout: float, thresholds: tuple[str, ...],
                 shards: int, insecure: bool, cacert: str | None, allow_hosts: tuple[str, ...], allow_writes: bool,
                 as_json: bool) -> None:
    """Quick load test of URL (open model with --rate, closed with --connections)."""
    from campaigns.load import parse_threshold
    from tasks.load.plan import PhasePlan, Plan, RulePlan, ScenarioPlan, StepPlan

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        _fail(f"{url!r} is not an http(s) URL", EXIT_INPUT, as_json)
    host = (parts.hostname or "").lower().rstrip(".")
    allowed = {h.lower().strip("[]").rstrip(".") for h in allow_hosts}
    if not is_loopback(host) and host not in allowed:
        _fail(f"{parts.hostname} is not a loopback address: quick load targets 127.0.0.0/8, ::1 or localhost, "
              f"and other hosts only when named with --allow-host {parts.hostname}", EXIT_INPUT, as_json)
    if not is_loopback(host) and method.upper() in WRITE_METHODS and not allow_writes:
        _fail(f"{method.upper()} to {parts.hostname} is a write to a host beyond loopback: add --allow-writes if "
              "this target may receive writes (never point it at production)", EXIT_INPUT, as_json)
    if rate is None and connections is None:
        _fail("give --rate R (open model) or --connections C (closed model)", EXIT_INPUT, as_json)
    rules = []
    for text in thresholds:
        try:
            metric, op, value, endpoint = parse_threshold(text)
        except ValueError as exc:
            _fail(str(exc), EXIT_INPUT, as_json)
        rules.append(RulePlan(metric, op, value, None, source=text))  # one URL: every threshold is about it
    if not any(r.metric == "error_rate" for r in rules):
        metric, op, value, _ = parse_threshold(DEFAULT_THRESHOLD)
        rules.append(RulePlan(metric, op, value, None, source=f"{DEFAULT_THRESHOLD} (default)"))
    hdrs = []
    for h in headers:
        if ":" not in h:
            _fail(f"header {h!r} is not 'Name: value'", EXIT_INPUT, as_json)
        k, v = h.split(":", 1)
        hdrs.append((k.strip(), v.strip()))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    why = reachable(parts.hostname or "", port, min(timeout, 5.0))
    if why is not None:
        _fail(f"target unreachable: {parts.hostname}:{port}: {why}", EXIT_UNREACHABLE, as_json)

    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    base = f"{parts.scheme}://{parts.netloc}"
    step = StepPlan(name="request", method=method.upper(), path=path, headers=tuple(hdrs), body=body)
    if rate is not None:
        phases = (PhasePlan("constant-arrival-rate", duration, rate=rate),)
        model = "open"
    else:
        phases = (PhasePlan("constant-vus", duration, vus=int(connections or 1)),)
        model = "closed"
    plan = Plan(base_url=base, scenarios=(ScenarioPlan("quick", 1, (step,)),), phases=phases, model=model,
                max_connections=connections or 1000, timeout=timeout, verify_tls=not insecure, ca_file=cacert,
                graceful_stop=min(timeout, 5.0), test_type="load")
    doc = run_quick(plan, shards, rules, progress=True)
    if not as_json:
        _print_human(doc)
    else:
        click.echo(json.dumps(doc, indent=None, sort_keys=False))
    if doc["unreachable"]:
        sys.exit(EXIT_UNREACHABLE)
    sys.exit(EXIT_THRESHOLD if any(not t["passed"] for t in doc["thresholds"]) else EXIT_OK)


def run_quick(plan: Any, shards: int, rules: list[Any], progress: bool = False) -> dict[str, Any]:
    """Run the plan (in this process for one shard) and build the JSON document. With ``progress``,
    the same live view as a campaign's load stage on stderr (``flows.progress``)."""
    from tasks.load.errors import CONNECT_KINDS
    from tasks.load.report import evaluate_rules
    from tasks.load.result import endpoint_table, merge_shards

    display = DISPLAY() if progress and DISPLAY is not None else None
    if display is not None:
        from tasks.load.live import run_streaming

        results = run_streaming(plan, shards, display)
    else:
        from tasks.load.engine import run_shard
        from tasks.load.runner import run_local

        results = [run_shard(plan)] if shards == 1 else run_local(plan, shards)
    merged = merge_shards(results)
    table = endpoint_table(merged)
    overall = table[-1]
    outcomes = evaluate_rules(merged, rules)
    kinds = overall["errors_by_kind"]
    unreachable = overall["requests"] > 0 and overall["errors"] == overall["requests"] and all(
        k in CONNECT_KINDS for k in kinds)
    if display is not None:
        from tasks.base import ProgressEvent

        status = "error" if unreachable else ("passed" if all(o.passed for o in outcomes) else "failed")
        display(ProgressEvent("quick", "load", "stage-end", f"load {status}", {"status": status}))
        display.close()
    return {
        "url": plan.base_url + plan.scenarios[0].steps[0].path, "model": plan.model,
        "duration_s": round(merged.elapsed, 3), "shards": len(results),
        "requests": overall["requests"], "errors": overall["errors"], "error_rate": overall["error_rate"],
        "rps": overall["rps"], "target_rate": _r(merged.target_rate), "achieved_rate": _r(merged.achieved_rate),
        "latency_ms": {k: overall[f"{k}_ms"] for k in ("min", "mean", "p50", "p90", "p95", "p99", "max")},
        "service_ms": overall["service_ms"], "errors_by_kind": kinds, "status_codes": overall["status_codes"],
        "dropped": merged.dropped, "late": merged.late, "interrupted": merged.interrupted,
        "connections_opened": merged.connections_opened,
        "generator": {"cpu_mean": merged.health.cpu_mean, "cpu_max": merged.health.cpu_max,
                      "sched_lag_p50_ms": round(merged.health.sched_lag_p50_s * 1000, 3),
                      "sched_lag_p99_ms": round(merged.health.sched_lag_p99_s * 1000, 3),
                      "loop_lag_max_ms": round(merged.health.loop_lag_max_s * 1000, 3)},
        "trustworthy": merged.trustworthy, "reasons": merged.reasons,
        "thresholds": [{"threshold": o.rule.source, "passed": o.passed, "observed": o.observed,
                        "detail": o.detail} for o in outcomes],
        "unreachable": unreachable,
    }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


def _print_human(doc: dict[str, Any]) -> None:
    lat = doc["latency_ms"]
    svc = doc["service_ms"]
    click.echo(f"{doc['url']}  {doc['model']} model, {doc['duration_s']}s, {doc['shards']} shard(s)")
    rate = f" (target {doc['target_rate']}/s, achieved {doc['achieved_rate']}/s)" if doc["target_rate"] else ""
    click.echo(f"  requests {doc['requests']}  errors {doc['errors']}  {doc['rps']} req/s{rate}")
    click.echo("  latency ms  " + "  ".join(f"{k} {lat[k]}" for k in ("mean", "p50", "p90", "p95", "p99", "max")))
    if doc["model"] == "open":
        click.echo("  service ms  " + "  ".join(f"{k} {svc[k]}" for k in ("mean", "p50", "p90", "p95", "p99", "max")))
    if doc["errors_by_kind"]:
        click.echo("  errors      " + ", ".join(f"{k}: {v}" for k, v in doc["errors_by_kind"].items()))
    if doc["dropped"] or doc["late"]:
        click.echo(f"  dropped {doc['dropped']}  late {doc['late']}")
    g = doc["generator"]
    click.echo(f"  generator   cpu {g['cpu_mean']:.0%} (max {g['cpu_max']:.0%}), send lag p99 {g['sched_lag_p99_ms']} ms")
    if not doc["trustworthy"]:
        click.echo("  NOT TRUSTWORTHY: " + "; ".join(doc["reasons"]))
    for t in doc["thresholds"]:
        click.echo(f"  {'ok  ' if t['passed'] else 'FAIL'} {t['threshold']}: {t['detail']}")


#: the name ``flows.cli`` registers into the ``perfcampaign`` group
load = load_command
