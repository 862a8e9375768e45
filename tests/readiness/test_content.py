"""Pure helpers: placeholder vocabulary, Prism's sampler UUID, lorem, normalisation."""

from datetime import datetime, timezone

from tasks.readiness.content import (
    extract_list, find_id, is_recent_time, lorem_score, normalize_for_compare, parse_datetime, placeholder_leaf,
    placeholder_profile, prism_sample_uuid,
)


def test_prism_sample_uuid_matches_json_schema_sampler():
    # values produced by @stoplight/json-schema-sampler (node) for these property names
    assert prism_sample_uuid("id") == "497f6eca-6276-4993-bfeb-53cbbbba6f08"
    assert prism_sample_uuid("uuid") == "095be615-a8ad-4c33-8e9c-c7612fbf6c9f"
    assert prism_sample_uuid("userId") == "2c4a230c-5085-4924-a3e1-25fb4fc5965b"


def test_lorem_score():
    assert lorem_score("Lorem ipsum dolor sit amet") == 1.0
    assert lorem_score("nostrud anim dolore deserunt non") == 1.0   # Prism -d output
    assert lorem_score("Excepteur") == 0.5
    for real in ("Ada Lovelace", "Magna Carta", "in non est", "Nulla", "Stand mixer"):
        assert lorem_score(real) == 0.0, real


def test_placeholder_leaf_grades():
    assert placeholder_leaf("name", "string")[0] == 1.0
    assert placeholder_leaf("createdAt", "2019-08-24T14:15:22Z")[0] == 1.0
    assert placeholder_leaf("id", "3fa85f64-5717-4562-b3fc-2c963f66afa6")[0] == 1.0
    assert placeholder_leaf("id", "497f6eca-6276-4993-bfeb-53cbbbba6f08")[0] == 1.0
    assert placeholder_leaf("name", "John Doe")[0] == 0.6
    assert placeholder_leaf("name", "Test User")[0] == 0.3          # weak on purpose
    assert placeholder_leaf("email", "test.user@example.com")[0] == 0.3
    assert placeholder_leaf("name", "Kettle")[0] == 0.0
    assert placeholder_leaf("price", 0)[0] == 0.0


def test_placeholder_profile_real_vs_sampler():
    real = {"id": 1, "name": "Test User", "email": "test.user@example.com", "role": "qa",
            "created_at": "2023-11-02T10:00:00Z"}
    prof = placeholder_profile(real)
    assert prof["score"] < 1.0
    prism = {"id": 0, "name": "string", "price": 0, "sku": "string", "inStock": True,
             "createdAt": "2019-08-24T14:15:22Z"}
    prof = placeholder_profile(prism)
    assert prof["hits"] == 3 and prof["zero_numbers"] == prof["numbers"] == 2


def test_normalize_masks_ids_and_drops_volatile():
    now = datetime.now(timezone.utc)
    a = {"id": 5, "title": "Report 5", "generated_at": now.isoformat(), "rows": [2, 1]}
    b = {"id": 9, "title": "Report 9", "generated_at": "2001-01-01T00:00:00Z", "rows": [1, 2]}
    assert normalize_for_compare(a, mask={"5"}) == normalize_for_compare(b, mask={"9"})
    assert normalize_for_compare(a, mask={"5"}) != normalize_for_compare({**b, "rows": [3]}, mask={"9"})


def test_time_helpers():
    now = datetime.now(timezone.utc)
    assert is_recent_time(now.isoformat(), now)
    assert is_recent_time(now.timestamp() * 1000, now)
    assert not is_recent_time("1893-03-12T19:16:12.0Z", now)
    assert parse_datetime("Sat Nov 21 2026 01:25:26 GMT+0000 (Coordinated Universal Time)") is not None


def test_lists_and_ids():
    assert extract_list({"items": [1, 2], "total": 2}) == [1, 2]
    assert extract_list({"data": {"results": [3]}}) == [3]
    assert extract_list([4]) == [4]
    assert find_id({"id": 7, "name": "x"}) == 7
    assert find_id({"data": {"uuid": "u-1"}}) == "u-1"
    assert find_id({"order_id": "o-9", "status": "created"}) == "o-9"
    assert find_id({"ok": True}) is None
