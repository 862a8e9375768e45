"""Failure modes found on the held-out bed (issue 11, round 2): fast checks of the pure pieces."""

from __future__ import annotations

import json

from tasks.readiness.identifiers import IdPool
from tasks.readiness.ledger import Ledger
from tasks.readiness.models import ProbeTarget
from tasks.readiness.probe import USER_AGENT, Observation, ProbeRecord, typed_combos
from tasks.readiness.signals.base import echoes_request
from tasks.readiness.signals.stability import cycling_body


def _rec(bodies: list[dict]) -> ProbeRecord:
    rec = ProbeRecord(target=ProbeTarget("x", "GET", "http://h/x"), info={"kind": "read"})
    for i, b in enumerate(bodies):
        obs = Observation("base" if i == 0 else "repeat", "GET", "http://h/x", 200,
                          [("Content-Type", "application/json")], json.dumps(b).encode())
        obs.meta["chosen"] = i == 0
        rec.observations.append(obs)
    return rec


def test_a_rotation_of_bodies_is_a_playlist_and_drift_is_not():
    a, b, c = {"usd": 1.08}, {"usd": 1.09}, {"usd": 1.07}
    ev = cycling_body(_rec([a, b, c, a, b]))
    assert ev and ev[0].weight == 2.0
    assert cycling_body(_rec([a, b, a, b, a]))[0].weight < 2.0   # two replicas behind a balancer?
    assert not cycling_body(_rec([a, b, c, b, a]))
    assert not cycling_body(_rec([a, a, a, a, a]))


def test_untyped_text_samples_get_an_integer_then_a_uuid():
    target = ProbeTarget("links", "GET", "http://h/links/{n}/{offset}", {"n": ["sample"], "offset": ["sample"]})
    (as_int, why), (as_uuid, _) = typed_combos(target, {"n": "sample", "offset": "sample"})
    assert as_int == {"n": "1", "offset": "1"} and "integer" in why
    assert as_uuid["n"].count("-") == 4
    assert typed_combos(ProbeTarget("b", "GET", "http://h/b/{id}", {"id": [7]}), {"id": 7}) == []


def test_an_echo_of_the_request_is_recognised():
    echo = Observation("ghost", "GET", "http://h/etag/zz", 200, [("Content-Type", "application/json")],
                       json.dumps({"headers": {"User-Agent": USER_AGENT}}).encode())
    assert echoes_request(echo)
    assert not echoes_request(Observation("ghost", "GET", "http://h/a/1", 200, [], b'{"id": 1}'))


def test_a_reused_id_after_a_delete_is_a_new_object():
    ledger = Ledger(IdPool())
    first = ledger.record("create", "http://h/books", {"id": 9, "title": "a"}, None, "http://h/books")
    ledger.mark(first, "deleted", "deleted")
    second = ledger.record("create", "http://h/books", {"id": 9, "title": "b"}, None, "http://h/books")
    assert second is not first and second.state == "created"
    assert ledger.own("http://h/books") == [second]
