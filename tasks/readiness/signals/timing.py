"""Latency that betrays a fixed sleep."""

from __future__ import annotations

from ..content import cv
from ..models import Evidence
from ..probe import ProbeRecord
from . import register
from .base import _ms

@register
def constant_latency(rec: ProbeRecord) -> list[Evidence]:
    """A handler that sleeps a fixed time: mean > 20 ms, CV < 3 %, while the
    same server answers other requests much faster.  Samples: the identical
    reads (base + repeats), or the identical sends of a POST that creates
    nothing (see :meth:`ProbeRecord.timed_same`)."""
    same = [o for o in rec.timed_same() if o.ok]
    lat = [o.latency_ms for o in same[1:]]  # first one pays for the connection
    if len(lat) < 4:
        return []
    # Scheduler hiccups on a busy host must not hide a fixed sleep: drop the
    # sample farthest from the median (a third of them from 6 samples on),
    # judge the rest (still ≥ 3 samples).
    med = sorted(lat)[len(lat) // 2]
    n_drop = 1 if len(lat) < 6 else len(lat) // 3
    by_distance = sorted(range(len(lat)), key=lambda i: abs(lat[i] - med))
    dropped = sorted(lat[i] for i in by_distance[len(lat) - n_drop:])
    kept = [lat[i] for i in sorted(by_distance[: len(lat) - n_drop])]
    mean = sum(kept) / len(kept)
    c = cv(kept)
    if mean <= 20.0 or c >= 0.03:
        return []
    same_path = ("base", "repeat", "write", "resend", "vary")
    others = [o.latency_ms for o in rec.all() if o.ok and o.label not in same_path]
    fast = min(others) if others else None
    if fast is not None and fast < 0.5 * mean:
        w = 2.0 if c < 0.01 else 1.5
        ctx = f"; other requests to the same server took {fast:.1f} ms"
    else:
        w = 1.0 if c < 0.01 else 0.5
        ctx = "; the server's other responses are slow too" if fast is not None else ""
    if mean < 40.0:
        # a short, steady handler (an indexed query, a cached answer) looks the same as a short sleep
        w = min(w, 1.0)
    return [Evidence("constant-latency", "mock", w,
                     f"{len(lat)} samples {_ms(lat)}: mean {mean:.1f} ms, CV {c:.2%} without the farthest "
                     f"({', '.join(f'{x:.1f}' for x in dropped)} ms){ctx}")]
