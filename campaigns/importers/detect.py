"""Is this file another tool's? ``validate`` and ``run`` answer with the command that converts it
instead of a list of "unknown field" errors."""

from __future__ import annotations

from typing import Any


def foreign_kind(data: Any) -> str | None:
    """``"artillery"``, ``"openapi"``, ``"swagger"`` or None for a parsed YAML/JSON document."""
    if not isinstance(data, dict) or "campaign" in data:
        return None
    if "openapi" in data and ("paths" in data or "info" in data or "webhooks" in data):
        return "openapi"
    if "swagger" in data and ("paths" in data or "info" in data):
        return "swagger"
    if isinstance(data.get("scenarios"), list) and (isinstance(data.get("config"), dict) or "config" not in data):
        return "artillery"
    if isinstance(data.get("config"), dict) and ("target" in data["config"] or "phases" in data["config"]):
        return "artillery"
    return None


def import_hint(kind: str, file: str) -> str:
    """What to run instead, for a file of ``kind``."""
    stem = file.rsplit(".", 1)[0] if "." in file.rsplit("/", 1)[-1] else file
    if kind == "artillery":
        return (f"this is an Artillery test script, not a campaign file: convert it with "
                f"`perfcampaign import artillery {file} -o {stem}.campaign.yaml` (add --base-url URL for "
                f"another target), then validate and run the campaign it writes")
    name = "an OpenAPI document" if kind == "openapi" else "a Swagger 2.0 document"
    return (f"this is {name}, not a campaign file: write a campaign from it with "
            f"`perfcampaign init --openapi {file} --base-url http://127.0.0.1:8080 -o {stem}.campaign.yaml`")
