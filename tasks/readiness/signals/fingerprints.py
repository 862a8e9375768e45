"""Known mock tools' fingerprints on the endpoint's own responses and on the host's other pages
(the fingerprints themselves, with their sources, are in :mod:`tasks.readiness.signatures`)."""

from __future__ import annotations

from ..models import Evidence
from ..probe import Observation, ProbeRecord
from ..signatures import admin_fingerprint, match_fingerprints
from . import register
from .base import _path, same_software

#: labels of the requests that are the endpoint itself — its method on its route — for a read and for
#: a write. A write's GETs (``pre``, ``follow``) go to another operation, which a tool in proxy mode
#: may stub while it relays the write itself.
OWN_LABELS = {"read": frozenset({"base", "repeat", "alt", "ghost", "limit", "noauth", "bad-input", "tool-page"}),
              "write": frozenset({"write", "write-refused", "resend", "vary", "malformed", "options", "ghost-write",
                                  "restore"})}


def host_tools(rec: ProbeRecord) -> list[tuple[str, float, str, str, Observation]]:
    """Mock tools the host's own pages name: ``(tool, weight, quote, source, page)``, strongest first."""
    found: dict[str, tuple[str, float, str, str, Observation]] = {}
    control = next((o for o in rec.host_observations if o.label == "control" and o.ok), None)
    for obs in rec.host_observations:
        if not obs.ok:
            continue
        hits = [(fp.tool, fp.weight, f"{quote} [{fp.id}]", fp.source) for fp, quote in match_fingerprints(obs)
                if fp.id != "python-basehttp" and (obs.label != "parent" or fp.where == "body")]
        # a parent path's page (a gateway's mount point: the tool's home page) counts by its body only
        if obs.label == "admin":
            admin = admin_fingerprint(obs, control)
            if admin is not None:
                hits.append(admin)
        for tool, weight, quote, source in hits:
            if tool not in found or weight > found[tool][1]:
                found[tool] = (tool, weight, quote, source, obs)
    return sorted(found.values(), key=lambda h: -h[1])


@register
def mock_server_signatures(rec: ProbeRecord) -> list[Evidence]:
    """Known mock-tool headers/bodies on the endpoint's own responses (full weight), and the tool
    the host's own pages name (its admin API, its 404 page, its home page, its CORS preflight):
    that counts fully when the endpoint's answers were written by the same software as those
    pages (a tool generating the answer), not at all when they were relayed from a backend (a
    tool in proxy mode)."""
    ev: list[Evidence] = []
    seen: set[str] = set()
    proxied: list = []
    labels = OWN_LABELS["write" if rec.info.get("kind") == "write" else "read"]
    own = [o for o in rec.observations if o.ok and o.label in labels]
    for obs in own:
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
    answer = next((o for o in own if o.is_2xx), None) or next(iter(own), None)
    identified = {}
    for e in ev:
        if e.points_to == "mock":
            tool = e.detail.split(":", 1)[0]
            identified[tool] = identified.get(tool, 0.0) + e.weight
    for tool, weight, quote, source, page in host_tools(rec):
        if identified.get(tool, 0.0) >= 4.0:
            continue  # the endpoint's own answers already name it
        where = f"{page.method} {_path(page)} → {page.status}"
        if answer is not None and same_software(answer, page):
            w = 4.0 if weight >= 4.0 else min(weight, 3.0)
            ev.append(Evidence("mock-server-host", "mock", w,
                               f"{tool}: {quote} on the host ({where}), and this endpoint's answers come from the "
                               f"same software [source: {source}]"))
        elif answer is not None:
            ev.append(Evidence("mock-tool-proxy", "real", 0.0,
                               f"the host runs {tool} ({quote}, {where}), but this endpoint's answers were written "
                               f"by other software (relayed from a backend): judged on behaviour"))
        else:
            ev.append(Evidence("mock-server-host", "mock", min(weight, 1.0), f"{tool}: {quote} on the host ({where})"))
    return ev
