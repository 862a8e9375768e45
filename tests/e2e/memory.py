"""Memory of this process's children (Playwright's driver and Chromium), for the e2e memory tests."""

from __future__ import annotations

import psutil


def children_bytes(*, pss: bool = False) -> int:
    """RSS (or PSS: pages shared between Chromium's processes counted once) of this process's
    children now; one that exits while being read counts for nothing."""
    total = 0
    for child in psutil.Process().children(recursive=True):
        try:
            total += child.memory_full_info().pss if pss else child.memory_info().rss
        except psutil.Error:
            pass
    return total
