"""Known mock tools' fingerprints on the endpoint's own responses and on the host's other pages
(the fingerprints themselves, with their sources, are in :mod:`tasks.readiness.signatures`)."""

from __future__ import annotations

from ..models import Evidence
from ..probe import ProbeRecord
from ..signatures import match_fingerprints
from . import register
from .base import _path, same_server

@register
def mock_server_signatures(rec: ProbeRecord) -> list[Evidence]:
    """Known mock-tool headers/bodies on the endpoint's own responses (full
    weight) and on the host's other pages (capped, and only full-ish when the
    host pages come from the same server software as the endpoint)."""
    ev: list[Evidence] = []
    seen: set[str] = set()
    proxied: list = []
    for obs in rec.observations:
        if not obs.ok:
            continue
        for fp, quote in match_fingerprints(obs, suppressed=proxied):
            if fp.id in seen:
                continue
            seen.add(fp.id)
            if fp.id == "python-basehttp":
                ev.append(Evidence("dev-http-server", "mock", fp.weight, f"{quote} on {obs.label} response"))
                continue
            sig = "mock-server-body" if fp.where == "body" else "mock-server-header"
            ev.append(Evidence(sig, "mock", fp.weight,
                               f"{fp.tool}: {quote} ({obs.method} {_path(obs)} → {obs.status}) "
                               f"[{fp.id}; source: {fp.source}]"))
    if proxied:
        fp, quote = proxied[0]
        ev.append(Evidence("mock-tool-proxy", "real", 0.0,
                           f"{fp.tool} headers on top of the backend's own ({quote}): the tool is relaying a "
                           f"backend (validation/partial proxy), so the endpoint is judged on behaviour"))
    primary = rec.primary
    for obs in rec.host_observations:
        if not obs.ok:
            continue
        for fp, quote in match_fingerprints(obs):
            if fp.id in seen or fp.id == "python-basehttp":
                continue
            seen.add(fp.id)
            same = same_server(primary, obs)
            w = min(fp.weight, 3.0) if same else min(fp.weight, 1.0)
            ev.append(Evidence("mock-server-host", "mock", w,
                               f"{fp.tool}: {quote} on the host's {obs.label} probe (GET {_path(obs)} → "
                               f"{obs.status}){'' if same else '; served by different software than the endpoint'}"
                               f" [{fp.id}; source: {fp.source}]"))
    return ev
