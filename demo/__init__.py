"""The bundled service under test for perfcampaign.

A single-process FastAPI app (uvicorn + uvloop + httptools) on SQLite with a
mix of real, mocked and missing endpoints, Prometheus metrics and runtime
fault-injection knobs.  Run it with ``python -m demo --port 8101 --db PATH``;
build it in-process with ``demo.app.create_app(db_path, ...)`` or run it in a
background thread with ``demo.server.running(db_path, ...)``.  See README.md.
"""
