"""The load stage on k6 (``load: {engine: k6}``) and ``perfcampaign export k6``.

    script.py    campaign load section → k6 script (pure; same planner, caps and thresholds as builtin)
    runtime.js   the script's fixed part: templates, steps, checks, captures, setup() auth flow
    run.py       the k6 binary as a bounded subprocess (JSON output, summary export, CPU samples)
    parse.py     k6's JSON points → the built-in engine's ShardResult (HDR histograms, per-second series)
    stage.py     the glue the load stage dispatches to: rows land in the same warehouse tables
"""
