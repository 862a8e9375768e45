"""E2E stage: API journeys and browser journeys with session capture, Web Vitals, friction points and
backlog gaps.

Modules: ``session`` (what a journey captured), ``api`` (HTTP journeys), ``browser`` (Playwright
journeys: one browser, a context per journey), ``actions`` (one Playwright action per step),
``capture`` (requests, console, screenshots, page observation), ``vitals`` (Web Vitals script and
bands), ``friction`` (pure detector), ``backlog`` (friction → backlog items), ``rows`` (warehouse
rows and the run's JSON), ``stage`` (the stage and its gates).
Importing this package registers the stage (``tasks.base.STAGE_MODULES`` lists ``tasks.e2e``).
"""

from tasks.e2e.stage import E2EStage

__all__ = ["E2EStage"]
