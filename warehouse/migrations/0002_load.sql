-- 0002: the load stage. One row per load run, per shard, per endpoint's service time, and a
-- per-second time series (per shard, and merged across shards with shard = -1).
-- Latencies in ms with µs resolution; histograms are HdrHistogram V2 histoblobs (base64, µs).
-- endpoint_metrics (0001) holds the per-endpoint + '_overall' latency from the intended send time.

CREATE TABLE load_runs (
    run_id              VARCHAR PRIMARY KEY,
    test_type           VARCHAR NOT NULL,           -- load | stress | spike | soak | breakpoint
    model               VARCHAR NOT NULL,           -- open | closed
    engine              VARCHAR NOT NULL,           -- builtin
    shards              INTEGER NOT NULL,
    started_at          TIMESTAMPTZ NOT NULL,
    finished_at         TIMESTAMPTZ NOT NULL,
    planned_duration_s  DOUBLE,
    elapsed_s           DOUBLE,
    target_rate         DOUBLE,                     -- planned requests/s (open model)
    achieved_rate       DOUBLE,                     -- iterations issued per second (open model)
    rps                 DOUBLE,                     -- requests completed per second
    requests            BIGINT,
    errors              BIGINT,
    planned_arrivals    DOUBLE,
    issued              BIGINT,
    dropped             BIGINT,                     -- arrivals never sent (counted, never skipped)
    late                BIGINT,                     -- requests sent > 10 ms after their intended time
    interrupted         BIGINT,                     -- iterations in flight at the stop
    cpu_mean            DOUBLE,                     -- generator CPU, share of one core (worst shard)
    cpu_max             DOUBLE,
    loop_lag_max_ms     DOUBLE,
    sched_lag_p99_ms    DOUBLE,
    trustworthy         BOOLEAN NOT NULL,
    reasons             JSON,                       -- why the numbers may be the generator's
    aborted             VARCHAR,                    -- abort-on-fail threshold / breakpoint / stop
    breakpoint_rate     DOUBLE,                     -- breakpoint: last sustainable rate
    breakpoint_broke_at DOUBLE,
    breakpoint_rule     VARCHAR,
    thresholds          JSON,                       -- [{threshold, passed, observed, detail}]
    details             JSON                        -- caps applied, endpoints excluded, notes
);

CREATE TABLE load_shards (
    run_id             VARCHAR NOT NULL,
    shard              INTEGER NOT NULL,
    n_shards           INTEGER NOT NULL,
    host               VARCHAR,
    pid                INTEGER,
    status             VARCHAR NOT NULL,            -- ok | aborted | failed
    started_at         TIMESTAMPTZ,
    elapsed_s          DOUBLE,
    planned_arrivals   DOUBLE,
    issued             BIGINT,
    dropped            BIGINT,
    late               BIGINT,
    interrupted        BIGINT,
    target_rate        DOUBLE,
    achieved_rate      DOUBLE,
    requests           BIGINT,
    errors             BIGINT,
    cpu_mean           DOUBLE,
    cpu_max            DOUBLE,
    loop_lag_max_ms    DOUBLE,
    sched_lag_p99_ms   DOUBLE,
    rss_start_mb       DOUBLE,
    rss_end_mb         DOUBLE,
    connections_opened BIGINT,
    trustworthy        BOOLEAN NOT NULL,
    reasons            JSON,
    aborted            VARCHAR,
    error              VARCHAR,
    histogram          VARCHAR,                     -- this shard's overall latency histoblob
    PRIMARY KEY (run_id, shard)
);

CREATE TABLE load_service_times (
    run_id     VARCHAR NOT NULL,
    endpoint   VARCHAR NOT NULL,                    -- endpoint name or '_overall'
    samples    BIGINT NOT NULL,
    mean_ms    DOUBLE,
    p50_ms     DOUBLE,
    p90_ms     DOUBLE,
    p95_ms     DOUBLE,
    p99_ms     DOUBLE,
    max_ms     DOUBLE,
    histogram  VARCHAR,                             -- service time (actual send → response), µs
    PRIMARY KEY (run_id, endpoint)
);

CREATE TABLE load_timeseries (
    run_id        VARCHAR NOT NULL,
    shard         INTEGER NOT NULL,                 -- -1: all shards merged
    second        INTEGER NOT NULL,                 -- seconds since the first planned send
    endpoint      VARCHAR NOT NULL,                 -- endpoint name or '_overall'
    requests      BIGINT NOT NULL,
    errors        BIGINT NOT NULL,
    rps           DOUBLE,
    p50_ms        DOUBLE,
    p95_ms        DOUBLE,
    p99_ms        DOUBLE,
    in_flight     INTEGER,                          -- _overall rows: sampled at the tick
    target_rate   DOUBLE,                           -- _overall rows: planned arrivals/s (open) or VUs
    vus           INTEGER,
    cpu_percent   DOUBLE,                           -- _overall rows: generator CPU (% of a core)
    sched_lag_ms  DOUBLE,                           -- _overall rows: worst intended → issued delay
    loop_lag_ms   DOUBLE,
    PRIMARY KEY (run_id, shard, second, endpoint)
);
