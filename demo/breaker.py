"""A minimal circuit breaker guarding the database.

After ``failure_threshold`` consecutive database errors the breaker opens and
calls fail fast (HTTP 503) for ``reset_after_s`` seconds; then one trial call is
let through (half-open) and its outcome closes or re-opens the breaker.
The numeric state is exported as the ``circuit_breaker_state`` gauge.
"""

import time
from typing import Callable

CLOSED, OPEN, HALF_OPEN = 0, 1, 2
STATE_NAMES = {CLOSED: "closed", OPEN: "open", HALF_OPEN: "half_open"}


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int = 5,
        reset_after_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self._clock = clock
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0

    @property
    def state(self) -> int:
        if self._state == OPEN and self._clock() - self._opened_at >= self.reset_after_s:
            self._state = HALF_OPEN
        return self._state

    def allow(self) -> bool:
        return self.state != OPEN

    def record_success(self) -> None:
        self._failures = 0
        self._state = CLOSED

    def record_failure(self) -> None:
        self._failures += 1
        if self.state == HALF_OPEN or self._failures >= self.failure_threshold:
            self._state = OPEN
            self._opened_at = self._clock()
