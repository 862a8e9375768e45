from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.dask_cli import DaskCLICluster
from tests.load.servers import TestServer


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskCLICluster]:
    """``dask scheduler`` + ``dask worker --nworkers 2`` as separate processes, on loopback."""
    with DaskCLICluster(nworkers=2, nthreads=1) as c:
        yield c


@pytest.fixture
def server() -> Iterator[TestServer]:
    with TestServer() as srv:
        yield srv
