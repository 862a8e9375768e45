"""The chaos stage: fault injection under load, with a steady-state hypothesis, rollbacks that
always run, a watchdog, time to detect, recovery time and a resilience score (seed 002).

One module per lifecycle phase (Chaos Toolkit); no Prefect, no DuckDB::

    errors.py       the exception tree; refuse_production, called by every entry point
    proxy.py        the fault-injecting TCP proxy (asyncio Protocols on uvloop), ProxyThread
    link.py         one proxied connection: the idle fast path, the slow path with the faults
    lane.py         ordered, delayed delivery of one direction (latency, bandwidth, closes)
    http11.py       just enough HTTP/1.1 framing for the HTTP faults
    faults/         one fault per file + registry (Toxiproxy's toxics): latency, bandwidth, reset,
                    timeout, outage, slow_close, http_error, http_delay
    admin.py        a tiny HTTP API to steer a proxy (GET/POST/DELETE /faults), like Toxiproxy's
    context.py      ChaosContext: the one run-context object (refuses production when built)
    experiment.py   validate every experiment against the campaign and environment, all at once
    windows.py      load from the load engine in phase windows (probe, baseline, fault, recovery)
    hypothesis.py   tolerances on probes and per second; first violation, first hold
    activity.py     the method: faults, commands, pauses
    safeguards.py   the watchdog (the pre-check is hypothesis.verify)
    rollback.py     remove every fault, run the rollbacks — always, even when cancelled
    run.py          the fixed order of an experiment
    outcome.py      what an experiment found, its gates
    score.py        the resilience score (formula in its docstring) and degradation classes
    rows.py         warehouse rows (warehouse/migrations/0006_chaos.sql)
    report.py       the report's chaos table (Markdown)
    stage.py        the ChaosStage (registered)
    __main__.py     `python -m tasks.chaos --upstream HOST:PORT`: a standalone proxy with its admin API
"""
