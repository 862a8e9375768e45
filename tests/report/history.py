"""A month of nights in a warehouse, written row by row: what the report and Slack tests read.

Three environments of campaign ``demo``: dev passes, but the generator could not vouch for two of
its nights (the latest one included: its numbers are *in doubt*); staging's ``product`` endpoint got
35 % slower four nights ago (vs last night, vs baseline, an open change point, a failing regression
gate), has a capacity estimate from a stress run, and its latest run also ran e2e journeys (Web
Vitals, friction, screenshots) and a chaos experiment; production ran readiness, smoke and load
(chaos refused) and has two mocked endpoints and a missing one. Only the columns the report reads
(and the NOT NULL ones) are written, so the tests keep working while others add columns.
"""

from __future__ import annotations

import math
import random
import struct
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
ENDPOINTS = {"list-products": 38.0, "product": 24.0, "create-order": 61.0, "courses": 45.0, "sign-in": 80.0}
ENVS = {"dev": ("dev", 1.0), "staging": ("staging", 1.15), "production": ("production", 1.3)}
MOCKED = {"production": ["predict-demand", "students"], "staging": ["predict-demand"], "dev": ["predict-demand"]}
MISSING = {"production": ["unread-count"], "staging": [], "dev": []}


def _run_id(env: str, night: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"perfcampaign-test/{env}/{night}"))


