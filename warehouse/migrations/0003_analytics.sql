-- 0003: analytics — change points, baselines with their history, trend snapshots, capacity (USL)
-- estimates, bottleneck hints, and the target's Prometheus series scraped during load.
-- A series is (campaign, environment, test_type, endpoint, metric); metric is an endpoint_metrics
-- column: p50_ms | p95_ms | p99_ms | mean_ms | error_rate | rps. A night is a run's started_at.

CREATE TABLE change_points (
    campaign        VARCHAR NOT NULL,
    environment     VARCHAR NOT NULL,
    test_type       VARCHAR NOT NULL,
    endpoint        VARCHAR NOT NULL,
    metric          VARCHAR NOT NULL,
    run_id          VARCHAR NOT NULL,               -- the first run of the new regime
    night           TIMESTAMPTZ NOT NULL,           -- that run's started_at
    direction       VARCHAR NOT NULL,               -- regression | improvement (by the metric's good direction)
    before_value    DOUBLE,                         -- level of the regime before
    after_value     DOUBLE,                         -- level of the new regime
    abs_change      DOUBLE,
    rel_change      DOUBLE,                         -- (after − before) / |before|
    t_stat          DOUBLE,
    p_value         DOUBLE,
    drift           BOOLEAN NOT NULL DEFAULT FALSE, -- judged beyond a slow trend
    nights_after    INTEGER,                        -- nights of the new regime seen so far
    status          VARCHAR NOT NULL,               -- open | gone (a later analysis no longer finds it)
    detected_at     TIMESTAMPTZ NOT NULL,           -- first analysis that found it
    detected_run_id VARCHAR,                        -- the run whose analysis first found it
    last_seen_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (campaign, environment, test_type, endpoint, metric, run_id)
);

-- Versions of a series' baseline: the current one has valid_to NULL; an update closes it and adds
-- version + 1 with the reason. Nothing is overwritten.
CREATE TABLE baselines (
    campaign      VARCHAR NOT NULL,
    environment   VARCHAR NOT NULL,
    test_type     VARCHAR NOT NULL,
    endpoint      VARCHAR NOT NULL,
    metric        VARCHAR NOT NULL,
    version       INTEGER NOT NULL,
    center        DOUBLE NOT NULL,                  -- median of the regime's nights
    spread        DOUBLE NOT NULL,                  -- robust standard deviation (1.4826·MAD)
    band_lower    DOUBLE NOT NULL,                  -- variance band: center ± band_sigma·spread
    band_upper    DOUBLE NOT NULL,
    nights        INTEGER NOT NULL,                 -- nights learned from
    first_run_id  VARCHAR,
    last_run_id   VARCHAR,
    valid_from    TIMESTAMPTZ NOT NULL,
    valid_to      TIMESTAMPTZ,
    reason        VARCHAR NOT NULL,                 -- established | refined | improvement … | regression accepted …
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (campaign, environment, test_type, endpoint, metric, version)
);

-- Seed 001's performance_baselines, one row per (campaign, test type, environment): the current
-- baselines of the whole run ('_overall').
CREATE VIEW performance_baselines AS
SELECT campaign, test_type, environment,
       max(center) FILTER (WHERE metric = 'mean_ms')    AS baseline_avg_response_time_ms,
       max(center) FILTER (WHERE metric = 'p95_ms')     AS baseline_p95_response_time_ms,
       max(center) FILTER (WHERE metric = 'error_rate') AS baseline_error_rate,
       max(center) FILTER (WHERE metric = 'rps')        AS baseline_throughput_rps,
       max(valid_from)                                  AS established_at
FROM baselines
WHERE valid_to IS NULL AND endpoint = '_overall'
GROUP BY campaign, test_type, environment;

-- The latest trend of every series (replaced by each analysis).
CREATE TABLE trends (
    campaign          VARCHAR NOT NULL,
    environment       VARCHAR NOT NULL,
    test_type         VARCHAR NOT NULL,
    endpoint          VARCHAR NOT NULL,
    metric            VARCHAR NOT NULL,
    run_id            VARCHAR,                      -- the latest run of the series
    night             TIMESTAMPTZ,                  -- its started_at
    nights            INTEGER NOT NULL,             -- nights in the series
    value             DOUBLE,                       -- the latest night
    median_7          DOUBLE,                       -- rolling medians ending at the latest night
    median_30         DOUBLE,
    change_7          DOUBLE,                       -- latest / median of the 7 nights before − 1
    change_30         DOUBLE,                       -- latest / median of the 30 nights before − 1
    slope_per_night   DOUBLE,                       -- least squares over the last 30 nights
    slope_t           DOUBLE,
    threshold         DOUBLE,                       -- the SLO limit forecast against
    nights_to_threshold DOUBLE,                     -- at the current slope (0: already past it)
    forecast_crossing TIMESTAMPTZ,
    computed_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (campaign, environment, test_type, endpoint, metric)
);

-- Universal Scalability Law fits from stress / breakpoint runs (throughput vs concurrency).
CREATE TABLE capacity_estimates (
    run_id                  VARCHAR NOT NULL,
    endpoint                VARCHAR NOT NULL,       -- '_overall' for the whole run
    points                  INTEGER NOT NULL,
    usl_lambda              DOUBLE,                 -- throughput of one user (req/s)
    usl_sigma               DOUBLE,                 -- contention
    usl_kappa               DOUBLE,                 -- coherency (crosstalk)
    usl_lambda_se           DOUBLE,
    usl_sigma_se            DOUBLE,
    usl_kappa_se            DOUBLE,
    r_squared               DOUBLE,
    rmse                    DOUBLE,                 -- req/s
    mape                    DOUBLE,                 -- mean absolute percentage error
    peak_concurrency        DOUBLE,                 -- N* = sqrt((1 − σ)/κ)
    peak_throughput         DOUBLE,
    slo_metric              VARCHAR,
    slo_limit_ms            DOUBLE,
    slo_break_concurrency   DOUBLE,                 -- where the SLO breaks (NULL: not in range)
    slo_break_throughput    DOUBLE,
    slo_break_source        VARCHAR,                -- observed | usl (Little's law)
    detail                  JSON,
    computed_at             TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, endpoint)
);

CREATE TABLE bottleneck_hints (
    run_id          VARCHAR NOT NULL,
    key             VARCHAR NOT NULL,               -- e.g. 'db-pool-saturation'
    kind            VARCHAR NOT NULL,               -- cpu | memory | pool | queue | gc | errors
    severity        VARCHAR NOT NULL,               -- high | medium | low
    title           VARCHAR NOT NULL,
    recommendation  VARCHAR NOT NULL,
    evidence        JSON NOT NULL,                  -- the numbers behind the hint
    computed_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, key)
);

-- The target's /metrics, scraped during load (one row per sample per scrape).
CREATE TABLE metric_samples (
    run_id      VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,                   -- the /metrics URL
    scraped_at  TIMESTAMPTZ NOT NULL,
    offset_s    DOUBLE,                             -- seconds since the scrape window opened
    family      VARCHAR NOT NULL,                   -- e.g. http_request_duration_seconds
    kind        VARCHAR NOT NULL,                   -- counter | gauge | histogram | summary | untyped …
    name        VARCHAR NOT NULL,                   -- sample name, e.g. …_bucket
    labels      JSON,
    series      VARCHAR NOT NULL,                   -- name{label="value",…}, labels sorted
    value       DOUBLE
);
