"""Safeguards: the pre-check and the watchdog (chaostoolkit-addons' ``controls/safeguards.py``).

The *pre-check* is the steady-state hypothesis before the method (``hypothesis.verify``): when it
does not hold, the method never runs. The *watchdog* watches every second of load while the
method runs and while the service recovers; when a hard bound (``safeguards`` in the campaign)
is broken ``for`` seconds in a row it trips: the run removes every fault, stops the load, runs
the rollbacks and fails the experiment with the reason. A second in which nothing answered
counts as an error rate of 100 %.
"""

from __future__ import annotations

from typing import Any

from campaigns.chaos import Safeguards


class Watchdog:
    def __init__(self, bounds: Safeguards | None):
        self.bounds = bounds
        self.streak = 0
        self.reason: str | None = None
        self.tripped_at: float | None = None
        self.seen = 0

    @property
    def armed(self) -> bool:
        b = self.bounds
        return b is not None and (b.max_error_rate is not None or b.max_p95_ms is not None)

    @property
    def tripped(self) -> bool:
        return self.reason is not None

    def breaches(self, row: dict[str, Any]) -> list[str]:
        b = self.bounds
        if b is None:
            return []
        out = []
        requests = int(row.get("requests") or 0)
        rate = (int(row.get("errors") or 0) / requests) if requests else 1.0
        if b.max_error_rate is not None and rate > b.max_error_rate:
            out.append(f"error rate {rate:.0%} > {b.max_error_rate:.0%}" if requests else
                       f"nothing answered (error rate counted 100 % > {b.max_error_rate:.0%})")
        p95 = row.get("p95_ms")
        if b.max_p95_ms is not None and p95 is not None and p95 > b.max_p95_ms:
            out.append(f"p95 {p95:.0f} ms > {b.max_p95_ms:g} ms")
        return out

    def feed(self, row: dict[str, Any], now: float | None = None) -> str | None:
        """One second of load; the reason when this second trips the watchdog (once)."""
        if not self.armed or self.tripped:
            return None
        self.seen += 1
        found = self.breaches(row)
        self.streak = self.streak + 1 if found else 0
        needed = max(1, round(self.bounds.for_))  # type: ignore[union-attr]
        if self.streak >= needed:
            self.reason = f"watchdog: {'; '.join(found)} for {self.streak} s in a row"
            self.tripped_at = now
            return self.reason
        return None
