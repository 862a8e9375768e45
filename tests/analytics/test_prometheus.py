"""Pushgateway round trip: Debian's prometheus-pushgateway started here, a run pushed, /metrics read back."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tasks.load import histogram as H
from warehouse.prometheus import bucket_counts, delete_run, push_run, push_run_from_store
from warehouse.store import Warehouse

BINARY = shutil.which("prometheus-pushgateway") or "/usr/bin/prometheus-pushgateway"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    if not shutil.which(BINARY):  # `make test` installs it (scripts/system-deps.sh): a missing one is a failure
        pytest.fail("prometheus-pushgateway is not installed (make setup installs it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path_factory.mktemp("pushgateway")
    proc = subprocess.Popen([BINARY, f"--web.listen-address=127.0.0.1:{port}",
                             f"--persistence.file={data / 'metrics.store'}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("prometheus-pushgateway did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def histoblob(latencies_ms):
    hist = H.new_histogram()
    H.record_batch(hist, (np.asarray(latencies_ms) * 1000).astype(np.int64))
    return H.encode(hist)


RUN = {"run_id": "7f0c2c1e-0000-4000-8000-000000000001", "campaign": "shop", "environment": "staging",
       "started_at": datetime(2025, 3, 3, 2, 0, tzinfo=UTC), "status": "passed"}


def endpoint_rows():
    fast = [3.0] * 90 + [40.0] * 9 + [900.0]
    return [{"endpoint": "list-products", "method": "GET", "requests": 100, "errors": 2, "error_rate": 0.02,
             "rps": 50.0, "mean_ms": float(np.mean(fast)), "p50_ms": 3.0, "p95_ms": 40.0, "p99_ms": 40.0,
             "histogram": histoblob(fast)},
            {"endpoint": "_overall", "method": None, "requests": 100, "errors": 2, "error_rate": 0.02, "rps": 50.0,
             "mean_ms": float(np.mean(fast)), "p50_ms": 3.0, "p95_ms": 40.0, "p99_ms": 40.0, "histogram": None}]


def scrape(url):
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


def find(samples, name, **labels):
    return [v for (n, ls), v in samples.items() if n == name and labels.items() <= dict(ls).items()]


def test_bucket_counts_of_a_histoblob():
    buckets = dict(bucket_counts(histoblob([3.0] * 90 + [40.0] * 9 + [900.0])))
    assert buckets["0.005"] == 90 and buckets["0.05"] == 99 and buckets["1.0"] == 100 and buckets["+Inf"] == 100
    assert bucket_counts(None) is None


def test_a_run_pushed_and_read_back(gateway):
    key = push_run(gateway, RUN, endpoint_rows(), "failed")
    assert key == {"campaign": "shop", "environment": "staging", "run": RUN["run_id"]}
    got = scrape(gateway)
    group = {"job": "perfcampaign", "campaign": "shop", "environment": "staging", "run": RUN["run_id"]}
    assert find(got, "http_request_duration_seconds_bucket", le="0.005", endpoint="list-products", **group) == [90]
    assert find(got, "http_request_duration_seconds_bucket", le="+Inf", endpoint="list-products", **group) == [100]
    assert find(got, "http_request_duration_seconds_count", endpoint="list-products", **group) == [100]
    assert find(got, "http_request_duration_seconds_sum", endpoint="list-products", **group)[0] == pytest.approx(
        endpoint_rows()[0]["mean_ms"] / 10)
    assert find(got, "http_requests_total", endpoint="list-products", outcome="error", **group) == [2]
    assert find(got, "http_requests_total", endpoint="_overall", outcome="success", **group) == [98]
    assert find(got, "perfcampaign_error_rate", endpoint="_overall", **group) == [0.02]
    assert find(got, "perfcampaign_latency_seconds", endpoint="_overall", quantile="0.95", **group) == [0.04]
    assert find(got, "perfcampaign_run_verdict", verdict="failed", **group) == [1]
    assert find(got, "perfcampaign_run_passed", **group) == [0]
    assert find(got, "http_request_duration_seconds_count", endpoint="_overall", **group) == []  # no histogram
    delete_run(gateway, RUN)
    assert find(scrape(gateway), "perfcampaign_run_verdict", **group) == []


def test_a_run_pushed_from_the_warehouse(gateway, tmp_path):
    store = Warehouse(tmp_path / "w.duckdb")
    run = {**RUN, "run_id": "run-from-store", "env_kind": "staging", "trigger": "test", "campaign_sha256": "0" * 64}
    store.write_rows({"runs": [run], "endpoint_metrics": [{"run_id": "run-from-store", "stage": "load", **r}
                                                          for r in endpoint_rows()]})
    push_run_from_store(store, "run-from-store", gateway)
    got = scrape(gateway)
    assert find(got, "perfcampaign_run_verdict", verdict="passed", run="run-from-store") == [1]
    assert find(got, "http_request_duration_seconds_bucket", le="0.05", run="run-from-store",
                endpoint="list-products") == [99]
    with pytest.raises(LookupError):
        push_run_from_store(store, "nope", gateway)
