"""Scrape the target's Prometheus ``/metrics`` at an interval during a time window.

The rows are ``metric_samples`` rows (without ``run_id``; :meth:`ScrapeResult.rows` adds it): one per
sample per scrape, parsed with ``prometheus_client.parser.text_string_to_metric_families``. A failed
scrape (the target is busy, the endpoint is gone) is recorded in ``errors`` and the next one is still
attempted: scraping never fails the load it watches.

    scraper = Scraper("http://127.0.0.1:8101/metrics", interval=2.0)
    scraper.start()                 # in the running event loop, when the load begins
    ...                             # the load runs
    result = await scraper.stop()   # one last scrape, then the rows
    ctx.write_rows({"metric_samples": result.rows(ctx.run_id)})

or ``await scrape(url, duration=30, interval=2)`` for a fixed window.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

ACCEPT = "text/plain;version=0.0.4;q=0.9,*/*;q=0.1"


def series_key(name: str, labels: dict[str, str]) -> str:
    """``name{a="1",b="2"}`` with the labels sorted (one string per time series)."""
    if not labels:
        return name
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def parse(text: str, *, source: str, scraped_at: datetime, offset_s: float,
          families: Collection[str] | None = None) -> list[dict[str, Any]]:
    """One exposition document as ``metric_samples`` rows (``families`` keeps only those)."""
    rows = []
    for family in text_string_to_metric_families(text):
        if families is not None and family.name not in families:
            continue
        for sample in family.samples:
            value = float(sample.value)
            rows.append({"source": source, "scraped_at": scraped_at, "offset_s": round(offset_s, 6),
                         "family": family.name, "kind": family.type, "name": sample.name,
                         "labels": dict(sample.labels), "series": series_key(sample.name, dict(sample.labels)),
                         "value": value if math.isfinite(value) or math.isinf(value) else None})
    return rows


@dataclass
class ScrapeResult:
    url: str
    started_at: datetime
    scrapes: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def rows(self, run_id: str) -> list[dict[str, Any]]:
        return [{"run_id": run_id, **r} for r in self.samples]

    def summary(self) -> dict[str, Any]:
        return {"url": self.url, "scrapes": self.scrapes, "samples": len(self.samples),
                "errors": self.errors[:5], "failed_scrapes": len(self.errors)}


class Scraper:
    """Scrapes ``url`` every ``interval`` seconds from :meth:`start` until :meth:`stop` (or ``duration``)."""

    def __init__(self, url: str, *, interval: float = 5.0, timeout: float = 5.0,
                 families: Collection[str] | None = None, client: httpx.AsyncClient | None = None):
        if interval <= 0:
            raise ValueError("the scrape interval must be positive")
        self.url = url
        self.interval = interval
        self.timeout = timeout
        self.families = set(families) if families is not None else None
        self._client = client
        self._stop = asyncio.Event()
        self._task: asyncio.Task[ScrapeResult] | None = None
        self.result = ScrapeResult(url, datetime.now(UTC))

    async def _once(self, client: httpx.AsyncClient, t0: float) -> None:
        at = datetime.now(UTC)
        offset = time.monotonic() - t0
        try:
            response = await client.get(self.url, headers={"Accept": ACCEPT}, timeout=self.timeout)
            response.raise_for_status()
            rows = parse(response.text, source=self.url, scraped_at=at, offset_s=offset, families=self.families)
        except (httpx.HTTPError, ValueError) as exc:
            self.result.errors.append(f"{at.isoformat()}: {type(exc).__name__}: {exc}")
            return
        self.result.scrapes += 1
        self.result.samples.extend(rows)

    async def run(self, duration: float | None = None) -> ScrapeResult:
        """Scrape now and every ``interval`` until stopped or ``duration`` has passed, then once more."""
        client = self._client or httpx.AsyncClient()
        t0 = time.monotonic()
        self.result.started_at = datetime.now(UTC)
        try:
            tick = 0
            while True:
                await self._once(client, t0)
                tick += 1
                wake = t0 + tick * self.interval
                if duration is not None and wake - t0 > duration:
                    break
                try:
                    await asyncio.wait_for(self._stop.wait(), timeout=max(wake - time.monotonic(), 0))
                    break
                except TimeoutError:
                    continue
            if duration is None or self._stop.is_set():
                await self._once(client, t0)  # the state at the very end of the window
        finally:
            if self._client is None:
                await client.aclose()
        return self.result

    def start(self, duration: float | None = None) -> asyncio.Task[ScrapeResult]:
        self._task = asyncio.ensure_future(self.run(duration))
        return self._task

    async def stop(self) -> ScrapeResult:
        self._stop.set()
        if self._task is None:
            return self.result
        return await self._task


async def scrape(url: str, *, duration: float, interval: float = 5.0, timeout: float = 5.0,
                 families: Collection[str] | None = None, client: httpx.AsyncClient | None = None) -> ScrapeResult:
    """Scrape ``url`` every ``interval`` seconds for ``duration`` seconds."""
    return await Scraper(url, interval=interval, timeout=timeout, families=families, client=client).run(duration)
