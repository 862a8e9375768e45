-- 0001: runs, stage results, per-endpoint metrics, readiness and smoke checks, backlog gaps.
-- Times are UTC (TIMESTAMPTZ). JSON columns hold the evidence and breakdowns as documents.

CREATE TABLE runs (
    run_id            VARCHAR PRIMARY KEY,          -- uuid4, one per campaign × environment execution
    campaign          VARCHAR NOT NULL,
    environment       VARCHAR NOT NULL,
    env_kind          VARCHAR NOT NULL,             -- dev | staging | production
    started_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ,
    status            VARCHAR NOT NULL,             -- running | passed | failed | error | interrupted
    trigger           VARCHAR NOT NULL,             -- cli | schedule | manual | test
    flow_run_id       VARCHAR,                      -- Prefect flow run, when run by Prefect
    campaign_sha256   VARCHAR NOT NULL,
    campaign_file     VARCHAR,
    stages            VARCHAR[],                    -- the stages asked for
    test_type         VARCHAR,                      -- load | stress | spike | soak | breakpoint
    base_url          VARCHAR,
    tool_version      VARCHAR,
    host              VARCHAR,
    exclude_from_analysis BOOLEAN NOT NULL DEFAULT FALSE,
    exclude_reason    VARCHAR
);

CREATE TABLE stage_results (
    run_id       VARCHAR NOT NULL,
    stage        VARCHAR NOT NULL,                  -- readiness | smoke | e2e | load | chaos
    status       VARCHAR NOT NULL,                  -- passed | failed | skipped | refused | error
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ NOT NULL,
    summary      JSON,
    gates        JSON,                              -- list of {name, passed, observed, limit, endpoint}
    error        VARCHAR,
    PRIMARY KEY (run_id, stage)
);

CREATE TABLE endpoint_metrics (
    run_id        VARCHAR NOT NULL,
    stage         VARCHAR NOT NULL,
    endpoint      VARCHAR NOT NULL,                 -- endpoint name ('_overall' for the whole stage)
    method        VARCHAR,
    requests      BIGINT NOT NULL,
    errors        BIGINT NOT NULL,
    error_rate    DOUBLE,
    rps           DOUBLE,
    mean_ms       DOUBLE,
    min_ms        DOUBLE,
    p50_ms        DOUBLE,
    p90_ms        DOUBLE,
    p95_ms        DOUBLE,
    p99_ms        DOUBLE,
    max_ms        DOUBLE,
    errors_by_kind JSON,                            -- {"status_5xx": 3, "timeout": 1, …}
    status_codes  JSON,                             -- {"200": 998, "503": 2}
    histogram     VARCHAR,                          -- HdrHistogram, base64 compressed (load stage)
    PRIMARY KEY (run_id, stage, endpoint)
);

CREATE TABLE readiness_checks (
    run_id      VARCHAR NOT NULL,
    endpoint    VARCHAR NOT NULL,
    method      VARCHAR NOT NULL,
    url         VARCHAR NOT NULL,
    verdict     VARCHAR NOT NULL,                   -- real | mock | missing | error | unreachable
    confidence  DOUBLE NOT NULL,
    status_code INTEGER,
    requests    INTEGER,
    evidence    JSON,                               -- list of {signal, points_to, weight, detail}
    checked_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, endpoint)
);

CREATE TABLE smoke_checks (
    run_id      VARCHAR NOT NULL,
    endpoint    VARCHAR NOT NULL,
    method      VARCHAR NOT NULL,
    url         VARCHAR NOT NULL,
    status_code INTEGER,
    latency_ms  DOUBLE,
    passed      BOOLEAN NOT NULL,
    gating      BOOLEAN NOT NULL,                   -- false for endpoints readiness blocked
    failures    JSON,                               -- list of failed expectations
    checked_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, endpoint)
);

-- A gap seen every night stays one item (key), with first/last seen; closed when it disappears.
CREATE TABLE backlog_items (
    key          VARCHAR NOT NULL,                  -- e.g. 'mock-endpoint:predict-demand'
    campaign     VARCHAR NOT NULL,
    environment  VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,                  -- mock_data | missing_api | slow_api | ui_blocker | …
    title        VARCHAR NOT NULL,
    priority     VARCHAR NOT NULL,                  -- high | medium | low
    effort       VARCHAR NOT NULL,                  -- e.g. '1-2 days'
    endpoint     VARCHAR,
    evidence     JSON,
    status       VARCHAR NOT NULL,                  -- open | closed
    first_seen   TIMESTAMPTZ NOT NULL,
    last_seen    TIMESTAMPTZ NOT NULL,
    first_run_id VARCHAR,
    last_run_id  VARCHAR,
    times_seen   INTEGER NOT NULL DEFAULT 1,
    closed_at    TIMESTAMPTZ,
    PRIMARY KEY (campaign, environment, key)
);