def _metrics(base: float, rnd: random.Random, factor: float, requests: int) -> dict[str, Any]:
    p50 = base * factor * rnd.uniform(0.95, 1.05)
    errors = int(requests * rnd.uniform(0.0005, 0.003))
    return {"requests": requests, "errors": errors, "error_rate": errors / requests, "rps": requests / 50.0,
            "mean_ms": p50 * 1.15, "min_ms": p50 * 0.3, "p50_ms": p50, "p90_ms": p50 * 1.7, "p95_ms": p50 * 2.1,
            "p99_ms": p50 * 3.4, "max_ms": p50 * 6.0,
            "errors_by_kind": {"status_5xx": errors - errors // 3, "timeout": errors // 3} if errors else {},
            "status_codes": {"200": requests - errors, "503": errors - errors // 3} if errors else {"200": requests}}


def _gate(stage: str, name: str, passed: bool, observed: Any = None, limit: Any = None, endpoint: str | None = None,
          detail: str = "") -> dict[str, Any]:
    return {"stage": stage, "name": name, "passed": passed, "observed": observed, "limit": limit,
            "endpoint": endpoint, "detail": detail}


DOUBT = "event loop stalled for up to 176 ms"
REGRESSION = ("product p95 {value:.1f} ms: +31% vs last night (p=0.00041, within-run); +35% vs baseline (p=0.0021, "
              "between-nights); change point +35% since {since} (4 nights)")


def _png(path: Path, colour: tuple[int, int, int] = (9, 105, 218)) -> str:
    """A small real PNG (a 64×40 block of colour) standing for a browser screenshot."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    width, height = 64, 40
    raw = b"".join(b"\x00" + bytes(colour) * width for _ in range(height))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return str(path)


def _e2e_summary(shots: Path) -> dict[str, Any]:
    dashboard, error = _png(shots / "shop" / "03-dashboard.png"), _png(shots / "shop" / "04-error.png", (207, 34, 46))
    vitals = {"LCP": (2140.0, "ms", "good"), "CLS": (0.18, "score", "needs-improvement"), "FCP": (820.0, "ms", "good"),
              "TTFB": (95.0, "ms", "good")}
    return {"journeys": [
        {"name": "shop", "kind": "browser", "status": "passed", "duration_ms": 4210.0, "error": None,
         "steps": [{"index": 0, "action": "start"}, {"index": 1, "action": "fill"}, {"index": 2, "action": "click"}],
         "web_vitals": [{"page": 0, "url": "/app/", "step_index": 0,
                         "metrics": {m: {"value": v, "unit": u, "rating": r} for m, (v, u, r) in vitals.items()}}],
         "friction": [{"type": "missing_api", "severity": "high", "title": "GET /notifications/unread-count "
                       "answered 404", "key": "missing_api:GET /notifications/unread-count",
                       "endpoint": "unread-count", "page_url": "/app/", "screenshot": error, "evidence": {"status": 404}},
                      {"type": "error_message", "severity": "medium", "title": "the page shows "
                       "'Could not load notifications'", "key": "error_message:/app/:Could not load notifications",
                       "page_url": "/app/", "screenshot": error,
                       "evidence": {"caused_by": "missing_api:GET /notifications/unread-count"}}],
         "screenshots": [dashboard, error], "network": {"requests": 14, "failed": 1}, "console_errors": 1},
        {"name": "shopper", "kind": "api", "status": "passed", "duration_ms": 312.0, "error": None,
         "steps": [{"index": 0, "action": "request"}] * 6, "web_vitals": [], "friction": [], "screenshots": [],
         "network": {"requests": 6, "failed": 0}, "console_errors": 0}],
        "passed": 2, "failed": 0, "friction": {"missing_api": 1, "error_message": 1},
        "poor_web_vitals": {}, "screenshots_dir": str(shots)}


def _chaos_summary() -> dict[str, Any]:
    return {"experiments": [
        {"name": "slow-database", "status": "passed", "target": "dependency",
         "impact": {"delta_p95_ms": 212.4, "delta_p50_ms": 96.0, "delta_error_rate": 0.004,
                    "fault": {"error_rate": 0.006}},
         "time_to_detect_s": 3.0, "recovered": True, "recovery_time_s": 2.0, "recovery_bound_s": 10.0, "score": 83.0,
         "degradation": "graceful", "error": None, "faults": [{"type": "latency", "fraction": 1.0}],
         "rollbacks": [{"name": "remove faults", "status": "ok", "error": None}]}],
        "score": 83.0, "dry_run": False, "passed": 1, "failed": 0, "notes": []}


def seed_history(store: Any, nights: int = 30, campaign_file: str | None = None,
                 now: datetime = NOW, shots: Path | None = None) -> dict[str, Any]:
    """Write ``nights`` nights per environment; return the latest runs' document, as the warehouse's reader
    rebuilds it. ``shots``: a folder for the e2e journeys' screenshots (no e2e stage without it)."""
    rnd = random.Random(20261120)
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in (
        "runs", "stage_results", "endpoint_metrics", "load_timeseries", "readiness_checks", "smoke_checks",
        "backlog_items", "change_points", "baselines", "trends", "capacity_estimates", "load_runs")}
    doc_envs: dict[str, Any] = {}
    for env, (kind, factor) in ENVS.items():
        for night in range(nights):
            started = now - timedelta(days=nights - 1 - night, hours=5 - list(ENVS).index(env) * 0.5)
            finished = started + timedelta(minutes=3)
            run_id = _run_id(env, night)
            latest = night == nights - 1
            stress = env == "staging" and night == nights - 8
            rows["runs"].append({
                "run_id": run_id, "campaign": "demo", "environment": env, "env_kind": kind, "started_at": started,
                "finished_at": finished, "status": "passed", "trigger": "schedule",
                "flow_run_id": "0b7e3c2a-5d1f-4c8e-9a6b-2f4d8e1c7a90" if latest else None,
                "campaign_sha256": "0" * 64, "campaign_file": campaign_file,
                "stages": ["readiness", "smoke", "load"] + ([] if kind == "production" else ["chaos"]),
                "test_type": "stress" if stress else "load", "base_url": f"http://127.0.0.1:81{list(ENVS).index(env):02d}",
                "exclude_from_analysis": env == "dev" and night == 12,
                "exclude_reason": "generator host overloaded" if env == "dev" and night == 12 else None})
            total = 0
            overall_p95 = []
            load_gates = []
            for name, base in ENDPOINTS.items():
                slow = 1.35 if env == "staging" and name == "product" and night >= nights - 4 else 1.0
                wave = 1 + 0.03 * math.sin(night / 3)
                requests = rnd.randint(900, 1400)
                m = _metrics(base, rnd, factor * slow * wave, requests)
                total += requests
                overall_p95.append(m["p95_ms"])
                rows["endpoint_metrics"].append({"run_id": run_id, "stage": "load", "endpoint": name, "method": "GET",
                                                 **m})
            o = _metrics(sum(ENDPOINTS.values()) / len(ENDPOINTS), rnd, factor, total)
            o["p95_ms"] = sorted(overall_p95)[-2]
            rows["endpoint_metrics"].append({"run_id": run_id, "stage": "load", "endpoint": "_overall", **o})
            doubtful = env == "dev" and night in (nights - 10, nights - 1)
            rows["load_runs"].append({"run_id": run_id, "test_type": "stress" if stress else "load", "model": "open",
                                      "engine": "builtin", "shards": 1, "started_at": started, "finished_at": finished,
                                      "trustworthy": not doubtful, "reasons": [DOUBT] if doubtful else []})
            load_gates = [_gate("load", "p(95)<300", o["p95_ms"] < 300, round(o["p95_ms"], 1), "< 300"),
                          _gate("load", "error_rate<1%", o["error_rate"] < 0.01, round(o["error_rate"], 5), "< 0.01")]
            readiness_summary = {"verdicts": {"real": 20 - len(MOCKED[env]) - len(MISSING[env]),
                                              "mock": len(MOCKED[env]), "missing": len(MISSING[env])},
                                 "mocked": MOCKED[env], "missing": MISSING[env],
                                 "blocked": {e: "mock (95%)" for e in MOCKED[env]}}
            smoke_gates = [_gate("smoke", f"smoke {n}", True, 200, [200], n) for n in ENDPOINTS]
            analysis_gates: list[dict[str, Any]] = []
            analysis_summary: dict[str, Any] = {}
            if latest and env == "staging":
                detail = REGRESSION.format(value=71.6, since=f"{(now - timedelta(days=3)):%Y-%m-%d}")
                analysis_gates = [_gate("analysis", "regression p95", False, 71.6, 53.1, "product", detail)]
                analysis_summary = {"nights": nights, "comparison": {
                    "trusted": True, "nights": nights, "headline": detail,
                    "methods": [{"method": "within-run", "nights_needed": 2, "nights_available": nights},
                                {"method": "between-nights", "nights_needed": 3, "nights_available": nights},
                                {"method": "change-point", "nights_needed": 6, "nights_available": nights}],
                    "series": [{"endpoint": "product", "metric": "p95_ms", "unit": "ms", "value": 71.6,
                                "vs_previous": {"reference": "previous", "method": "within-run", "value": 71.6,
                                                "reference_value": 54.7, "rel_change": 0.309, "p_value": 0.00041,
                                                "significant": True, "direction": "regression"},
                                "vs_baseline": {"reference": "baseline", "method": "between-nights", "value": 71.6,
                                                "reference_value": 53.1, "rel_change": 0.348, "p_value": 0.0021,
                                                "significant": True, "direction": "regression"},
                                "judged_by": "change-point", "detail": detail}]}}
            elif latest:
                analysis_gates = [_gate("analysis", "no fresh regression", True, 0, 0,
                                        detail="no change point in the bad direction began in the last 7 nights")]
            stage_rows = {
                "readiness": ("passed", readiness_summary, []),
                "smoke": ("passed", {"checked": 20, "passed": 5, "failed": 0, "not_gating": MOCKED[env]}, smoke_gates),
                "load": ("passed" if all(g["passed"] for g in load_gates) else "failed",
                         {"test_type": "stress" if stress else "load", "rps": o["rps"], "requests": o["requests"],
                          "errors": o["errors"], "error_rate": o["error_rate"],
                          "trustworthy": not doubtful, "reasons": [DOUBT] if doubtful else [],
                          "excluded": {e: "mock (95%)" for e in MOCKED[env]},
                          "latency_ms": {"mean": o["mean_ms"], "p50": o["p50_ms"], "p95": o["p95_ms"],
                                         "p99": o["p99_ms"], "max": o["max_ms"]}}, load_gates),
            }
            if latest and env == "staging" and shots is not None:
                stage_rows["e2e"] = ("passed", _e2e_summary(shots), [
                    _gate("e2e", "journey shop", True, "passed", "passed"),
                    _gate("e2e", "journey shopper", True, "passed", "passed")])
            if analysis_gates:
                stage_rows["analysis"] = ("failed" if not all(g["passed"] for g in analysis_gates) else "passed",
                                          analysis_summary, analysis_gates)
            if kind == "production":
                stage_rows["chaos"] = ("refused", {"reason": "chaos never runs in a production environment"}, [])
            elif latest and env == "staging":
                stage_rows["chaos"] = ("passed", _chaos_summary(), [
                    _gate("chaos", "slow-database: steady state before the method", True, "holds", "tolerances"),
                    _gate("chaos", "slow-database: recovered within 10 s", True, 2.0, "<= 10"),
                    _gate("chaos", "slow-database: resilience score >= 70", True, 83.0, ">= 70")])
            else:
                stage_rows["chaos"] = ("skipped", {"reason": "the campaign has no chaos section"}, [])
            status = "failed" if any(s == "failed" for s, _, _ in stage_rows.values()) else "passed"
            rows["runs"][-1]["status"] = status
            env_stages = {}
            for stage, (stage_status, summary, gates) in stage_rows.items():
                rows["stage_results"].append({"run_id": run_id, "stage": stage, "status": stage_status,
                                              "started_at": started, "finished_at": finished,
                                              "summary": summary, "gates": gates, "error": None})
                env_stages[stage] = {"stage": stage, "status": stage_status, "summary": summary, "gates": gates,
                                     "error": None, **({"reason": summary["reason"]} if "reason" in summary else {})}
            if latest:
                doc_envs[env] = {"run_id": run_id, "kind": kind, "base_url": rows["runs"][-1]["base_url"],
                                 "status": status, "error": None, "stages": env_stages,
                                 "gates": [g for s in env_stages.values() for g in s["gates"]]}
                _latest_rows(rows, env, run_id, started, o, rnd)
    _analytics_rows(rows, nights, now)
    for run in rows["runs"]:
        run.update(team="platform", trust_policy="warn")
    store.write_rows(rows)
    return store.document(campaign="demo")


def _latest_rows(rows: dict[str, list[dict[str, Any]]], env: str, run_id: str, started: datetime,
                 overall: dict[str, Any], rnd: random.Random) -> None:
    for second in range(60):
        rate = min(40.0, 5 + second * 3.5)
        p50 = overall["p50_ms"] * (1 + 0.4 * max(0, second - 40) / 20) * rnd.uniform(0.9, 1.1)
        errors = rnd.choice([0, 0, 0, 1]) if second > 30 else 0
        rows["load_timeseries"].append({
            "run_id": run_id, "shard": -1, "second": second, "endpoint": "_overall", "requests": int(rate),
            "errors": errors, "rps": rate * rnd.uniform(0.97, 1.0), "p50_ms": p50, "p95_ms": p50 * 2.1,
            "p99_ms": p50 * 3.3, "target_rate": rate, "vus": int(rate / 4) + 1, "in_flight": int(rate / 8)})
    for i, name in enumerate(["health", "list-products", "product", "create-order", "courses", "sign-in",
                              *MOCKED[env], *MISSING[env]]):
        verdict = "mock" if name in MOCKED[env] else "missing" if name in MISSING[env] else "real"
        evidence = {"mock": [{"signal": "constant-latency", "points_to": "mock", "weight": 0.7,
                              "detail": "5 samples within 1.7% of 126 ms while other requests took 7 ms"}],
                    "missing": [{"signal": "status-501", "points_to": "missing", "weight": 0.9,
                                 "detail": f"GET /api/{name} answered 501"}],
                    "real": [{"signal": "depends-on-input", "points_to": "real", "weight": 0.8,
                              "detail": "a different id got a different answer"}]}[verdict]
        rows["readiness_checks"].append({
            "run_id": run_id, "endpoint": name, "method": "GET", "url": f"http://127.0.0.1/api/{name}",
            "verdict": verdict, "confidence": 0.9 if verdict != "real" else 0.8,
            "status_code": 501 if verdict == "missing" else 200, "requests": 5, "evidence": evidence,
            "checked_at": started})
        if verdict != "real":
            rows["backlog_items"].append({
                "key": f"readiness:{verdict}:{name}", "campaign": "demo", "environment": env,
                "kind": "mock_data" if verdict == "mock" else "missing_api",
                "title": (f"Replace the mock behind {name} with the real implementation" if verdict == "mock"
                          else f"Implement GET /api/{name} ({name})"),
                "priority": "high" if verdict == "missing" else "medium",
                "effort": "3-5 days" if verdict == "missing" else "1-2 days", "endpoint": name,
                "evidence": [e["detail"] for e in evidence], "status": "open",
                "first_seen": started - timedelta(days=20 - i), "last_seen": started, "first_run_id": run_id,
                "last_run_id": run_id, "times_seen": 20 - i})
    rows["smoke_checks"].append({"run_id": run_id, "endpoint": "predict-demand", "method": "POST",
                                 "url": "http://127.0.0.1/api/retail-ai/predict-demand", "status_code": 200,
                                 "latency_ms": 126.0, "passed": False, "gating": False,
                                 "failures": ["answer does not depend on the request"], "checked_at": started})


def _analytics_rows(rows: dict[str, list[dict[str, Any]]], nights: int, now: datetime) -> None:
    metrics = {(m["run_id"], m["endpoint"]): m for m in rows["endpoint_metrics"]}
    runs = {r["run_id"]: r for r in rows["runs"]}
    for env in ENVS:
        for endpoint in [*ENDPOINTS, "_overall"]:
            values = sorted(metrics[(_run_id(env, n), endpoint)]["p95_ms"] for n in range(min(nights, 14)))
            center = values[len(values) // 2]
            spread = (values[-2] - values[1]) / 4 or 1.0
            rows["baselines"].append({
                "campaign": "demo", "environment": env, "test_type": "load", "endpoint": endpoint, "metric": "p95_ms",
                "version": 1, "center": center, "spread": spread, "band_lower": center - 3 * spread,
                "band_upper": center + 3 * spread, "nights": 14, "first_run_id": _run_id(env, 0),
                "last_run_id": _run_id(env, 13), "valid_from": runs[_run_id(env, 0)]["started_at"], "valid_to": None,
                "reason": "established", "created_at": now})
    cp_run = _run_id("staging", nights - 4)
    before = metrics[(_run_id("staging", nights - 5), "product")]["p95_ms"]
    after = metrics[(cp_run, "product")]["p95_ms"]
    rows["change_points"].append({
        "campaign": "demo", "environment": "staging", "test_type": "load", "endpoint": "product", "metric": "p95_ms",
        "run_id": cp_run, "night": runs[cp_run]["started_at"], "direction": "regression", "before_value": before,
        "after_value": after, "abs_change": after - before, "rel_change": (after - before) / before, "t_stat": 9.3,
        "p_value": 1.2e-5, "drift": False, "nights_after": 4, "status": "open", "detected_at": now,
        "detected_run_id": _run_id("staging", nights - 1), "last_seen_at": now})
    for env in ENVS:
        last = metrics[(_run_id(env, nights - 1), "_overall")]["p95_ms"]
        rows["trends"].append({
            "campaign": "demo", "environment": env, "test_type": "load", "endpoint": "_overall", "metric": "p95_ms",
            "run_id": _run_id(env, nights - 1), "night": runs[_run_id(env, nights - 1)]["started_at"],
            "nights": nights, "value": last, "median_7": last * 0.98, "median_30": last * 0.97, "change_7": 0.02,
            "change_30": 0.03, "slope_per_night": 0.4 if env == "staging" else 0.05, "slope_t": 2.5,
            "threshold": 300.0, "nights_to_threshold": (300 - last) / (0.4 if env == "staging" else 0.05),
            "forecast_crossing": None, "computed_at": now})
    stress = _run_id("staging", nights - 8)
    rows["capacity_estimates"].append({
        "run_id": stress, "endpoint": "_overall", "points": 9, "usl_lambda": 42.0, "usl_sigma": 0.04,
        "usl_kappa": 0.0006, "r_squared": 0.97, "rmse": 11.0, "mape": 0.04, "peak_concurrency": 39.2,
        "peak_throughput": 712.0, "slo_metric": "p95_ms", "slo_limit_ms": 300.0, "slo_break_concurrency": 28.0,
        "slo_break_throughput": 640.0, "slo_break_source": "observed", "detail": {}, "computed_at": now})
