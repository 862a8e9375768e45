-- 0007: load results streamed while the load runs, and runs spread over a Dask cluster.
-- Per-second rows (load_timeseries, 0002) now arrive every few seconds during the run, per shard
-- and merged (shard = -1). Beside them, interval histograms: the latency distribution of each
-- endpoint over fixed stretches of the run (all shards merged), so any window of a soak can be
-- re-analysed exactly and a crash loses at most the last interval.

CREATE TABLE load_histograms (
    run_id       VARCHAR NOT NULL,
    shard        INTEGER NOT NULL,                  -- -1: all shards merged
    endpoint     VARCHAR NOT NULL,                  -- endpoint name or '_overall'
    second_from  INTEGER NOT NULL,                  -- seconds since the first planned send (inclusive)
    second_to    INTEGER NOT NULL,                  -- (exclusive)
    requests     BIGINT NOT NULL,
    errors       BIGINT NOT NULL,
    histogram    VARCHAR,                           -- HdrHistogram V2 histoblob, µs from the intended send
    PRIMARY KEY (run_id, shard, endpoint, second_from)
);

ALTER TABLE load_runs ADD COLUMN partial BOOLEAN DEFAULT FALSE;  -- a shard was lost: merged from the others
ALTER TABLE load_runs ADD COLUMN lost_shards JSON;                -- {shard: why}
ALTER TABLE load_runs ADD COLUMN start_skew_ms DOUBLE;            -- spread of the shards' first sends
ALTER TABLE load_runs ADD COLUMN cluster VARCHAR;                 -- the Dask scheduler, when the shards ran there

ALTER TABLE load_shards ADD COLUMN worker VARCHAR;                -- the Dask worker that ran the shard
ALTER TABLE load_shards ADD COLUMN batches INTEGER;               -- batches of rows streamed before the result
