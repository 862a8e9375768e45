-- 0010: each night of each series against last night and the baseline (warehouse/analytics/nightly.py),
-- what the incremental analysis last saw of each campaign × environment, and the nights trends leave out.

CREATE TABLE night_comparisons (
    run_id            VARCHAR NOT NULL,
    campaign          VARCHAR NOT NULL,
    environment       VARCHAR NOT NULL,
    test_type         VARCHAR NOT NULL,
    endpoint          VARCHAR NOT NULL,
    metric            VARCHAR NOT NULL,
    reference         VARCHAR NOT NULL,             -- previous | baseline
    night             TIMESTAMPTZ NOT NULL,         -- the run's started_at
    method            VARCHAR NOT NULL,             -- none | within-run | between-nights
    value             DOUBLE,
    reference_value   DOUBLE,                       -- last night's value, or the baseline nights' (geometric) mean
    reference_run_id  VARCHAR,
    reference_nights  INTEGER,
    rel_change        DOUBLE,                       -- value / reference − 1
    shift             DOUBLE,                       -- the change in the per-second samples (Hodges–Lehmann, relative)
    p_value           DOUBLE,                       -- the largest p of the tests that judged
    p_within          DOUBLE,                       -- per-second blocks, Mann–Whitney U
    p_between         DOUBLE,                       -- the night against the spread between nights
    significant       BOOLEAN NOT NULL,
    direction         VARCHAR NOT NULL,             -- regression | improvement | flat
    trusted           BOOLEAN NOT NULL,             -- the generator vouched for the run
    nights_available  INTEGER,
    nights_needed     INTEGER,
    note              VARCHAR,
    computed_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, endpoint, metric, reference)
);

-- One row per campaign × environment: the runs the last analysis of the group saw. A group whose
-- runs differ (a new night, a run excluded by hand, a run that errored) is analysed again.
CREATE TABLE analysis_state (
    campaign         VARCHAR NOT NULL,
    environment      VARCHAR NOT NULL,
    fingerprint      VARCHAR NOT NULL,              -- eligible runs, excluded runs, newest night
    analysed_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (campaign, environment)
);

-- nights of the series left out of the trend (untrustworthy load or excluded by hand), never silently
ALTER TABLE trends ADD COLUMN untrusted_nights INTEGER;
