"""Web Vitals measured in the page, and their good / needs-improvement / poor bands.

``INIT_SCRIPT`` is added to every browser context (``add_init_script``) so it runs before the page's
own scripts, in every document. It follows what Google's ``web-vitals`` library measures:

- LCP: the last ``largest-contentful-paint`` entry's ``startTime``;
- CLS: the largest *session window* of ``layout-shift`` entries without recent input (shifts less
  than 1 s apart, a window at most 5 s long), as https://web.dev/articles/cls defines it;
- FCP: the ``first-contentful-paint`` paint entry;
- TTFB: the navigation entry's ``responseStart`` (minus ``activationStart`` for prerendered pages);
- INP: the worst interaction latency from Event Timing entries (``interactionId`` > 0, the
  ``first-input`` entry included since it is reported below the 16 ms threshold too), ignoring one
  outlier per 50 interactions (the 98th percentile web.dev describes); only when the journey
  interacted with the page;
- FID: ``processingStart - startTime`` of the ``first-input`` entry.

``READ_SCRIPT`` waits for the next frame, takes the entries not yet delivered to the observers and
returns the current values of the document; ``capture`` reads it around every step and keeps the
last reading per document.

Bands (seed 002's table; the thresholds are web.dev's, at the 75th percentile of page loads):
https://web.dev/articles/vitals, /lcp, /cls, /fcp, /ttfb, /inp, /fid. A value at the "good" limit is
good; above the "poor" limit it is poor.
"""

from __future__ import annotations

from typing import Literal

Rating = Literal["good", "needs-improvement", "poor"]

#: metric → (good up to, poor above, unit)
BANDS: dict[str, tuple[float, float, str]] = {
    "LCP": (2500.0, 4000.0, "ms"),
    "CLS": (0.1, 0.25, "score"),
    "FCP": (1800.0, 3000.0, "ms"),
    "TTFB": (800.0, 1800.0, "ms"),
    "INP": (200.0, 500.0, "ms"),
    "FID": (100.0, 300.0, "ms"),
}
METRICS = tuple(BANDS)


def rate(metric: str, value: float) -> Rating:
    """The band of ``value`` for ``metric`` (web-vitals' ``getRating``)."""
    good, poor, _ = BANDS[metric]
    if value > poor:
        return "poor"
    if value > good:
        return "needs-improvement"
    return "good"


def unit(metric: str) -> str:
    return BANDS[metric][2]


INIT_SCRIPT = r"""
(() => {
  if (window.__pcVitals || !window.PerformanceObserver) return;
  const v = window.__pcVitals = {
    doc: Math.random().toString(36).slice(2) + Date.now().toString(36),
    LCP: null, CLS: 0, FCP: null, TTFB: null, INP: null, FID: null, interactions: 0,
  };
  const observers = [];
  const observe = (type, callback, extra) => {
    try {
      const po = new PerformanceObserver((list) => callback(list.getEntries()));
      po.observe(Object.assign({ type, buffered: true }, extra || {}));
      observers.push([po, callback]);
    } catch (e) { /* entry type not supported by this browser */ }
  };
  // entries queued but not yet delivered to the callbacks
  Object.defineProperty(v, "flush", { value: () => { for (const [po, cb] of observers) cb(po.takeRecords()); } });
  observe("paint", (entries) => {
    for (const e of entries) if (e.name === "first-contentful-paint") v.FCP = e.startTime;
  });
  observe("largest-contentful-paint", (entries) => {
    const last = entries[entries.length - 1];
    if (last) v.LCP = last.startTime;
  });
  let windowValue = 0, windowEntries = [];
  observe("layout-shift", (entries) => {
    for (const e of entries) {
      if (e.hadRecentInput) continue;
      const first = windowEntries[0], last = windowEntries[windowEntries.length - 1];
      if (windowValue && e.startTime - last.startTime < 1000 && e.startTime - first.startTime < 5000) {
        windowValue += e.value; windowEntries.push(e);
      } else {
        windowValue = e.value; windowEntries = [e];
      }
      if (windowValue > v.CLS) v.CLS = windowValue;
    }
  });
  const worst = new Map();
  const onEvents = (entries) => {
    for (const e of entries) {
      if (!e.interactionId) continue;
      worst.set(e.interactionId, Math.max(worst.get(e.interactionId) || 0, e.duration));
    }
    const durations = [...worst.values()].sort((a, b) => b - a);
    v.interactions = durations.length;
    v.INP = durations.length ? durations[Math.min(durations.length - 1, Math.floor(durations.length / 50))] : null;
  };
  observe("event", onEvents, { durationThreshold: 16 });
  observe("first-input", (entries) => {
    for (const e of entries) v.FID = e.processingStart - e.startTime;
    onEvents(entries);
  });
})();
"""

READ_SCRIPT = r"""
async () => {
  const v = window.__pcVitals;
  if (!v || !/^https?:/.test(location.href)) return null;
  // let the next frame paint (Event Timing entries are queued after it), at most 100 ms
  await new Promise((resolve) => {
    let done = false;
    const finish = () => { if (!done) { done = true; resolve(); } };
    requestAnimationFrame(() => setTimeout(finish, 0));
    setTimeout(finish, 100);
  });
  v.flush();
  const nav = performance.getEntriesByType("navigation")[0];
  if (nav && nav.responseStart > 0) v.TTFB = Math.max(nav.responseStart - (nav.activationStart || 0), 0);
  return { doc: v.doc, url: location.href, LCP: v.LCP, CLS: v.CLS, FCP: v.FCP, TTFB: v.TTFB,
           INP: v.INP, FID: v.FID, interactions: v.interactions };
}
"""


def metrics_of(reading: dict) -> dict[str, float]:
    """The measurable metrics of a ``READ_SCRIPT`` reading, rounded (ms to 0.1, CLS to 0.0001)."""
    out: dict[str, float] = {}
    for metric in METRICS:
        value = reading.get(metric)
        if value is None:
            continue
        out[metric] = round(float(value), 4 if metric == "CLS" else 1)
    return out
