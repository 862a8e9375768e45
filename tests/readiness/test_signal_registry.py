"""The signal registry's contract: every family module registers its signals, every signal is a pure
function of a record that returns evidence and never raises on an empty record."""

from __future__ import annotations

import importlib

from tasks.readiness import ProbeTarget
from tasks.readiness.models import Evidence
from tasks.readiness.probe import ProbeRecord
from tasks.readiness.signals import SIGNAL_MODULES, SIGNALS, collect


def test_every_family_module_registers_signals_in_order():
    families = [fn.__module__.rsplit(".", 1)[-1] for fn in SIGNALS]
    assert set(families) == set(SIGNAL_MODULES)
    assert families == sorted(families, key=SIGNAL_MODULES.index)
    for name in SIGNAL_MODULES:
        module = importlib.import_module(f"tasks.readiness.signals.{name}")
        assert module.__doc__, name


def test_signals_take_an_empty_record_and_return_evidence():
    for kind in ("read", "write"):
        rec = ProbeRecord(ProbeTarget("t", "GET" if kind == "read" else "POST", "http://127.0.0.1:9/x"),
                          info={"kind": kind, "writes_allowed": True})
        for sig in SIGNALS:
            out = sig(rec)
            assert isinstance(out, list) and all(isinstance(e, Evidence) for e in out), sig.__name__
        assert all(e.signal != "signal-failed" for e in collect(rec))
