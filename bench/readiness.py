"""Readiness against the real test bed: ``python -m bench.readiness [--group G] [--only NAME] [--json]``.

Starts every configuration of ``tests/realbed`` (real Prism, json-server 0.17 and 1.x, Mockoon CLI,
WireMock, hand-rolled Express and FastAPI mocks, the real shop app with canned handlers, mock tools
in proxy mode in front of it, the real Prefect server probed from its own spec), runs
``perfcampaign run --no-prefect --stages readiness,smoke --json`` against each, and prints per
configuration and per group, against the ground truth:

    recall          mocked endpoints called mock                 target >= 95 %
    false alarms    real endpoints called mock                   target 0
    wrong missing   existing routes called missing               target <= 2 %
    unverified      endpoints judged "unverified"
    left behind     objects created and not removed (API-deletable kinds; orders/logs as residue)
    destroyed       objects that existed before the pass and are gone after it
    seconds         wall time of the pass

Held-out configurations estimate how readiness generalises: their per-endpoint details are not
printed (``--details`` prints them for the calibration group only). Exit status 0 always: a
benchmark reports, it does not gate.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from tests.realbed.bed import Bed
from tests.realbed.registry import CONFIG
from tests.realbed.runner import Outcome, run_pass
from tests.realbed.score import Score

GROUPS = ("calibration", "heldout")
TARGETS = {"recall": 0.95, "real_called_mock": 0, "wrong_missing_rate": 0.02, "left_behind": 0}


def _pct(x: float | None) -> str:
    return "  n/a" if x is None else f"{100 * x:5.1f}%"


def row(name: str, group: str, s: Score) -> str:
    return (f"{name:24s} {group:11s} {s.mocks_caught:3d}/{s.mocks:<3d} {_pct(s.recall)}  {s.real_called_mock:3d}/{s.real:<3d}"
            f"  {s.existing_called_missing:3d}/{s.existing:<3d} {_pct(s.wrong_missing_rate)}  {s.missing_caught:2d}/{s.missing:<2d}"
            f"  {s.unverified:4d}  {s.errors:4d}  {s.left_behind:4d} (+{s.residue:<3d}) {s.destroyed:5d}  {'no' if s.unhealthy else 'ok':6s}"
            f" {s.seconds:7.1f}")


HEADER = (f"{'configuration':24s} {'group':11s} {'mocks':>7s} {'recall':>6s}  {'real→mock':>7s}  {'exist→missing':>13s}"
          f"  {'missing':>5s}  {'unver':>4s}  {'err':>4s}  {'left (+residue)':>15s} {'destr':>5s}  {'health':6s} {'seconds':>7s}")


def verdict(s: Score) -> list[str]:
    out = []
    out.append(f"recall {_pct(s.recall)} (target >= 95 %): {'MET' if (s.recall or 0) >= TARGETS['recall'] else 'NOT MET'}")
    out.append(f"real called mock {s.real_called_mock} (target 0): {'MET' if s.real_called_mock == 0 else 'NOT MET'}")
    rate = s.wrong_missing_rate or 0.0
    out.append(f"existing routes called missing {_pct(s.wrong_missing_rate)} (target <= 2 %): "
               f"{'MET' if rate <= TARGETS['wrong_missing_rate'] else 'NOT MET'}")
    out.append(f"objects left behind {s.left_behind} (target 0): {'MET' if s.left_behind == 0 else 'NOT MET'}"
               f"; residue the API cannot delete: {s.residue}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--group", choices=(*GROUPS, "all"), default="all")
    ap.add_argument("--only", action="append", choices=sorted(CONFIG), help="one configuration (repeatable)")
    ap.add_argument("--stages", default="readiness,smoke", help="stages of each pass (default readiness,smoke)")
    ap.add_argument("--details", action="store_true", help="print each wrong verdict of the calibration group")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = ap.parse_args(argv)
    names = args.only or [n for n, c in CONFIG.items() if args.group in ("all", c.group)]
    outcomes: list[Outcome] = []
    failures: dict[str, str] = {}
    started = time.monotonic()
    with Bed() as bed:
        for name in names:
            config = CONFIG[name]
            try:
                target = config.start(bed)
                outcome = run_pass(target, stages=args.stages)
            except Exception as exc:  # noqa: BLE001 - report the configuration, go on with the others
                failures[name] = f"{type(exc).__name__}: {str(exc)[:500]}"
                print(f"{name}: FAILED to run: {failures[name]}", file=sys.stderr, flush=True)
                continue
            outcomes.append(outcome)
            if not args.json:
                print(f"  done {name} ({outcome.score.seconds:.1f}s)", file=sys.stderr, flush=True)
    totals = {g: Score() for g in (*GROUPS, "all")}
    for o in outcomes:
        totals[o.target.config.group].add(o.score)
        totals["all"].add(o.score)
    if args.json:
        doc: dict[str, Any] = {
            "stages": args.stages, "seconds": round(time.monotonic() - started, 1), "failures": failures,
            "configurations": [{"name": o.target.config.name, "group": o.target.config.group,
                                "tool": o.target.config.tool, "exit_code": o.exit_code,
                                "left": o.left, "residue": o.residue, "destroyed": o.destroyed, "health": o.health,
                                **{k: v for k, v in o.score.to_dict().items()
                                   if k != "wrong" or o.target.config.group == "calibration"}}
                               for o in outcomes],
            "groups": {g: s.to_dict() | {"wrong": None} for g, s in totals.items()},
            "targets": TARGETS}
        print(json.dumps(doc, indent=2))
        return 0
    print(HEADER)
    for o in outcomes:
        print(row(o.target.config.name, o.target.config.group, o.score))
    print()
    tools: dict[str, Score] = {}
    for o in outcomes:
        if o.target.config.group == "calibration":
            tools.setdefault(o.target.config.tool, Score()).add(o.score)
    for tool, s in sorted(tools.items()):
        print(row(f"tool {tool}"[:24], "calibration", s))
    print()
    for g in (*GROUPS, "all"):
        if totals[g].mocks + totals[g].real + totals[g].missing:
            print(row(f"TOTAL {g}", "", totals[g]))
    for g in GROUPS:
        if totals[g].mocks + totals[g].real:
            print(f"\n{g}:")
            for line in verdict(totals[g]):
                print(f"  {line}")
    if args.details:
        for o in outcomes:
            if o.target.config.group == "calibration" and (o.score.wrong or o.left or o.health):
                print("\n" + o.explain())
    if failures:
        print("\nconfigurations that did not run: " + "; ".join(f"{k}: {v}" for k, v in failures.items()))
    print(f"\n{len(outcomes)} configurations in {time.monotonic() - started:.0f}s (stages {args.stages})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
