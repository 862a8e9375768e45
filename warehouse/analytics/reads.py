"""Every SQL statement the analytics runs, in one place (to move into the warehouse's repository).

Each function takes the store (``warehouse.store.Warehouse``: ``query`` → polars, ``fetchall``) and
returns a polars frame or plain values; nothing here computes. The pure analytics
(:mod:`.nightly`, :mod:`.regressions`, :mod:`.baselines`, :mod:`.trends`) never see SQL, and
:mod:`.service` composes the two.

A night is *trusted* when the run was not excluded by hand, did not end in ``error`` /
``interrupted`` / ``crashed``, and its load stage vouched for its numbers
(``load_runs.trustworthy``); :func:`history` returns every night with that flag and the reason,
so nothing is dropped without a word.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl

UNFINISHED = ("error", "interrupted", "crashed")

_SCHEMA_SEEN: dict[tuple[str, str, str | None], bool] = {}


def has_table(store: Any, table: str, column: str | None = None) -> bool:
    """Whether the warehouse has ``table`` (and ``column``); a yes is remembered (tables are only added)."""
    key = (str(store.path), table, column)
    if _SCHEMA_SEEN.get(key):
        return True
    sql = "SELECT count(*) FROM information_schema.columns WHERE table_name = ?"
    params: list[Any] = [table]
    if column:
        sql += " AND column_name = ?"
        params.append(column)
    found = bool(store.fetchall(sql, params)[0][0])
    if found:
        _SCHEMA_SEEN[key] = True
    return found


def scope(campaign: str | None, environment: str | None, alias: str = "r") -> tuple[str, list[Any]]:
    clauses, params = [], []
    if campaign is not None:
        clauses.append(f"{alias}.campaign = ?")
        params.append(campaign)
    if environment is not None:
        clauses.append(f"{alias}.environment = ?")
        params.append(environment)
    return (" AND ".join(clauses) or "TRUE"), params


def groups_scope(groups: Sequence[tuple[str, str]], alias: str = "r") -> tuple[str, list[Any]]:
    """``(campaign, environment) IN (…)`` for several groups."""
    if not groups:
        return "FALSE", []
    marks = ", ".join("(?, ?)" for _ in groups)
    return f"({alias}.campaign, {alias}.environment) IN ({marks})", [v for g in groups for v in g]


def history(store: Any, where: tuple[str, list[Any]], *, since: datetime | None, metrics: Sequence[str]
            ) -> pl.DataFrame:
    """Wide nightly rows (one per run × endpoint, stage ``load``) with ``trusted`` and ``reason``."""
    clause, params = where
    params = list(params)
    load_join, test_type, untrusted = "", "COALESCE(r.test_type, 'load')", "FALSE"
    reasons = "NULL"
    if has_table(store, "load_runs", "trustworthy"):
        load_join = "LEFT JOIN load_runs l ON l.run_id = r.run_id"
        test_type = "COALESCE(l.test_type, r.test_type, 'load')"
        untrusted = "NOT COALESCE(l.trustworthy, TRUE)"
        reasons = "array_to_string(CAST(l.reasons AS VARCHAR[]), '; ')"
    if since is not None:
        clause += " AND r.started_at >= ?"
        params.append(since)
    unfinished = ", ".join(f"'{s}'" for s in UNFINISHED)
    cols = ", ".join(f"m.{m}" for m in metrics)
    return store.query(
        f"SELECT r.campaign, r.environment, {test_type} AS test_type, m.endpoint, r.run_id, r.started_at AS night, "
        f"NOT (r.exclude_from_analysis OR r.status IN ({unfinished}) OR {untrusted}) AS trusted, "
        f"CASE WHEN r.exclude_from_analysis THEN 'excluded by hand: ' || COALESCE(r.exclude_reason, '') "
        f"WHEN r.status IN ({unfinished}) THEN 'run ended ' || r.status "
        f"WHEN {untrusted} THEN 'untrustworthy load: ' || COALESCE({reasons}, '') END AS reason, {cols} "
        f"FROM endpoint_metrics m JOIN runs r ON r.run_id = m.run_id {load_join} "
        f"WHERE m.stage = 'load' AND {clause}", params)


def excluded_runs(store: Any, campaign: str | None = None, environment: str | None = None) -> pl.DataFrame:
    """Runs left out of the analysis, with why: by hand (``exclude_reason``) or untrustworthy load."""
    where, params = scope(campaign, environment)
    untrusted = ""
    if has_table(store, "load_runs", "trustworthy"):
        untrusted = (" UNION ALL SELECT r.run_id, r.campaign, r.environment, r.started_at, "
                     "'untrustworthy load: ' || COALESCE(array_to_string(CAST(l.reasons AS VARCHAR[]), '; '), '') "
                     f"FROM runs r JOIN load_runs l ON l.run_id = r.run_id WHERE NOT l.trustworthy AND {where}")
        params = params + params
    return store.query(
        "SELECT r.run_id, r.campaign, r.environment, r.started_at, r.exclude_reason AS reason FROM runs r "
        f"WHERE r.exclude_from_analysis AND {where}{untrusted} ORDER BY 4", params)


def scoped(store: Any, table: str, where: tuple[str, list[Any]], extra: str = "") -> pl.DataFrame:
    """Rows of an analytics table (``change_points``, ``baselines``…) for a scope (alias ``t``)."""
    clause, params = where
    return store.query(f"SELECT * FROM {table} t WHERE {clause} {extra}", params)


def run(store: Any, run_id: str) -> dict[str, Any] | None:
    """The run's ``runs`` row plus its load stage's ``trustworthy`` and ``reasons`` (a list)."""
    if has_table(store, "load_runs", "trustworthy"):
        rows = store.query("SELECT r.*, l.trustworthy AS load_trustworthy, l.test_type AS load_test_type, "
                           "CAST(l.reasons AS VARCHAR[]) AS load_reasons FROM runs r "
                           "LEFT JOIN load_runs l ON l.run_id = r.run_id WHERE r.run_id = ?", [run_id]).to_dicts()
    else:
        rows = store.query("SELECT * FROM runs WHERE run_id = ?", [run_id]).to_dicts()
    return rows[0] if rows else None


def run_metrics(store: Any, run_id: str) -> pl.DataFrame:
    return store.query("SELECT * FROM endpoint_metrics WHERE run_id = ? AND stage = 'load'", [run_id])


def seconds(store: Any, run_ids: Sequence[str]) -> pl.DataFrame:
    """Per-second rows (merged shards) of ``run_ids``, each with the generator's worst lag that second
    (``_overall``'s ``loop_lag_ms`` / ``sched_lag_ms``)."""
    if not run_ids or not has_table(store, "load_timeseries"):
        return pl.DataFrame()
    marks = ", ".join("?" for _ in run_ids)
    return store.query(
        "SELECT t.run_id, t.endpoint, CAST(t.second AS BIGINT) AS second, t.requests, t.errors, t.p50_ms, t.p95_ms, "
        "t.p99_ms, greatest(COALESCE(o.loop_lag_ms, 0), COALESCE(o.sched_lag_ms, 0)) AS generator_lag_ms "
        "FROM load_timeseries t LEFT JOIN load_timeseries o ON o.run_id = t.run_id AND o.shard = t.shard "
        "AND o.second = t.second AND o.endpoint = '_overall' "
        f"WHERE t.run_id IN ({marks}) AND t.shard = -1", list(run_ids))


def regression_flags(store: Any, campaign: str, environment: str, test_type: str,
                     since: datetime | None = None) -> pl.DataFrame:
    """Nights of the group (since ``since``) judged a significant regression against their baseline,
    with when."""
    if not has_table(store, "night_comparisons"):
        return pl.DataFrame(schema={"run_id": pl.String, "endpoint": pl.String, "metric": pl.String,
                                    "computed_at": pl.Datetime("us", "UTC")})
    params: list[Any] = [campaign, environment, test_type]
    bound = ""
    if since is not None:
        bound = " AND night >= ?"
        params.append(since)
    return store.query("SELECT run_id, endpoint, metric, computed_at FROM night_comparisons WHERE campaign = ? "
                       "AND environment = ? AND test_type = ? AND reference = 'baseline' AND significant "
                       f"AND direction = 'regression'{bound}", params)


def overall_timeseries(store: Any, run_id: str, overall: str) -> pl.DataFrame:
    """The run's ``_overall`` per-second rows (merged shards, or summed over shards when not merged)."""
    if not has_table(store, "load_timeseries"):
        return pl.DataFrame()
    ts = store.query("SELECT * FROM load_timeseries WHERE run_id = ? AND shard = -1 AND endpoint = ? ORDER BY second",
                     [run_id, overall])
    if ts.is_empty():
        ts = store.query("SELECT second, endpoint, sum(requests) AS requests, sum(errors) AS errors, "
                         "sum(rps) AS rps, max(p95_ms) AS p95_ms, sum(in_flight) AS in_flight, sum(vus) AS vus "
                         "FROM load_timeseries WHERE run_id = ? AND endpoint = ? GROUP BY 1, 2 ORDER BY 1",
                         [run_id, overall])
    return ts


def metric_samples(store: Any, run_id: str) -> pl.DataFrame:
    return store.query("SELECT * FROM metric_samples WHERE run_id = ? ORDER BY scraped_at", [run_id])


def fingerprints(store: Any, where: tuple[str, list[Any]] = ("TRUE", [])) -> dict[tuple[str, str], str]:
    """Per campaign × environment: what its analysis depends on in ``runs`` (eligible runs, runs
    excluded by hand, the newest night), as a string."""
    clause, params = where
    unfinished = ", ".join(f"'{s}'" for s in UNFINISHED)
    rows = store.fetchall(
        f"SELECT r.campaign, r.environment, count(*) FILTER (WHERE r.status NOT IN ({unfinished})), "
        "count(*) FILTER (WHERE r.exclude_from_analysis), CAST(max(r.started_at) AS VARCHAR) "
        f"FROM runs r WHERE {clause} GROUP BY 1, 2", params)
    return {(c, e): f"{n}|{x}|{last}" for c, e, n, x, last in rows}


def analysis_state(store: Any) -> dict[tuple[str, str], str]:
    if not has_table(store, "analysis_state"):
        return {}
    return {(c, e): f for c, e, f in store.fetchall("SELECT campaign, environment, fingerprint FROM analysis_state")}


def latest_night_comparisons(store: Any, where: tuple[str, list[Any]], *, since: datetime | None = None,
                             significant_only: bool = True, directions: Sequence[str] = ("regression",)
                             ) -> pl.DataFrame:
    """The newest judged night of each campaign × environment × test type (alias ``n``): its
    comparisons vs last night and vs baseline (the significant ones in ``directions`` by default)."""
    if not has_table(store, "night_comparisons"):
        return pl.DataFrame()
    clause, params = where
    params = list(params)
    extra = ""
    if since is not None:
        extra += " AND n.night >= ?"
        params.append(since)
    if significant_only:
        extra += " AND n.significant"
    if directions:
        extra += f" AND n.direction IN ({', '.join('?' for _ in directions)})"
        params += list(directions)
    return store.query(
        "SELECT n.* FROM night_comparisons n WHERE n.run_id IN (SELECT arg_max(run_id, night) FROM night_comparisons "
        f"GROUP BY campaign, environment, test_type) AND {clause}{extra} "
        "ORDER BY n.campaign, n.environment, n.endpoint, n.metric, n.reference DESC", params)
