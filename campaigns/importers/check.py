"""``--check``: send each imported endpoint one request and say which ones the service lacks.

An endpoint answering 404 or 405 is *missing*, 501 *not implemented*; no answer at all is
*unreachable*. Reads are sent as written (first sample of each parameter, campaign variables and
the first row of each feeder); writes are sent **without a body**, so nothing is created: a route
that exists answers 400/401/415/422, a missing one 404/405. Readiness, in a run, gives the full
verdict (real / mock / missing); this is the quick look right after an import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from campaigns.model import Campaign
from campaigns.templating import MissingVariable, fill_path, render
from campaigns.types import UnresolvedSecret, resolve_refs

MISSING = {404: "missing", 405: "missing", 501: "not implemented"}


@dataclass
class Probe:
    name: str
    method: str
    url: str
    status: int | None = None
    error: str | None = None
    unreachable: bool = False

    @property
    def verdict(self) -> str:
        if self.error is not None:
            return "unreachable" if self.unreachable else "error"
        return MISSING.get(self.status or 0, "present")

    @property
    def missing(self) -> bool:
        return self.verdict in ("missing", "not implemented")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "method": self.method, "url": self.url, "status": self.status,
                "verdict": self.verdict, "error": self.error}


def probe_endpoints(campaign: Campaign, env_name: str, http: httpx.Client,
                    feeders: dict[str, list[dict[str, str]]] | None = None) -> list[Probe]:
    """One request per endpoint of ``campaign`` against environment ``env_name``."""
    env = campaign.environments[env_name]
    variables = dict(campaign.variables)
    for name, rows in (feeders or {}).items():
        if rows:
            variables[name] = rows[0]
    out = []
    for ep in campaign.endpoints:
        probe = Probe(ep.name, ep.method, env.base_url + ep.path)
        try:
            path = render(fill_path(ep.path, {k: v[0] for k, v in ep.params.items()}), variables)
            url = env.base_url + path
            if ep.query:
                url += ("&" if "?" in url else "?") + urlencode(render(ep.query, variables), doseq=True)
            probe.url = url
            headers = {k: str(v) for k, v in render({**env.headers, **ep.headers}, variables).items()}
            try:
                headers = resolve_refs(headers)
            except UnresolvedSecret:
                headers = {k: v for k, v in headers.items() if "${" not in v}
            host = httpx.URL(url).host
            if host not in env.allow_hosts:
                probe.error = f"{host} is not in allow_hosts"
                out.append(probe)
                continue
            # writes go without a body, so nothing is created; reads as written
            response = http.request(ep.method, url, headers=headers)
            probe.status = response.status_code
        except (MissingVariable, ValueError) as exc:
            probe.error = f"cannot build the request: {exc}"
        except httpx.HTTPError as exc:
            probe.error = f"{type(exc).__name__}: {exc}"
            probe.unreachable = True
        out.append(probe)
    return out
