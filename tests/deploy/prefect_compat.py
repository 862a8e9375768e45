"""Run the ``prefect`` CLI with one client call fixed: Prefect 3.8.8 with FastAPI 0.154.

``prefect deploy`` ends each deployment by asking which workers are online
(``read_workers_for_work_pool``), and the client sends ``"limit": null, "offset": null``. FastAPI
0.154 validates an explicit JSON ``null`` against the server's ``limit: int = Body(None)`` instead of
using the default, so the server answers 422 and ``prefect deploy --all`` stops after its first
deployment. The same happens to ``prefect deployment ls`` and to ``read_artifacts`` without explicit
filters. This wrapper passes concrete numbers for that one call and is otherwise the real CLI:

    python -m tests.deploy.prefect_compat deploy --all --no-prompt

The test uses it only when the plain ``prefect deploy --all`` fails with exactly that error.
"""

from __future__ import annotations

import sys

KNOWN_ERROR = "workers/filter"


def patch() -> None:
    from prefect.client.orchestration._work_pools.client import WorkPoolAsyncClient

    original = WorkPoolAsyncClient.read_workers_for_work_pool

    async def read_workers_for_work_pool(self, work_pool_name, worker_filter=None, offset=None, limit=None):
        return await original(self, work_pool_name, worker_filter=worker_filter, offset=offset or 0,
                              limit=200 if limit is None else limit)

    WorkPoolAsyncClient.read_workers_for_work_pool = read_workers_for_work_pool


def main() -> None:
    patch()
    from prefect.cli import app

    sys.argv[0] = "prefect"
    sys.exit(app())


if __name__ == "__main__":
    main()
