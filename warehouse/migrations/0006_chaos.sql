-- 0006: the chaos stage. One row per experiment (impact, time to detect, recovery time, score),
-- one per activity (fault windows, commands, rollbacks), one per load phase (probe:<name>,
-- baseline, fault, recovery) and a per-second series with phase labels.
-- Latencies in ms from the intended send time (the load engine's); times are UTC.
-- Time to detect and recovery time have the per-second series' resolution (1 s).

CREATE TABLE chaos_experiments (
    run_id              VARCHAR NOT NULL,
    experiment          VARCHAR NOT NULL,
    description         VARCHAR,
    status              VARCHAR NOT NULL,           -- passed | failed | error
    dry_run             BOOLEAN NOT NULL,           -- probes only
    target              VARCHAR NOT NULL,           -- service | dependency
    upstream            VARCHAR,                    -- host:port the fault proxy forwarded to
    started_at          TIMESTAMPTZ NOT NULL,
    finished_at         TIMESTAMPTZ NOT NULL,
    steady_state_before BOOLEAN,                    -- the pre-check held (null: never checked)
    steady_state_detail VARCHAR,
    baseline_requests   BIGINT,
    baseline_error_rate DOUBLE,
    baseline_p50_ms     DOUBLE,
    baseline_p95_ms     DOUBLE,
    fault_requests      BIGINT,                     -- requests sent while the method ran
    fault_error_rate    DOUBLE,
    fault_p50_ms        DOUBLE,
    fault_p95_ms        DOUBLE,
    fault_p99_ms        DOUBLE,
    delta_p50_ms        DOUBLE,                     -- fault − baseline
    delta_p95_ms        DOUBLE,
    fault_started_at    TIMESTAMPTZ,                -- first fault added
    fault_ended_at      TIMESTAMPTZ,                -- method over, every fault removed
    time_to_detect_s    DOUBLE,                     -- null: the hypothesis never broke
    recovered           BOOLEAN,                    -- null: not measured (watchdog, error, dry run)
    recovery_time_s     DOUBLE,                     -- fault end → steady state holds again
    recovery_bound_s    DOUBLE,
    resolution_s        DOUBLE,
    watchdog            VARCHAR,                    -- why the watchdog tripped
    method_error        VARCHAR,
    aborted             VARCHAR,                    -- time bound reached, cancelled
    error               VARCHAR,                    -- could not run (plan, proxy, load)
    degradation         VARCHAR,                    -- none | graceful | fast-failures | timeouts | wrong-answers | mixed
    failure_classes     JSON,                       -- {errors, connection, timeouts, wrong_answers, other}
    score               DOUBLE,                     -- resilience score 0–100 (tasks/chaos/score.py)
    score_parts         JSON,                       -- {availability, latency, recovery, graceful}
    details             JSON,                       -- impact, probes, notes
    PRIMARY KEY (run_id, experiment)
);

CREATE TABLE chaos_activities (
    run_id          VARCHAR NOT NULL,
    experiment      VARCHAR NOT NULL,
    seq             INTEGER NOT NULL,               -- order in which they ran
    phase           VARCHAR NOT NULL,               -- method | rollback
    activity_index  INTEGER,                        -- position in the campaign's list (-1: remove every fault)
    kind            VARCHAR NOT NULL,               -- fault | command | pause | clear
    name            VARCHAR NOT NULL,
    fault_type      VARCHAR,                        -- latency | outage | … (fault windows)
    fraction        DOUBLE,
    params          JSON,
    started_at      TIMESTAMPTZ NOT NULL,
    ended_at        TIMESTAMPTZ,
    duration_s      DOUBLE,
    status          VARCHAR NOT NULL,               -- ok | failed | cancelled | timeout
    hits            BIGINT,                         -- requests / connections / chunks the fault acted on
    exit_code       INTEGER,                        -- commands
    error           VARCHAR,
    details         JSON,                           -- argv, output tail, removed_by, …
    PRIMARY KEY (run_id, experiment, seq)
);

CREATE TABLE chaos_phases (
    run_id           VARCHAR NOT NULL,
    experiment       VARCHAR NOT NULL,
    phase            VARCHAR NOT NULL,              -- probe:<name> | baseline | fault | recovery
    started_at       TIMESTAMPTZ,
    elapsed_s        DOUBLE,
    requests         BIGINT NOT NULL,
    errors           BIGINT NOT NULL,
    error_rate       DOUBLE,
    rps              DOUBLE,
    mean_ms          DOUBLE,
    p50_ms           DOUBLE,
    p95_ms           DOUBLE,
    p99_ms           DOUBLE,
    max_ms           DOUBLE,
    errors_by_kind   JSON,
    status_codes     JSON,
    hypothesis_holds BOOLEAN,                       -- the steady-state tolerances, on the whole phase
    trustworthy      BOOLEAN,                       -- the load engine's verdict on its own numbers
    histogram        VARCHAR,                       -- HdrHistogram histoblob, µs
    PRIMARY KEY (run_id, experiment, phase)
);

CREATE TABLE chaos_timeseries (
    run_id           VARCHAR NOT NULL,
    experiment       VARCHAR NOT NULL,
    phase            VARCHAR NOT NULL,              -- probe:<name> | baseline | fault | recovery
    second           INTEGER NOT NULL,              -- seconds since the phase's first send
    t_s              DOUBLE,                        -- seconds since the first fault was added (< 0 before)
    requests         BIGINT NOT NULL,
    errors           BIGINT NOT NULL,
    rps              DOUBLE,
    p50_ms           DOUBLE,
    p95_ms           DOUBLE,
    p99_ms           DOUBLE,
    hypothesis_holds BOOLEAN,                       -- the steady-state tolerances, that second
    PRIMARY KEY (run_id, experiment, phase, second)
);
