"""Progress people expect while a campaign runs (as k6 and Locust users know it).

- :mod:`flows.progress.tracker`: the progress events turned into per-stage views and notes (pure);
- :mod:`flows.progress.lines`: a view said in words (elapsed, remaining, ETA, rate vs target, p95);
- :mod:`flows.progress.display`: the terminal — bars in place on a TTY, lines when not, quiet;
- :mod:`flows.progress.summary`: the k6-style end-of-run summary per environment;
- :mod:`flows.progress.flowrun`: the Prefect flow run's progress artifact and per-phase log lines.
"""
