"""Helpers for the analytics tests: real DuckDB files in tmp_path, built through ``Warehouse``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from warehouse.store import Warehouse

START = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # a Monday
OVERALL_NAME = "_overall"


def night(i: int) -> datetime:
    return START + timedelta(days=i)


class Nights:
    """Writes one run per night with load metrics per endpoint (p95 given; the rest derived)."""

    def __init__(self, store: Warehouse, campaign: str = "shop", environment: str = "staging"):
        self.store = store
        self.campaign = campaign
        self.environment = environment
        self.run_ids: list[str] = []

    def rows(self, p95: dict[str, float], *, day: int | None = None, test_type: str = "load",
             status: str = "passed", trustworthy: bool | None = True, error_rate: float = 0.001,
             rps: float = 100.0, excluded: str | None = None, run_id: str | None = None,
             extra: dict[str, dict[str, Any]] | None = None, seconds: dict[str, Any] | None = None,
             lag_ms: Any = None) -> dict[str, list[dict[str, Any]]]:
        """One night. ``seconds`` maps an endpoint to its per-second p95 (``load_timeseries``, p50 and
        p99 derived, 50 requests a second); ``lag_ms`` the generator's lag each second."""
        run_id = run_id or str(uuid.uuid4())
        day = len(self.run_ids) if day is None else day
        rows = {"runs": [{"run_id": run_id, "campaign": self.campaign, "environment": self.environment,
                          "env_kind": "staging", "started_at": night(day), "status": status, "trigger": "test",
                          "campaign_sha256": "0" * 64, "test_type": test_type,
                          "exclude_from_analysis": excluded is not None, "exclude_reason": excluded}],
                "load_runs": [], "endpoint_metrics": []}
        if trustworthy is not None:
            rows["load_runs"] = [{"run_id": run_id, "test_type": test_type, "model": "open", "engine": "builtin",
                                  "shards": 1, "started_at": night(day), "finished_at": night(day) + timedelta(minutes=5),
                                  "trustworthy": trustworthy,
                                  "reasons": [] if trustworthy else ["generator CPU saturated"]}]
        for endpoint, value in p95.items():
            row = {"run_id": run_id, "stage": "load", "endpoint": endpoint, "method": "GET", "requests": 1000,
                   "errors": int(error_rate * 1000), "error_rate": error_rate, "rps": rps, "mean_ms": value * 0.6,
                   "p50_ms": value * 0.5, "p95_ms": value, "p99_ms": value * 1.3, "max_ms": value * 2}
            row.update((extra or {}).get(endpoint, {}))
            rows["endpoint_metrics"].append(row)
        if seconds:
            rows["load_timeseries"] = []
            n = len(next(iter(seconds.values())))
            lags = list(lag_ms) if lag_ms is not None else [1.0] * n
            for endpoint, values in seconds.items():
                for i, v in enumerate(values):
                    rows["load_timeseries"].append({
                        "run_id": run_id, "shard": -1, "second": i, "endpoint": endpoint, "requests": 50,
                        "errors": 0, "rps": 50.0, "p50_ms": float(v) * 0.5, "p95_ms": float(v),
                        "p99_ms": float(v) * 1.3})
            if OVERALL_NAME not in seconds:
                rows["load_timeseries"] += [{"run_id": run_id, "shard": -1, "second": i, "endpoint": OVERALL_NAME,
                                             "requests": 50 * len(seconds), "errors": 0, "loop_lag_ms": lags[i],
                                             "sched_lag_ms": 0.0} for i in range(n)]
            else:
                for r in rows["load_timeseries"]:
                    if r["endpoint"] == OVERALL_NAME:
                        r.update(loop_lag_ms=lags[r["second"]], sched_lag_ms=0.0)
        self.run_ids.append(run_id)
        return rows

    def add(self, p95: dict[str, float], **kwargs: Any) -> str:
        """One night, written now."""
        self.store.write_rows(self.rows(p95, **kwargs))
        return self.run_ids[-1]

    def add_many(self, nights: list[dict[str, float]], **kwargs: Any) -> list[str]:
        """Several nights in one transaction (a DuckDB file costs an open per transaction)."""
        merged: dict[str, list[dict[str, Any]]] = {}
        first = len(self.run_ids)
        for p95 in nights:
            for table, rows in self.rows(p95, **kwargs).items():
                merged.setdefault(table, []).extend(rows)
        self.store.write_rows(merged)
        return self.run_ids[first:]

    def series(self, values: dict[str, list[float]], **kwargs: Any) -> list[str]:
        n = len(next(iter(values.values())))
        return self.add_many([{ep: float(v[i]) for ep, v in values.items()} for i in range(n)], **kwargs)


@pytest.fixture
def store(tmp_path) -> Warehouse:
    return Warehouse(tmp_path / "warehouse.duckdb")


@pytest.fixture
def nights(store) -> Nights:
    return Nights(store)


@pytest.fixture
def noise() -> Callable[..., np.ndarray]:
    rng = np.random.default_rng(20250303)

    def make(n: int, level: float = 100.0, sigma: float = 0.02) -> np.ndarray:
        return level * (1 + rng.normal(0, sigma, n))
    return make
