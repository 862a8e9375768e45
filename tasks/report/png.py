"""PNG renderings of report figures through kaleido 1.x and Debian's Chromium.

kaleido 1.x drives a headless Chrome through choreographer, which finds ``/usr/bin/chromium`` on
Debian by itself; ``BROWSER_PATH`` overrides the choice (set here from ``PERFCAMPAIGN_CHROMIUM``
when given). All figures of a report render in one browser session: starting Chromium is most of
the cost (≈ 2–4 s), a figure adds a fraction of a second. The time taken is measured and returned,
so the CLI and the run's JSON document can print it.

A rendering failure never costs the report: :func:`render_pngs` returns the error and the HTML
report (which needs no browser) is written anyway.

The PNGs cost a Chromium: ~450 MB (PSS; ~1 GB RSS) for a few seconds after the stages, more than the
whole run otherwise holds. So a run renders them only when something uses them (:func:`slack_uploads`:
the Slack message of one of the run's environments goes to a bot channel with ``notify.upload_chart``
on), or when asked (``perfcampaign run --png``, the flow's ``outputs.pngs: true``, ``perfcampaign
report``); the HTML report has the same figures, interactive, without a browser.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


@dataclass
class Rendered:
    paths: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None


def browser_path() -> str | None:
    """The Chrome kaleido will use: ``$PERFCAMPAIGN_CHROMIUM``, ``$BROWSER_PATH``, else Debian's."""
    for var in ("PERFCAMPAIGN_CHROMIUM", "BROWSER_PATH"):
        if os.environ.get(var):
            return os.environ[var]
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return shutil.which("chromium") or shutil.which("google-chrome")


def slack_uploads(campaign: Any, environments: list[str]) -> str | None:
    """Where the run's Slack message will upload summary.png (``"#channel"``), or None when nothing
    will: no campaign, a webhook (no uploads), ``notify.upload_chart: false`` or no channel for any
    of ``environments``. Whether the bot token is set does not matter: an unsent message waits in the
    outbox with its attachment."""
    if campaign is None:
        return None
    from campaigns.notify import channel_for, settings_of

    settings = settings_of(campaign)
    if settings.webhook or not settings.upload_chart:
        return None
    return next((channel for channel in (channel_for(campaign, env) for env in environments) if channel), None)


def render_pngs(figures: dict[str, tuple[Any, dict[str, Any]]], out_dir: Path, timeout: float = 90) -> Rendered:
    """Write ``<out_dir>/<name>.png`` for each ``name → (figure, {width, height, scale})``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs, paths = [], []
    for name, (fig, opts) in figures.items():
        path = out_dir / f"{name}.png"
        jobs.append({"fig": fig, "path": path, "opts": {"format": "png", **opts}})
        paths.append(path)
    if not jobs:
        return Rendered()
    browser = browser_path()
    if browser and not os.environ.get("BROWSER_PATH"):
        os.environ["BROWSER_PATH"] = browser
    started = time.perf_counter()
    try:
        import kaleido

        kaleido.write_fig_from_object_sync(jobs, kopts={"timeout": timeout})
    except Exception as exc:  # noqa: BLE001 - the report survives a browser that would not start
        return Rendered([p for p in paths if is_png(p)], time.perf_counter() - started,
                        f"PNG rendering failed ({type(exc).__name__}: {exc}); browser: {browser or 'none found'}")
    seconds = time.perf_counter() - started
    missing = [p.name for p in paths if not is_png(p)]
    return Rendered([p for p in paths if is_png(p)], seconds,
                    f"kaleido wrote no valid PNG for {', '.join(missing)}" if missing else None)


def is_png(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(8) == PNG_MAGIC
    except OSError:
        return False


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk."""
    with path.open("rb") as fh:
        head = fh.read(24)
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
