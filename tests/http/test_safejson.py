"""JSON a target sends cannot crash the code that reads it (issue 14, "nothing a target does can hurt
the run"): found by driving readiness, smoke and e2e against bodies no earlier hostile server sent."""

from __future__ import annotations

import json

import pytest

from tasks import safejson


@pytest.mark.parametrize("body, why", [
    (b"[" * 100_000 + b"]" * 100_000, "nested too deep to parse"),          # RecursionError in json.loads
    (b"[" * 150 + b"]" * 150, "deeper than 100 levels"),                       # parses; walkers would overflow
    (b'{"a": ' * 150 + b"1" + b"}" * 150, "deeper than 100 levels"),
    (b'{"id": ' + b"7" * 20_000 + b"}", "Exceeds the limit"),                  # ValueError, not JSONDecodeError
    (b'{"id": "\xff\xfe"}', "can't decode"),
    (b"", "Expecting value"),
])
def test_unusable_bodies_raise_one_json_decode_error(body, why) -> None:
    with pytest.raises(json.JSONDecodeError, match=why):
        safejson.loads(body)


def test_lone_surrogates_become_replacement_characters_so_the_value_can_be_sent_stored_and_printed() -> None:
    doc = safejson.loads(b'{"id": "\\ud800-1", "\\ud83d": ["\\udc00"], "ok": "\\ud83d\\ude00", "nul": "a\\u0000b"}')
    assert doc == {"id": "\ufffd-1", "\ufffd": ["\ufffd"], "ok": "\U0001F600", "nul": "a\x00b"}
    json.dumps(doc, ensure_ascii=False).encode("utf-8")   # raised UnicodeEncodeError before
    assert safejson.loads('"\\udfff"') == "\ufffd"


def test_ordinary_documents_are_parsed_as_json_loads_does() -> None:
    for text in ('{"id": 1, "items": [{"a": [1, 2, {"b": null}]}]}', "[]", "3.5", '"x"', "[" * 100 + "]" * 100):
        assert safejson.loads(text) == json.loads(text)
        assert safejson.loads(text.encode()) == json.loads(text)
