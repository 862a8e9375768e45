"""The load stage: an HTTP/1.1 load engine (uvloop + httptools, HDR histograms), open and closed
workload models, scenarios, thresholds, self-monitoring and sharding.

Layout (engines import neither Prefect nor DuckDB)::

    plan.py          the picklable plan one shard runs
    executors/       one load profile per file + registry (constant/ramping arrival rate, VUs)
    client.py        the hot path: Protocol + httptools, keep-alive pool, TLS, timeouts
    flow.py          scenarios compiled; the iteration walking one (capture, expect, think)
    recorder.py      counters + batched HDR recording, per-second series
    histogram.py     HDR helpers: the one percentile definition, merge, encode
    engine.py        one shard on a uvloop loop: schedule, ticks, self-monitoring, abort
    monitor.py       CPU / lag sampling and the trustworthiness verdict
    thresholds.py    evaluating rules (the grammar lives in campaigns/load.py)
    result.py        shard results and their exact merge
    runner.py        local shards in spawn'd processes
    cluster.py       shards on a Dask cluster: the worker side and the coordinator
    stream.py        the coordinator merging streamed per-second rows; the writer thread
    planner.py       campaign load: section → plan (caps, blocked endpoints, presets)
    report.py        gates, summary and warehouse rows
    stage.py         the LoadStage (registered)
    quick.py         `perfcampaign load URL …`
"""
