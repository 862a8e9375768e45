"""The bed's scoring (pure): what counts as caught, a false alarm, a wrong "missing"."""

from tests.realbed.score import destroyed, left_behind, score


def test_score_counts_each_kind_of_mistake():
    truth = {"a": "mock", "b": "mock", "c": "real", "d": "real", "e": "real", "f": "missing"}
    s = score(truth, {"a": "mock", "b": "real", "c": "mock", "d": "missing", "e": "unverified", "f": "missing"})
    assert (s.mocks, s.mocks_caught, s.recall) == (2, 1, 0.5)
    assert (s.real, s.real_called_mock) == (3, 1)
    assert (s.existing, s.existing_called_missing) == (5, 1)
    assert s.wrong_missing_rate == 0.2
    assert (s.missing, s.missing_caught, s.unverified) == (1, 1, 1)
    assert set(s.wrong) == {"b", "c", "d"}  # "unverified" is an honest answer for a real endpoint


def test_absent_verdict_is_an_error_not_a_pass():
    s = score({"a": "mock"}, {})
    assert (s.mocks_caught, s.errors) == (0, 1)
    assert s.wrong == {"a": ("mock", "absent")}


def test_left_behind_only_counts_growth():
    assert left_behind({"products": 6, "orders": 2}, {"products": 9, "orders": 2}) == {"products": 3}
    assert left_behind({"products": 6}, {"products": 5}) == {}


def test_destroyed_counts_what_disappeared():
    assert destroyed({"buckets": 2, "records": 4}, {"buckets": 0, "records": 5}) == {"buckets": 2}
