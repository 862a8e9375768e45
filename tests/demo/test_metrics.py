"""/metrics is Prometheus text and labels requests by route template."""

from prometheus_client.parser import text_string_to_metric_families


def scrape(client) -> dict:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(r.text)}


def sample_value(families, family, sample_name, **labels) -> float:
    for sample in families[family].samples:
        if sample.name == sample_name and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    return 0.0


def test_expected_series_are_exported(client):
    families = scrape(client)
    for name in ("http_request_duration_seconds", "http_requests", "http_requests_in_flight",
                 "service_health_status", "circuit_breaker_state", "db_pool_in_use", "db_pool_size",
                 "process_cpu_seconds", "process_resident_memory_bytes"):
        assert name in families, name
    assert families["http_request_duration_seconds"].type == "histogram"
    assert families["http_requests"].type == "counter"
    assert sample_value(families, "service_health_status", "service_health_status") == 1
    assert sample_value(families, "circuit_breaker_state", "circuit_breaker_state", breaker="database") == 0
    assert sample_value(families, "db_pool_size", "db_pool_size") == 4


def test_requests_are_counted_by_route_template(client):
    labels = {"method": "GET", "route": "/api/products/{id}"}
    before = scrape(client)
    for product_id in (1, 2, 3):
        client.get(f"/api/products/{product_id}")
    client.get("/api/products/424242")
    client.get("/this/route/does/not/exist")
    after = scrape(client)

    def delta(family, sample, **extra):
        return sample_value(after, family, sample, **labels, **extra) - sample_value(before, family, sample,
                                                                                     **labels, **extra)

    assert delta("http_requests", "http_requests_total", status="200") == 3
    assert delta("http_requests", "http_requests_total", status="404") == 1
    assert delta("http_request_duration_seconds", "http_request_duration_seconds_count", status="200") == 3
    assert delta("http_request_duration_seconds", "http_request_duration_seconds_bucket", status="200",
                 le="+Inf") == 3
    routes = {s.labels.get("route") for s in after["http_requests"].samples}
    assert "/api/products/1" not in routes and "/this/route/does/not/exist" not in routes
    assert "unmatched" in routes
